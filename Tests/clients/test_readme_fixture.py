"""The pytest fixture the README shows (Tests/clients/iotc_mock_fixture.py, kept identical to the README's block):
it starts the real binary on a free port, reads its ready line, and gives each test an application on a port of
its own, which plain `requests` reaches without a Host header or name resolution."""
import os
import pathlib
import shutil
import subprocess
import sys

import requests

from conftest import BINARY, REPO

os.environ["IOTC_MOCK_BINARY"] = str(BINARY)

from iotc_mock_fixture import iotc_app, iotc_mock  # noqa: E402,F401  (pytest finds fixtures by name)

V = {"api-version": "2022-07-31"}
OPERATOR = "ae2c9854-393b-4f97-8c42-479d70ce626e"
HERE = pathlib.Path(__file__).parent


def test_the_readme_shows_this_fixture_verbatim():
    readme = (REPO / "README.md").read_text()
    fixture = (HERE / "iotc_mock_fixture.py").read_text()
    assert "```python\n" + fixture + "```" in readme


def admin(app):
    return {"Authorization": app["adminToken"]}


def test_each_test_gets_its_own_application(iotc_mock, iotc_app):
    user = {"type": "email", "email": "ann@contoso.com", "roles": [{"role": OPERATOR}]}
    assert requests.put(f"{iotc_app['url']}/api/users/ann", params=V, headers=admin(iotc_app), json=user).status_code == 200
    listed = requests.get(f"{iotc_app['url']}/api/users", params=V, headers=admin(iotc_app)).json()["value"]
    assert [u["id"] for u in listed] == ["iotc-mock-owner", "ann"]
    # The server's own URL serves the default application, which has no such user.
    default = requests.get(f"{iotc_mock['url']}/api/users/ann", params=V, headers={"Authorization": iotc_mock["token"]})
    assert default.status_code == 404


def test_a_second_test_starts_clean(iotc_mock, iotc_app):
    listed = requests.get(f"{iotc_app['url']}/api/users", params=V, headers=admin(iotc_app)).json()["value"]
    assert [u["id"] for u in listed] == ["iotc-mock-owner"]
    health = requests.get(f"{iotc_mock['url']}/_mock/health").json()
    assert health["status"] == "ok" and health["applications"] == 2


def test_requests_pages_through_150_users_by_following_next_link(iotc_app):
    with requests.Session() as session:
        session.headers.update(admin(iotc_app))
        for i in range(149):
            user = {"type": "email", "email": f"user{i}@contoso.com", "roles": [{"role": OPERATOR}]}
            assert session.put(f"{iotc_app['url']}/api/users/user{i}", params=V, json=user).status_code == 200
        seen, pages, url, params = [], 0, f"{iotc_app['url']}/api/users", V
        while url:
            page = session.get(url, params=params)
            assert page.status_code == 200, page.text
            body = page.json()
            seen += [u["id"] for u in body["value"]]
            url, params, pages = body.get("nextLink"), None, pages + 1
            assert url is None or url.startswith(iotc_app["url"] + "/api/users?"), url
    assert pages == 2
    assert len(seen) == 150 and len(set(seen)) == 150


def test_the_fixture_is_safe_under_pytest_xdist(tmp_path):
    """`pytest -n 3` on a suite that uses the fixture: each worker starts its own server on a port of its own."""
    shutil.copy(HERE / "iotc_mock_fixture.py", tmp_path / "iotc_mock_fixture.py")
    (tmp_path / "conftest.py").write_text("from iotc_mock_fixture import iotc_app, iotc_mock  # noqa: F401\n")
    tests = "".join(
        f"def test_{i}(iotc_mock, iotc_app):\n"
        f"    import os, requests\n"
        f"    r = requests.get(iotc_app['url'] + '/api/roles', params={{'api-version': '2022-07-31'}},\n"
        f"                     headers={{'Authorization': iotc_app['adminToken']}})\n"
        f"    assert r.status_code == 200\n"
        f"    with open(os.environ['SERVERS_SEEN'], 'a') as seen:\n"
        f"        seen.write(os.environ.get('PYTEST_XDIST_WORKER', '-') + ' ' + iotc_mock['url'] + '\\n')\n"
        for i in range(9))
    (tmp_path / "test_parallel.py").write_text(tests)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTC_MOCK_") and k != "PYTEST_XDIST_WORKER"}
    env["IOTC_MOCK_BINARY"] = str(BINARY)
    env["SERVERS_SEEN"] = str(tmp_path / "servers.txt")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "3", "-p", "no:cacheprovider", str(tmp_path)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "9 passed" in run.stdout
    seen = [line.split() for line in (tmp_path / "servers.txt").read_text().splitlines()]
    workers = {worker for worker, _ in seen}
    # One server per worker: as many distinct servers as workers that ran tests, each on its own port.
    assert len(seen) == 9 and len(workers) >= 2 and len({url for _, url in seen}) == len(workers), seen


def test_a_pytest_run_from_a_folder_above_the_checkout_collects_none_of_its_tests(tmp_path):
    """A workspace that holds the iotc-mock checkout (as the GitHub Actions recipes do) runs its own tests only."""
    workspace = tmp_path / "workspace"
    shutil.copytree(REPO / "Tests", workspace / "iotc-mock" / "Tests", ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    (workspace / "test_mine.py").write_text("def test_mine():\n    pass\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTC_MOCK_")}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=workspace, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout and "error" not in run.stdout.lower(), run.stdout


def test_a_crashed_worker_leaves_no_server_behind(tmp_path):
    """A pytest-xdist worker that dies (os._exit) never runs the fixture's teardown; --exit-with-parent stops the
    server anyway."""
    shutil.copy(HERE / "iotc_mock_fixture.py", tmp_path / "iotc_mock_fixture.py")
    (tmp_path / "conftest.py").write_text("from iotc_mock_fixture import iotc_app, iotc_mock  # noqa: F401\n")
    (tmp_path / "test_crash.py").write_text(
        "import os\n"
        "def test_crash(iotc_mock):\n"
        "    with open(os.environ['SERVER_URL'], 'w') as f:\n"
        "        f.write(iotc_mock['url'])\n"
        "    os._exit(3)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTC_MOCK_") and k != "PYTEST_XDIST_WORKER"}
    env["IOTC_MOCK_BINARY"] = str(BINARY)
    env["SERVER_URL"] = str(tmp_path / "url.txt")
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                   cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    url = (tmp_path / "url.txt").read_text()
    import time
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/_mock/health", timeout=1)
        except requests.ConnectionError:
            return
        time.sleep(0.2)
    raise AssertionError(f"the server at {url} outlived the pytest process that started it")

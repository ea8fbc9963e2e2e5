"""`make dist`'s archive as a user gets it: a binary that needs nothing but the C library, copied alone into an
empty folder, serving the README walk-through, and the README's GitHub Actions steps run against it."""
import hashlib
import os
import shutil
import signal
import subprocess
import tarfile

import pytest
import requests

from conftest import ADMIN, ARCHIVE, NAME, REPO, VERSION, commit, free_port, readme_block, readme_yaml

# The C library's own shared objects: nothing else may be needed.
C_LIBRARY = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1",
             "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    if not ARCHIVE.exists():
        pytest.fail(f"{ARCHIVE} is missing: run make dist (make test-dist does)")
    folder = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(folder, filter="data")
    return folder / NAME


@pytest.fixture
def alone(unpacked, tmp_path):
    """The binary copied alone into an empty folder, with nothing of the repository's in reach."""
    folder = tmp_path / "empty"
    folder.mkdir()
    shutil.copy2(unpacked / "iotc-mock", folder / "iotc-mock")
    return folder / "iotc-mock"


def clean_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTC_MOCK_")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmp_path / "tmp")
    env.update(extra)
    return env


def test_the_archive_holds_the_binary_and_a_checksum_that_verifies():
    with tarfile.open(ARCHIVE) as archive:
        assert sorted(archive.getnames()) == [NAME, f"{NAME}/README.md", f"{NAME}/iotc-mock"]
    digest, name = (ARCHIVE.parent / f"{ARCHIVE.name}.sha256").read_text().split()
    assert name == ARCHIVE.name
    assert digest == hashlib.sha256(ARCHIVE.read_bytes()).hexdigest()


def test_the_binary_needs_nothing_but_the_c_library(unpacked):
    dynamic = subprocess.run(["readelf", "-d", str(unpacked / "iotc-mock")], capture_output=True, text=True, check=True).stdout
    needed = {line.split("[", 1)[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line}
    assert needed and needed <= C_LIBRARY, needed


def test_version_prints_the_version_and_the_commit(alone, tmp_path):
    run = subprocess.run([str(alone), "--version"], capture_output=True, text=True, env=clean_env(tmp_path), check=True)
    assert run.stdout == f"iotc-mock {VERSION} (commit {commit()[:12]})\n"


def start(binary, tmp_path, *arguments):
    """Starts `binary serve` in its own folder; returns the process and its ready line."""
    process = subprocess.Popen([str(binary), "--port", str(free_port()), "--quiet", *arguments], cwd=binary.parent,
                               stdout=subprocess.PIPE, text=True, env=clean_env(tmp_path))
    line = process.stdout.readline().strip()
    assert line.startswith("iotc-mock ready "), line
    return process, line


def test_the_binary_alone_serves_the_readme_walkthroughs(alone, tmp_path):
    process, ready = start(alone, tmp_path)
    try:
        url = ready.split(" url=", 1)[1].split()[0]
        assert ready.endswith(" token=" + ADMIN)  # the built-in default fixture
        assert (alone.parent / ".iotc-mock" / "iotc-mock.sqlite3").exists()
        for heading in ["## Walk-through with curl", "## Organizations and scoped roles"]:
            script = readme_block(heading, "sh").replace("http://127.0.0.1:8765", url)
            run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
            assert run.returncode == 0, run.stderr
            if heading.startswith("## Walk"):
                assert '"displayName":"Org Viewer"' in run.stdout and "HTTP/1.1 403 Forbidden" in run.stdout
                assert [line for line in run.stdout.splitlines() if line in ("403", "204", "401")] == ["403", "204", "401"]
                assert '"id":"alice","type":"email"' in run.stdout
            else:
                assert [line for line in run.stdout.splitlines() if len(line) == 3] == \
                    ["200", "200", "200", "200", "403", "200", "403", "200", "200", "200", "403", "403"], run.stdout
                assert "['thermostat-1']" in run.stdout, run.stdout
        # The devices section continues the organizations one, in the same shell.
        script = (readme_block("## Organizations and scoped roles", "sh") + readme_block("## Devices: properties, telemetry and commands", "sh")
                  + readme_block("### Jobs run on the mock's clock, and query", "sh"))
        run = subprocess.run(["bash", "-c", script.replace("http://127.0.0.1:8765", url)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and '"value":20.5}' in run.stdout and '"response":{"ok":true},"responseCode":200}' in run.stdout, run.stdout
        assert '"status":"completed"' in run.stdout and '{"results":[{"$id":"sensor-1","t":20.5}]}' in run.stdout, run.stdout
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0


def test_the_binary_alone_serves_the_readme_entra_walkthrough(alone, tmp_path):
    process, ready = start(alone, tmp_path)
    try:
        port = ready.split(" url=", 1)[1].split()[0].rsplit(":", 1)[1]
        script = readme_block("## Microsoft Entra ID bearer tokens", "sh").replace("localhost:8765", f"localhost:{port}")
        env = clean_env(tmp_path, ADMIN=ADMIN, PATH=f"{alone.parent}:{os.environ['PATH']}")
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
            env.pop(name, None)
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=alone.parent, env=env,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert '"id":"ca310b8d-2f4a-44e0-a36e-957c202cd8d4"' in run.stdout, run.stdout
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0


def test_the_readme_github_actions_steps_run_against_the_archive(tmp_path):
    """The `test` job of the binary recipe, as download-artifact leaves the archive in the workspace."""
    job = readme_yaml("### In GitHub Actions: the binary")["jobs"]["test"]
    steps = {step.get("name"): step for step in job["steps"]}
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    for path in (ARCHIVE, ARCHIVE.parent / f"{ARCHIVE.name}.sha256"):
        shutil.copy2(path, workspace / path.name)
    port = free_port()
    github_env = tmp_path / "github_env"
    env = clean_env(tmp_path, GITHUB_ENV=str(github_env), IOTC_MOCK_PORT=str(port))
    for name in ["Get iotc-mock", "Start iotc-mock"]:
        run = subprocess.run(["bash", "-e", "-c", steps[name]["run"]], cwd=workspace, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, f"{name}: {run.stdout}{run.stderr}"
    health = requests.get(f"http://127.0.0.1:{port}/_mock/health").json()
    try:
        assert health["status"] == "ok"
        assert requests.get(f"http://127.0.0.1:{port}/api/roles", params={"api-version": "2022-07-31"},
                            headers={"Authorization": ADMIN}).status_code == 200
        binary = github_env.read_text().strip().split("=", 1)[1]
        assert binary == str(workspace / "iotc-mock") and os.access(binary, os.X_OK)
        assert (workspace / "ready.txt").read_text().startswith("iotc-mock ready ")
    finally:
        os.kill(health["pid"], signal.SIGTERM)

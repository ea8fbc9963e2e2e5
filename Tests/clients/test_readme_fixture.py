"""The pytest fixture the README shows (Tests/clients/iotc_mock_fixture.py, kept identical to the README's block)
starts the real binary, waits on `iotc-mock health`, and gives each test an application of its own."""
import os
import pathlib
import socket

import requests

from conftest import BINARY, REPO

with socket.socket() as probe:  # a free port for the fixture's server
    probe.bind(("127.0.0.1", 0))
    os.environ["IOTC_MOCK_PORT"] = str(probe.getsockname()[1])
os.environ["IOTC_MOCK_BINARY"] = str(BINARY)

from iotc_mock_fixture import iotc_app, iotc_mock_url  # noqa: E402,F401  (pytest finds fixtures by name)

V = {"api-version": "2022-07-31"}
OPERATOR = "ae2c9854-393b-4f97-8c42-479d70ce626e"


def test_the_readme_shows_this_fixture_verbatim():
    readme = (REPO / "README.md").read_text()
    fixture = (pathlib.Path(__file__).parent / "iotc_mock_fixture.py").read_text()
    assert fixture in readme


def headers(app):
    return {"Host": f"{app['subdomain']}.localhost", "Authorization": app["adminToken"]}


def test_each_test_gets_its_own_application(iotc_mock_url, iotc_app):
    user = {"type": "email", "email": "ann@contoso.com", "roles": [{"role": OPERATOR}]}
    assert requests.put(f"{iotc_mock_url}/api/users/ann", params=V, headers=headers(iotc_app), json=user).status_code == 200
    listed = requests.get(f"{iotc_mock_url}/api/users", params=V, headers=headers(iotc_app)).json()["value"]
    assert [u["id"] for u in listed] == ["iotc-mock-owner", "ann"]


def test_a_second_test_starts_clean(iotc_mock_url, iotc_app):
    listed = requests.get(f"{iotc_mock_url}/api/users", params=V, headers=headers(iotc_app)).json()["value"]
    assert [u["id"] for u in listed] == ["iotc-mock-owner"]
    health = requests.get(f"{iotc_mock_url}/_mock/health").json()
    assert health["status"] == "ok" and health["applications"] == 2

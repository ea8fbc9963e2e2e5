import os
import re
import shutil
import subprocess

import pytest
import requests

IOTC_MOCK = os.environ.get("IOTC_MOCK_BINARY") or shutil.which("iotc-mock")


@pytest.fixture(scope="session")
def iotc_mock():
    """One iotc-mock per pytest process (so `pytest -n auto` is safe), in memory, on a free port. Yields the fields
    of its ready line: url, https-url, certificate, application, subdomain and token (the admin token)."""
    if not IOTC_MOCK:
        pytest.fail("iotc-mock is not on PATH; set IOTC_MOCK_BINARY to the binary")
    server = subprocess.Popen([IOTC_MOCK, "serve", "--in-memory", "--quiet", "--port", "0", "--exit-with-parent"],
                              stdout=subprocess.PIPE, text=True)
    try:
        ready = server.stdout.readline().rstrip("\n")
        if not ready.startswith("iotc-mock ready "):
            pytest.fail(f"iotc-mock did not start: {ready!r}")
        head, token = ready.split(" token=", 1)
        # Each field runs to the next " key=" (a path in a value may hold spaces).
        fields = dict(re.findall(r"([\w-]+)=(.*?)(?= [\w-]+=|$)", head.removeprefix("iotc-mock ready ")))
        yield {**fields, "token": token}
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.fixture
def iotc_app(iotc_mock):
    """A fresh application for each test on a port of its own, deleted afterwards: its own users, API tokens and
    organizations. Call f"{app['url']}/api/..." with {"Authorization": app["adminToken"]}; no Host header needed."""
    apps = f"{iotc_mock['url']}/_mock/apps"
    app = requests.post(apps, json={"port": 0}).json()
    yield app
    requests.delete(f"{apps}/{app['id']}")

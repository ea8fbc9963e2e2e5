import json
import os
import subprocess

import pytest
import requests

IOTC_MOCK = os.environ.get("IOTC_MOCK_BINARY", "iotc-mock/.build/debug/iotc-mock")
URL = f"http://127.0.0.1:{os.environ.get('IOTC_MOCK_PORT', '8765')}"


@pytest.fixture(scope="session")
def iotc_mock_url():
    """One iotc-mock for the whole session, in memory; waits until `iotc-mock health` says it is ready."""
    port = URL.rsplit(":", 1)[1]
    server = subprocess.Popen([IOTC_MOCK, "serve", "--in-memory", "--quiet", "--port", port], stdout=subprocess.DEVNULL)
    try:
        health = subprocess.run([IOTC_MOCK, "health", "--url", URL, "--wait", "30"], check=True, capture_output=True)
        # Another server on that port would answer too: make sure it is the one just started.
        assert json.loads(health.stdout)["pid"] == server.pid, f"port {port} is taken by another server"
        yield URL
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.fixture
def iotc_app(iotc_mock_url):
    """A fresh application for each test: its own users, API tokens and organizations, deleted afterwards.
    Call it with the headers {"Host": f"{app['subdomain']}.localhost", "Authorization": app["adminToken"]}."""
    app = requests.post(f"{iotc_mock_url}/_mock/apps").json()
    yield app
    requests.delete(f"{iotc_mock_url}/_mock/apps/{app['id']}")

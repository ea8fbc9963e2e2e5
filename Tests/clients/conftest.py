"""Starts the iotc-mock binary on a free port with an in-memory store, as a CI job would, and hands tests its URL
and the well-known admin token read from the ready line."""
import os
import re
import pathlib
import subprocess
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BINARY = REPO / ".build" / "debug" / "iotc-mock"
SPEC = REPO.parent / "shared" / "spec" / "iotcentral" / "2022-07-31" / "iotcentral.json"


class Mock:
    def __init__(self, process, ready_line):
        self.process = process
        self.ready_line = ready_line
        fields = dict(re.findall(r"([\w-]+)=(.*?)(?= [\w-]+=|$)", ready_line.split(" token=")[0].removeprefix("iotc-mock ready ")))
        self.url = fields["url"]
        self.https_url = fields["https-url"]
        self.certificate = fields["certificate"]
        self.application = fields["application"]
        self.token = ready_line.split(" token=", 1)[1]
        self.api = self.url + "/api"


def start_mock(*arguments):
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `make test`, which builds it first")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTC_MOCK_")}
    # The request log goes to a file: a pipe nobody reads would fill up and stall the server.
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [str(BINARY), "--port", "0", "--fixtures", str(REPO / "fixtures"), *arguments],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    line = process.stdout.readline().strip()
    if not line.startswith("iotc-mock ready "):
        process.kill()
        log.seek(0)
        pytest.fail(f"iotc-mock did not start: {line!r} {log.read()!r}")
    return Mock(process, line)


@pytest.fixture
def mock():
    server = start_mock("--in-memory")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def session_mock():
    server = start_mock("--in-memory")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)

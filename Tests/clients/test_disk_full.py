"""A full disk, for real: the data folder on a 2 MiB tmpfs, mounted in a private mount namespace (root only), filled
from inside that namespace while the server runs. Writes are answered 503 in the error envelope and change nothing,
health says "failing" with the reason, standard error says so once; once space is freed, writes succeed again
without a restart, health is "ok", and everything acknowledged before is still there after a restart."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import BINARY, REPO, Mock

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"),
                                reason="needs root, unshare and nsenter")

ROLE = "ae2c9854-393b-4f97-8c42-479d70ce626e"


def start(mount_point, log):
    script = 'mount -t tmpfs -o size=2m,mode=700 none "$1" && exec "$2" --port 0 --data-dir "$1/data" --fixtures "$3" --quiet'
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTC_MOCK_")}
    process = subprocess.Popen(["unshare", "--mount", "sh", "-c", script, "sh", mount_point, str(BINARY), str(REPO / "fixtures")],
                               stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    line = process.stdout.readline().strip()
    assert line.startswith("iotc-mock ready "), line
    return Mock(process, line)


def in_namespace(mock, *command):
    subprocess.run(["nsenter", f"--mount=/proc/{mock.process.pid}/ns/mnt", *command], check=False, capture_output=True)


def test_a_full_disk_is_answered_503_and_recovers_when_space_is_freed():
    mount_point = tempfile.mkdtemp(prefix="iotc-mock-full-")
    log = tempfile.TemporaryFile(mode="w+")
    mock = start(mount_point, log)
    try:
        headers = {"Authorization": mock.token}
        body = {"roles": [{"role": ROLE}]}
        def put(name):
            return requests.put(f"{mock.api}/apiTokens/{name}?api-version=2022-07-31", json=body, headers=headers, timeout=10)
        assert put("before").status_code == 200
        # Fill the file system, then write until SQLite meets the end of it (the WAL may still have room at first).
        in_namespace(mock, "dd", "if=/dev/zero", f"of={mount_point}/filler", "bs=64k")
        statuses = []
        for index in range(200):
            answer = put(f"full-{index}")
            statuses.append(answer.status_code)
            if answer.status_code != 200:
                break
        assert answer.status_code == 503, statuses[-5:]
        error = answer.json()["error"]
        assert error["code"] == "ServiceUnavailable" and "is full" in error["message"] and "free some space" in error["message"], error
        assert put("also-full").status_code == 503
        health = requests.get(f"{mock.url}/_mock/health", timeout=10)
        assert health.status_code == 503 and health.json()["status"] == "failing" and "is full" in health.json()["reason"]
        refused = f"full-{len(statuses) - 1}"
        assert requests.get(f"{mock.api}/apiTokens/{refused}?api-version=2022-07-31", headers=headers, timeout=10).status_code == 404
        # Space comes back: the next write succeeds, without a restart.
        in_namespace(mock, "rm", f"{mount_point}/filler")
        assert put("after").status_code == 200
        health = requests.get(f"{mock.url}/_mock/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        acknowledged = [f"full-{index}" for index, status in enumerate(statuses) if status == 200] + ["before", "after"]
        # Everything acknowledged is on disk: a restart in the same namespace finds it.
        in_namespace(mock, "sh", "-c", f'cp -a "{mount_point}/data" /tmp/iotc-mock-full-copy-{mock.process.pid}')
    finally:
        mock.process.terminate()
        mock.process.wait(timeout=10)
    log.seek(0)
    errors = log.read()
    assert errors.count("is full; writes are answered 503") == 1, errors
    assert errors.count("writes succeed again") == 1, errors
    copy = f"/tmp/iotc-mock-full-copy-{mock.process.pid}"
    try:
        restarted = subprocess.Popen([str(BINARY), "--port", "0", "--data-dir", copy, "--fixtures", str(REPO / "fixtures"), "--quiet"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        again = Mock(restarted, restarted.stdout.readline().strip())
        try:
            names = {item["id"] for item in requests.get(f"{again.api}/apiTokens?api-version=2022-07-31",
                                                         headers={"Authorization": again.token}, timeout=10).json()["value"]}
            assert set(acknowledged) <= names, set(acknowledged) - names
        finally:
            restarted.terminate()
            restarted.wait(timeout=10)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
        os.rmdir(mount_point)

#!/usr/bin/env python3
"""make crash-test: writers against a persistent iotc-mock, `kill -9` at random moments, restart, and check that
every acknowledged write is there and every acknowledged delete is not, and that SQLite's integrity check passes.

Usage: crash_test.py BINARY [ITERATIONS] (default 50). Prints the figures; exits 1 on any lost write."""
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

OPERATOR = "ae2c9854-393b-4f97-8c42-479d70ce626e"
V = "api-version=2022-07-31"


def start(binary, data):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTC_MOCK_")}
    process = subprocess.Popen([binary, "--port", "0", "--quiet", "--data-dir", data], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=env)
    ready = process.stdout.readline().strip()
    if not ready.startswith("iotc-mock ready "):
        process.kill()
        raise RuntimeError(f"iotc-mock did not start: {ready!r}")
    url = ready.split(" url=", 1)[1].split()[0]
    return process, url, ready.split(" token=", 1)[1]


def call(method, url, token, body=None):
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def writer(number, url, token, created, deleted, lock, stop):
    """Creates API tokens, devices and enrollment groups (a document of the resources table) and deletes some of its
    own; records what the server acknowledged. Entries are (collection, id): ("apiTokens", ...), ("devices", ...) or
    ("enrollmentGroups", ...)."""
    mine = []
    sequence = 0
    while not stop.is_set():
        sequence += 1
        try:
            if mine and random.random() < 0.3:
                victim = mine.pop(random.randrange(len(mine)))
                # Until the delete is answered, the item may or may not exist: it counts as neither.
                with lock:
                    created.discard(victim)
                status = call("DELETE", f"{url}/api/{victim[0]}/{victim[1]}?{V}", token)
                with lock:
                    (deleted if status == 204 else created).add(victim)
            else:
                collection = ["devices", "apiTokens", "enrollmentGroups"][sequence % 3]
                name = f"w{number}-{os.getpid()}-{time.monotonic_ns()}-{sequence}"
                body = {"devices": {"displayName": name, "enabled": False}, "apiTokens": {"roles": [{"role": OPERATOR}]},
                        "enrollmentGroups": {"displayName": name, "type": "iot", "attestation": {"type": "symmetricKey"}}}[collection]
                if call("PUT", f"{url}/api/{collection}/{name}?{V}", token, body) == 200:
                    with lock:
                        created.add((collection, name))
                    mine.append((collection, name))
        except OSError:
            return  # the server was killed: this request was never acknowledged


def run(binary, iterations, writers=4):
    data = tempfile.mkdtemp(prefix="iotc-mock-crash-")
    created, deleted, lock = set(), set(), threading.Lock()
    acknowledged_writes = 0
    for iteration in range(iterations):
        process, url, token = start(binary, data)
        if iteration == 0:
            admin = token
        stop = threading.Event()
        before = len(created) + len(deleted)
        threads = [threading.Thread(target=writer, args=(n, url, admin, created, deleted, lock, stop)) for n in range(writers)]
        for thread in threads:
            thread.start()
        time.sleep(random.uniform(0.05, 0.5))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        acknowledged_writes += len(created) + len(deleted) - before
        with sqlite3.connect(os.path.join(data, "iotc-mock.sqlite3")) as db:
            check = db.execute("PRAGMA integrity_check").fetchone()[0]
            stored = {("apiTokens", row[0]) for row in db.execute("SELECT id FROM api_tokens")}
            stored |= {("devices", row[0]) for row in db.execute("SELECT id FROM devices")}
            stored |= {("enrollmentGroups", row[0]) for row in db.execute("SELECT id FROM resources WHERE kind = 'enrollmentGroup'")}
        lost, revived = created - stored, deleted & stored
        if check != "ok" or lost or revived:
            print(f"iteration {iteration}: integrity {check}, lost {sorted(lost)[:5]}, revived {sorted(revived)[:5]}")
            return 1
    # The last state serves after a restart too.
    process, url, token = start(binary, data)
    try:
        sample = random.sample(sorted(created), min(20, len(created)))
        assert all(call("GET", f"{url}/api/{collection}/{name}?{V}", token) == 200 for collection, name in sample)
        assert all(call("GET", f"{url}/api/{collection}/{name}?{V}", token) == 404 for collection, name in list(deleted)[:20])
    finally:
        process.terminate()
        process.wait(timeout=15)
    print(f"crash test: {iterations} kill -9 under {writers} writers; {acknowledged_writes} acknowledged writes "
          f"({len(created)} API tokens, devices and enrollment groups kept, {len(deleted)} deleted); 0 lost, 0 revived, integrity ok every time")
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50))

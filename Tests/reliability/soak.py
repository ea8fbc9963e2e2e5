#!/usr/bin/env python3
"""make soak: mixed traffic at a steady rate against one iotc-mock for SOAK_SECONDS; its resident memory and open
descriptors at the start (after a warm-up) and at the end are printed, and the run fails if either grows beyond a
stated bound.

Usage: soak.py BINARY [SECONDS] (default 600). Traffic, about 200 requests a second in all: authorized reads, API
tokens and users created and deleted, 401s and 404s, Entra tokens, applications created and deleted through the
control plane, a journal read. Bounds: resident memory may grow by at most 16 MiB, descriptors by at most 16."""
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

V = "api-version=2022-07-31"
OPERATOR = "ae2c9854-393b-4f97-8c42-479d70ce626e"
TENANT = "726878f1-1cb5-489c-a4f1-581d7b3c5984"
RSS_BOUND_MIB = 16
FD_BOUND = 16
RATE = 200  # requests a second, in all


def call(method, url, token=None, body=None, form=None):
    headers = {}
    data = None
    if token:
        headers["Authorization"] = token
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    if form is not None:
        data, headers["Content-Type"] = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, method=method, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


def resources(pid):
    with open(f"/proc/{pid}/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def traffic(url, token, until, counts, lock, worker):
    actions = [
        lambda n: call("GET", f"{url}/api/roles?{V}", token),
        lambda n: call("GET", f"{url}/api/users?{V}", token),
        lambda n: call("GET", f"{url}/api/users?{V}"),  # 401
        lambda n: call("GET", f"{url}/api/nothing?{V}", token),  # 404
        lambda n: (call("PUT", f"{url}/api/apiTokens/s{worker}-{n}?{V}", token, {"roles": [{"role": OPERATOR}]}),
                   call("DELETE", f"{url}/api/apiTokens/s{worker}-{n}?{V}", token))[1],
        lambda n: (call("PUT", f"{url}/api/users/u{worker}-{n}?{V}", token,
                        {"type": "email", "email": f"u{worker}-{n}@example.com", "roles": [{"role": OPERATOR}]}),
                   call("DELETE", f"{url}/api/users/u{worker}-{n}?{V}", token))[1],
        lambda n: call("POST", f"{url}/{TENANT}/oauth2/v2.0/token", form={
            "grant_type": "client_credentials", "client_id": "bfa26516-349e-48e7-acdc-5207da73e9bb",
            "client_secret": "iotc-mock-ci-secret", "scope": "https://apps.azureiotcentral.com/.default"}),
        lambda n: call("GET", f"{url}/_mock/journal?limit=50"),
    ]
    n = 0
    period = 4 / RATE  # four workers
    while time.monotonic() < until:
        n += 1
        started = time.monotonic()
        if n % 100 == 0:  # now and then an application made and deleted
            made = urllib.request.urlopen(urllib.request.Request(f"{url}/_mock/apps", method="POST", data=b"{}",
                                                                 headers={"Content-Type": "application/json"}), timeout=10)
            app = json.loads(made.read())
            status = call("DELETE", f"{url}/_mock/apps/{app['id']}")
        else:
            status = random.choice(actions)(n)
        with lock:
            counts[status] = counts.get(status, 0) + 1
        time.sleep(max(0.0, period - (time.monotonic() - started)))


def run(binary, seconds):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTC_MOCK_")}
    process = subprocess.Popen([binary, "--port", "0", "--quiet", "--in-memory"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=env)
    ready = process.stdout.readline().strip()
    url, token = ready.split(" url=", 1)[1].split()[0], ready.split(" token=", 1)[1]
    counts, lock = {}, threading.Lock()
    try:
        warm = min(10, max(2, seconds // 10))
        until = time.monotonic() + warm + seconds
        threads = [threading.Thread(target=traffic, args=(url, token, until, counts, lock, w)) for w in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(warm)
        rss0, fds0 = resources(process.pid)
        for thread in threads:
            thread.join()
        rss1, fds1 = resources(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
    total = sum(counts.values())
    bad = {status: count for status, count in counts.items() if status >= 500}
    print(f"soak: {seconds} s at about {RATE} requests/s ({total} requests: {dict(sorted(counts.items()))}); "
          f"resident memory {rss0:.1f} -> {rss1:.1f} MiB, open descriptors {fds0} -> {fds1} "
          f"(bounds: +{RSS_BOUND_MIB} MiB, +{FD_BOUND})")
    if bad or rss1 - rss0 > RSS_BOUND_MIB or fds1 - fds0 > FD_BOUND:
        print(f"soak failed: server errors {bad}, memory +{rss1 - rss0:.1f} MiB, descriptors +{fds1 - fds0}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 600))

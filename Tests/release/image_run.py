"""Runs the image's entrypoint the way a container engine would, where containers cannot be started: in a network
namespace of its own (a veth pair to this one, so callers are not loopback callers, as outside a container), through
`buildah run --isolation chroot` on the image's own file system. Run as root inside `unshare --net --mount`.
Usage: image_run.py IMAGE ENV_JSON CONTROL_KEY ADMIN_TOKEN; prints one JSON object of what it saw."""
import json
import os
import subprocess
import sys
import time

import requests

image, service_env, key, admin = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
netns = f"iotc-mock-image-{os.getpid()}"
OPERATOR = "ae2c9854-393b-4f97-8c42-479d70ce626e"
V = {"api-version": "2022-07-31"}


def sh(*command, **options):
    return subprocess.run(command, check=True, capture_output=True, text=True, **options).stdout


seen = {}
sh("ip", "link", "set", "lo", "up")
sh("ip", "netns", "add", netns)
container = None
server = None
try:
    sh("ip", "link", "add", "veth-outer", "type", "veth", "peer", "name", "veth-inner")
    sh("ip", "link", "set", "veth-inner", "netns", netns)
    sh("ip", "addr", "add", "10.199.0.1/30", "dev", "veth-outer")
    sh("ip", "link", "set", "veth-outer", "up")
    for command in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", "10.199.0.2/30", "dev", "veth-inner"],
                    ["ip", "link", "set", "veth-inner", "up"]):
        sh("ip", "netns", "exec", netns, *command)
    config = json.loads(sh("buildah", "inspect", "--type", "image", image))["Docker"]["config"]
    container = sh("buildah", "from", "--quiet", image).strip()
    environment = [argument for name, value in service_env.items() for argument in ("--env", f"{name}={value}")]
    entrypoint = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
    server = subprocess.Popen(["ip", "netns", "exec", netns, "buildah", "run", "--isolation", "chroot", *environment,
                               container, "--", *entrypoint], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen["ready"] = server.stdout.readline().strip()
    base = "http://10.199.0.2:8765"
    deadline = time.time() + 30
    while True:
        try:
            health = requests.get(f"{base}/_mock/health", timeout=2)
            break
        except requests.ConnectionError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    seen["health"] = health.status_code
    pid = health.json()["pid"]
    admin_headers = {"Authorization": admin}
    seen["roles"] = requests.get(f"{base}/api/roles", params=V, headers=admin_headers).status_code
    made = requests.put(f"{base}/api/apiTokens/operator", params=V, headers=admin_headers, json={"roles": [{"role": OPERATOR}]})
    operator = {"Authorization": made.json()["token"]}
    users = requests.get(f"{base}/api/users", params=V, headers=operator)
    seen["operator_users"] = [users.status_code, users.json()["error"]["code"]]
    seen["control_without_key"] = requests.get(f"{base}/_mock/apps").status_code
    seen["control_with_key"] = requests.get(f"{base}/_mock/apps", headers={"x-iotc-mock-key": key}).status_code
    # The image's own health check, in the container's network, from a second container of the image (two runs in
    # one working container at once do not mix: the first one's end unmounts the other's file system).
    check = config["Healthcheck"]["Test"]
    checker = sh("buildah", "from", "--quiet", image).strip()
    try:
        seen["healthcheck"] = subprocess.run(["ip", "netns", "exec", netns, "buildah", "run", "--isolation", "chroot", checker,
                                              "--", *check[1:]], capture_output=True).returncode
    finally:
        subprocess.run(["buildah", "rm", checker], capture_output=True)
    os.kill(pid, 15)
    seen["exit"] = server.wait(timeout=20)
    seen["log"] = server.stderr.read()
    seen["data"] = sh("buildah", "run", "--isolation", "chroot", container, "--", "sh", "-c",
                      "id -u; stat -c '%u %a' /data /data/iotc-mock.sqlite3 /data/tls/ca.pem").split("\n")
finally:
    if server and server.poll() is None:
        server.kill()
    if container:
        subprocess.run(["buildah", "rm", container], capture_output=True)
    subprocess.run(["ip", "netns", "delete", netns], capture_output=True)
print(json.dumps(seen))

"""What-if agrees with real calls: every operation of 2022-07-31, for an Operator, an Org Admin (on an
organization) and a Builder, asked of POST /_mock/apps/{app}/authorize and then sent for real with Python requests.
The decision must be the same, and so must the status whenever what-if gives one (it gives none when the operation
would run: the body and the stored items decide then, and the real status must then come from the operation, not
from authentication or authorization)."""
import re

import requests

ROLES = {
    "Operator": ("ae2c9854-393b-4f97-8c42-479d70ce626e", None),
    "Org Admin": ("c495eb57-eb18-489e-9802-62c474e5645c", "washington"),
    "Builder": ("344138e9-8de4-4497-8c54-5237e96d6aaf", None),
}
VERSION = "2022-07-31"


def test_what_if_and_real_calls_agree_for_every_operation(session_mock):
    mock = session_mock
    admin = {"Authorization": mock.token}
    assert requests.put(f"{mock.api}/organizations/washington?api-version={VERSION}", json={"displayName": "Washington"},
                        headers=admin, timeout=10).status_code in (200, 201)
    operations = requests.get(f"{mock.url}/_mock/apps/iotc-mock/access-matrix?apiVersion={VERSION}", timeout=10).json()["operations"]
    assert len(operations) > 90
    compared = 0
    for name, (role, organization) in ROLES.items():
        assignment = {"role": role, **({"organization": organization} if organization else {})}
        token_id = "agree-" + name.lower().replace(" ", "-")
        made = requests.put(f"{mock.api}/apiTokens/{token_id}?api-version={VERSION}", json={"roles": [assignment]}, headers=admin, timeout=10)
        assert made.status_code == 200, made.text
        token = made.json()["token"]
        for operation in operations:
            # Placeholder ids: items that do not exist, so an allowed call ends in the operation's own 404 or 4xx
            # and nothing is changed.
            path = "/api" + re.sub(r"\{(\w+)\}", lambda m: f"agree-{m.group(1).lower()}", operation["path"])
            target = f"{path}?api-version={VERSION}"
            asked = requests.post(f"{mock.url}/_mock/apps/iotc-mock/authorize",
                                  json={"authorization": token, "method": operation["method"], "path": target}, timeout=10)
            assert asked.status_code == 200, asked.text
            what_if = asked.json()
            body = {} if operation["method"] in ("PUT", "PATCH", "POST") else None
            real = requests.request(operation["method"], mock.url + target, json=body, headers={"Authorization": token}, timeout=10)
            entry = requests.get(f"{mock.url}/_mock/journal/{real.headers['x-ms-request-id']}", timeout=10).json()
            where = f"{name} {operation['operationId']}: what-if {what_if['decision']}/{what_if['status']}, real {entry['decision']}/{real.status_code} ({entry['reason']})"
            assert what_if["decision"] == entry["decision"], where
            if what_if["status"] is not None:
                assert what_if["status"] == real.status_code, where
            else:
                assert real.status_code not in (401, 403, 501), where
            # The principal's matrix says the same.
            expected = {"allowed": "allowed", "organization": "allowed", "denied": "denied"}
            compared += 1
        matrix = requests.post(f"{mock.url}/_mock/apps/iotc-mock/authorize", json={"tokenId": token_id, "apiVersion": VERSION}, timeout=10).json()
        for row in matrix["operations"]:
            asked = requests.post(f"{mock.url}/_mock/apps/iotc-mock/authorize",
                                  json={"tokenId": token_id, "operationId": row["operationId"], "apiVersion": VERSION}, timeout=10).json()
            assert expected[row["access"]] == asked["decision"], (name, row["operationId"], row["access"], asked["decision"])
    assert compared == 3 * len(operations)
    print(f"\nwhat-if agreed with {compared} real calls ({len(operations)} operations x {len(ROLES)} roles)")


def test_what_if_agrees_on_requests_refused_before_the_caller_is_asked(session_mock):
    """Odd paths and methods, sent raw (Python requests would normalise some), against what-if with the same text."""
    import socket
    mock = session_mock
    port = int(mock.url.rsplit(":", 1)[1])
    for method, path in [("GET", "/api//users"), ("GET", "/api/users/%zz"), ("get", "/api/users"), ("GET", "/api/nothing/here"),
                         ("DELETE", "/api/roles"), ("GET", "/api/users?api-version=1999-01-01"), ("GET", "/api/" + "x" * 5000)]:
        target = path if "?" in path else f"{path}?api-version={VERSION}"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {mock.token}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        real = int(data.split(b" ", 2)[1])
        what_if = requests.post(f"{mock.url}/_mock/apps/iotc-mock/authorize",
                                json={"authorization": mock.token, "method": method, "path": target}, timeout=10).json()
        assert what_if["status"] == real and what_if["decision"] == "none", (method, path[:40], real, what_if)


def test_the_journal_command_escapes_what_clients_sent(session_mock):
    import subprocess
    from conftest import BINARY
    mock = session_mock
    forged = "/api/users/x%0a14:00:00%20200%20allowed%20GET%20/api/FAKE%1b%5b31mRED?api-version=2022-07-31"
    requests.get(mock.url + forged, headers={"Authorization": mock.token}, timeout=10)
    out = subprocess.run([str(BINARY), "journal", "--url", mock.url, "--limit", "1"],
                         capture_output=True, text=True, timeout=30).stdout
    assert out.count("\n") == 1 and "\x1b" not in out and "\\x0A14:00:00" in out, out

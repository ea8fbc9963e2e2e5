"""Unchanged Azure tools against iotc-mock in drop-in mode, inside private mount and network namespaces.

`make test-azure-tools` runs this folder under `unshare --mount --net`. In there the fixture brings up `lo`, starts
the mock with `--drop-in` (port 443), and bind-mounts a hosts file (login.microsoftonline.com, management.azure.com
and the application's *.azureiotcentral.com name on 127.0.0.1) and a CA bundle (Debian's plus the mock's
authority) over /etc/hosts and /etc/ssl/certs/ca-certificates.crt. Nothing outside the namespace sees either, and
no packet leaves it."""
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]
BINARY = REPO / ".build" / "debug" / "iotc-mock"
AZ = REPO / ".venv-azure-cli" / "bin" / "az"
SYSTEM_BUNDLE = pathlib.Path("/etc/ssl/certs/ca-certificates.crt")

TENANT = "726878f1-1cb5-489c-a4f1-581d7b3c5984"
SUBSCRIPTION = "5b6a2c1e-7f3d-4e8a-9c21-0d4f6e8b3a17"
CI_APP, CI_OBJECT, CI_SECRET = "bfa26516-349e-48e7-acdc-5207da73e9bb", "02a70a2d-68af-45ae-b566-7556a18f5405", "iotc-mock-ci-secret"
OUTSIDER_APP, OUTSIDER_OBJECT, OUTSIDER_SECRET = "c40622f7-1191-4076-8a59-422be48e0867", "893c16ca-b2f4-44a1-a11f-ff0d5d823e55", "iotc-mock-outsider-secret"
ADMIN_USER, ADMIN_PASSWORD = "admin@iotc-mock.example", "iotc-mock-admin-password"
OPERATOR_USER, OPERATOR_PASSWORD = "operator@iotc-mock.example", "iotc-mock-operator-password"
ADMINISTRATOR, OPERATOR = "ca310b8d-2f4a-44e0-a36e-957c202cd8d4", "ae2c9854-393b-4f97-8c42-479d70ce626e"
CENTRAL = "https://iotc-mock.azureiotcentral.com"
V = {"api-version": "2022-07-31"}


def in_private_namespaces():
    """True inside the namespaces `make test-azure-tools` made: its network and mount namespaces differ from the
    ones it recorded before `unshare` (OUTER_NAMESPACES)."""
    outer = os.environ.get("OUTER_NAMESPACES", "").split()
    inner = [os.readlink(f"/proc/self/ns/{kind}") for kind in ("net", "mnt")]
    return len(outer) == 2 and all(a != b for a, b in zip(inner, outer))


def pytest_collection_modifyitems(config, items):
    if not in_private_namespaces():
        # Never bind-mount over the machine's own /etc/hosts or trust store.
        skip = pytest.mark.skip(reason="needs private mount and network namespaces: run `make test-azure-tools`")
        for item in items:
            item.add_marker(skip)


class DropIn:
    def __init__(self, process, ready, folder):
        self.process = process
        head, self.admin_token = ready.split(" token=", 1)
        fields = dict(re.findall(r"([\w-]+)=(.*?)(?= [\w-]+=|$)", head.removeprefix("iotc-mock ready ")))
        self.url = fields["url"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.certificate = fields["certificate"]
        self.drop_in_port = int(fields["drop-in-port"])
        self.folder = folder

    def add_user(self, user_id, body):
        response = requests.put(f"{CENTRAL}/api/users/{user_id}", params=V, headers={"Authorization": self.admin_token}, json=body)
        assert response.status_code == 200, response.text

    def az(self, *arguments, config_dir, check=True):
        """Runs the unchanged Azure CLI with its own configuration folder; returns its parsed JSON output."""
        environment = {**os.environ, "AZURE_CONFIG_DIR": str(config_dir), "AZURE_CORE_COLLECT_TELEMETRY": "no",
                       "AZURE_CORE_SURVEY_MESSAGE": "no", "AZURE_CORE_NO_COLOR": "yes", "AZURE_CORE_OUTPUT": "json"}
        result = subprocess.run([str(AZ), *arguments], capture_output=True, text=True, env=environment, timeout=180)
        if check:
            assert result.returncode == 0, f"az {' '.join(arguments)} failed:\n{result.stderr}"
            return json.loads(result.stdout) if result.stdout.strip() else None
        return result


@pytest.fixture(scope="session")
def dropin(tmp_path_factory):
    if not in_private_namespaces():
        pytest.fail("refusing to bind-mount over /etc/hosts outside private namespaces")
    if not AZ.exists():
        pytest.fail(f"{AZ} is missing: `make test-azure-tools` installs the Azure CLI first")
    folder = tmp_path_factory.mktemp("dropin")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    log = open(folder / "iotc-mock.log", "w")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IOTC_MOCK_")}
    process = subprocess.Popen(
        [str(BINARY), "--port", "0", "--data-dir", str(folder / "data"), "--drop-in", "--fixtures", str(REPO / "fixtures")],
        stdout=subprocess.PIPE, stderr=log, text=True, env=environment)
    ready = process.stdout.readline().strip()
    if not ready.startswith("iotc-mock ready "):
        process.kill()
        pytest.fail(f"iotc-mock did not start: {ready!r} {(folder / 'iotc-mock.log').read_text()!r}")
    mock = DropIn(process, ready, folder)
    assert mock.drop_in_port == 443
    hosts = folder / "hosts"
    hosts.write_text("127.0.0.1 localhost login.microsoftonline.com management.azure.com iotc-mock.azureiotcentral.com\n")
    bundle = folder / "ca-certificates.crt"
    bundle.write_text((SYSTEM_BUNDLE.read_text() if SYSTEM_BUNDLE.exists() else "") + pathlib.Path(mock.certificate).read_text())
    SYSTEM_BUNDLE.parent.mkdir(parents=True, exist_ok=True)
    SYSTEM_BUNDLE.touch(exist_ok=True)
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)
    subprocess.run(["mount", "--bind", str(bundle), str(SYSTEM_BUNDLE)], check=True)
    # Python's requests (under MSAL, azure-identity and the Azure CLI) trusts certifi's list unless told otherwise.
    os.environ["REQUESTS_CA_BUNDLE"] = str(SYSTEM_BUNDLE)
    for name in [k for k in os.environ if k.startswith("AZURE_")]:
        del os.environ[name]
    # AzureCliCredential finds `az` on PATH.
    tools = folder / "bin"
    tools.mkdir()
    (tools / "az").symlink_to(AZ)
    os.environ["PATH"] = f"{tools}:{os.environ['PATH']}"
    # The identities of the directory fixture as users of the default application.
    mock.add_user("ci", {"type": "servicePrincipal", "tenantId": TENANT, "objectId": CI_OBJECT, "roles": [{"role": ADMINISTRATOR}]})
    mock.add_user("outsider", {"type": "servicePrincipal", "tenantId": TENANT, "objectId": OUTSIDER_OBJECT, "roles": [{"role": OPERATOR}]})
    mock.add_user("admin", {"type": "email", "email": ADMIN_USER, "roles": [{"role": ADMINISTRATOR}]})
    mock.add_user("operator", {"type": "email", "email": OPERATOR_USER, "roles": [{"role": OPERATOR}]})
    yield mock
    process.terminate()
    process.wait(timeout=15)
    log.close()


def assert_administrator_and_operator(admin_token, operator_token):
    """An Administrator lists users (200); an Operator may not (403, with the reason header naming the permission)."""
    allowed = requests.get(f"{CENTRAL}/api/users", params=V, headers={"Authorization": f"Bearer {admin_token}"})
    assert allowed.status_code == 200, allowed.text
    denied = requests.get(f"{CENTRAL}/api/users", params=V, headers={"Authorization": f"Bearer {operator_token}"})
    assert denied.status_code == 403, denied.text
    assert "users.view" in denied.headers["x-iotc-mock-reason"]

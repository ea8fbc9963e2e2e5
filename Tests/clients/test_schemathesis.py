"""Schemathesis at full strictness against every operation of both official spec files: every check (`--checks
all`), every phase (examples, coverage, fuzzing, stateful), 200 examples an operation, the api-version forced to the file's own. It authenticates as a mock Entra bearer of an
Administrator user that the run cannot change or delete (schemathesis_hooks.py), so ApiTokens_Remove and
Users_Remove stay in the run. Exceptions are in schemathesis.toml, each with its reason."""
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest
import requests

from conftest import REPO, start_mock

HERE = pathlib.Path(__file__).resolve().parent
SPECS = REPO.parent / "shared" / "spec" / "iotcentral"
TENANT = "726878f1-1cb5-489c-a4f1-581d7b3c5984"
AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
ADMINISTRATOR = "ca310b8d-2f4a-44e0-a36e-957c202cd8d4"
PROTECTED_USER = "schemathesis-admin"
# Every path of both spec files: every operation is emulated.
EMULATED = r"^/"
EXAMPLES = int(os.environ.get("IOTC_MOCK_SCHEMATHESIS_EXAMPLES", "200"))


def bearer_of_an_administrator(mock):
    """admin@iotc-mock.example of the mock Entra ID, made an Administrator user of the application, signed in."""
    body = {"type": "email", "email": "admin@iotc-mock.example", "roles": [{"role": ADMINISTRATOR}]}
    made = requests.put(f"{mock.api}/users/{PROTECTED_USER}", params={"api-version": "2022-07-31"},
                        headers={"Authorization": mock.token}, json=body)
    assert made.status_code == 200, made.text
    token = requests.post(f"{mock.url}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "password", "client_id": AZURE_CLI, "username": "admin@iotc-mock.example",
        "password": "iotc-mock-admin-password", "scope": "https://apps.azureiotcentral.com/.default"})
    assert token.status_code == 200, token.text
    return token.json()["access_token"]


@pytest.mark.parametrize("version", ["2022-07-31", "2022-10-31-preview"])
def test_schemathesis_at_full_strictness_finds_no_failure(version, tmp_path, capsys):
    spec = SPECS / version / "iotcentral.json"
    if not spec.exists():
        pytest.skip(f"{spec} is absent (the official specs are read from the shared folder beside the checkout)")
    mock = start_mock("--in-memory", "--token-lifetime", "86400")
    try:
        # What the hooks point jobs and exports at.
        version_query = {"api-version": version}
        made = requests.put(f"{mock.api}/deviceGroups/schemathesis-group", params=version_query, headers={"Authorization": mock.token},
                            json={"displayName": "All", "filter": "SELECT * FROM devices"})
        assert made.status_code == 200, made.text
        if version == "2022-10-31-preview":
            made = requests.put(f"{mock.api}/dataExport/destinations/schemathesis-destination", params=version_query,
                                headers={"Authorization": mock.token}, json={
                                    "displayName": "Blob", "type": "blobstorage@v1",
                                    "authorization": {"type": "connectionString", "connectionString": "c", "containerName": "x"}})
            assert made.status_code == 200, made.text
        config = tmp_path / "schemathesis.toml"
        config.write_text((HERE / "schemathesis.toml").read_text() + f'\n[parameters]\n"api-version" = "{version}"\n')
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(HERE),
               "IOTC_MOCK_SCHEMATHESIS_USER": PROTECTED_USER}
        command = [
            str(pathlib.Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
            "run", str(spec), "--url", mock.api, "-H", f"Authorization: Bearer {bearer_of_an_administrator(mock)}",
            "--include-path-regex", EMULATED,
            "--checks", "all", "--max-examples", str(EXAMPLES), "--seed", "1", "--no-color",
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=env, cwd=tmp_path)
    finally:
        mock.process.terminate()
        mock.process.wait(timeout=10)
    summary = result.stdout[result.stdout.rfind("SUMMARY"):] if "SUMMARY" in result.stdout else result.stdout[-3000:]
    operations = sorted(f"{method.upper()} {path}" for path, item in json.loads(spec.read_text())["paths"].items()
                        if re.search(EMULATED, path)
                        for method in item if method in ("get", "put", "patch", "delete", "post"))
    with capsys.disabled():
        print(f"\nschemathesis {version}, {len(operations)} operations: {', '.join(operations)}\n" + "\n".join(
            line for line in summary.splitlines() if re.search(r"Tested|generated|Coverage|Fuzzing|Stateful|Examples", line)))
    (tmp_path / "output.txt").write_text(result.stdout)
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-2000:]
    assert f"Tested: {len(operations)}" in result.stdout, summary

"""The Azure CLI, azure-identity and MSAL, called exactly as against Azure (no authority override, no instance
discovery switch, no DNS suffix), get tokens from iotc-mock in drop-in mode, and IoT Central answers those tokens by
role: 200 for an Administrator, 403 with the reason header for an Operator."""
import json
import os

import msal
import requests
from azure.identity import AzureCliCredential, DefaultAzureCredential

from conftest import (
    BINARY, REPO, ADMIN_PASSWORD, ADMIN_USER, CENTRAL, CI_APP, CI_SECRET, OPERATOR_PASSWORD, OPERATOR_USER, OUTSIDER_APP,
    OUTSIDER_SECRET, SUBSCRIPTION, TENANT, V, assert_administrator_and_operator,
)

RESOURCE = "https://apps.azureiotcentral.com"
SCOPE = RESOURCE + "/.default"
AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def az_token(dropin, config_dir):
    token = dropin.az("account", "get-access-token", "--resource", RESOURCE, config_dir=config_dir)
    assert token["tokenType"] == "Bearer" and token["tenant"] == TENANT and token["subscription"] == SUBSCRIPTION
    assert token["expires_on"] > 0
    return token["accessToken"]


def test_az_login_service_principal_and_get_access_token(dropin, tmp_path):
    admin, operator = tmp_path / "admin", tmp_path / "operator"
    accounts = dropin.az("login", "--service-principal", "-u", CI_APP, "-p", CI_SECRET, "--tenant", TENANT, config_dir=admin)
    assert [a["id"] for a in accounts] == [SUBSCRIPTION] and accounts[0]["user"]["type"] == "servicePrincipal"
    dropin.az("login", "--service-principal", "-u", OUTSIDER_APP, "-p", OUTSIDER_SECRET, "--tenant", TENANT, config_dir=operator)
    assert_administrator_and_operator(az_token(dropin, admin), az_token(dropin, operator))
    # A wrong secret is refused by the mock Entra ID, as by Entra ID.
    wrong = dropin.az("login", "--service-principal", "-u", CI_APP, "-p", "wrong", "--tenant", TENANT, config_dir=tmp_path / "w", check=False)
    assert wrong.returncode != 0 and "AADSTS7000215" in wrong.stderr


def test_az_login_with_username_and_password(dropin, tmp_path):
    admin, operator = tmp_path / "admin", tmp_path / "operator"
    accounts = dropin.az("login", "-u", ADMIN_USER, "-p", ADMIN_PASSWORD, config_dir=admin)
    assert [a["id"] for a in accounts] == [SUBSCRIPTION] and accounts[0]["user"] == {"name": ADMIN_USER, "type": "user"}
    dropin.az("login", "-u", OPERATOR_USER, "-p", OPERATOR_PASSWORD, config_dir=operator)
    # get-access-token for another resource than the sign-in's: the refresh token grant.
    assert_administrator_and_operator(az_token(dropin, admin), az_token(dropin, operator))
    # AzureCliCredential runs `az account get-access-token` with the signed-in account.
    os.environ["AZURE_CONFIG_DIR"] = str(admin)
    try:
        cli_admin = AzureCliCredential().get_token(SCOPE).token
        os.environ["AZURE_CONFIG_DIR"] = str(operator)
        cli_operator = AzureCliCredential().get_token(SCOPE).token
    finally:
        del os.environ["AZURE_CONFIG_DIR"]
    assert_administrator_and_operator(cli_admin, cli_operator)


def test_default_azure_credential_from_the_environment(dropin, monkeypatch):
    def token(client, secret):
        monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
        monkeypatch.setenv("AZURE_CLIENT_ID", client)
        monkeypatch.setenv("AZURE_CLIENT_SECRET", secret)
        return DefaultAzureCredential().get_token(SCOPE).token
    assert_administrator_and_operator(token(CI_APP, CI_SECRET), token(OUTSIDER_APP, OUTSIDER_SECRET))


def test_msal_confidential_and_public_clients(dropin):
    def confidential(client, secret):
        app = msal.ConfidentialClientApplication(client, client_credential=secret, authority=f"https://login.microsoftonline.com/{TENANT}")
        result = app.acquire_token_for_client(scopes=[SCOPE])
        assert "access_token" in result, result
        return result["access_token"]
    assert_administrator_and_operator(confidential(CI_APP, CI_SECRET), confidential(OUTSIDER_APP, OUTSIDER_SECRET))

    def public(username, password):
        app = msal.PublicClientApplication(AZURE_CLI, authority="https://login.microsoftonline.com/organizations")
        result = app.acquire_token_by_username_password(username, password, scopes=[SCOPE])
        assert "access_token" in result, result
        # MSAL kept the account: a silent call for the same scope is answered from its cache.
        [account] = app.get_accounts(username=username)
        assert app.acquire_token_silent([SCOPE], account=account)["access_token"] == result["access_token"]
        return result["access_token"]
    assert_administrator_and_operator(public(ADMIN_USER, ADMIN_PASSWORD), public(OPERATOR_USER, OPERATOR_PASSWORD))


def test_az_cloud_register_discovers_the_mock_on_its_own_port(dropin, tmp_path):
    # Without drop-in names: the mock's own port, found through its cloud metadata; MSAL's instance discovery is
    # answered by the mock too (drop-in), but the recipe turns it off so that it needs no hosts entry.
    base = f"https://localhost:{dropin.port}"
    config = tmp_path / "az"
    dropin.az("cloud", "register", "-n", "IotcMock", "--endpoint-resource-manager", base + "/", config_dir=config)
    cloud = dropin.az("cloud", "show", "-n", "IotcMock", config_dir=config)
    assert cloud["endpoints"]["activeDirectory"] == base
    assert cloud["endpoints"]["resourceManager"] == base + "/"
    assert cloud["endpoints"]["activeDirectoryResourceId"] == "https://management.core.windows.net/"
    dropin.az("cloud", "set", "-n", "IotcMock", config_dir=config)
    dropin.az("config", "set", "core.instance_discovery=false", config_dir=config)
    dropin.az("login", "--service-principal", "-u", CI_APP, "-p", CI_SECRET, "--tenant", TENANT, config_dir=config)
    token = az_token(dropin, config)
    assert requests.get(f"{base}/api/users", params=V, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_mock_answers_the_discovery_calls_msal_makes(dropin):
    # Instance discovery, for an authority MSAL does not know (what azure-identity asks for AZURE_AUTHORITY_HOST).
    answer = requests.get("https://login.microsoftonline.com/common/discovery/instance", params={
        "api-version": "1.1", "authorization_endpoint": f"https://localhost:{dropin.port}/{TENANT}/oauth2/v2.0/authorize"}).json()
    assert answer["tenant_discovery_endpoint"] == f"https://localhost:{dropin.port}/{TENANT}/v2.0/.well-known/openid-configuration"
    realm = requests.get(f"https://login.microsoftonline.com/common/userrealm/{ADMIN_USER}", params={"api-version": "1.0"}).json()
    assert realm["account_type"] == "Managed" and realm["domain_name"] == "iotc-mock.example"
    metadata = requests.get("https://management.azure.com/metadata/endpoints", params={"api-version": "2022-09-01"}).json()
    assert metadata["authentication"]["loginEndpoint"] == "https://login.microsoftonline.com"
    assert metadata["resourceManager"] == "https://management.azure.com/"
    # IoT Central under its real host name picks the application by subdomain.
    assert requests.get(f"{CENTRAL}/api/roles", params=V, headers={"Authorization": dropin.admin_token}).status_code == 200


def readme_block(heading, index=0):
    """The index-th ```sh or ```python block under the README's `## heading`."""
    import re
    text = (REPO / "README.md").read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:sh|python)\n(.*?)```", section, re.S)[index]


def test_the_readme_default_azure_credential_block_runs_as_written(dropin, tmp_path):
    import subprocess
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_block("DefaultAzureCredential")],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env={**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200"


def test_the_readme_cloud_register_block_runs_as_written(dropin, tmp_path):
    # The mock on its own default port and data folder, as `make run` starts it, and the README's commands verbatim.
    import subprocess
    server = subprocess.Popen([str(BINARY), "--quiet", "--fixtures", str(REPO / "fixtures")], cwd=tmp_path,
                              stdout=subprocess.PIPE, text=True, env={k: v for k, v in os.environ.items() if not k.startswith("IOTC_MOCK_")})
    try:
        assert server.stdout.readline().startswith("iotc-mock ready url=http://127.0.0.1:8765 ")
        block = readme_block("Sign in with the Azure CLI", 2)
        assert "az cloud register" in block
        environment = {**os.environ, "AZURE_CONFIG_DIR": str(tmp_path / "az"), "AZURE_CORE_COLLECT_TELEMETRY": "no"}
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], capture_output=True, text=True, timeout=300,
                                cwd=tmp_path, env=environment)
        assert result.returncode == 0, result.stderr
        token = json.loads(result.stdout[result.stdout.rindex("{\n"):])
        assert token["tenant"] == TENANT and token["subscription"] == SUBSCRIPTION
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_every_call_the_tools_made_was_answered(dropin):
    # Runs last: the journal of everything above holds no path the mock does not serve (what the tools call was
    # found by watching this journal, not guessed).
    journal = requests.get(f"{dropin.url}/_mock/journal", params={"limit": "1000"}).json()
    entries = journal["value"]
    paths = {(e["method"], e["path"]) for e in entries}
    assert ("GET", "/subscriptions") in paths and ("GET", "/tenants") in paths
    assert ("GET", "/common/userrealm/admin@iotc-mock.example") in paths
    unanswered = [(e["method"], e["path"], e["status"]) for e in entries if e["status"] in (404, 405, 501)]
    assert unanswered == []


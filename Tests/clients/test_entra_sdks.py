"""MSAL and azure-identity, the real Microsoft SDKs, get tokens from the mock Entra ID over https and call
IoT Central with them, pointed at the mock's own port: a custom authority, instance discovery off, and the mock's
certificate authority trusted through REQUESTS_CA_BUNDLE (which overrides `verify=` in requests). Drop-in mode, with no
such settings, is tested with the Azure CLI in Tests/azure."""
import msal
import pytest
import requests
from azure.identity import ClientSecretCredential

TENANT = "726878f1-1cb5-489c-a4f1-581d7b3c5984"
CI_APP, CI_OBJECT, CI_SECRET = "bfa26516-349e-48e7-acdc-5207da73e9bb", "02a70a2d-68af-45ae-b566-7556a18f5405", "iotc-mock-ci-secret"
OUTSIDER_APP, OUTSIDER_SECRET = "c40622f7-1191-4076-8a59-422be48e0867", "iotc-mock-outsider-secret"
SCOPE = "https://apps.azureiotcentral.com/.default"
ADMINISTRATOR, OPERATOR = "ca310b8d-2f4a-44e0-a36e-957c202cd8d4", "ae2c9854-393b-4f97-8c42-479d70ce626e"
V = {"api-version": "2022-07-31"}


@pytest.fixture
def https(mock, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.certificate)
    monkeypatch.setenv("SSL_CERT_FILE", mock.certificate)
    return mock.https_url.replace("127.0.0.1", "localhost")


def add_service_principal(base, admin, role):
    body = {"type": "servicePrincipal", "tenantId": TENANT, "objectId": CI_OBJECT, "roles": [{"role": role}]}
    response = requests.put(f"{base}/api/users/iotc-mock-ci", params=V, headers={"Authorization": admin}, json=body)
    assert response.status_code == 200, response.text


def msal_token(base, client_id, secret):
    app = msal.ConfidentialClientApplication(
        client_id, client_credential=secret, authority=f"{base}/{TENANT}", instance_discovery=False)
    return app.acquire_token_for_client(scopes=[SCOPE])


def test_msal_token_calls_iot_central_and_roles_decide(mock, https):
    add_service_principal(https, mock.token, ADMINISTRATOR)
    result = msal_token(https, CI_APP, CI_SECRET)
    assert "access_token" in result, result
    bearer = {"Authorization": f"Bearer {result['access_token']}"}
    assert requests.get(f"{https}/api/roles", params=V, headers=bearer).status_code == 200
    # The same service principal as an Operator may not create API tokens.
    add_service_principal(https, mock.token, OPERATOR)
    denied = requests.put(f"{https}/api/apiTokens/x", params=V, headers=bearer, json={"roles": [{"role": OPERATOR}]})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Forbidden"


def test_azure_identity_token_calls_iot_central(mock, https):
    add_service_principal(https, mock.token, ADMINISTRATOR)
    credential = ClientSecretCredential(
        TENANT, CI_APP, CI_SECRET, authority=https, disable_instance_discovery=True)
    token = credential.get_token(SCOPE)
    assert token.expires_on > 0
    response = requests.get(f"{https}/api/roles", params=V, headers={"Authorization": f"Bearer {token.token}"})
    assert response.status_code == 200


def test_an_identity_that_is_no_user_gets_403_everywhere(mock, https):
    result = msal_token(https, OUTSIDER_APP, OUTSIDER_SECRET)
    bearer = {"Authorization": f"Bearer {result['access_token']}"}
    for method, path in [("GET", "roles"), ("GET", "users"), ("GET", "apiTokens"), ("PUT", "apiTokens/x"), ("DELETE", "users/u")]:
        response = requests.request(method, f"{https}/api/{path}", params=V, headers=bearer, json={"roles": [{"role": OPERATOR}]})
        assert response.status_code == 403, (method, path, response.text)


def test_a_token_with_a_changed_signature_byte_gets_401(mock, https):
    add_service_principal(https, mock.token, ADMINISTRATOR)
    token = msal_token(https, CI_APP, CI_SECRET)["access_token"]
    head, payload, signature = token.split(".")
    changed = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    response = requests.get(f"{https}/api/roles", params=V, headers={"Authorization": f"Bearer {head}.{payload}.{changed}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthenticated"


def test_entra_errors_have_entra_shape(mock, https):
    result = msal_token(https, CI_APP, "wrong-secret")
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS7000215:")
    raw = requests.post(f"{https}/{TENANT}/oauth2/v2.0/token", data={"grant_type": "client_credentials", "client_id": CI_APP, "client_secret": CI_SECRET})
    body = raw.json()
    assert raw.status_code == 400 and body["error"] == "invalid_request" and body["error_codes"] == [900144]
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()
    unknown = requests.post(f"{https}/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token", data={"grant_type": "client_credentials", "client_id": CI_APP, "client_secret": CI_SECRET, "scope": SCOPE})
    assert unknown.status_code == 400 and unknown.json()["error_description"].startswith("AADSTS90002:")
    grant = requests.post(f"{https}/{TENANT}/oauth2/v2.0/token", data={"grant_type": "device_code", "client_id": CI_APP, "scope": SCOPE})
    assert grant.json()["error"] == "unsupported_grant_type"


AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def test_password_grant_for_a_group_member_user(mock, https):
    # Raw form post: MSAL's username/password flow first asks the authority host on port 443 for the user's realm.
    # Azure CLI's first-party public client needs no secret; a confidential client of the directory needs its own.
    confidential = requests.post(f"{https}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "password", "client_id": CI_APP, "scope": SCOPE,
        "username": "operator@iotc-mock.example", "password": "iotc-mock-operator-password"})
    assert confidential.status_code == 401 and confidential.json()["error_codes"] == [7000218]
    response = requests.post(f"{https}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "password", "client_id": AZURE_CLI, "scope": SCOPE,
        "username": "operator@iotc-mock.example", "password": "iotc-mock-operator-password"})
    assert response.status_code == 200, response.text
    bearer = {"Authorization": f"Bearer {response.json()['access_token']}"}
    # Not a user of the app yet: 403. Then its group is added as an Administrator: 200.
    assert requests.get(f"{https}/api/users", params=V, headers=bearer).status_code == 403
    body = {"type": "adGroup", "tenantId": TENANT, "objectId": "2ab9a930-754c-455c-a645-d29f86c7016d", "roles": [{"role": ADMINISTRATOR}]}
    assert requests.put(f"{https}/api/users/operators", params=V, headers={"Authorization": mock.token}, json=body).status_code == 200
    assert requests.get(f"{https}/api/users", params=V, headers=bearer).status_code == 200
    # The tenant-independent endpoint finds the user in its tenant.
    organizations = requests.post(f"{https}/organizations/oauth2/v2.0/token", data={
        "grant_type": "password", "client_id": AZURE_CLI, "scope": SCOPE,
        "username": "operator@iotc-mock.example", "password": "iotc-mock-operator-password"})
    assert organizations.status_code == 200, organizations.text
    wrong = requests.post(f"{https}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "password", "client_id": AZURE_CLI, "scope": SCOPE, "username": "operator@iotc-mock.example", "password": "nope"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_a_service_principal_added_at_run_time_gets_tokens(mock, https):
    created = requests.post(f"{https}/_mock/entra/{TENANT}/servicePrincipals", json={"displayName": "added-later"})
    assert created.status_code == 201, created.text
    principal = created.json()
    assert requests.post(f"{https}/_mock/entra/{TENANT}/servicePrincipals", json={"displayName": "x", "appId": principal["appId"]}).status_code == 409
    result = msal_token(https, principal["appId"], principal["secrets"][0])
    bearer = {"Authorization": f"Bearer {result['access_token']}"}
    assert requests.get(f"{https}/api/roles", params=V, headers=bearer).status_code == 403
    body = {"type": "servicePrincipal", "tenantId": TENANT, "objectId": principal["objectId"], "roles": [{"role": ADMINISTRATOR}]}
    assert requests.put(f"{https}/api/users/later", params=V, headers={"Authorization": mock.token}, json=body).status_code == 200
    assert requests.get(f"{https}/api/roles", params=V, headers=bearer).status_code == 200
    assert any(p["appId"] == principal["appId"] for p in requests.get(f"{https}/_mock/entra").json()["tenants"][0]["servicePrincipals"])


def test_v1_endpoint_domain_authority_discovery_and_keys(mock, https):
    # The tenant may be named by its domain.
    result = msal.ConfidentialClientApplication(
        CI_APP, client_credential=CI_SECRET, authority=f"{https}/iotc-mock.example", instance_discovery=False
    ).acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result
    v1 = requests.post(f"{https}/{TENANT}/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": CI_APP, "client_secret": CI_SECRET, "resource": "https://apps.azureiotcentral.com/"})
    assert v1.status_code == 200, v1.text
    body = v1.json()
    assert body["resource"] == "https://apps.azureiotcentral.com" and int(body["expires_on"]) > 0 and body["expires_in"] == 3599
    keys = requests.get(f"{https}/{TENANT}/discovery/v2.0/keys").json()["keys"]
    import base64, json
    header = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
    assert header["alg"] == "RS256" and header["kid"] in [k["kid"] for k in keys]
    v1doc = requests.get(f"{https}/{TENANT}/.well-known/openid-configuration").json()
    assert v1doc["issuer"] == f"https://sts.windows.net/{TENANT}/"
    assert requests.post(f"{https}/common/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": CI_APP, "client_secret": CI_SECRET, "scope": SCOPE}).status_code == 400
    unknown_client = requests.post(f"{https}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": "00000000-0000-0000-0000-000000000000", "client_secret": "x", "scope": SCOPE})
    assert unknown_client.json()["error_codes"] == [700016]


def test_token_endpoint_strictness_found_by_a_new_user_trial(mock, https):
    token_url = f"{https}/{TENANT}/oauth2/v2.0/token"
    good = {"grant_type": "client_credentials", "client_id": CI_APP, "client_secret": CI_SECRET, "scope": SCOPE}
    duplicated = "&".join(f"{k}={requests.utils.quote(v, safe='')}" for k, v in good.items()) + "&client_secret=bad"
    r = requests.post(token_url, data=duplicated, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and r.json()["error_codes"] == [9000411]
    r = requests.post(token_url, data=good, auth=(CI_APP, "wrong"))
    assert r.status_code == 400 and r.json()["error_codes"] == [90014]
    r = requests.post(token_url, data={"grant_type": "password", "client_id": CI_APP, "client_secret": "wrong", "scope": SCOPE,
                                       "username": "admin@iotc-mock.example", "password": "iotc-mock-admin-password"})
    assert r.status_code == 401 and r.json()["error_codes"] == [7000215]
    r = requests.get(token_url)
    assert r.status_code == 405 and r.headers["Allow"] == "POST" and r.json()["error_description"].startswith("AADSTS900561:")
    assert requests.get(f"{https}/nope/discovery/v2.0/keys").status_code == 400


def test_control_endpoint_validates_what_it_adds(mock, https):
    base = f"{https}/_mock/entra/{TENANT}"
    assert requests.post(f"{base}/users", json={"userPrincipalName": "a@b.example", "password": "p", "objectId": "zzz"}).status_code == 400
    assert requests.post(f"{base}/users", json={"userPrincipalName": "a b@b.example", "password": "p"}).status_code == 400
    assert requests.post(f"{base}/groups", json={"displayName": "g", "members": ["not-a-guid"]}).status_code == 400
    # Control writes are JSON (a browser form could send anything else): a body that is not JSON, labelled JSON, is 400.
    assert requests.post(f"{base}/servicePrincipals", data="not json", headers={"Content-Type": "application/json"}).status_code == 400
    assert requests.post(f"{base}/servicePrincipals", data="not json").status_code == 415
    assert requests.post(f"{base}/servicePrincipals", json={"displayName": "bad\u0000name"}).status_code == 400
    assert requests.post(f"{base}/users", json={"userPrincipalName": "ok@b.example", "password": "p"}).status_code == 201

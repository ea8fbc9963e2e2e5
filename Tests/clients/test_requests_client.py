"""The seed scenario and bad input through Python `requests`, a real third-party HTTP client."""
import requests

V = {"api-version": "2022-07-31"}
ADMINISTRATOR = "ca310b8d-2f4a-44e0-a36e-957c202cd8d4"
OPERATOR = "ae2c9854-393b-4f97-8c42-479d70ce626e"
SUPPORT = "You can contact support at https://aka.ms/iotcentral-support. Please include the following information."


def assert_envelope(response, status, code):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert SUPPORT in error["message"]
    assert error["message"].endswith(f"Request ID: {error['requestId']}, Time: {error['time']}.")
    assert response.headers["x-ms-error-code"] == code
    assert response.headers["x-ms-request-id"] == error["requestId"]


def test_seed_scenario(mock):
    admin = {"Authorization": mock.token}
    with requests.Session() as s:
        roles = s.get(f"{mock.api}/roles", params=V, headers=admin)
        assert roles.status_code == 200
        assert len(roles.json()["value"]) == 7  # six built-in roles and the custom Support Lead

        created = s.put(f"{mock.api}/apiTokens/operator", params=V, headers=admin, json={"roles": [{"role": OPERATOR}]})
        assert created.status_code == 200
        operator = {"Authorization": created.json()["token"]}

        assert_envelope(s.get(f"{mock.api}/users", params=V, headers=operator), 403, "Forbidden")
        assert_envelope(s.put(f"{mock.api}/apiTokens/x", params=V, headers=operator, json={"roles": [{"role": ADMINISTRATOR}]}), 403, "Forbidden")
        assert s.delete(f"{mock.api}/apiTokens/operator", params=V, headers=admin).status_code == 204
        assert_envelope(s.get(f"{mock.api}/roles", params=V, headers=operator), 401, "Unauthenticated")


def test_users_round_trip_with_merge_patch(mock):
    admin = {"Authorization": mock.token}
    body = {"type": "servicePrincipal", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "objectId": "9071c899-bce0-4862-b208-75dabae226a9", "roles": [{"role": OPERATOR}]}
    assert requests.put(f"{mock.api}/users/sp", params=V, headers=admin, json=body).json()["type"] == "servicePrincipal"
    patched = requests.patch(f"{mock.api}/users/sp", params=V, data='{"roles":[{"role":"%s"}]}' % ADMINISTRATOR,
                             headers={**admin, "Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200
    assert patched.json()["roles"] == [{"role": ADMINISTRATOR}]
    assert_envelope(requests.patch(f"{mock.api}/users/sp", params=V, headers=admin, json={"objectId": "00000000-0000-0000-0000-000000000000"}), 422, "InvalidBody")


def test_bad_input_changes_nothing(mock):
    admin = {"Authorization": mock.token}
    before = requests.get(f"{mock.api}/users", params=V, headers=admin).json()
    assert_envelope(requests.put(f"{mock.api}/users/u", params=V, headers={**admin, "Content-Type": "application/json"}, data="{oops"), 400, "BadRequest")
    assert_envelope(requests.put(f"{mock.api}/users/" + "a" * 49, params=V, headers=admin, json={"type": "email", "email": "a@b.co", "roles": [{"role": OPERATOR}]}), 422, "InvalidBody")
    assert_envelope(requests.put(f"{mock.api}/users/u", params=V, headers=admin, data=b"x" * (2 * 1024 * 1024)), 413, "PayloadTooLarge")
    assert requests.get(f"{mock.api}/users", params=V, headers=admin).json() == before


def test_unknown_api_version_is_not_found(mock):
    response = requests.get(f"{mock.api}/roles", params={"api-version": "2099-01-01"}, headers={"Authorization": mock.token})
    assert_envelope(response, 404, "NotFound")
    assert response.json()["error"]["message"].startswith('"2099-01-01" is not a valid API version.')


def test_paging_follows_next_link_verbatim(mock):
    admin = {"Authorization": mock.token}
    for i in range(105):
        assert requests.put(f"{mock.api}/apiTokens/t{i}", params=V, headers=admin, json={"roles": [{"role": OPERATOR}]}).status_code == 200
    seen, url, params = [], f"{mock.api}/apiTokens", V
    while url:
        page = requests.get(url, params=params, headers=admin).json()
        seen += [item["id"] for item in page["value"]]
        url, params = page.get("nextLink"), V  # some clients add api-version again
    assert seen == ["iotc-mock-admin"] + [f"t{i}" for i in range(105)]

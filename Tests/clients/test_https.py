"""Python `requests` over https with the certificate the mock generated, trusted the way the Microsoft identity platform docs
says real tests must: through REQUESTS_CA_BUNDLE (which overrides a session's verify=)."""
import pytest
import requests

V = {"api-version": "2022-07-31"}


def https_url(mock, host):
    return mock.https_url.replace("127.0.0.1", host)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_requests_trusts_the_generated_certificate(mock, monkeypatch, host):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.certificate)
    response = requests.get(f"{https_url(mock, host)}/api/roles", params=V, headers={"Authorization": mock.token})
    assert response.status_code == 200
    assert len(response.json()["value"]) == 7  # six built-in roles and the custom Support Lead


def test_next_links_over_https_are_https(mock, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", mock.certificate)
    admin = {"Authorization": mock.token}
    base = https_url(mock, "localhost")
    for i in range(101):
        requests.put(f"{base}/api/apiTokens/t{i}", params=V, headers=admin, json={"roles": [{"role": "ae2c9854-393b-4f97-8c42-479d70ce626e"}]})
    page = requests.get(f"{base}/api/apiTokens", params=V, headers=admin).json()
    assert page["nextLink"].startswith(f"{base}/api/apiTokens?")


def test_without_the_certificate_verification_fails(mock, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{https_url(mock, 'localhost')}/api/roles", params=V, headers={"Authorization": mock.token})

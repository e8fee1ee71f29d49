import pytest
import requests
from simple_salesforce import Salesforce

from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, get_token


def test_the_client_credentials_flow_returns_a_token_and_the_instance_url(emulator, session):
    token = get_token(emulator, session)
    assert token["instance_url"] == emulator.url
    assert token["token_type"] == "Bearer"
    assert set(token) == {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}


def test_the_password_flow_returns_a_working_token(emulator, session):
    token = get_token(
        emulator,
        session,
        grant_type="password",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD,
    )
    sf = Salesforce(
        instance_url=token["instance_url"], session_id=token["access_token"], session=session, version="62.0"
    )
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong"},
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
            "invalid_client_id",
        ),
        (
            {
                "grant_type": "password",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "username": USERNAME,
                "password": "wrong",
            },
            "invalid_grant",
        ),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)
def test_wrong_credentials_are_refused_with_an_oauth_error(emulator, session, form, error):
    response = session.post(f"{emulator.url}/services/oauth2/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_an_api_call_without_a_valid_token_is_refused(emulator, session):
    response = session.get(
        f"{emulator.url}/services/data/v62.0/limits/", headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 401
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_sessions_expire_after_the_configured_lifetime(emulator, session):
    emulator.configure(session_lifetime=0)
    token = get_token(emulator, session)
    response = session.get(
        f"{emulator.url}/services/data/v62.0/limits/",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert response.status_code == 401


def test_the_token_endpoint_is_not_counted_as_an_api_call(emulator, session):
    get_token(emulator, session)
    assert emulator.api_usage()[0] == 0


def test_a_client_without_the_emulators_ca_is_refused(emulator):
    plain = requests.Session()
    plain.trust_env = False  # the system's CAs only
    with pytest.raises(requests.exceptions.SSLError):
        plain.get(f"{emulator.url}/services/data/")

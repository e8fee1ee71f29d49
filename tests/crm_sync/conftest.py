"""One Salesforce emulator per test process, over real HTTPS, used through the real simple-salesforce.

The emulator needs no Django database: these tests never request `db`.
"""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce

from crm_sync.emulator import Emulator, emulator_session

CLIENT_ID, CLIENT_SECRET = "prm-tests", "s3cret"
USERNAME, PASSWORD = "integration@example.com", "pa55word"


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    emulator = Emulator(tmp_path_factory.mktemp("crm-emulator")).start()
    emulator.add_client(CLIENT_ID, CLIENT_SECRET)
    emulator.add_user(USERNAME, PASSWORD)
    yield emulator
    emulator.stop()


@pytest.fixture(autouse=True)
def _fresh_org(emulator):
    """Each test starts with an empty org, no faults and an empty request log."""
    emulator.reset()
    yield
    emulator.clear_faults()


@pytest.fixture
def session(emulator):
    return emulator_session(emulator.ca_path)


def get_token(emulator, session, **form) -> dict:
    form = form or {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    response = session.post(f"{emulator.url}/services/oauth2/token", data=form)
    assert response.status_code == 200, response.text
    return response.json()


def connect(emulator, session) -> Salesforce:
    """What the product does: obtain a token itself, hand session_id and instance_url to simple-salesforce."""
    token = get_token(emulator, session)
    return Salesforce(
        instance_url=token["instance_url"], session_id=token["access_token"], session=session, version="62.0"
    )


@pytest.fixture
def sf(emulator, session) -> Salesforce:
    return connect(emulator, session)


def api_calls(emulator) -> list[dict]:
    """The request log without the token endpoint."""
    return [entry for entry in emulator.request_log() if not entry["path"].startswith("/services/oauth2")]

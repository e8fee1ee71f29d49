"""The CRM connection on the tenant admin: write-only secrets, and the connection test (action, button)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from crm_sync.models import CRMConnection
from prm.tenancy import tenant_scope
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET
from tests.crm_sync.test_connection import raw_secret_columns, save_connection

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/crm_sync/crmconnection/"


def admin_client(user, host: str) -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


@pytest.fixture
def connection(cast, emulator) -> CRMConnection:
    return save_connection(
        cast.tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )


def form_data(connection, **changes) -> dict:
    fields = [
        "login_url",
        "auth_flow",
        "client_id",
        "username",
        "api_version",
        "ca_cert_path",
        "pause_at_usage",
    ]
    data = {name: getattr(connection, name) for name in fields}
    data.update(is_enabled="on", client_secret="", password="")
    return {**data, **changes}


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_tenant_admin_adds_a_connection_whose_secret_is_stored_encrypted(cast, emulator):
    client = admin_client(cast.acme.tenant_admin, cast.host)
    data = form_data(
        CRMConnection(login_url=emulator.url, client_id=CLIENT_ID, ca_cert_path=str(emulator.ca_path)),
        client_secret=CLIENT_SECRET,
    )
    response = client.post(f"{CHANGELIST}add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_scope(cast.tenant):
        connection = CRMConnection.objects.get()
    assert connection.client_secret == CLIENT_SECRET
    assert CLIENT_SECRET not in raw_secret_columns(connection)[0]
    # One per tenant: the add page is gone now.
    assert client.get(f"{CHANGELIST}add/").status_code == 403


def test_the_change_page_never_shows_the_secret_and_a_blank_keeps_it(cast, connection):
    client = admin_client(cast.acme.tenant_admin, cast.host)
    page = client.get(f"{CHANGELIST}{connection.pk}/change/").content.decode()
    assert CLIENT_SECRET not in page and connection.client_secret_encrypted not in page
    assert 'name="client_secret"' in page and "Test connection" in page
    before = raw_secret_columns(connection)
    response = client.post(f"{CHANGELIST}{connection.pk}/change/", form_data(connection, api_version="61.0"))
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.api_version == "61.0"
    assert raw_secret_columns(connection) == before


def test_client_credentials_without_a_secret_are_a_form_error(cast, emulator):
    client = admin_client(cast.acme.tenant_admin, cast.host)
    response = client.post(
        f"{CHANGELIST}add/", form_data(CRMConnection(login_url=emulator.url, client_id="x"))
    )
    assert response.status_code == 200
    assert "Client credentials need the connected app&#x27;s client secret." in response.content.decode()


def test_without_an_encryption_key_the_form_says_which_setting_is_missing(cast, emulator, settings):
    settings.PRM_CRM_ENCRYPTION_KEYS = []
    client = admin_client(cast.acme.tenant_admin, cast.host)
    data = form_data(CRMConnection(login_url=emulator.url, client_id="x"), client_secret="s3cret")
    response = client.post(f"{CHANGELIST}add/", data)
    assert response.status_code == 200
    assert "PRM_CRM_ENCRYPTION_KEYS" in response.content.decode()
    with tenant_scope(cast.tenant):
        assert not CRMConnection.objects.exists()


def test_the_button_tests_the_connection_for_a_tenant_admin(cast, connection, emulator):
    client = admin_client(cast.acme.tenant_admin, cast.host)
    response = client.post(f"{CHANGELIST}{connection.pk}/test/")
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{connection.pk}/change/"
    assert any(message.startswith(f"Connected to {emulator.url}") for message in messages_of(response))
    connection.refresh_from_db()
    assert connection.last_success_at is not None and connection.api_limit


def test_the_button_says_exactly_what_is_wrong(cast, connection):
    save_connection(cast.tenant, client_secret="wrong")
    client = admin_client(cast.acme.tenant_admin, cast.host)
    response = client.post(f"{CHANGELIST}{connection.pk}/test/")
    assert messages_of(response) == [
        "The CRM refused the credentials (invalid_client: invalid client credentials)."
    ]


def test_the_test_view_answers_post_only(cast, connection):
    client = admin_client(cast.acme.tenant_admin, cast.host)
    assert client.get(f"{CHANGELIST}{connection.pk}/test/").status_code == 405


def test_the_admin_action_tests_the_connection(cast, connection):
    client = admin_client(cast.acme.tenant_admin, cast.host)
    response = client.post(CHANGELIST, {"action": "test_connection", "_selected_action": [connection.pk]})
    assert response.status_code == 302
    assert any(message.startswith("Connected to") for message in messages_of(response))


def test_a_channel_manager_sees_the_connection_but_cannot_test_or_change_it(cast, connection):
    client = admin_client(cast.manager, cast.host)
    page = client.get(f"{CHANGELIST}{connection.pk}/change/").content.decode()
    assert "Test connection" not in page
    assert 'name="client_secret"' not in page and 'name="login_url"' not in page
    changelist = client.get(CHANGELIST).content.decode()
    assert "test_connection" not in changelist
    assert client.post(f"{CHANGELIST}{connection.pk}/test/").status_code == 403
    client.post(CHANGELIST, {"action": "test_connection", "_selected_action": [connection.pk]})
    connection.refresh_from_db()
    assert connection.last_checked_at is None


def test_another_tenants_connection_is_a_404(cast, connection):
    client = admin_client(cast.globex.tenant_admin, cast.globex.host)
    assert client.post(f"{CHANGELIST}{connection.pk}/test/").status_code == 404
    assert client.get(f"{CHANGELIST}{connection.pk}/test/").status_code == 404
    client.post(CHANGELIST, {"action": "test_connection", "_selected_action": [connection.pk]})
    connection.refresh_from_db()
    assert connection.last_checked_at is None

"""The per-tenant CRM connection: encrypted credentials, key rotation, and the connection test against the
emulator through the real simple-salesforce client over HTTPS."""

from __future__ import annotations

import socket
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection as db
from django.test import override_settings

from crm_sync import client, registry, services
from crm_sync.models import AuthFlow, CRMConnection, FieldMapping
from prm.tenancy import tenant_scope, unscoped_across_tenants
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME

pytestmark = pytest.mark.django_db


def save_connection(tenant, **fields) -> CRMConnection:
    secrets = {name: fields.pop(name) for name in ("client_secret", "password") if name in fields}
    with tenant_scope(tenant):
        connection = CRMConnection.objects.filter(tenant=tenant).first() or CRMConnection()
        for name, value in fields.items():
            setattr(connection, name, value)
        return services.crm_connection_save(connection=connection, acting_user=None, **secrets)


@pytest.fixture
def connection(cast, emulator) -> CRMConnection:
    return save_connection(
        cast.tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )


def test_connection(connection) -> services.ConnectionTestResult:
    with tenant_scope(connection.tenant):
        result = services.crm_connection_test(connection=connection, acting_user=None)
        connection.refresh_from_db()
    return result


test_connection.__test__ = False  # a helper, not a test


def raw_secret_columns(connection) -> tuple[str, str]:
    with tenant_scope(connection.tenant), db.cursor() as cursor:
        cursor.execute(
            "select client_secret_encrypted, password_encrypted from crm_sync_crmconnection where id = %s",
            [connection.pk],
        )
        return cursor.fetchone()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- credentials at rest ----------------------------------------------------------------------------------


def test_secrets_are_stored_as_ciphertext_and_decrypt_back(cast, emulator):
    connection = save_connection(
        cast.tenant,
        login_url=emulator.url,
        auth_flow=AuthFlow.PASSWORD,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD,
    )
    secret_column, password_column = raw_secret_columns(connection)
    assert CLIENT_SECRET not in secret_column and PASSWORD not in password_column
    assert secret_column.startswith("gAAAA") and password_column.startswith("gAAAA")  # Fernet tokens
    with tenant_scope(cast.tenant):
        stored = CRMConnection.objects.get()
    assert (stored.client_secret, stored.password) == (CLIENT_SECRET, PASSWORD)


def test_a_blank_secret_keeps_the_stored_one(connection):
    before = raw_secret_columns(connection)
    save_connection(connection.tenant, client_id=CLIENT_ID, client_secret="")
    assert raw_secret_columns(connection) == before


def test_it_refuses_client_credentials_without_a_secret(cast):
    with tenant_scope(cast.tenant), pytest.raises(ValidationError) as invalid:
        services.crm_connection_save(connection=CRMConnection(client_id="app"), acting_user=None)
    assert "client_secret" in invalid.value.message_dict
    with unscoped_across_tenants():
        assert CRMConnection.objects.count() == 0


def test_without_a_key_saving_a_secret_fails_clearly_and_saves_nothing(cast):
    with override_settings(PRM_CRM_ENCRYPTION_KEYS=[]), pytest.raises(ImproperlyConfigured) as missing:
        save_connection(cast.tenant, client_id="app", client_secret="s3cret")
    assert "PRM_CRM_ENCRYPTION_KEYS" in str(missing.value)
    assert "Fernet.generate_key()" in str(missing.value)
    with unscoped_across_tenants():
        assert CRMConnection.objects.count() == 0


def test_rotation_re_encrypts_with_the_newest_key(cast):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(PRM_CRM_ENCRYPTION_KEYS=[old]):
        connection = save_connection(cast.tenant, client_id="app", client_secret="s3cret")
    before = raw_secret_columns(connection)[0]
    with override_settings(PRM_CRM_ENCRYPTION_KEYS=[new, old]):
        # The new key is first, the old one still decrypts what it encrypted.
        with tenant_scope(cast.tenant):
            assert CRMConnection.objects.get().client_secret == "s3cret"
        out = StringIO()
        call_command("crm_rotate_keys", stdout=out)
    assert "acme: CRM credentials re-encrypted" in out.getvalue()
    assert raw_secret_columns(connection)[0] != before
    with override_settings(PRM_CRM_ENCRYPTION_KEYS=[new]), tenant_scope(cast.tenant):
        assert CRMConnection.objects.get().client_secret == "s3cret"


def test_rotation_names_the_tenant_whose_secret_no_key_decrypts_and_changes_nothing(cast):
    known, lost = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(PRM_CRM_ENCRYPTION_KEYS=[known]):
        acme = save_connection(cast.tenant, client_id="app", client_secret="acme-secret")
    with override_settings(PRM_CRM_ENCRYPTION_KEYS=[lost]):
        save_connection(cast.globex.tenant, client_id="app", client_secret="globex-secret")
    before = raw_secret_columns(acme)
    new = Fernet.generate_key().decode()
    with override_settings(PRM_CRM_ENCRYPTION_KEYS=[new, known]), pytest.raises(CommandError) as failed:
        call_command("crm_rotate_keys", stdout=StringIO())
    assert "Tenant globex" in str(failed.value)
    assert raw_secret_columns(acme) == before  # acme's row, rotated first, was rolled back


# --- the connection test ------------------------------------------------------------------------------


def test_the_connection_test_succeeds_and_records_usage_limit_and_instance(connection, emulator):
    emulator.configure(api_max=5000, api_usage=120)
    result = test_connection(connection)
    assert result.ok, result.messages
    assert connection.instance_url == emulator.url
    assert connection.api_limit == 5000
    # /limits is the first call after sign-in: it is counted before it answers.
    assert connection.api_usage == 121
    assert connection.last_error == ""
    assert connection.last_success_at == connection.last_checked_at is not None
    assert "Connected to" in result.messages[0]


def test_the_password_flow_works_too(cast, emulator):
    connection = save_connection(
        cast.tenant,
        login_url=emulator.url,
        auth_flow=AuthFlow.PASSWORD,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD,
        ca_cert_path=str(emulator.ca_path),
    )
    assert test_connection(connection).ok


def assert_failed_with(connection, result, expected: str) -> None:
    assert not result.ok
    assert expected in result.messages[0], result.messages
    assert expected in connection.last_error
    assert connection.last_checked_at is not None and connection.last_success_at is None


def test_wrong_credentials_say_the_crm_refused_them(connection):
    save_connection(connection.tenant, client_secret="wrong")
    connection.refresh_from_db()
    result = test_connection(connection)
    assert_failed_with(
        connection, result, "The CRM refused the credentials (invalid_client: invalid client credentials)."
    )


def test_a_wrong_password_says_the_crm_refused_it(cast, emulator):
    connection = save_connection(
        cast.tenant,
        login_url=emulator.url,
        auth_flow=AuthFlow.PASSWORD,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password="not-it",
        ca_cert_path=str(emulator.ca_path),
    )
    result = test_connection(connection)
    assert_failed_with(connection, result, "(invalid_grant: authentication failure)")


def test_an_unreachable_crm_says_so(connection):
    url = f"https://127.0.0.1:{free_port()}"
    save_connection(connection.tenant, login_url=url)
    connection.refresh_from_db()
    result = test_connection(connection)
    assert_failed_with(connection, result, f"Could not reach {url}/services/oauth2/token: ")
    assert "Connection refused" in result.messages[0]


def test_an_untrusted_certificate_says_the_tls_connection_failed(connection):
    save_connection(connection.tenant, ca_cert_path="")  # the system's CAs do not know the emulator's
    connection.refresh_from_db()
    result = test_connection(connection)
    assert_failed_with(connection, result, "The TLS connection to ")
    assert "CERTIFICATE_VERIFY_FAILED" in result.messages[0]


def test_a_missing_ca_file_says_so(connection, tmp_path):
    save_connection(connection.tenant, ca_cert_path=str(tmp_path / "nowhere.pem"))
    connection.refresh_from_db()
    result = test_connection(connection)
    assert not result.ok
    assert "nowhere.pem" in connection.last_error


def test_a_missing_external_id_field_is_reported(connection, monkeypatch):
    monkeypatch.setattr(services, "EXTERNAL_ID_FIELD", "Portal_Key__c")
    result = test_connection(connection)
    assert not result.ok
    # Every object a mirror writes to is checked, Account and Contact first.
    objects = list(dict.fromkeys(["Account", "Contact", *(m.crm_object for m in registry.mirrors())]))
    assert result.messages == [f"{name} has no field Portal_Key__c." for name in objects]
    assert connection.api_limit is not None  # the limits were read all the same


def test_an_expired_session_is_refreshed_once_transparently(connection, emulator):
    assert test_connection(connection).ok
    emulator.expire_sessions()
    emulator.clear_request_log()
    assert test_connection(connection).ok
    log = [(entry["path"], entry["status"]) for entry in emulator.request_log()]
    assert [status for path, status in log if path.endswith("/limits/")] == [401, 200]
    assert [path for path, _ in log].count("/services/oauth2/token") == 1


def test_a_session_that_keeps_expiring_is_an_error_not_a_loop(connection, emulator):
    calls = []

    def call(sf):
        calls.append(1)
        emulator.expire_sessions()
        return sf.limits()

    with tenant_scope(connection.tenant), pytest.raises(client.CRMError) as failed:
        client.with_fresh_session(connection, call)
    assert len(calls) == 2
    assert "INVALID_SESSION_ID" in str(failed.value)


def test_an_api_error_carries_salesforces_code_and_message(connection):
    with tenant_scope(connection.tenant), pytest.raises(client.CRMError) as failed:
        client.with_fresh_session(connection, lambda sf: sf.query("SELECT Nope FROM Account"))
    assert "HTTP 400" in str(failed.value) and "INVALID_FIELD" in str(failed.value)


def test_the_connection_test_checks_every_mapping_against_describe(connection):
    with tenant_scope(connection.tenant):
        services.mappings_for(connection.tenant, "partners.partner")
        FieldMapping.objects.filter(object_key="partners.partner", crm_field="Website").update(
            crm_field="Web_Site__c"
        )
        FieldMapping.objects.filter(object_key="partners.partnermembership", crm_field="LastName").update(
            crm_field="Name"  # derived and read-only on a Contact
        )
    result = test_connection(connection)
    assert not result.ok
    assert "The mapping Account.Web_Site__c names a field the CRM does not have." in result.messages
    assert "The mapping Contact.Name sends to a field the CRM does not let us write." in result.messages
    assert "Web_Site__c" in connection.last_error

"""seed_demo gives each demo tenant a CRM connection to the emulator `./run demo` started."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from crm_sync import services
from crm_sync.emulator import Emulator
from crm_sync.models import CRMConnection
from prm.models import Tenant
from prm.tenancy import tenant_scope, unscoped_across_tenants

pytestmark = pytest.mark.django_db

CLIENTS = {"acme": ["prm-demo-acme", "acme-secret"], "globex": ["prm-demo-globex", "globex-secret"]}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the demo's logos are real files


@pytest.fixture
def demo_crm_env(emulator, monkeypatch):
    for client_id, secret in CLIENTS.values():
        emulator.add_client(client_id, secret)
    monkeypatch.setenv("PRM_DEMO_CRM_URL", emulator.url)
    monkeypatch.setenv("PRM_DEMO_CRM_CA", str(emulator.ca_path))
    monkeypatch.setenv("PRM_DEMO_CRM_CLIENTS", json.dumps(CLIENTS))


def seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def connections() -> dict[str, tuple]:
    with unscoped_across_tenants():
        return {
            c.tenant.slug: (c.login_url, c.client_id, c.client_secret, c.ca_cert_path)
            for c in CRMConnection.objects.select_related("tenant")
        }


def test_each_demo_tenant_gets_its_own_working_connection_once(demo_crm_env, emulator):
    first = seed_demo()
    assert "CRM connection to" in first and "created" in first
    ca = str(emulator.ca_path)
    expected = {slug: (emulator.url, client_id, secret, ca) for slug, (client_id, secret) in CLIENTS.items()}
    assert connections() == expected

    second = seed_demo()
    assert "already set" in second
    assert connections() == expected

    for slug in CLIENTS:
        tenant = Tenant.objects.get(slug=slug)
        with tenant_scope(tenant):
            result = services.crm_connection_test(connection=CRMConnection.objects.get(), acting_user=None)
        assert result.ok, (slug, result.messages)


def test_a_new_emulator_address_updates_the_connections(demo_crm_env, monkeypatch):
    seed_demo()
    monkeypatch.setenv("PRM_DEMO_CRM_URL", "https://127.0.0.1:1")
    assert "updated" in seed_demo()
    assert {url for url, *_ in connections().values()} == {"https://127.0.0.1:1"}


def test_without_the_emulator_the_crm_part_is_skipped_with_a_note(monkeypatch):
    monkeypatch.delenv("PRM_DEMO_CRM_URL", raising=False)
    assert "no CRM connections made" in seed_demo()
    assert connections() == {}


def test_with_an_org_each_the_tenants_connect_to_their_own(emulator, tmp_path, monkeypatch):
    globex_org = Emulator(tmp_path / "globex-org").start()
    try:
        orgs = {"acme": (emulator, CLIENTS["acme"]), "globex": (globex_org, CLIENTS["globex"])}
        entries = {}
        for slug, (org, (client_id, secret)) in orgs.items():
            org.add_client(client_id, secret)
            entries[slug] = [client_id, secret, org.url, str(org.ca_path)]
        monkeypatch.setenv("PRM_DEMO_CRM_URL", emulator.url)
        monkeypatch.setenv("PRM_DEMO_CRM_CA", str(emulator.ca_path))
        monkeypatch.setenv("PRM_DEMO_CRM_CLIENTS", json.dumps(entries))
        out = seed_demo()
        assert f"CRM connection to {globex_org.url}: created" in out
        assert {slug: row[0] for slug, row in connections().items()} == {
            "acme": emulator.url,
            "globex": globex_org.url,
        }
        for slug in orgs:
            with tenant_scope(Tenant.objects.get(slug=slug)):
                result = services.crm_connection_test(
                    connection=CRMConnection.objects.get(), acting_user=None
                )
            assert result.ok, (slug, result.messages)
    finally:
        globex_org.stop()

"""The ops commands crm_status and crm_resync, against the emulator through the real client."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from crm_sync import outbox
from crm_sync.models import CRMConnection, OutboxEntry, OutboxState
from partners.models import Partner
from prm.tenancy import tenant_scope, unscoped_across_tenants
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET, api_calls
from tests.crm_sync.test_connection import save_connection
from tests.crm_sync.test_drain import EXT, MEMBER, PARTNER, add_partners

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(cast, emulator) -> CRMConnection:
    return save_connection(
        cast.acme.tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def outbox_rows() -> dict[tuple, int]:
    with unscoped_across_tenants():
        rows = OutboxEntry.objects.values_list("tenant__slug", "object_key", "state").annotate(n=Count("id"))
        return {(slug, key, state): n for slug, key, state, n in rows}


def row_of(output: str, key: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.strip().startswith(key + " "))


# --- crm_status -------------------------------------------------------------------------------------------


def test_status_counts_each_object_of_each_tenant_and_never_the_others(
    cast, acme, emulator, django_assert_max_num_queries
):
    outbox.outbox_drain(tenant=cast.acme.tenant)  # 2 partners + 4 members sent
    add_partners(cast.acme.tenant, 3)  # 3 pending partners
    with unscoped_across_tenants():
        dead = OutboxEntry.objects.filter(tenant=cast.acme.tenant, object_key=MEMBER).first()
        dead.state = OutboxState.DEAD
        dead.save()
    with django_assert_max_num_queries(8):
        output = run("crm_status", "--tenant", "acme")
    assert "globex" not in output
    assert row_of(output, PARTNER)[1:5] == ["3", "0", "2", "0"]
    assert row_of(output, MEMBER)[1:5] == ["0", "0", "3", "1"]
    assert "last success: 20" in output
    assert "API usage:" in output

    everyone = run("crm_status")
    globex = everyone[everyone.index("globex (") :]
    # globex's own rows only: its 2 partners and 4 members, all pending, no connection.
    assert row_of(globex, PARTNER)[1:5] == ["2", "0", "0", "0"]
    assert row_of(globex, MEMBER)[1:5] == ["4", "0", "0", "0"]
    assert "No CRM connection" in globex


def test_status_of_an_unknown_tenant_names_it(cast):
    with pytest.raises(CommandError, match="Unknown tenant 'nope'"):
        run("crm_status", "--tenant", "nope")


# --- crm_resync -------------------------------------------------------------------------------------------


def test_resync_sends_every_record_exactly_once(cast, acme, emulator):
    outbox.outbox_drain(tenant=cast.acme.tenant)
    add_partners(cast.acme.tenant, 250)  # pending already: coalesced, not duplicated
    emulator.reset()  # the CRM lost everything
    output = run("crm_resync", "--tenant", "acme")
    assert f"{PARTNER}: 252 queued" in output
    assert f"{MEMBER}: 4 queued" in output
    assert f"{PARTNER}: sent 252/252" in output
    assert f"{MEMBER}: sent 4/4" in output
    accounts = emulator.records("Account")
    assert len(accounts) == len({a[EXT] for a in accounts}) == 252
    assert len(emulator.records("Contact")) == 4
    rows = outbox_rows()
    assert not any(state == OutboxState.PENDING for (slug, _k, state) in rows if slug == "acme")
    # globex untouched: its six rows still pending, nothing of it sent.
    assert {k: n for k, n in rows.items() if k[0] == "globex"} == {
        ("globex", PARTNER, OutboxState.PENDING): 2,
        ("globex", MEMBER, OutboxState.PENDING): 4,
    }


def test_resync_of_one_object_since_a_date(cast, acme, emulator):
    with tenant_scope(cast.acme.tenant):
        Partner.objects.exclude(pk=cast.acme.partner.pk).update(
            updated_at=timezone.now() - timedelta(days=10)
        )
        Partner.objects.filter(pk=cast.acme.partner.pk).update(updated_at=timezone.now())
    outbox.outbox_drain(tenant=cast.acme.tenant)  # everything sent, then the CRM loses it
    emulator.reset()
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    output = run("crm_resync", "--tenant", "acme", "--object", PARTNER, "--since", since)
    assert f"{PARTNER}: 1 queued" in output
    assert MEMBER not in output
    assert [a[EXT] for a in emulator.records("Account")] == [str(cast.acme.partner.public_id)]
    assert emulator.records("Contact") == []


def test_resync_async_queues_and_enqueues_the_drain(cast, acme, emulator, monkeypatch):
    enqueued = []
    monkeypatch.setattr("crm_sync.tasks.crm_drain.delay", lambda tenant_id: enqueued.append(tenant_id))
    outbox.outbox_drain(tenant=cast.acme.tenant)
    output = run("crm_resync", "--tenant", "acme", "--object", MEMBER, "--async")
    assert f"{MEMBER}: 4 queued" in output
    assert enqueued == [cast.acme.tenant.pk]
    assert outbox_rows()[("acme", MEMBER, OutboxState.PENDING)] == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nope"], "Unknown tenant 'nope'"),
        (["--tenant", "acme", "--object", "partners.nothing"], r"Mirrored objects: .*partners\.partner, "),
        (["--tenant", "acme", "--since", "last tuesday"], "'last tuesday' is not a date"),
        (["--tenant", "acme", "--since", "2026-13-40"], "is not a date"),
        (["--tenant", "globex"], "globex has no CRM connection"),
    ],
)
def test_resync_bad_input_is_refused_and_writes_nothing(cast, acme, emulator, args, message):
    before = outbox_rows()
    with pytest.raises(CommandError, match=message):
        run("crm_resync", *args)
    assert outbox_rows() == before
    assert emulator.records("Account") == []


def test_resync_since_for_an_object_without_a_timestamp_is_refused(cast, acme, monkeypatch):
    monkeypatch.setattr("crm_sync.management.commands.crm_resync.SINCE_FIELDS", ("no_such_field",))
    before = outbox_rows()
    with pytest.raises(CommandError, match=r"--since cannot be used for .*partners\.partner"):
        run("crm_resync", "--tenant", "acme", "--since", "2026-01-01")
    assert outbox_rows() == before


def test_status_shows_a_paused_connection_and_its_last_error(cast, acme):
    with tenant_scope(cast.acme.tenant):
        CRMConnection.objects.filter(pk=acme.pk).update(
            paused_until=timezone.now() + timedelta(minutes=10),
            pause_reason="REQUEST_LIMIT_EXCEEDED: too many",
            last_error="REQUEST_LIMIT_EXCEEDED: too many",
            api_usage=900,
            api_limit=1000,
        )
    output = run("crm_status", "--tenant", "acme")
    assert "(REQUEST_LIMIT_EXCEEDED: too many)" in output
    assert "last error:   REQUEST_LIMIT_EXCEEDED: too many" in output
    assert "API usage:    900/1,000 (90%)" in output
    assert "last success: never" in output


# --- the sync-status page ---------------------------------------------------------------------------------


def test_the_sync_status_page_shows_the_tenants_figures_to_staff_only(cast, acme):
    add_partners(cast.acme.tenant, 3)
    with tenant_scope(cast.acme.tenant):
        CRMConnection.objects.filter(pk=acme.pk).update(last_error="INVALID_SESSION_ID: expired")
    client = Client(HTTP_HOST=cast.host)
    client.force_login(cast.manager)
    response = client.get("/crm/")
    assert response.status_code == 200
    rows = {
        row[0]: row[1:]
        for row in re.findall(
            r'<th scope="row" title="([\w.]+)">[^<]+</th>' + r"\s*<td>(\d+)</td>" * 4,
            response.content.decode(),
        )
    }
    # Other apps' mirrored objects have rows of their own; the partners' are the ones this test made.
    assert {PARTNER: rows[PARTNER], MEMBER: rows[MEMBER]} == {
        PARTNER: ("5", "0", "0", "0"),
        MEMBER: ("4", "0", "0", "0"),
    }
    assert "INVALID_SESSION_ID: expired" in response.content.decode()
    assert "Partners → Account" in response.content.decode()  # what staff read for partners.partner
    assert 'href="/crm/"' in client.get("/partners/").content.decode()

    partner_person = Client(HTTP_HOST=cast.host)
    partner_person.force_login(cast.acme.partner_admin)
    assert partner_person.get("/crm/").status_code == 404
    assert 'href="/crm/"' not in partner_person.get("/").content.decode()


def test_the_sync_status_page_without_a_connection_says_so(cast):
    client = Client(HTTP_HOST=cast.host)
    client.force_login(cast.manager)
    assert "No CRM connection" in client.get("/crm/").content.decode()


def test_a_resync_of_thousands_goes_through_bulk_api_jobs_not_collections(cast, acme, emulator):
    outbox.outbox_drain(tenant=cast.acme.tenant)
    add_partners(cast.acme.tenant, 2500)
    emulator.reset()
    emulator.clear_request_log()
    output = run("crm_resync", "--tenant", "acme", "--object", PARTNER)
    assert f"{PARTNER}: 2,502 records through Bulk API 2.0" in output
    assert f"{PARTNER}: sent 2,502/2,502" in output
    paths = [entry["path"] for entry in api_calls(emulator)]
    assert any("/jobs/ingest" in path for path in paths)
    assert not any("/composite/sobjects" in path for path in paths)
    accounts = emulator.records("Account")
    assert len(accounts) == len({a[EXT] for a in accounts}) == 2502


def test_bulk_jobs_link_contacts_to_accounts_and_leave_locked_rows_to_the_drain(
    cast, acme, emulator, monkeypatch
):
    monkeypatch.setattr(outbox, "BULK_THRESHOLD", 3)
    add_partners(cast.acme.tenant, 30)
    emulator.set_faults(lock_rate=0.2, seed=4)
    output = run("crm_resync", "--tenant", "acme")
    assert f"{PARTNER}: 32 records through Bulk API 2.0" in output
    assert f"{MEMBER}: 4 records through Bulk API 2.0" in output
    with unscoped_across_tenants():
        locked = OutboxEntry.objects.filter(tenant=cast.acme.tenant, state=OutboxState.PENDING)
        assert locked.exists()
        assert {e.last_error.split(":")[0] for e in locked} <= {"UNABLE_TO_LOCK_ROW", outbox.PARENT_NOT_SENT}
    emulator.clear_faults()
    with unscoped_across_tenants():
        locked.update(next_attempt_at=None)
    while outbox.outbox_drain(tenant=cast.acme.tenant).claimed:
        pass
    accounts = {a[EXT]: a for a in emulator.records("Account")}
    assert len(accounts) == 32
    account_ids = {a["Id"] for a in accounts.values()}
    people = emulator.records("Contact")
    assert len(people) == 4 and all(c["AccountId"] in account_ids for c in people)


# --- the partner page -------------------------------------------------------------------------------------


def partner_page(cast, user) -> str:
    client = Client(HTTP_HOST=cast.host)
    client.force_login(user)
    response = client.get(f"/partners/{cast.acme.partner.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_partner_page_shows_staff_its_crm_sync_state(cast, acme, emulator):
    assert "Waiting to be sent" in partner_page(cast, cast.manager)
    outbox.outbox_drain(tenant=cast.acme.tenant)
    content = partner_page(cast, cast.manager)
    assert "In the CRM" in content and "Last sent" in content

    emulator.set_faults(error_rate=1.0)
    with tenant_scope(cast.acme.tenant):
        partner = Partner.objects.get(pk=cast.acme.partner.pk)
        partner.name = "Northwind Renamed"
        partner.save()
    outbox.outbox_drain(tenant=cast.acme.tenant)
    content = partner_page(cast, cast.manager)
    assert "Waiting to be sent" in content and "SERVER_UNAVAILABLE" in content and "Last sent" in content
    # Partner people see their organisation's page, not the mirror's internals.
    assert "CRM sync" not in partner_page(cast, cast.acme.partner_admin)


def test_the_partner_page_says_when_no_crm_is_connected(cast):
    assert "No CRM is connected." in partner_page(cast, cast.manager)

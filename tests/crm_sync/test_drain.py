"""Draining the outbox to the emulator through the real simple-salesforce client over HTTPS.

The drains run in the test's process (crm_sync.outbox.outbox_drain), one after another.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from crm_sync import outbox, tasks
from crm_sync.models import CRMConnection, FieldMapping, OutboxEntry, OutboxState
from partners.models import Partner, PartnerMembership
from prm.tenancy import tenant_scope, unscoped_across_tenants
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET, api_calls
from tests.crm_sync.test_connection import save_connection

pytestmark = pytest.mark.django_db

PARTNER = "partners.partner"
MEMBER = "partners.partnermembership"
EXT = "PRM_External_Id__c"


@pytest.fixture
def acme(cast, emulator) -> CRMConnection:
    return save_connection(
        cast.acme.tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )


def drain(connection: CRMConnection, **options) -> outbox.DrainResult:
    return outbox.outbox_drain(tenant=connection.tenant, **options)


def make_due() -> None:
    """Let every backed-off row be due now, as if its backoff had passed."""
    with unscoped_across_tenants():
        OutboxEntry.objects.filter(state=OutboxState.PENDING).update(next_attempt_at=None)


def states(tenant=None) -> dict[str, int]:
    with unscoped_across_tenants():
        entries = OutboxEntry.objects.all()
        if tenant is not None:
            entries = entries.filter(tenant=tenant)
        return dict(entries.values_list("state").annotate(n=Count("id")))


def accounts(emulator) -> dict[str, dict]:
    return {record[EXT]: record for record in emulator.records("Account")}


def contacts(emulator) -> dict[str, dict]:
    return {record[EXT]: record for record in emulator.records("Contact")}


def add_partners(tenant, count: int) -> list[Partner]:
    with tenant_scope(tenant):
        model = Partner.objects.first()
        return Partner.objects.bulk_create(
            Partner(
                tenant=tenant,
                slug=f"bulk-{n}",
                name=f"Bulk Partner {n}",
                partner_type=model.partner_type,
                country="FR",
                region=model.region,
                website_domain=f"bulk-{n}.example",
                stage=model.stage,
                tier=model.tier,
            )
            for n in range(count)
        )


def test_partners_and_members_become_accounts_and_linked_contacts(cast, acme, emulator):
    result = drain(acme)
    assert result.sent == result.claimed == 2 + 4
    assert states(cast.acme.tenant) == {OutboxState.SENT: 6}

    found = accounts(emulator)
    partner = cast.acme.partner
    assert set(found) == {str(partner.public_id), str(cast.acme.other_partner.public_id)}
    account = found[str(partner.public_id)]
    assert account["Name"] == "Northwind Acme"
    assert account["Website"] == "northwind-acme.example"
    assert account["BillingCountry"] == "DE"
    assert account["PRM_Tier__c"] == "Gold"
    assert account["PRM_Stage__c"] == partner.stage

    people = contacts(emulator)
    assert len(people) == 4
    with tenant_scope(cast.acme.tenant):
        alice = PartnerMembership.objects.get(membership__user=cast.acme.partner_admin)
    contact = people[str(alice.membership.public_id)]
    assert (contact["FirstName"], contact["LastName"]) == ("Alice", "Admin")
    assert contact["Email"] == "alice@acme.test"
    assert contact["AccountId"] == account["Id"]

    # Nothing left: a second drain makes no call.
    emulator.clear_request_log()
    assert drain(acme).claimed == 0
    assert api_calls(emulator) == []


def test_an_edit_after_a_sent_drain_updates_the_same_account(cast, acme, emulator):
    drain(acme)
    partner = cast.acme.partner
    with tenant_scope(partner.tenant):
        partner.name = "Northwind Renamed"
        partner.save()
    assert drain(acme).sent == 1
    found = [a for a in emulator.records("Account") if a[EXT] == str(partner.public_id)]
    assert [a["Name"] for a in found] == ["Northwind Renamed"]
    assert len(emulator.records("Account")) == 2


def test_a_thousand_changed_partners_take_at_most_six_api_calls(cast, acme, emulator):
    drain(acme)
    add_partners(cast.acme.tenant, 1000)
    emulator.clear_request_log()
    result = drain(acme)
    assert result.sent == 1000
    calls = api_calls(emulator)
    assert len(calls) <= 6, [c["path"] for c in calls]
    assert len(emulator.records("Account")) == 1002


def test_rows_locked_in_the_crm_are_retried_and_arrive_exactly_once(cast, acme, emulator):
    add_partners(cast.acme.tenant, 100)
    emulator.set_faults(lock_rate=0.3, seed=7)
    first = drain(acme)
    assert first.retried > 0
    with unscoped_across_tenants():
        retried = OutboxEntry.objects.filter(tenant=cast.acme.tenant, state=OutboxState.PENDING)
        assert all(e.next_attempt_at > timezone.now() for e in retried)
        assert {e.last_error.split(":")[0] for e in retried.filter(object_key=PARTNER)} == {
            "UNABLE_TO_LOCK_ROW"
        }
        # A contact of a locked account waits for it without counting an attempt (or was locked itself).
        for member in retried.filter(object_key=MEMBER):
            assert (member.attempts, member.last_error) == (0, outbox.PARENT_NOT_SENT) or (
                member.last_error.startswith("UNABLE_TO_LOCK_ROW")
            )
    # Not due yet: a drain right away sends nothing of them.
    assert drain(acme).claimed == 0
    emulator.clear_faults()
    make_due()
    drain(acme)
    assert states(cast.acme.tenant) == {OutboxState.SENT: 106}
    found = emulator.records("Account")
    assert len(found) == len({a[EXT] for a in found}) == 102


def test_a_fifth_of_calls_failing_converges_without_duplicates_or_dead_letters(cast, acme, emulator):
    add_partners(cast.acme.tenant, 400)
    emulator.set_faults(error_rate=0.2, lock_rate=0.05, seed=11)
    for _round in range(30):
        drain(acme, batch_size=50)
        make_due()
        if set(states(cast.acme.tenant)) == {OutboxState.SENT}:
            break
    assert states(cast.acme.tenant) == {OutboxState.SENT: 406}
    found = emulator.records("Account")
    assert len(found) == len({a[EXT] for a in found}) == 402
    people = emulator.records("Contact")
    assert len(people) == len({c[EXT] for c in people}) == 4


@override_settings(PRM_CRM_MAX_ATTEMPTS=3)
def test_a_mapping_to_a_missing_crm_field_makes_dead_letters_and_nothing_else_fails(cast, acme, emulator):
    with tenant_scope(cast.acme.tenant):
        FieldMapping.objects.filter(object_key=MEMBER, crm_field="Email").update(crm_field="No_Such_Field__c")
    for _round in range(2):
        drain(acme)
        make_due()
    assert states(cast.acme.tenant) == {OutboxState.SENT: 2, OutboxState.PENDING: 4}
    drain(acme)
    with unscoped_across_tenants():
        dead = list(OutboxEntry.objects.filter(tenant=cast.acme.tenant, state=OutboxState.DEAD))
    assert sorted(e.object_key for e in dead) == [MEMBER] * 4
    assert {e.attempts for e in dead} == {3}
    assert all(e.last_error.startswith("INVALID_FIELD: No such column 'No_Such_Field__c'") for e in dead)
    assert states(cast.acme.tenant) == {OutboxState.SENT: 2, OutboxState.DEAD: 4}
    assert len(emulator.records("Account")) == 2
    assert emulator.records("Contact") == []


def test_a_crm_that_fails_every_call_stops_the_drain_after_one_call_and_loses_nothing(cast, acme, emulator):
    add_partners(cast.acme.tenant, 300)
    emulator.set_faults(error_rate=1.0)
    result = drain(acme)
    assert (result.calls, result.sent, result.halted) == (1, 0, True)
    with tenant_scope(cast.acme.tenant):
        entries = OutboxEntry.objects.all()
        assert {e.state for e in entries} == {OutboxState.PENDING}
        failed = entries.filter(attempts=1)
        assert failed.count() == 200  # the call's records, backed off; the rest waits as it was
        assert all(e.last_error.startswith("The CRM answered HTTP 503") for e in failed)
        assert entries.filter(attempts=0, next_attempt_at=None).count() == 306 - 200
    acme.refresh_from_db()
    assert "SERVER_UNAVAILABLE" in acme.last_error
    emulator.clear_faults()
    make_due()
    assert drain(acme).sent == 306


def test_request_limit_exceeded_pauses_the_connection_and_loses_nothing(cast, acme, emulator):
    emulator.set_faults(request_limit_exceeded=True)
    result = drain(acme)
    assert result.paused
    acme.refresh_from_db()
    assert acme.paused_until > timezone.now() + timedelta(minutes=10)
    assert "REQUEST_LIMIT_EXCEEDED" in acme.pause_reason
    with unscoped_across_tenants():
        entries = list(OutboxEntry.objects.filter(tenant=cast.acme.tenant))
    assert {(e.state, e.attempts) for e in entries} == {(OutboxState.PENDING, 0)}

    # Paused: nothing is drained, even after the CRM recovered.
    emulator.clear_faults()
    emulator.clear_request_log()
    assert drain(acme).claimed == 0
    assert api_calls(emulator) == []

    with tenant_scope(acme.tenant):
        CRMConnection.objects.filter(pk=acme.pk).update(paused_until=timezone.now() - timedelta(seconds=1))
    assert drain(acme).sent == 6
    acme.refresh_from_db()
    assert acme.pause_reason == ""
    assert acme.last_success_at is not None


def test_usage_past_the_pause_share_pauses_after_the_call(cast, acme, emulator):
    emulator.configure(api_max=1000, api_usage=900)
    acme.pause_at_usage = Decimal("0.80")
    acme.save()
    result = drain(acme)
    assert result.paused
    assert result.sent == 2  # the accounts' call went out; the contacts wait
    acme.refresh_from_db()
    assert acme.api_usage == 901 and acme.api_limit == 1000
    assert acme.paused_until is not None
    assert states(cast.acme.tenant) == {OutboxState.SENT: 2, OutboxState.PENDING: 4}


def test_an_expired_session_is_refreshed_mid_run(cast, acme, emulator):
    drain(acme)
    add_partners(cast.acme.tenant, 10)
    emulator.expire_sessions()
    assert drain(acme).sent == 10
    assert len(emulator.records("Account")) == 12


def test_a_row_left_sending_past_the_lease_is_reclaimed(cast, acme, emulator):
    partner = cast.acme.partner
    long_ago = timezone.now() - outbox.lease() - timedelta(seconds=1)
    with unscoped_across_tenants():
        OutboxEntry.objects.filter(record_id=partner.pk, object_key=PARTNER).update(
            state=OutboxState.SENDING, claimed_at=long_ago
        )
        recent = OutboxEntry.objects.filter(object_key=PARTNER).exclude(record_id=partner.pk)
        recent.update(state=OutboxState.SENDING, claimed_at=timezone.now())
    drain(acme)
    assert str(partner.public_id) in accounts(emulator)
    assert len(emulator.records("Account")) == 1  # the other one is still within its lease


def test_an_edit_while_sending_leaves_a_new_pending_row_that_sends_the_latest_state(cast, acme, emulator):
    partner = cast.acme.partner
    with unscoped_across_tenants():
        OutboxEntry.objects.filter(record_id=partner.pk, object_key=PARTNER).update(
            state=OutboxState.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
        )
    with tenant_scope(partner.tenant):
        partner.name = "Northwind Latest"
        partner.save()
    drain(acme)
    with unscoped_across_tenants():
        rows = list(OutboxEntry.objects.filter(record_id=partner.pk, object_key=PARTNER))
    assert [e.state for e in rows] == [OutboxState.SENT]  # the stale claim gave way to the newer row
    assert accounts(emulator)[str(partner.public_id)]["Name"] == "Northwind Latest"


def test_a_disabled_connection_drains_nothing(cast, acme, emulator):
    with tenant_scope(acme.tenant):
        CRMConnection.objects.filter(pk=acme.pk).update(is_enabled=False)
    assert drain(acme).claimed == 0
    assert api_calls(emulator) == []


def test_each_tenant_drains_only_its_own_rows(cast, acme, emulator):
    emulator.add_client("globex-client", "globex-secret")
    globex = save_connection(
        cast.globex.tenant,
        login_url=emulator.url,
        client_id="globex-client",
        client_secret="globex-secret",
        ca_cert_path=str(emulator.ca_path),
    )
    assert drain(acme).sent == 6
    assert set(accounts(emulator)) == {
        str(cast.acme.partner.public_id),
        str(cast.acme.other_partner.public_id),
    }
    assert states(cast.globex.tenant) == {OutboxState.PENDING: 6}
    assert drain(globex).sent == 6
    assert len(emulator.records("Account")) == 4


def test_the_beat_enqueues_a_drain_for_tenants_with_due_rows_only(cast, acme, emulator, monkeypatch):
    enqueued = []
    monkeypatch.setattr(tasks.crm_drain, "delay", enqueued.append)
    tasks.crm_drain_all()
    assert enqueued == [cast.acme.tenant.pk]  # globex has rows but no connection
    drain(acme)
    enqueued.clear()
    tasks.crm_drain_all()
    assert enqueued == []


def test_the_drain_task_runs_in_the_tenants_scope(cast, acme, emulator):
    tasks.crm_drain.delay(cast.acme.tenant.pk)  # eager in tests
    assert states(cast.acme.tenant) == {OutboxState.SENT: 6}


def test_saving_partners_wakes_the_drain_at_most_twice_a_second(
    cast, acme, monkeypatch, django_capture_on_commit_callbacks
):
    woken = []
    monkeypatch.setattr(tasks.app.conf, "task_always_eager", False)  # as with a worker
    monkeypatch.setattr(tasks.crm_drain, "apply_async", lambda args, **options: woken.append((args, options)))
    prefix = f"{settings.PRM_CACHE_KEY_PREFIX}:crm-wake:{cast.acme.tenant.pk}"
    tasks._redis().delete(f"{prefix}:now", f"{prefix}:later")
    partner = cast.acme.partner
    for name in ("One", "Two", "Three"):
        with django_capture_on_commit_callbacks(execute=True), tenant_scope(partner.tenant):
            partner.name = name
            partner.save()
    tenant_id = cast.acme.tenant.pk
    # At once for the first change, a second later for the ones that followed within the second.
    assert woken == [((tenant_id,), {}), ((tenant_id,), {"countdown": tasks.WAKE_DEBOUNCE_SECONDS})]


def test_in_process_every_committed_change_drains_even_within_the_same_second(
    cast, acme, emulator, django_capture_on_commit_callbacks
):
    # No countdown runs in-process, so a change right after another must drain on its own commit.
    drain(acme)
    partner = cast.acme.partner
    for name in ("One", "Two", "Three"):
        with django_capture_on_commit_callbacks(execute=True), tenant_scope(partner.tenant):
            partner.name = name
            partner.save()
        accounts = {r[EXT]: r for r in emulator.records("Account")}
        assert accounts[str(partner.public_id)]["Name"] == name


@override_settings(PRM_CRM_MAX_ATTEMPTS=2)
def test_transient_failures_never_count_towards_a_dead_letter(cast, acme, emulator):
    drain(acme)  # the cast's records are in
    with tenant_scope(cast.acme.tenant):
        FieldMapping.objects.filter(object_key=PARTNER, crm_field="Website").update(crm_field="No_Such__c")
        Partner.objects.filter(pk=cast.acme.partner.pk).update(name="Northwind Again")
    emulator.set_faults(error_rate=1.0)
    for _round in range(3):  # three whole calls failing with 503
        drain(acme)
        make_due()
    emulator.clear_faults()
    drain(acme)  # the first refusal of the record itself: not yet a dead letter
    make_due()
    assert states(cast.acme.tenant).get(OutboxState.DEAD, 0) == 0
    drain(acme)
    assert states(cast.acme.tenant)[OutboxState.DEAD] == 1


def test_after_an_outage_the_first_call_through_sends_what_only_waited_on_it(cast, acme, emulator):
    drain(acme)  # the cast's records are in
    tenant = cast.acme.tenant
    with tenant_scope(tenant):
        Partner.objects.filter(pk=cast.acme.partner.pk).update(name="Renamed during the outage")
    emulator.set_faults(error_rate=1.0)
    drain(acme)  # every call answers 503: the row backs off
    with tenant_scope(tenant):
        waiting = OutboxEntry.objects.get(state=OutboxState.PENDING)
    assert waiting.next_attempt_at > timezone.now()
    assert waiting.next_attempt_at <= timezone.now() + timedelta(seconds=outbox.OUTAGE_BACKOFF_CAP)
    emulator.clear_faults()
    with tenant_scope(tenant):
        Partner.objects.filter(pk=cast.acme.other_partner.pk).update(name="Changed once it was back")
    drain(acme)  # the new change goes through, and with it the one that waited out the outage
    names = {ext: record["Name"] for ext, record in accounts(emulator).items()}
    assert names[str(cast.acme.partner.public_id)] == "Renamed during the outage"
    assert names[str(cast.acme.other_partner.public_id)] == "Changed once it was back"
    assert states(tenant) == {OutboxState.SENT: 8}

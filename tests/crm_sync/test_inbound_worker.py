"""The inbound sync with a real Celery worker and beat: a CRM user's edit reaches the portal on its own."""

from __future__ import annotations

import os
import random
import time

import pytest
from simple_salesforce.exceptions import SalesforceError

from crm_sync import outbox
from dealreg import services
from dealreg.models import Deal, DealEvent, DealEventKind, DealStatus
from incentives import selectors as incentive_selectors
from incentives.models import EntryKind, LedgerEntry
from partners.models import Partner
from prm.tenancy import tenant_scope
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET, connect
from tests.crm_sync.test_connection import save_connection
from tests.dealreg.conftest import register
from tests.worker_support import serving_worker, start_beat

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EXT = "PRM_External_Id__c"
# The beat looks for due tenants every second; each tenant keeps its own poll interval (15 s by default).
FAST = {"PRM_CRM_POLL_TICK": "1", "PRM_CRM_DRAIN_INTERVAL": "1", "PRM_CRM_BACKOFF_BASE": "0.2"}


def test_an_opportunity_closed_won_in_the_crm_marks_the_deal_won_and_accrues_its_rebate_within_30_seconds(
    cast, emulator, session, tmp_path, monkeypatch, settings
):
    tenant = cast.acme.tenant
    save_connection(
        tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )
    with tenant_scope(tenant):
        deal = register(cast.acme.partner, cast.partner_user)
        deal = services.deal_approve(deal=deal, acting_user=cast.manager, notify=False)
    outbox.outbox_drain(tenant=tenant)
    crm_id = next(r["Id"] for r in emulator.records("Opportunity") if r[EXT] == str(deal.public_id))
    sf = connect(emulator, session)

    monkeypatch.setenv("PRM_CRM_ENCRYPTION_KEYS", ",".join(settings.PRM_CRM_ENCRYPTION_KEYS))
    with serving_worker(tmp_path / "worker", max_deliveries=3, include=(), extra_env=FAST) as (worker, _):
        beat = start_beat(worker, tmp_path / "worker", extra_env=FAST)
        try:

            def status() -> str:
                with tenant_scope(tenant):
                    return Deal.objects.get(pk=deal.pk).status

            # The first poll reads the portal's own Opportunity back and changes nothing.
            worker.wait_for(
                lambda: "crm poll" in worker.log() or "crm_poll" in worker.log(),
                timeout=30,
                what="a first poll",
            )
            assert status() == DealStatus.APPROVED
            sf.Opportunity.update(crm_id, {"StageName": "Closed Won"})  # as a CRM user would
            edited = time.monotonic()
            worker.wait_for(lambda: status() == DealStatus.WON, timeout=30, what="the deal to be won")
            took = time.monotonic() - edited

            def rebate():
                with tenant_scope(tenant):
                    return LedgerEntry.objects.filter(deal=deal, kind=EntryKind.REBATE).first()

            # deal_won, sent by the worker's commit, accrues the rebate there too.
            entry = worker.wait_for(rebate, timeout=30, what="the rebate to accrue")
            accrued = time.monotonic() - edited
        finally:
            beat.stop()

    assert took < 30 and accrued < 30
    with tenant_scope(tenant):
        won = DealEvent.objects.get(deal=deal, kind=DealEventKind.WON)
        rule = incentive_selectors.current_rule(Partner.objects.get(pk=cast.acme.partner.pk))
    # deal_close recorded the decision (no person: the CRM) and sent deal_won, as for a portal edit.
    assert won.actor is None and won.reason == "Closed in the CRM."
    # At the partner's (Gold) tier rate.
    assert rule is not None and rule.rebate_percent > 0
    assert (entry.rate, entry.amount) == (
        rule.rebate_percent,
        (deal.amount * rule.rebate_percent / 100).quantize(entry.amount),
    )


# A minute in the suite; `PRM_SOAK_SECONDS=300 ./run test -n 0 -s -k soak` runs the longer soak of
# docs/benchmarks.md.
SOAK_SECONDS = float(os.environ.get("PRM_SOAK_SECONDS", "60"))
PATHS = {"Amount": "amount", "Description": "description", "Name": "name"}


def test_soak_random_edits_on_both_sides_under_faults_end_in_step_with_the_last_writer(
    cast, emulator, session, tmp_path, monkeypatch, settings
):
    """SOAK_SECONDS of random edits of shared (Amount, Description) and portal-owned (Name) fields of a few
    deals, from the portal and directly in the CRM, with a tenth of the CRM's calls failing, rows locked and
    sessions expiring; a fifth of them are conflicts (the same field edited in the CRM, then in the portal,
    before either is mirrored; the other order is test_inbound's in-flight test). Each deal is edited again
    once its last edit has reached the other side, while the other deals' edits are in flight. Then quiet:
    crm_verify finds no drift, and every field holds its last writer's value on both sides."""
    from crm_sync import verify
    from crm_sync.models import OutboxEntry, OutboxState

    tenant = cast.acme.tenant
    save_connection(
        tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
        poll_interval=5,
    )
    deals = []
    with tenant_scope(tenant):
        for number in range(8):
            deal = register(
                cast.acme.partner,
                cast.partner_user,
                name=f"Soak {number}",
                customer_domain=f"s{number}.example",
            )
            deals.append(services.deal_approve(deal=deal, acting_user=cast.manager, notify=False))
    outbox.outbox_drain(tenant=tenant)
    crm_ids = {r[EXT]: r["Id"] for r in emulator.records("Opportunity")}
    sf = connect(emulator, session)
    rng = random.Random(7)
    last: dict[tuple[int, str], object] = {}  # (deal pk, CRM field) -> the last value written, by either side
    expected: dict[int, tuple[str, object]] = {}  # deal pk -> its last edit, until it is mirrored
    edits = {"portal": 0, "crm": 0, "conflicts": 0}
    refused = 0

    def crm_edit(deal, crm_field, value) -> None:
        nonlocal sf, refused
        while True:  # a CRM user retries what the CRM's faults refused
            try:
                sf.Opportunity.update(crm_ids[str(deal.public_id)], {crm_field: value})
                return
            except SalesforceError:
                refused += 1
                sf = connect(emulator, session)

    def mirrored(pk: int) -> bool:
        crm_field, value = expected[pk]
        deal = next(d for d in deals if d.pk == pk)
        with tenant_scope(tenant):
            portal = getattr(Deal.objects.get(pk=pk), PATHS[crm_field])
        crm = next(r for r in emulator.records("Opportunity") if r["Id"] == crm_ids[str(deal.public_id)])
        return same_value(portal, value) and same_value(crm[crm_field], value)

    monkeypatch.setenv("PRM_CRM_ENCRYPTION_KEYS", ",".join(settings.PRM_CRM_ENCRYPTION_KEYS))
    with serving_worker(tmp_path / "worker", max_deliveries=3, include=(), extra_env=FAST) as (worker, _):
        beat = start_beat(worker, tmp_path / "worker", extra_env=FAST)
        try:
            emulator.set_faults(error_rate=0.1, lock_rate=0.05, latency_ms=40, seed=3)
            started = time.monotonic()
            expired = False
            while time.monotonic() - started < SOAK_SECONDS:
                if not expired and time.monotonic() - started > SOAK_SECONDS / 2:
                    emulator.expire_sessions()
                    emulator.set_faults(error_rate=0.1, lock_rate=0.05, latency_ms=40, seed=4)
                    expired = True
                worker.wait_for(
                    lambda: any(d.pk not in expected or mirrored(d.pk) for d in deals),
                    timeout=60,
                    what="a deal whose last edit is mirrored",
                )
                deal = rng.choice([d for d in deals if d.pk not in expected or mirrored(d.pk)])
                action = rng.choices(["portal", "crm", "conflict"], weights=[2, 2, 1])[0]
                crm_field = rng.choice(["Amount", "Description"] + (["Name"] if action == "portal" else []))
                number = sum(edits.values())
                value = {
                    "Amount": rng.randrange(1, 10_000),
                    "Description": f"{action} {number}",
                    "Name": f"Soak {deal.pk} v{number}",
                }[crm_field]
                if action == "conflict":  # the same field in the CRM, then in the portal, later
                    crm_edit(deal, crm_field, value)
                    value = value + 1 if crm_field == "Amount" else f"{value} (portal)"
                if action in ("portal", "conflict"):
                    with tenant_scope(tenant):
                        Deal.objects.filter(pk=deal.pk).update(**{PATHS[crm_field]: value})
                if action == "crm":
                    crm_edit(deal, crm_field, value)
                edits[{"conflict": "conflicts"}.get(action, action)] += 1
                last[(deal.pk, crm_field)] = value
                expected[deal.pk] = (crm_field, value)
            emulator.clear_faults()
            quiet = time.monotonic()

            def settled() -> bool:
                with tenant_scope(tenant):
                    if OutboxEntry.objects.filter(
                        state__in=[OutboxState.PENDING, OutboxState.SENDING]
                    ).exists():
                        return False
                report = verify.verify(tenant=tenant, record=False)
                return not report.drift and not report.error

            worker.wait_for(settled, timeout=90, what="the mirror to settle")
            settle_seconds = time.monotonic() - quiet
        finally:
            beat.stop()

    report = verify.verify(tenant=tenant)
    assert report.drift == [] and report.checked > len(deals)
    crm = {r[EXT]: r for r in emulator.records("Opportunity")}
    with tenant_scope(tenant):
        for (pk, crm_field), value in last.items():
            deal = Deal.objects.get(pk=pk)
            portal = getattr(deal, PATHS[crm_field])
            assert same_value(portal, value), (deal.name, crm_field, portal, value)
            assert same_value(crm[str(deal.public_id)][crm_field], value), (deal.name, crm_field, value)
    faults = sum(1 for e in emulator.request_log() if e["status"] in (401, 403, 503))
    print(  # noqa: T201 - the soak's figures, for docs/benchmarks.md
        f"\nsoak: {edits['portal']} portal edits, {edits['crm']} CRM edits, {edits['conflicts']} conflicts; "
        f"{refused} CRM edits refused by faults, {faults} faulted calls; drift {len(report.drift)}; "
        f"settled {settle_seconds:.1f} s after the last edit"
    )


def same_value(left, right) -> bool:
    text_left, text_right = str(left), str(right)
    try:
        return float(text_left) == float(text_right)
    except ValueError:
        return text_left == text_right

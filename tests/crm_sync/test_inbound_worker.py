"""The inbound sync with a real Celery worker and beat: a CRM user's edit reaches the portal on its own."""

from __future__ import annotations

import time

import pytest

from crm_sync import outbox
from dealreg import services
from dealreg.models import Deal, DealEvent, DealEventKind, DealStatus
from prm.tenancy import tenant_scope
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET, connect
from tests.crm_sync.test_connection import save_connection
from tests.dealreg.conftest import register
from tests.worker_support import serving_worker, start_beat

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EXT = "PRM_External_Id__c"
# The beat looks for due tenants every second; each tenant keeps its own poll interval (15 s by default).
FAST = {"PRM_CRM_POLL_TICK": "1", "PRM_CRM_DRAIN_INTERVAL": "1", "PRM_CRM_BACKOFF_BASE": "0.2"}


def test_an_opportunity_closed_won_in_the_crm_marks_the_deal_won_within_30_seconds(
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
        finally:
            beat.stop()

    assert took < 30
    with tenant_scope(tenant):
        won = DealEvent.objects.get(deal=deal, kind=DealEventKind.WON)
    # deal_close recorded the decision (no person: the CRM) and sent deal_won, as for a portal edit.
    assert won.actor is None and won.reason == "Closed in the CRM."

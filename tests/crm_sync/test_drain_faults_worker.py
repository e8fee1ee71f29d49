"""The outbound mirror under faults, with a real Celery worker and beat: a fifth of the CRM's calls failing,
rows locked in the CRM, and the worker's process killed with SIGKILL in the middle of a batch. After recovery
every record is in the CRM exactly once, with its latest values, and nothing is a dead letter."""

from __future__ import annotations

import signal

import psutil
import pytest
from django.db.models import Count

from crm_sync.models import OutboxEntry, OutboxState
from prm.tenancy import tenant_scope, unscoped_across_tenants
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET
from tests.crm_sync.test_connection import save_connection
from tests.crm_sync.test_drain import add_partners
from tests.worker_support import serving_worker, start_beat

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EXT = "PRM_External_Id__c"
# Short enough for a test: a dead worker's rows are claimed again after 3 s, retries start after 0.2 s,
# and the beat sweeps every half second.
FAST = {
    "PRM_CRM_SENDING_LEASE": "3",
    "PRM_CRM_BACKOFF_BASE": "0.2",
    "PRM_CRM_DRAIN_INTERVAL": "0.5",
    "PRM_CRM_MAX_ATTEMPTS": "5",
}


def outbox_states(tenant) -> dict[str, int]:
    with unscoped_across_tenants():
        rows = OutboxEntry.objects.filter(tenant=tenant)
        return dict(rows.values_list("state").annotate(n=Count("id")).order_by())


def test_a_killed_worker_and_failing_crm_calls_lose_and_duplicate_nothing(
    cast, emulator, tmp_path, monkeypatch, settings
):
    tenant = cast.acme.tenant
    save_connection(
        tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )
    partners = add_partners(tenant, 1000)  # a bulk insert: captured by the triggers, woken by nobody
    expected = {str(p.public_id): p.name for p in partners}
    with tenant_scope(tenant):
        expected |= {str(p.public_id): p.name for p in (cast.acme.partner, cast.acme.other_partner)}
    emulator.set_faults(error_rate=0.2, lock_rate=0.05, latency_ms=300, seed=5)

    monkeypatch.setenv("PRM_CRM_ENCRYPTION_KEYS", ",".join(settings.PRM_CRM_ENCRYPTION_KEYS))
    with serving_worker(tmp_path / "worker", max_deliveries=3, include=(), extra_env=FAST) as (worker, _):
        beat = start_beat(worker, tmp_path / "worker", extra_env=FAST)
        try:
            # Wait until the worker is inside a batch: rows claimed (sending) and some accounts already in.
            worker.wait_for(
                lambda: (
                    outbox_states(tenant).get(OutboxState.SENDING) and len(emulator.records("Account")) >= 200
                ),
                timeout=60,
                what="the drain to be half-way through a batch",
            )
            children = [p for p in worker.processes() if p.pid != worker.process.pid]
            assert children, "the worker has no pool process to kill"
            for child in children:
                child.send_signal(signal.SIGKILL)
            psutil.wait_procs(children, timeout=10)
            in_crm_at_kill = len(emulator.records("Account"))
            assert in_crm_at_kill < len(expected), "the kill came after the drain had finished"

            worker.wait_for(
                lambda: outbox_states(tenant) == {OutboxState.SENT: len(expected) + 4},
                timeout=120,
                what=f"every row to be sent; now {outbox_states(tenant)}",
            )
        finally:
            beat.stop()

    accounts = emulator.records("Account")
    ids = [a[EXT] for a in accounts]
    assert len(ids) == len(set(ids)) == len(expected)
    assert {a[EXT]: a["Name"] for a in accounts} == expected
    contacts = [c[EXT] for c in emulator.records("Contact")]
    assert len(contacts) == len(set(contacts)) == 4
    assert "WorkerLostError" in worker.log() or "signal 9" in worker.log()

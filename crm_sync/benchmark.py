"""The outbound mirror's benchmark (`manage.py crm_benchmark`): throughput, API calls, commit-to-CRM latency.

It runs against the configured database and Redis with real parts only: the emulator as its own process
(HTTPS on a free loopback port, so it does not share this process's interpreter), a throwaway tenant with a
CRM connection to it, and, for the latency figures, a real Celery worker on a queue of its own. Everything
it made is removed at the end, the tenant included.

- Throughput: `records` partners are inserted in one bulk insert (captured by the outbox triggers), then the
  outbox is drained in this process, as `crm_resync` does; records per second = records / drain time.
- API calls per 1,000 records: the emulator's request log during that drain, the token endpoint excluded.
- Latency: `samples` times, one partner is renamed and committed; the commit wakes the tenant's drain, which
  the worker runs; the time until the emulator serves the new name is measured (polled every 5 ms). The
  samples are a second apart, isolated changes; in a burst, changes after the first in a second wait for
  the wake-up debounce (crm_sync.tasks), up to one second more.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection as db
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

from crm_sync import outbox, services
from crm_sync.emulator import emulator_session
from crm_sync.models import CRMConnection
from partners.models import Partner, PartnerType, Region, Stage
from prm import services as core_services
from prm.models import Tenant
from prm.tenancy import tenant_scope, unscoped_across_tenants

EXT = "PRM_External_Id__c"
CLIENT_ID = "prm-benchmark"


@dataclass
class Figures:
    records: int
    drain_seconds: float
    api_calls: int
    latencies: list[float]

    @property
    def records_per_second(self) -> float:
        return self.records / self.drain_seconds

    @property
    def calls_per_thousand(self) -> float:
        return self.api_calls * 1000 / self.records

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class EmulatorProcess:
    """`manage.py crm_emulator` on a free port, in a process of its own; talked to over HTTPS only."""

    def __init__(self, data_dir: Path):
        self.secret = secrets.token_urlsafe(16)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "crm_emulator",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                self.secret,
            ],
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        first = self.process.stdout.readline().strip()
        if not first.startswith("Salesforce emulator on "):
            self.stop()
            raise RuntimeError(f"the emulator did not start: {first}")
        self.url = first.removeprefix("Salesforce emulator on ")
        self.ca_path = data_dir / "ca.pem"
        self.session = emulator_session(self.ca_path)

    def admin(self, method: str, path: str, **kwargs):
        response = self.session.request(method, f"{self.url}/__emulator__/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def api_calls(self) -> int:
        return sum(
            1 for entry in self.admin("GET", "requests") if not entry["path"].startswith("/services/oauth2")
        )

    def account_name(self, external_id: str) -> str | None:
        """The Name of the Account with this external id, read through the REST API as a CRM user would."""
        if not hasattr(self, "_sf"):
            token = self.session.post(
                f"{self.url}/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": self.secret,
                },
                timeout=30,
            ).json()
            self._sf = Salesforce(
                instance_url=token["instance_url"],
                session_id=token["access_token"],
                session=self.session,
                version="62.0",
            )
        try:
            return self._sf.Account.get_by_custom_id(EXT, external_id)["Name"]
        except SalesforceResourceNotFound:
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextlib.contextmanager
def worker_process(queue: str) -> Iterator[subprocess.Popen]:
    """A Celery worker consuming `queue` only (so a running demo's worker takes none of its tasks)."""
    env = {**os.environ, "PRM_CELERY_QUEUE": queue, "PRM_CELERY_EAGER": "0", "PRM_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "prm", "worker", "--pool", "solo", "--queues", queue],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def run(*, records: int, samples: int, say: Callable[[str], None]) -> Figures:
    """Run the benchmark and return its figures; `say` reports progress."""
    from prm.celery import app as celery_app

    if removed := remove_leftovers():
        say(f"removed {removed} tenant(s) left by an earlier run")
    slug = f"bench-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="prm-crm-benchmark-") as directory:
        emulator = EmulatorProcess(Path(directory))
        tenant = None
        try:
            say(f"emulator on {emulator.url}; making tenant {slug}")
            tenant = core_services.tenant_create(
                slug=slug,
                name=f"Benchmark {slug}",
                admin_email=f"admin@{slug}.invalid",
                send_invitation=False,
            )
            with tenant_scope(tenant):
                connection = CRMConnection(
                    login_url=emulator.url, client_id=CLIENT_ID, ca_cert_path=str(emulator.ca_path)
                )
                services.crm_connection_save(
                    connection=connection, acting_user=None, client_secret=emulator.secret
                )
                partner_type = PartnerType.objects.get(slug="reseller")
                Partner.objects.bulk_create(
                    Partner(
                        tenant=tenant,
                        slug=f"bench-{n}",
                        name=f"Benchmark Partner {n}",
                        partner_type=partner_type,
                        country="DE",
                        region=Region.EMEA,
                        website_domain=f"bench-{n}.example",
                        stage=Stage.ACTIVE,
                    )
                    for n in range(records)
                )
            emulator.admin("DELETE", "requests")
            say(f"draining {records:,} records")
            started = time.perf_counter()
            sent = 0
            while True:
                result = outbox.outbox_drain(tenant=tenant)
                sent += result.sent
                if result.halted or result.paused:
                    raise RuntimeError("the drain stopped: the emulator failed or paused the sync")
                if not result.claimed:
                    break
            drain_seconds = time.perf_counter() - started
            if sent != records:
                raise RuntimeError(f"only {sent} of {records} records were sent")
            api_calls = emulator.api_calls()

            latencies: list[float] = []
            if samples:
                queue = f"{slug}-queue"
                previous_queue = celery_app.conf.task_default_queue
                celery_app.conf.task_default_queue = queue
                try:
                    with worker_process(queue):
                        latencies = _latencies(tenant, emulator, samples, say)
                finally:
                    celery_app.conf.task_default_queue = previous_queue
            return Figures(records, drain_seconds, api_calls, latencies)
        finally:
            emulator.stop()
            if tenant is not None:
                _remove(tenant)


def _latencies(tenant: Tenant, emulator: EmulatorProcess, samples: int, say) -> list[float]:
    with tenant_scope(tenant):
        partners = list(Partner.objects.order_by("slug")[:samples])
    # The first edit also waits for the worker to start; it is not counted.
    latencies: list[float] = []
    for n, partner in enumerate([partners[0], *partners]):
        name = f"Renamed {n} {partner.slug}"
        with tenant_scope(tenant):
            partner.name = name
            partner.save(update_fields=["name", "updated_at"])  # autocommit: the commit wakes the drain
        committed = time.perf_counter()
        key = str(partner.public_id)
        arrived = wait_until(
            lambda key=key, name=name: emulator.account_name(key) == name, timeout=60, interval=0.005
        )
        if not arrived:
            raise RuntimeError(f"{key} did not reach the emulator within 60 s: is the worker running?")
        if n:
            latencies.append(time.perf_counter() - committed)
        if n % 10 == 0:
            say(f"latency sample {n}/{samples}")
        # Let the wake-up debounce window (crm_sync.tasks.WAKE_DEBOUNCE_SECONDS) pass, so each sample is
        # an isolated change, not the tail of a burst (a burst's later changes wait for the window).
        time.sleep(1.05)
    return latencies


def _remove(tenant: Tenant) -> None:
    """Delete the throwaway tenant and everything it owns (partners first: their types are protected)."""
    db.close_if_unusable_or_obsolete()
    with tenant_scope(tenant):
        Partner.objects.all().delete()
    with unscoped_across_tenants():
        Tenant.objects.filter(pk=tenant.pk).delete()


def remove_leftovers() -> int:
    """Delete the tenants of benchmark runs that were cut short; how many there were."""
    with unscoped_across_tenants():
        leftovers = list(
            Tenant.objects.filter(slug__startswith="bench-", name__startswith="Benchmark bench-")
        )
    for tenant in leftovers:
        _remove(tenant)
    return len(leftovers)

"""The inbound sync's benchmark (`manage.py crm_inbound_benchmark`): records per second read back and applied,
and the latency from a CRM user's edit to the portal.

Real parts only, as the outbound benchmark (crm_sync.benchmark): the emulator in a process of its own over
HTTPS, a throwaway tenant with a connection to it (removed at the end). The tenant's partner Name mapping is
made shared, so a CRM edit of an Account's Name is applied to the partner.

- First load: `records` partners are sent to the CRM, then the first poll reads every Account back (through
  a Bulk API 2.0 query above 2,000 records) and links them; records per second = records / poll time.
- Changes: every Account's Name is changed in the CRM (one Bulk API 2.0 update job), then one poll reads
  and applies them all; records per second = records / poll time.
- Latency: `samples` times, at a random moment of the poll cycle, one Account is renamed through the REST
  API as a CRM user would; the time until the partner in the portal has the new name is measured. The
  beat's cadence is reproduced in this process (a tick every 50 ms polls when the tenant's poll interval
  has passed), so the figure is the poll interval's wait plus the poll itself: p50 about half the interval.
"""

from __future__ import annotations

import random
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crm_sync import benchmark, inbound, outbox, services
from crm_sync.models import CRMConnection, Direction, FieldMapping
from partners.models import Partner, PartnerType, Region, Stage
from prm import services as core_services
from prm.tenancy import tenant_scope

TICK = 0.05


@dataclass
class InboundFigures:
    records: int
    first_load_seconds: float
    first_load_bulk: bool
    changes_seconds: float
    changes_bulk: bool
    poll_interval: int
    latencies: list[float]

    def per_second(self, seconds: float) -> float:
        return self.records / seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(*, records: int, samples: int, poll_interval: int, say: Callable[[str], None]) -> InboundFigures:
    if removed := benchmark.remove_leftovers():
        say(f"removed {removed} tenant(s) left by an earlier run")
    slug = f"bench-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="prm-crm-inbound-benchmark-") as directory:
        emulator = benchmark.EmulatorProcess(Path(directory))
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
                    login_url=emulator.url,
                    client_id=benchmark.CLIENT_ID,
                    ca_cert_path=str(emulator.ca_path),
                    poll_interval=poll_interval,
                )
                services.crm_connection_save(
                    connection=connection, acting_user=None, client_secret=emulator.secret
                )
                FieldMapping.objects.filter(object_key="partners.partner", crm_field="Name").update(
                    direction=Direction.BOTH
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
            say(f"sending {records:,} partners to the CRM")
            while outbox.outbox_drain(tenant=tenant).claimed:
                pass

            say("first load: reading them all back")
            started = time.perf_counter()
            first = inbound.inbound_poll(tenant=tenant)
            first_load_seconds = time.perf_counter() - started
            if first.errors or first.fetched < records:
                raise RuntimeError(f"the first load stopped: {first.errors or first}")

            say(f"renaming {records:,} Accounts in the CRM")
            sf = emulator_client(emulator)
            accounts = sf.query_all("SELECT Id, Name FROM Account")["records"]
            sf.bulk2.Account.update(
                records=[{"Id": a["Id"], "Name": f"{a['Name']} (CRM)"} for a in accounts], wait=1
            )
            started = time.perf_counter()
            changes = inbound.inbound_poll(tenant=tenant)
            changes_seconds = time.perf_counter() - started
            if changes.applied < records:
                raise RuntimeError(f"only {changes.applied} of {records} changes were applied: {changes}")

            latencies = _latencies(tenant, sf, accounts, samples, say) if samples else []
            return InboundFigures(
                records,
                first_load_seconds,
                first.bulk,
                changes_seconds,
                changes.bulk,
                poll_interval,
                latencies,
            )
        finally:
            emulator.stop()
            if tenant is not None:
                benchmark._remove(tenant)


def emulator_client(emulator: benchmark.EmulatorProcess):
    emulator.account_name("-")  # signs in once, as a CRM user
    return emulator._sf


def _tick(tenant) -> None:
    """What the beat does for this tenant: poll when its interval has passed."""
    if tenant.pk in inbound.tenants_due():
        inbound.inbound_poll(tenant=tenant)


def _latencies(tenant, sf, accounts: list[dict], samples: int, say) -> list[float]:
    rng = random.Random(1)  # noqa: S311 - a benchmark's spread, not a secret
    latencies: list[float] = []
    for n in range(samples):
        account = accounts[n % len(accounts)]
        phase_end = time.monotonic() + rng.uniform(0, tenant_interval(tenant))
        while time.monotonic() < phase_end:  # the edit lands at a random moment of the poll cycle
            _tick(tenant)
            time.sleep(TICK)
        name = f"Latency {n} {secrets.token_hex(3)}"
        sf.Account.update(account["Id"], {"Name": name})
        edited = time.perf_counter()
        while True:
            _tick(tenant)
            with tenant_scope(tenant):
                if Partner.objects.filter(name=name).exists():
                    break
            time.sleep(TICK)
        latencies.append(time.perf_counter() - edited)
        say(f"latency sample {n + 1}/{samples}: {latencies[-1]:.2f} s")
    return latencies


def tenant_interval(tenant) -> int:
    with tenant_scope(tenant):
        return CRMConnection.objects.get().poll_interval

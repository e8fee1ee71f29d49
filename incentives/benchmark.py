"""The tier evaluation's benchmark (`manage.py tiers_benchmark`): how long `evaluate_tiers` takes for a large
program.

It runs against the configured database: a throwaway tenant (with the default tier rules) gets `partners`
partners and `deals` won deals spread over them, closed over the past 15 months (so the trailing-12-month
window has work to do), in mixed currencies (20% in EUR, converted by one of 16 monthly EUR rates, 1% in
CHF, which has no rate and is left out of the revenue, the rest in the tenant's USD), and half of the
partners a completed onboarding, all by bulk inserts. Then the
evaluation runs exactly as the command and the nightly task run it (`services.tiers_evaluate`), timed. The
tenant and everything it owns are removed at the end (the CRM outbox triggers are switched off for the
inserts and the clean-up: this tenant has no CRM).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pgtrigger
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from dealreg.models import Deal, DealStatus
from incentives import services
from incentives.models import TierEvaluation, TierRule
from onboarding.models import Onboarding
from partners.models import Partner, PartnerType, Region, Stage, Tier
from prm import services as core_services
from prm.models import ExchangeRate, Tenant
from prm.tenancy import tenant_scope, unscoped_across_tenants


@dataclass
class Figures:
    partners: int
    deals: int
    seconds: float
    summary: services.EvaluationSummary


def run(*, partners: int, deals: int, say: Callable[[str], None]) -> Figures:
    """Make the data, time one evaluation, remove the data; `say` reports progress."""
    if removed := remove_leftovers():
        say(f"removed {removed} tenant(s) left by an earlier run")
    slug = f"tierbench-{secrets.token_hex(4)}"
    tenant = core_services.tenant_create(
        slug=slug, name=f"Tier benchmark {slug}", admin_email=f"admin@{slug}.invalid", send_invitation=False
    )
    try:
        with tenant_scope(tenant):
            _make_data(tenant, partners=partners, deals=deals, say=say)
            say("evaluating")
            started = time.perf_counter()
            summary = services.tiers_evaluate()
            seconds = time.perf_counter() - started
            say(f"evaluated in {seconds:.2f} s")
            evaluated = TierEvaluation.objects.count()
        if evaluated != partners:
            raise RuntimeError(f"{evaluated} evaluations stored for {partners} partners")
        return Figures(partners=partners, deals=deals, seconds=seconds, summary=summary)
    finally:
        say("removing the benchmark tenant")
        _remove(tenant)


def _make_data(tenant: Tenant, *, partners: int, deals: int, say: Callable[[str], None]) -> None:
    rng = random.Random(2026)
    partner_type = PartnerType.objects.get(slug="reseller")
    # Partners spread over the four default tiers, so the evaluation finds upgrades, downgrades and stays.
    tiers = list(Tier.objects.order_by("rank"))
    # The throwaway program has no courses: its rules ask no certificates, so revenue and deals decide.
    TierRule.objects.update(min_certified_people=0)
    now = timezone.now()
    with pgtrigger.ignore(), transaction.atomic():
        say(f"inserting {partners:,} partners")
        rows = Partner.objects.bulk_create(
            (
                Partner(
                    tenant=tenant,
                    slug=f"p-{n}",
                    name=f"Partner {n}",
                    partner_type=partner_type,
                    country="US",
                    region=Region.NORTH_AMERICA,
                    stage=Stage.ACTIVE,
                    tier=tiers[n % len(tiers)],
                )
                for n in range(partners)
            ),
            batch_size=5000,
        )
        ids = [row.pk for row in rows]
        Onboarding.objects.bulk_create(
            (Onboarding(tenant=tenant, partner_id=pk, completed_at=now) for pk in ids[::2]), batch_size=5000
        )
        ExchangeRate.objects.bulk_create(
            ExchangeRate(
                tenant=tenant,
                currency="EUR",
                rate=Decimal("1.05") + Decimal(month) / 100,
                effective_from=(now - timedelta(days=30 * month)).date(),
            )
            for month in range(16)
        )
        say(f"inserting {deals:,} won deals (20% EUR, 1% CHF without a rate)")
        batch = []
        for n in range(deals):
            closed = now - timedelta(days=rng.randint(0, 450))
            pick = rng.random()
            currency = "EUR" if pick < 0.20 else "CHF" if pick < 0.21 else "USD"
            batch.append(
                Deal(
                    tenant=tenant,
                    partner_id=ids[n % partners],
                    name=f"Deal {n}",
                    customer_name=f"Customer {n}",
                    normalized_name=f"customer {n}",
                    contact_name="Buyer",
                    products="Licences",
                    amount=Decimal(rng.randint(1_000, 60_000)),
                    currency=currency,
                    expected_close_date=closed.date(),
                    status=DealStatus.WON,
                    closed_at=closed,
                )
            )
            if len(batch) == 10_000:
                Deal.objects.bulk_create(batch)
                batch = []
        Deal.objects.bulk_create(batch)
    with db.cursor() as cursor:
        cursor.execute(
            "ANALYZE partners_partner; ANALYZE dealreg_deal; ANALYZE onboarding_onboarding; "
            "ANALYZE prm_exchangerate"
        )


def _remove(tenant: Tenant) -> None:
    """Delete the throwaway tenant and everything it owns (deals and partners first: they are protected).

    Plain DELETEs: Django's delete() would load and signal 200,000 deals one by one."""
    tables = [
        TierEvaluation._meta.db_table,
        ExchangeRate._meta.db_table,
        "crm_sync_outboxentry",
        Deal._meta.db_table,
        Onboarding._meta.db_table,
        Partner._meta.db_table,
    ]
    with pgtrigger.ignore(), transaction.atomic(), tenant_scope(tenant), db.cursor() as cursor:
        for table in tables:
            cursor.execute(f'DELETE FROM "{table}" WHERE tenant_id = %s', [tenant.pk])
    with unscoped_across_tenants():
        Tenant.objects.filter(pk=tenant.pk).delete()


def remove_leftovers() -> int:
    """Delete the tenants of benchmark runs that were cut short; how many there were."""
    with unscoped_across_tenants():
        leftovers = list(
            Tenant.objects.filter(slug__startswith="tierbench-", name__startswith="Tier benchmark ")
        )
    for tenant in leftovers:
        _remove(tenant)
    return len(leftovers)

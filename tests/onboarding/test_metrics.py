"""The metrics page: application-to-approval time, completion rate and time to first deal per cohort,
all from the lifecycle history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.test import Client

from onboarding import selectors, services
from onboarding.models import OnboardingTask
from partners import services as partner_services
from partners.models import Partner, PartnerType, Region, Stage, StageChange
from prm.tenancy import tenant_scope


def at(month, day):
    return datetime(2026, month, day, 12, tzinfo=UTC)


def history(name, *, applied, approved_after, first_deal_after=None, complete=False):
    """A partner that applied at `applied`, was approved and started onboarding days later, maybe with a
    first deal; its StageChange rows are dated as they happened."""
    partner = partner_services.partner_create(
        name=name,
        partner_type=PartnerType.objects.get(slug="reseller"),
        country="US",
        region=Region.NORTH_AMERICA,
        acting_user=None,
    )
    StageChange.objects.filter(partner=partner).update(changed_at=applied)
    approved = applied + timedelta(days=approved_after)
    StageChange.objects.create(
        partner=partner, from_stage=Stage.APPLIED, to_stage=Stage.APPROVED, changed_at=approved
    )
    Partner.objects.filter(pk=partner.pk).update(stage=Stage.APPROVED)
    partner.refresh_from_db()
    onboarding = services.onboarding_start(partner=partner, acting_user=None, now=approved)
    StageChange.objects.filter(partner=partner, to_stage=Stage.ONBOARDING).update(changed_at=approved)
    if first_deal_after is not None:
        StageChange.objects.create(
            partner=partner,
            from_stage=Stage.ONBOARDING,
            to_stage=Stage.ACTIVATED,
            changed_at=approved + timedelta(days=first_deal_after),
        )
    if complete:
        OnboardingTask.objects.filter(onboarding=onboarding).update(status="done", completed_at=approved)
        onboarding.completed_at = approved + timedelta(days=20)
        onboarding.save()
    return partner


def test_metrics_are_computed_from_the_history(cast, acme_scope):
    history("A", applied=at(1, 1), approved_after=2, first_deal_after=10, complete=True)
    history("B", applied=at(1, 5), approved_after=4, first_deal_after=30)
    history("C", applied=at(1, 20), approved_after=8)
    history("D", applied=at(3, 1), approved_after=6, first_deal_after=8, complete=True)
    metrics = selectors.onboarding_metrics()
    assert metrics.approvals == 4
    assert metrics.approval_median_days == 5.0  # 2, 4, 6, 8
    assert metrics.approval_mean_days == 5.0
    # The cast's Contoso was created in onboarding (a start without an onboarding run): 5 started.
    assert (metrics.started, metrics.completed) == (5, 2)
    assert metrics.first_deal_median_days == 10.0  # 8, 10, 30
    by_month = {c.month.isoformat(): c for c in metrics.cohorts}
    january = by_month["2026-01-01"]
    assert (january.started, january.completed, january.activated) == (3, 1, 2)
    assert january.median_days_to_first_deal == 20.0  # 10 and 30
    assert by_month["2026-03-01"].median_days_to_first_deal == 8.0


def test_the_metrics_page_shows_the_figures_with_a_pinned_query_count(cast, django_assert_num_queries):
    client = Client(HTTP_HOST=cast.host)
    client.force_login(cast.manager)
    client.get("/onboarding/metrics/")
    with django_assert_num_queries(METRICS_QUERIES):
        empty = client.get("/onboarding/metrics/").content.decode()
    assert "No approved application yet" in empty
    with tenant_scope(cast.tenant):
        for n in range(12):
            history(f"P{n}", applied=at(1 + n % 6, 1), approved_after=n + 1, first_deal_after=n * 2 + 1)
    with django_assert_num_queries(METRICS_QUERIES):
        body = client.get("/onboarding/metrics/").content.decode()
    assert "median 6.5 days, mean 6.5 days (12 approvals)" in body
    # Jan–Jun, and the cast's Contoso, which started onboarding today.
    assert "<caption>7 monthly cohorts</caption>" in body


def test_the_cohorts_rates_read_in_the_visitors_language(cast):
    with tenant_scope(cast.tenant):
        history("P", applied=at(3, 1), approved_after=2, first_deal_after=5)
    client = Client(HTTP_HOST=cast.host)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    client.force_login(cast.manager)
    body = client.get("/onboarding/metrics/").content.decode()
    assert "0,0 % (0 von 1)" in body and "0.0 %" not in body


METRICS_QUERIES = 7

"""The demo's onboarding: plans, back-dated histories, and a metrics page with real figures."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from onboarding import selectors
from onboarding.models import Onboarding, OnboardingPlan, OnboardingTask
from partners.models import Partner, StageChange
from prm import demo
from prm.models import Tenant, User
from prm.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def seed():
    call_command("seed_demo", stdout=StringIO())


def test_the_demo_tenants_get_plans_histories_and_metrics():
    seed()
    for spec in demo.TENANTS:
        tenant = Tenant.objects.get(slug=spec.slug)
        with tenant_scope(tenant):
            assert OnboardingPlan.objects.filter(partner_type__isnull=True).exists()
            metrics = selectors.onboarding_metrics()
            assert metrics.approvals >= 8 and metrics.approval_median_days > 1
            assert 0 < metrics.completed < metrics.started
            assert metrics.first_deal_median_days > 10
            assert len(metrics.cohorts) >= 4
            # Partners in onboarding have tasks left, some overdue: stall detection flagged them.
            assert Partner.objects.stalled().exists()


def test_seeding_again_adds_no_history():
    seed()
    with tenant_scope(Tenant.objects.get(slug="acme")):
        counts = [StageChange.objects.count(), Onboarding.objects.count(), OnboardingTask.objects.count()]
    seed()
    with tenant_scope(Tenant.objects.get(slug="acme")):
        again = [StageChange.objects.count(), Onboarding.objects.count(), OnboardingTask.objects.count()]
    assert again == counts


def test_the_demo_partner_admin_in_onboarding_sees_the_plan_and_the_manager_the_metrics():
    seed()
    client = Client(HTTP_HOST="acme.localhost")
    client.force_login(User.objects.get(email="priya.shah@blueharbor-it.example"))
    body = client.get("/").content.decode()
    assert "Your onboarding" in body and "Mark “" in body
    client = Client(HTTP_HOST="acme.localhost")
    client.force_login(User.objects.get(email="manager@acme.example"))
    body = client.get("/onboarding/metrics/").content.decode()
    assert "No approved application yet" not in body and "monthly cohorts" in body

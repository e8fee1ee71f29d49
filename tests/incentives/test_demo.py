"""The demo's incentives: rules and benefits, rebates of the won deals, an MDF request paid through a claim
and one waiting, and an evaluation, for both tenants, once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from dealreg.models import Deal, DealStatus
from incentives.models import (
    EntryKind,
    LedgerEntry,
    MdfRequest,
    MdfStatus,
    Recommendation,
    TierEvaluation,
    TierRule,
)
from partners.models import Partner
from prm.models import Tenant
from prm.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_rules_rebates_mdf_and_an_evaluation_once_per_tenant():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            assert TierRule.objects.count() == 4
            won = Deal.objects.filter(status=DealStatus.WON).count()
            assert won and LedgerEntry.objects.filter(kind=EntryKind.REBATE).count() == won
            assert LedgerEntry.objects.filter(kind=EntryKind.MDF).count() == 1
            statuses = sorted(MdfRequest.objects.values_list("status", flat=True))
            assert statuses == sorted([MdfStatus.PAID, MdfStatus.REQUESTED])
            assert TierEvaluation.objects.count() == Partner.objects.in_program().count()
            assert TierEvaluation.objects.filter(recommendation=Recommendation.DOWNGRADE).exists()

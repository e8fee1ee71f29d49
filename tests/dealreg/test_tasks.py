"""The beat's deal sweep: every tenant's due deals, each inside its own tenant's scope."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.core import mail

from dealreg import services
from dealreg.models import Deal, DealStatus
from dealreg.tasks import deals_sweep_all
from prm.tenancy import tenant_scope
from tests.dealreg.conftest import register

pytestmark = pytest.mark.django_db


def test_the_beat_runs_the_sweep():
    assert settings.CELERY_BEAT_SCHEDULE["deals-sweep-all"]["task"] == "dealreg.tasks.deals_sweep_all"


def test_the_sweep_expires_and_escalates_in_every_tenant(cast, django_capture_on_commit_callbacks):
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    long_ago = datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC)
    expected = {}
    for tc in (cast.acme, cast.globex):
        with tenant_scope(tc.tenant):
            old = services.deal_approve(deal=register(tc.partner, tc.partner_user), acting_user=tc.manager)
            Deal.objects.filter(pk=old.pk).update(protection_expires_on=yesterday)
            waiting = register(tc.partner, tc.partner_user, customer_domain="waiting.example")
            Deal.objects.filter(pk=waiting.pk).update(sla_due_at=long_ago)
            expected[tc.tenant.slug] = (old.pk, waiting.pk)
    with django_capture_on_commit_callbacks(execute=True):
        deals_sweep_all.delay()
    for tc in (cast.acme, cast.globex):
        old_pk, waiting_pk = expected[tc.tenant.slug]
        with tenant_scope(tc.tenant):
            assert Deal.objects.get(pk=old_pk).status == DealStatus.EXPIRED
            assert Deal.objects.get(pk=waiting_pk).sla_escalated_at is not None
    escalations = [m for m in mail.outbox if "approval SLA" in m.subject]
    assert sorted(m.to[0] for m in escalations) == sorted(
        [cast.acme.tenant_admin.email, cast.globex.tenant_admin.email]
    )

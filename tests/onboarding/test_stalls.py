"""Stall detection: overdue tasks or no progress for the tenant's number of days flag a partner; recovering
clears the flag; each channel manager gets a digest of their stalled partners."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from guardian.shortcuts import assign_perm

from onboarding import services
from onboarding.models import Onboarding, OnboardingSettings, OnboardingTask, TaskKind
from partners.models import Partner
from prm import events
from prm import services as core_services
from prm.models import Role
from prm.tenancy import tenant_scope
from tests.onboarding.helpers import approve, approved_partner, send


@pytest.fixture
def onboarding(cast):
    """Two partners of acme in onboarding, started today."""
    with tenant_scope(cast.tenant):
        first, second = approved_partner("Fabrikam Solutions"), approved_partner("Tailspin Toys")
        approve(first)
        approve(second)
    return cast, first, second


def detect(cast, *, now=None, notify=True):
    with tenant_scope(cast.tenant):
        return services.onboarding_detect_stalls(tenant=cast.tenant, now=now, notify=notify)


def stalled(partner):
    return Partner.objects.filter(pk=partner.pk).values_list("stall_reason", flat=True).first()


def test_a_fresh_onboarding_is_not_stalled(onboarding):
    cast, first, second = onboarding
    report = detect(cast)
    assert report.flagged == [] and mail.outbox == []


def test_an_overdue_task_flags_the_partner_with_the_reason(onboarding, acme_scope):
    cast, first, second = onboarding
    OnboardingTask.objects.filter(onboarding__partner=first, kind=TaskKind.AGREEMENT_SIGNED).update(
        due_at=timezone.now() - timedelta(days=1)
    )
    report = detect(cast)
    assert report.flagged == [first]
    first.refresh_from_db()
    assert first.stalled_since is not None
    assert first.stall_reason == "1 overdue task: Sign the program agreement"
    second.refresh_from_db()
    assert second.stalled_since is None


def test_no_progress_for_the_tenants_number_of_days_flags_and_progress_clears(onboarding, acme_scope):
    cast, first, second = onboarding
    OnboardingSettings.objects.update(stall_after_days=5)
    later = timezone.now() + timedelta(days=6)
    # Nothing is overdue yet after six days (the first tasks fall due on day 3: push them out).
    OnboardingTask.objects.update(due_at=timezone.now() + timedelta(days=60))
    report = detect(cast, now=later, notify=False)
    assert set(report.flagged) == {first, second}
    assert "no progress for 6 days" in Partner.objects.get(pk=first.pk).stall_reason
    # The first partner makes progress: the next run clears its flag, and only its flag.
    send(events.profile_completed, first)
    OnboardingTask.objects.filter(onboarding__partner=first, kind=TaskKind.PROFILE_COMPLETED).update(
        completed_at=later
    )
    report = detect(cast, now=later, notify=False)
    assert report.cleared == [first] and report.flagged == [second]
    assert Partner.objects.get(pk=first.pk).stalled_since is None


def test_a_partner_that_reaches_its_first_deal_is_no_longer_stalled(onboarding, acme_scope):
    cast, first, second = onboarding
    OnboardingTask.objects.filter(onboarding__partner=first).update(due_at=timezone.now() - timedelta(days=1))
    detect(cast, notify=False)
    assert Partner.objects.get(pk=first.pk).stalled_since is not None
    send(events.deal_registered, first, deal_id="d1")
    report = detect(cast, notify=False)
    assert report.cleared == [first]


def test_every_channel_manager_gets_the_digest_when_nobody_is_assigned(onboarding, acme_scope):
    cast, first, second = onboarding
    second_manager = core_services.membership_add(
        tenant=cast.tenant, email="max@acme.test", role=Role.CHANNEL_MANAGER, send_invitation=False
    ).user
    OnboardingTask.objects.update(due_at=timezone.now() - timedelta(days=1))
    mail.outbox.clear()
    detect(cast)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([cast.manager.email, second_manager.email])
    digest = mail.outbox[0]
    assert "2 partners stalled in onboarding" in digest.subject
    assert "Fabrikam Solutions" in digest.body and "Tailspin Toys" in digest.body
    assert "/onboarding/" in digest.body


def test_an_assigned_partner_goes_to_its_manager_only(onboarding, acme_scope):
    cast, first, second = onboarding
    second_manager = core_services.membership_add(
        tenant=cast.tenant, email="max@acme.test", role=Role.CHANNEL_MANAGER, send_invitation=False
    ).user
    assign_perm("partners.change_partner", second_manager, first)
    OnboardingTask.objects.update(due_at=timezone.now() - timedelta(days=1))
    mail.outbox.clear()
    report = detect(cast)
    # Fabrikam is assigned to the second manager only; nobody is assigned to Tailspin, so every manager hears.
    assert [p.name for p in report.digests[second_manager.email]] == ["Fabrikam Solutions", "Tailspin Toys"]
    assert [p.name for p in report.digests[cast.manager.email]] == ["Tailspin Toys"]
    # Another tenant's managers hear nothing.
    assert cast.globex.manager.email not in {m.to[0] for m in mail.outbox}


def test_the_command_runs_detection_for_one_tenant(onboarding, capsys):
    cast, first, second = onboarding
    with tenant_scope(cast.tenant):
        OnboardingTask.objects.filter(onboarding__partner=first).update(
            due_at=timezone.now() - timedelta(days=1)
        )
    call_command("onboarding_stalls", "--tenant", "acme", "--no-email")
    out = capsys.readouterr().out
    assert "stalled (new): Fabrikam Solutions" in out and "Tailspin" not in out.split("Acme:")[0]
    assert "would get a digest of 1 partner(s)" in out


def test_the_command_refuses_an_unknown_tenant(db):
    with pytest.raises(CommandError, match="No tenant with the slug 'nowhere'"):
        call_command("onboarding_stalls", "--tenant", "nowhere")


def test_the_beat_task_runs_for_every_tenant(onboarding):
    from onboarding.tasks import onboarding_detect_stalls_all

    cast, first, second = onboarding
    with tenant_scope(cast.tenant):
        OnboardingTask.objects.filter(onboarding__partner=first).update(
            due_at=timezone.now() - timedelta(days=1)
        )
    onboarding_detect_stalls_all.delay()
    with tenant_scope(cast.tenant):
        assert Partner.objects.get(pk=first.pk).stalled_since is not None
        assert Onboarding.objects.count() == 2

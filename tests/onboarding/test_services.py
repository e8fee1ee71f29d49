"""Onboarding starts on approval and moves on lifecycle events: plans, tasks, stage moves, completion."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from onboarding import services
from onboarding.models import Onboarding, OnboardingPlan, OnboardingTask, TaskKind, TaskStatus
from partners.models import Partner, PartnerType, Stage, StageChange
from prm import events
from prm.tenancy import tenant_scope
from tests.onboarding.helpers import approve, approved_partner, send


def test_a_new_tenant_gets_a_fallback_plan_and_a_referral_plan(cast, acme_scope):
    fallback = OnboardingPlan.objects.get(partner_type__isnull=True)
    referral = OnboardingPlan.objects.get(partner_type__slug="referral")
    kinds = [t.kind for t in fallback.tasks.all()]
    assert kinds[0] == TaskKind.AGREEMENT_SIGNED and TaskKind.DEAL_REGISTERED in kinds
    assert TaskKind.MANUAL in kinds and fallback.tasks.filter(requires_signoff=True).exists()
    assert referral.tasks.count() < fallback.tasks.count()


def test_approval_starts_onboarding_with_the_types_plan_and_due_dates(cast, acme_scope):
    partner = approved_partner(type_slug="referral")
    approve(partner)
    onboarding = Onboarding.objects.get(partner=partner)
    plan = OnboardingPlan.objects.get(partner_type__slug="referral")
    assert onboarding.plan == plan
    tasks = list(onboarding.tasks.all())
    assert [t.title for t in tasks] == [t.title for t in plan.tasks.all()]
    for task, plan_task in zip(tasks, plan.tasks.all(), strict=True):
        assert task.due_at - onboarding.started_at == timedelta(days=plan_task.due_after_days)
        assert task.status == TaskStatus.OPEN
    assert Partner.objects.get(pk=partner.pk).stage == Stage.ONBOARDING
    move = StageChange.objects.filter(partner=partner).last()
    assert (move.from_stage, move.to_stage) == (Stage.APPROVED, Stage.ONBOARDING)


def test_a_type_without_a_plan_of_its_own_gets_the_fallback_plan(cast, acme_scope):
    partner = approved_partner(type_slug="msp")
    approve(partner)
    assert Onboarding.objects.get(partner=partner).plan.partner_type is None


def test_an_approval_delivered_twice_builds_one_task_list_and_one_move(cast, acme_scope):
    partner = approved_partner()
    approve(partner)
    approve(partner)
    assert Onboarding.objects.filter(partner=partner).count() == 1
    plan_size = OnboardingPlan.objects.get(partner_type__isnull=True).tasks.count()
    assert OnboardingTask.objects.filter(onboarding__partner=partner).count() == plan_size
    assert StageChange.objects.filter(partner=partner, to_stage=Stage.ONBOARDING).count() == 1


def test_approval_through_send_on_commit_starts_onboarding_after_the_commit(
    cast, acme_scope, django_capture_on_commit_callbacks
):
    partner = approved_partner()
    with django_capture_on_commit_callbacks(execute=True):
        events.send_on_commit(
            events.partner_approved,
            sender=None,
            tenant_id=partner.tenant_id,
            partner_id=str(partner.public_id),
        )
        assert not Onboarding.objects.filter(partner=partner).exists()
    assert Onboarding.objects.filter(partner=partner).exists()


def _task(partner, kind):
    return OnboardingTask.objects.get(onboarding__partner=partner, kind=kind)


def test_lifecycle_events_complete_their_automatic_tasks(cast, acme_scope):
    partner = approved_partner()
    approve(partner)
    send(events.agreement_signed, partner, user_id=cast.partner_admin.pk)
    send(events.profile_completed, partner)
    send(events.partner_first_login, partner, user_id=cast.partner_admin.pk)
    for kind in (TaskKind.AGREEMENT_SIGNED, TaskKind.PROFILE_COMPLETED, TaskKind.FIRST_LOGIN):
        task = _task(partner, kind)
        assert task.status == TaskStatus.DONE and task.completed_at is not None
    assert _task(partner, TaskKind.COURSE_PASSED).status == TaskStatus.OPEN


def test_a_course_task_is_completed_by_its_own_course_only(cast, acme_scope):
    partner = approved_partner()
    approve(partner)
    send(events.course_passed, partner, user_id=cast.partner_admin.pk, course_id="advanced-networking")
    assert _task(partner, TaskKind.COURSE_PASSED).status == TaskStatus.OPEN
    send(events.course_passed, partner, user_id=cast.partner_admin.pk, course_id="sales-fundamentals")
    assert _task(partner, TaskKind.COURSE_PASSED).status == TaskStatus.DONE


def test_the_standard_plans_course_task_is_done_by_the_course_of_that_slug(cast, acme_scope):
    # As enablement sends it: the course's id, and its slug as the tenant set it.
    partner = approved_partner()
    approve(partner)
    course_id = uuid.uuid4()
    send(events.course_passed, partner, user_id=cast.partner_admin.pk, course_id=course_id, course_slug="")
    assert _task(partner, TaskKind.COURSE_PASSED).status == TaskStatus.OPEN
    send(
        events.course_passed,
        partner,
        user_id=cast.partner_admin.pk,
        course_id=course_id,
        course_slug="sales-fundamentals",
    )
    assert _task(partner, TaskKind.COURSE_PASSED).status == TaskStatus.DONE


def test_the_first_deal_completes_its_task_and_activates_the_partner(cast, acme_scope):
    partner = approved_partner()
    approve(partner)
    send(events.deal_registered, partner, deal_id="5b0c6c1e-0000-4000-8000-000000000001")
    assert _task(partner, TaskKind.DEAL_REGISTERED).status == TaskStatus.DONE
    assert Partner.objects.get(pk=partner.pk).stage == Stage.ACTIVATED
    send(events.deal_registered, partner, deal_id="5b0c6c1e-0000-4000-8000-000000000002")
    assert StageChange.objects.filter(partner=partner, to_stage=Stage.ACTIVATED).count() == 1


def test_an_event_heard_before_onboarding_started_counts_when_it_starts(cast, acme_scope):
    partner = approved_partner()
    send(events.agreement_signed, partner, user_id=cast.partner_admin.pk)
    approve(partner)
    assert _task(partner, TaskKind.AGREEMENT_SIGNED).status == TaskStatus.DONE


def test_onboarding_is_complete_with_a_time_when_the_last_task_is_done(cast, acme_scope):
    partner = approved_partner(type_slug="referral")  # automatic tasks only
    approve(partner)
    onboarding = Onboarding.objects.get(partner=partner)
    send(events.agreement_signed, partner, user_id=1)
    send(events.profile_completed, partner)
    send(events.partner_first_login, partner, user_id=1)
    onboarding.refresh_from_db()
    assert onboarding.completed_at is None
    send(events.deal_registered, partner, deal_id="x")
    onboarding.refresh_from_db()
    assert onboarding.completed_at is not None


def test_a_ticked_task_that_needs_a_sign_off_waits_for_a_manager(cast, acme_scope):
    partner = approved_partner()
    approve(partner)
    task = OnboardingTask.objects.get(onboarding__partner=partner, requires_signoff=True)
    task = services.onboarding_task_tick(task=task, acting_user=cast.partner_admin)
    assert task.status == TaskStatus.AWAITING_SIGNOFF and task.completed_at is None
    task = services.onboarding_task_send_back(task=task, acting_user=cast.manager)
    assert task.status == TaskStatus.OPEN
    services.onboarding_task_tick(task=task, acting_user=cast.partner_admin)
    task = services.onboarding_task_sign_off(task=task, acting_user=cast.manager)
    assert task.status == TaskStatus.DONE and task.completed_by == cast.manager


def test_automatic_tasks_cannot_be_ticked_and_done_tasks_not_twice(cast, acme_scope):
    partner = approved_partner()
    approve(partner)
    with pytest.raises(services.OnboardingError):
        services.onboarding_task_tick(
            task=_task(partner, TaskKind.PROFILE_COMPLETED), acting_user=cast.partner_admin
        )
    manual = OnboardingTask.objects.filter(
        onboarding__partner=partner, kind=TaskKind.MANUAL, requires_signoff=False
    )
    task = services.onboarding_task_tick(task=manual.first(), acting_user=cast.partner_admin)
    with pytest.raises(services.OnboardingError):
        services.onboarding_task_tick(task=task, acting_user=cast.partner_admin)


def test_an_event_for_another_tenants_partner_changes_nothing_here(cast):
    with tenant_scope(cast.globex.tenant):
        partner = approved_partner()
    # The event names acme as its tenant but globex's partner: acme's scope does not find it.
    events.partner_approved.send(sender=None, tenant_id=cast.tenant.pk, partner_id=partner.public_id)
    with tenant_scope(cast.globex.tenant):
        assert not Onboarding.objects.filter(partner=partner).exists()
        assert Partner.objects.get(pk=partner.pk).stage == Stage.APPROVED


def test_default_plans_are_added_once(cast, acme_scope):
    assert services.onboarding_plans_add_defaults(tenant=cast.tenant) == []
    assert OnboardingPlan.objects.count() == 2
    assert PartnerType.objects.filter(slug="referral").exists()


def test_a_deal_registered_before_onboarding_started_activates_the_partner_at_the_start(cast, acme_scope):
    partner = approved_partner()
    send(events.deal_registered, partner, deal_id="early")
    assert Partner.objects.get(pk=partner.pk).stage == Stage.APPROVED
    approve(partner)
    assert Partner.objects.get(pk=partner.pk).stage == Stage.ACTIVATED
    assert _task(partner, TaskKind.DEAL_REGISTERED).status == TaskStatus.DONE
    moves = [(c.from_stage, c.to_stage) for c in StageChange.objects.filter(partner=partner)][1:]
    assert moves == [(Stage.APPROVED, Stage.ONBOARDING), (Stage.ONBOARDING, Stage.ACTIVATED)]

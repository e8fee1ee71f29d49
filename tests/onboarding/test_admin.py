"""Tenant admins edit onboarding plans in the tenant admin, with their ordered tasks inline."""

from __future__ import annotations

from django.test import Client

from onboarding.models import OnboardingPlan, PlanTask, TaskKind
from partners.models import PartnerType
from prm.tenancy import tenant_scope


def client_for(user, host) -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def plan_form(partner_type, tasks):
    data = {
        "name": "MSP onboarding",
        "partner_type": partner_type.pk if partner_type else "",
        "description": "",
        "tasks-TOTAL_FORMS": str(len(tasks)),
        "tasks-INITIAL_FORMS": "0",
        "tasks-MIN_NUM_FORMS": "0",
        "tasks-MAX_NUM_FORMS": "1000",
    }
    for n, task in enumerate(tasks):
        data.update({f"tasks-{n}-{key}": value for key, value in task.items()})
    return data


def task(title, kind=TaskKind.MANUAL, position=10, days=7, course="", signoff=False):
    fields = {"title": title, "kind": kind, "position": position, "due_after_days": days}
    fields["course_ref"] = course
    if signoff:
        fields["requires_signoff"] = "on"
    return fields


def test_a_tenant_admin_adds_a_plan_with_ordered_tasks(cast):
    with tenant_scope(cast.tenant):
        msp = PartnerType.objects.get(slug="msp")
    response = client_for(cast.acme.tenant_admin, cast.host).post(
        "/admin/onboarding/onboardingplan/add/",
        plan_form(
            msp,
            [
                task("Pass the MSP course", TaskKind.COURSE_PASSED, 20, 14, course="msp-101"),
                task("Set up the monitoring stack", position=10, signoff=True),
            ],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_scope(cast.tenant):
        plan = OnboardingPlan.objects.get(partner_type=msp)
        titles = [(t.title, t.kind, t.course_ref, t.requires_signoff) for t in plan.tasks.all()]
        assert titles == [
            ("Set up the monitoring stack", TaskKind.MANUAL, "", True),
            ("Pass the MSP course", TaskKind.COURSE_PASSED, "msp-101", False),
        ]
        assert PlanTask.objects.filter(plan=plan).first().tenant == cast.tenant


def test_bad_tasks_and_a_second_fallback_plan_show_field_errors_and_save_nothing(cast):
    client = client_for(cast.acme.tenant_admin, cast.host)
    response = client.post(
        "/admin/onboarding/onboardingplan/add/",
        plan_form(
            None,
            [
                task("Pass a course", TaskKind.COURSE_PASSED),
                task("Sign the agreement", TaskKind.AGREEMENT_SIGNED, signoff=True),
            ],
        ),
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "There is a plan for every other partner type already" in body
    assert "Name the course whose pass completes this task." in body
    assert "Only manual tasks can wait for a sign-off." in body
    with tenant_scope(cast.tenant):
        assert OnboardingPlan.objects.count() == 2


def test_channel_managers_see_the_plans_but_cannot_change_them(cast):
    with tenant_scope(cast.tenant):
        plan = OnboardingPlan.objects.get(partner_type__isnull=True)
    client = client_for(cast.manager, cast.host)
    assert client.get(f"/admin/onboarding/onboardingplan/{plan.pk}/change/").status_code == 200
    response = client.post(f"/admin/onboarding/onboardingplan/{plan.pk}/change/", {"name": "Renamed"})
    assert response.status_code == 403
    assert client.get("/admin/onboarding/onboardingplan/add/").status_code == 403


def test_a_manager_signs_off_ticked_tasks_with_the_admin_action(cast):
    from onboarding import services
    from onboarding.models import OnboardingTask, TaskStatus
    from tests.onboarding.helpers import approve

    with tenant_scope(cast.tenant):
        approve(cast.acme.partner)
        ticked = services.onboarding_task_tick(
            task=OnboardingTask.objects.get(onboarding__partner=cast.acme.partner, requires_signoff=True),
            acting_user=cast.partner_admin,
        )
        open_task = OnboardingTask.objects.filter(status=TaskStatus.OPEN).first()
    response = client_for(cast.manager, cast.host).post(
        "/admin/onboarding/onboardingtask/",
        {"action": "sign_off", "_selected_action": [ticked.pk, open_task.pk]},
        follow=True,
    )
    body = response.content.decode()
    assert "1 task signed off." in body and "1 task was not waiting for a sign-off" in body
    ticked.refresh_from_db()
    open_task.refresh_from_db()
    assert ticked.status == TaskStatus.DONE and ticked.completed_by == cast.manager
    assert open_task.status == TaskStatus.OPEN

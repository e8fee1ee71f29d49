"""The partner's onboarding on their home page, ticking tasks, and the staff's onboarding page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from onboarding.models import OnboardingTask, TaskKind, TaskStatus
from prm import events
from prm.tenancy import tenant_scope
from tests.onboarding.helpers import approve, approved_partner, send


@pytest.fixture
def started(cast):
    """The cast's partner Northwind with its onboarding started (and its agreement signed)."""
    with tenant_scope(cast.tenant):
        approve(cast.acme.partner)
        send(events.agreement_signed, cast.acme.partner, user_id=cast.partner_admin.pk)
    return cast


def client_for(user, host) -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def manual_task(cast, *, signoff=False, partner=None) -> OnboardingTask:
    with tenant_scope(cast.tenant):
        return OnboardingTask.objects.filter(
            onboarding__partner=partner or cast.acme.partner, kind=TaskKind.MANUAL, requires_signoff=signoff
        ).first()


def test_the_home_page_shows_progress_next_and_overdue(started):
    cast = started
    with tenant_scope(cast.tenant):
        # One task is overdue: its due time has passed.
        task = OnboardingTask.objects.filter(onboarding__partner=cast.acme.partner, kind=TaskKind.FIRST_LOGIN)
        task.update(due_at="2020-01-01T00:00:00Z")
        total = OnboardingTask.objects.filter(onboarding__partner=cast.acme.partner).count()
    body = client_for(cast.partner_user, cast.host).get("/").content.decode()
    assert "Your onboarding" in body
    assert f"1 of {total} tasks done" in body
    assert f'<progress value="1" max="{total}"' in body
    assert "1 task is overdue:" in body and "Sign in to the partner portal" in body
    assert "<strong>Next:</strong> Sign in to the partner portal" in body


def test_partner_people_without_an_onboarding_see_no_panel(cast):
    body = client_for(cast.partner_admin, cast.host).get("/").content.decode()
    assert "Your onboarding" not in body


def test_ticking_a_manual_task_marks_it_done_and_updates_the_progress(started):
    cast = started
    task = manual_task(cast)
    client = client_for(cast.partner_admin, cast.host)
    response = client.post(f"/onboarding/tasks/{task.public_id}/tick/", follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == "/"
    assert f"“{task.title}” is done." in body
    assert re.search(r"2 of \d+ tasks done", body)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_by == cast.partner_admin


def test_htmx_gets_the_progress_panel_back(started):
    cast = started
    task = manual_task(cast)
    response = client_for(cast.partner_user, cast.host).post(
        f"/onboarding/tasks/{task.public_id}/tick/", HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="onboarding-progress"' in body
    assert "<html" not in body and re.search(r"2 of \d+ tasks done", body)


def test_a_task_needing_a_sign_off_waits_until_a_manager_signs_it_off(started):
    cast = started
    task = manual_task(cast, signoff=True)
    partner_client = client_for(cast.partner_admin, cast.host)
    partner_client.post(f"/onboarding/tasks/{task.public_id}/tick/")
    task.refresh_from_db()
    assert task.status == TaskStatus.AWAITING_SIGNOFF
    # Partner people cannot sign off their own task.
    assert partner_client.post(f"/onboarding/tasks/{task.public_id}/sign-off/").status_code == 404

    manager = client_for(cast.manager, cast.host)
    page = manager.get("/onboarding/").content.decode()
    assert "Waiting for your sign-off" in page and task.title in page
    response = manager.post(f"/onboarding/tasks/{task.public_id}/sign-off/", follow=True)
    assert "Signed off" in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.completed_by == cast.manager


def test_a_manager_can_send_a_ticked_task_back(started):
    cast = started
    task = manual_task(cast, signoff=True)
    client_for(cast.partner_admin, cast.host).post(f"/onboarding/tasks/{task.public_id}/tick/")
    client_for(cast.manager, cast.host).post(f"/onboarding/tasks/{task.public_id}/send-back/")
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.ticked_by is None


def test_another_partners_task_is_a_404_and_stays_open(started):
    cast = started
    task = manual_task(cast)
    for user in (cast.other_partner_user, cast.acme.other_partner_admin):
        response = client_for(user, cast.host).post(f"/onboarding/tasks/{task.public_id}/tick/")
        assert response.status_code == 404
    response = client_for(cast.globex.partner_admin, cast.globex.host).post(
        f"/onboarding/tasks/{task.public_id}/tick/"
    )
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_another_tenants_manager_cannot_sign_off_or_see_the_task(started):
    cast = started
    task = manual_task(cast, signoff=True)
    client_for(cast.partner_admin, cast.host).post(f"/onboarding/tasks/{task.public_id}/tick/")
    response = client_for(cast.outsider, cast.globex.host).post(
        f"/onboarding/tasks/{task.public_id}/sign-off/"
    )
    assert response.status_code == 404
    # The default plans share task titles across tenants; acme's partner must not show on globex's page.
    page = client_for(cast.outsider, cast.globex.host).get("/onboarding/").content.decode()
    assert cast.acme.partner.name not in page and "Waiting for your sign-off" in page
    task.refresh_from_db()
    assert task.status == TaskStatus.AWAITING_SIGNOFF


def test_ticking_an_automatic_task_is_refused_with_a_message(started):
    cast = started
    with tenant_scope(cast.tenant):
        task = OnboardingTask.objects.get(
            onboarding__partner=cast.acme.partner, kind=TaskKind.PROFILE_COMPLETED
        )
    response = client_for(cast.partner_admin, cast.host).post(
        f"/onboarding/tasks/{task.public_id}/tick/", follow=True
    )
    assert "completed by the portal when it happens" in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_partner_people_cannot_open_the_staff_pages(started):
    cast = started
    for path in ("/onboarding/", "/onboarding/metrics/"):
        assert client_for(cast.partner_admin, cast.host).get(path).status_code == 404


def test_the_overview_lists_onboardings_with_a_pinned_query_count(cast, django_assert_num_queries):
    with tenant_scope(cast.tenant):
        approve(cast.acme.partner)
    client = client_for(cast.manager, cast.host)
    client.get("/onboarding/")  # warm the session and content types
    with django_assert_num_queries(OVERVIEW_QUERIES):
        small = client.get("/onboarding/").content.decode()
    with tenant_scope(cast.tenant):
        for n in range(25):
            approve(approved_partner(name=f"Partner {n:02d} Ltd"))
        for task in OnboardingTask.objects.filter(requires_signoff=True)[:10]:
            task.status = TaskStatus.AWAITING_SIGNOFF
            task.ticked_by = cast.partner_admin
            task.save()
    with django_assert_num_queries(OVERVIEW_QUERIES):
        large = client.get("/onboarding/").content.decode()
    assert "<caption>1 onboarding</caption>" in small
    assert "<caption>26 onboardings</caption>" in large


OVERVIEW_QUERIES = 9


def test_the_overview_filters_and_exports_what_it_shows(started):
    cast = started
    with tenant_scope(cast.tenant):
        other = approved_partner("Fabrikam Solutions")
        approve(other)
        from partners.services import partner_set_stalled

        partner_set_stalled(partner=other, reason="1 overdue task: Sign the program agreement")
    client = client_for(cast.manager, cast.host)
    body = client.get("/onboarding/?stalled=true").content.decode()
    assert "Fabrikam Solutions" in body and cast.acme.partner.name not in body
    assert "Stalled" in body
    export = client.get("/onboarding/?_export=csv")
    assert export["Content-Type"].startswith("text/csv")
    text = export.content.decode()
    assert "Fabrikam Solutions" in text and cast.acme.partner.name in text


def test_the_partner_home_page_reads_the_plan_in_a_pinned_number_of_queries(
    started, django_assert_num_queries
):
    cast = started
    client = client_for(cast.partner_admin, cast.host)
    client.get("/")
    with django_assert_num_queries(HOME_QUERIES):
        client.get("/")
    with tenant_scope(cast.tenant):
        from onboarding.models import Onboarding

        onboarding = Onboarding.objects.get(partner=cast.acme.partner)
        for n in range(20):
            OnboardingTask.objects.create(
                onboarding=onboarding,
                title=f"Extra task {n}",
                due_at="2030-01-01T00:00:00Z",
                position=100 + n,
            )
    with django_assert_num_queries(HOME_QUERIES):
        body = client.get("/").content.decode()
    assert "Extra task 19" in body


# The agreement gate (partners.middleware) reads the current agreement and its acceptance on each request.
HOME_QUERIES = 11

"""Partner admins invite and deactivate their colleagues, and keep their organisation's profile."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client

from partners import services
from partners.models import PartnerMembership, PartnerProfile, Specialisation
from prm.models import Membership, Role
from prm.tenancy import tenant_scope
from tests.partners.conftest import signed_in


def test_a_partner_admin_sees_their_team_and_invites_a_colleague(cast, django_capture_on_commit_callbacks):
    admin = signed_in(cast.partner_admin, cast.host)
    body = admin.get("/team/").content.decode()
    assert cast.partner_user.email in body
    assert cast.other_partner_user.email not in body
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/team/", {"email": "dana@northwind.test", "full_name": "Dana New", "role": Role.PARTNER_USER}
        )
    assert response.status_code == 302
    with tenant_scope(cast.tenant):
        link = PartnerMembership.objects.get(membership__user__email="dana@northwind.test")
        assert link.partner == cast.acme.partner and link.membership.role == Role.PARTNER_USER
    [invitation] = mail.outbox
    assert invitation.to == ["dana@northwind.test"]


def test_inviting_someone_already_in_the_tenant_is_a_field_error(cast):
    response = signed_in(cast.partner_admin, cast.host).post(
        "/team/", {"email": cast.other_partner_user.email, "full_name": "X", "role": Role.PARTNER_USER}
    )
    assert response.status_code == 200
    assert "already a member" in response.content.decode()


def test_deactivating_a_colleague_ends_their_sessions(cast):
    colleague = Client(HTTP_HOST=cast.host)
    colleague.force_login(cast.partner_user)
    assert colleague.get("/").status_code == 200
    session_key = colleague.session.session_key
    with tenant_scope(cast.tenant):
        membership = Membership.objects.get(user=cast.partner_user)
    response = signed_in(cast.partner_admin, cast.host).post(f"/team/{membership.public_id}/deactivate/")
    assert response.status_code == 302
    with tenant_scope(cast.tenant):
        membership.refresh_from_db()
        assert membership.is_active is False
    assert not Session.objects.filter(session_key=session_key).exists()
    response = colleague.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_partner_admin_cannot_deactivate_themselves_or_another_partners_people(cast):
    admin = signed_in(cast.partner_admin, cast.host)
    with tenant_scope(cast.tenant):
        own = Membership.objects.get(user=cast.partner_admin)
        other = Membership.objects.get(user=cast.other_partner_user)
    response = admin.post(f"/team/{own.public_id}/deactivate/", follow=True)
    assert "cannot deactivate yourself" in response.content.decode()
    assert admin.post(f"/team/{other.public_id}/deactivate/").status_code == 404
    with tenant_scope(cast.tenant):
        assert Membership.objects.filter(pk__in=[own.pk, other.pk], is_active=True).count() == 2


def test_partner_users_and_staff_have_no_team_page(cast):
    with tenant_scope(cast.tenant):
        admin_membership = Membership.objects.get(user=cast.partner_admin)
    for user in (cast.partner_user, cast.manager):
        client = signed_in(user, cast.host)
        assert client.get("/team/").status_code == 404
        assert client.post(f"/team/{admin_membership.public_id}/deactivate/").status_code == 404
    outsider = signed_in(cast.globex.partner_admin, cast.globex.host)
    assert outsider.post(f"/team/{admin_membership.public_id}/deactivate/").status_code == 404


def test_completing_the_profile_sends_profile_completed_once(
    cast, received, django_capture_on_commit_callbacks
):
    with tenant_scope(cast.tenant):
        Specialisation.objects.create(slug="cloud", name="Cloud migration")
    admin = signed_in(cast.partner_admin, cast.host)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/organisation/profile/", {"description": "", "employee_count": "12"})
    assert response.status_code == 302
    assert [name for name, _ in received] == []
    data = {"description": "We resell cloud.", "employee_count": "12", "specialisations": ["cloud"]}
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/organisation/profile/", data)
        admin.post("/organisation/profile/", {**data, "description": "We resell cloud and security."})
    assert received == [
        ("profile_completed", {"tenant_id": cast.tenant.pk, "partner_id": str(cast.acme.partner.public_id)})
    ]
    with tenant_scope(cast.tenant):
        profile = PartnerProfile.objects.get(partner=cast.acme.partner)
        assert profile.completed_at is not None and profile.description == "We resell cloud and security."
    assert "We resell cloud and security." in admin.get("/organisation/profile/").content.decode()


def test_a_bad_employee_count_is_a_field_error(cast):
    response = signed_in(cast.partner_admin, cast.host).post(
        "/organisation/profile/", {"employee_count": "-3"}
    )
    assert response.status_code == 200 and response.context["form"].errors["employee_count"]
    with tenant_scope(cast.tenant):
        assert not PartnerProfile.objects.exists()


# Per request: the host's tenant, the scope's setting (set and cleared), session, user, membership; the
# agreement gate's partner and agreement; then the page's partner and its people.
TEAM_QUERIES = 10


def test_the_team_page_reads_a_fixed_number_of_rows_however_many_people(cast, django_assert_num_queries):
    admin = signed_in(cast.partner_admin, cast.host)
    with django_assert_num_queries(TEAM_QUERIES):
        assert admin.get("/team/").status_code == 200
    with tenant_scope(cast.tenant):
        for n in range(25):
            services.partner_member_add(
                partner=cast.acme.partner,
                email=f"extra{n}@northwind.test",
                acting_user=None,
                send_invitation=False,
            )
    with django_assert_num_queries(TEAM_QUERIES):
        response = admin.get("/team/")
    assert response.content.decode().count('<th scope="row">') == 27

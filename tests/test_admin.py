"""The tenant admin as channel teams use it: their rows, their choices, their people."""

from __future__ import annotations

from django.test import Client

from partners.models import Partner
from prm.models import Membership, Role
from prm.tenancy import tenant_scope


def admin_client(user, host: str) -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def test_the_partner_changelist_lists_the_tenants_partners_only(cast, django_assert_max_num_queries):
    client = admin_client(cast.manager, cast.host)
    with django_assert_max_num_queries(20):
        response = client.get("/admin/partners/partner/")
    body = response.content.decode()
    assert cast.acme.partner.name in body
    assert cast.globex.partner.name not in body
    # Filters offer this tenant's tiers only.
    assert "Acme Diamond" in body
    assert "Globex Diamond" not in body


def partner_form(partner, **changes) -> dict:
    """The admin change form of `partner` as posted, with `changes`."""
    fields = ["name", "slug", "partner_type", "tier", "country", "region", "website_domain"]
    data = {name: getattr(partner, partner._meta.get_field(name).attname) or "" for name in fields}
    inlines = {
        f"{prefix}-{count}": "0"
        for prefix in ("memberships", "stage_changes")
        for count in ("TOTAL_FORMS", "INITIAL_FORMS")
    }
    return {**data, **changes, **inlines}


def count_queries(client: Client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_the_partner_changelist_query_count_stays_flat_as_partners_grow(cast):
    from tests.factories import PartnerFactory, TierFactory

    client = admin_client(cast.manager, cast.host)
    with tenant_scope(cast.tenant):
        partner_type = cast.acme.partner.partner_type
    few = count_queries(client, "/admin/partners/partner/")
    for _ in range(40):
        PartnerFactory(tenant=cast.tenant, partner_type=partner_type, tier=TierFactory(tenant=cast.tenant))
    assert count_queries(client, "/admin/partners/partner/") == few


def test_a_channel_manager_moves_a_partner_to_another_tier(cast):
    client = admin_client(cast.manager, cast.host)
    with tenant_scope(cast.tenant):
        partner = cast.acme.partner
        platinum = partner.tier.__class__.objects.get(slug="platinum")
    url = f"/admin/partners/partner/{partner.pk}/change/"
    page = client.get(url)
    assert "Globex Diamond" not in page.content.decode()
    response = client.post(
        url,
        partner_form(partner, tier=platinum.pk),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_scope(cast.tenant):
        assert Partner.objects.get(pk=partner.pk).tier == platinum


def test_a_tier_of_another_tenant_is_not_a_valid_choice(cast):
    client = admin_client(cast.manager, cast.host)
    with tenant_scope(cast.globex.tenant):
        globex_tier = cast.globex.partner.tier
    partner = cast.acme.partner
    response = client.post(
        f"/admin/partners/partner/{partner.pk}/change/",
        partner_form(partner, tier=globex_tier.pk),
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    with tenant_scope(cast.tenant):
        assert Partner.objects.get(pk=partner.pk).tier_id != globex_tier.pk


def test_a_tenant_admin_invites_a_channel_manager(cast, mailoutbox, django_capture_on_commit_callbacks):
    client = admin_client(cast.acme.tenant_admin, cast.host)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/prm/membership/add/",
            {
                "email": "new.manager@acme.test",
                "full_name": "Nia New",
                "role": Role.CHANNEL_MANAGER,
            },
        )
    assert response.status_code == 302
    with tenant_scope(cast.tenant):
        membership = Membership.objects.get(user__email="new.manager@acme.test")
    assert membership.role == Role.CHANNEL_MANAGER
    assert [m.to for m in mailoutbox] == [["new.manager@acme.test"]]
    assert "/accounts/login/code/" in mailoutbox[0].body


def test_inviting_an_existing_member_again_is_a_form_error(cast):
    client = admin_client(cast.acme.tenant_admin, cast.host)
    response = client.post(
        "/admin/prm/membership/add/",
        {
            "email": cast.manager.email,
            "full_name": "",
            "role": Role.CHANNEL_MANAGER,
        },
    )
    assert response.status_code == 200
    assert "already a member" in response.content.decode()


def test_a_channel_manager_sees_members_but_cannot_add_them(cast):
    client = admin_client(cast.manager, cast.host)
    assert client.get("/admin/prm/membership/").status_code == 200
    assert client.get("/admin/prm/membership/add/").status_code == 403


def test_a_platform_superuser_creates_a_tenant_with_its_defaults_and_admin(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    from partners.models import Tier
    from prm.models import Tenant
    from tests.factories import UserFactory

    client = admin_client(UserFactory(is_superuser=True, is_staff=True), "localhost")
    form = {"name": "Initech", "slug": "initech", "domain": "", "admin_email": "boss@initech.test"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/prm/tenant/add/", {**form, "admin_name": "Bill"})
    assert response.status_code == 302, response.content.decode()[:3000]
    tenant = Tenant.objects.get(slug="initech")
    assert tenant.primary_domain == "initech.localhost"
    with tenant_scope(tenant):
        assert Membership.objects.get(user__email="boss@initech.test").role == Role.TENANT_ADMIN
        assert Tier.objects.count() == 4
    assert [m.to for m in mailoutbox] == [["boss@initech.test"]]
    again = client.post("/admin/prm/tenant/add/", {**form, "admin_email": "other@initech.test"})
    assert again.status_code == 200
    assert "A tenant with the slug" in again.content.decode()
    assert Tenant.objects.filter(slug="initech").count() == 1

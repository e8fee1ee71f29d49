from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command

from partners.models import PartnerType, Tier
from prm import services
from prm.models import Membership, Role, Tenant, TenantDomain, User
from prm.tenancy import tenant_scope, unscoped_across_tenants

pytestmark = pytest.mark.django_db


def create_tenant(*args: str) -> str:
    out = StringIO()
    call_command("create_tenant", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def row_counts() -> dict[str, int]:
    with unscoped_across_tenants():
        return {
            "tenants": Tenant.objects.count(),
            "domains": TenantDomain.objects.count(),
            "users": User.objects.count(),
            "memberships": Membership.objects.count(),
        }


@pytest.fixture
def acme(db) -> Tenant:
    return services.tenant_create(
        slug="acme", name="Acme Cloud", admin_email="admin@acme.example", send_invitation=False
    )


def test_it_creates_the_tenant_with_its_domain_defaults_and_admin(settings):
    settings.PRM_BASE_DOMAIN = "localhost"
    out = create_tenant("initech", "Initech", "--admin-email", "Bill@Initech.example", "--admin-name", "Bill")

    tenant = Tenant.objects.get(slug="initech")
    assert tenant.name == "Initech"
    assert list(tenant.domains.values_list("domain", flat=True)) == ["initech.localhost"]
    with tenant_scope(tenant):
        admin = Membership.objects.select_related("user").get()
        assert set(PartnerType.objects.values_list("slug", flat=True)) == {
            "reseller",
            "msp",
            "systems-integrator",
            "referral",
            "technology",
        }
        tiers = list(Tier.objects.values_list("slug", flat=True))
    assert tiers == ["registered", "silver", "gold", "platinum"]
    assert admin.role == Role.TENANT_ADMIN
    assert (admin.user.email, admin.user.full_name) == ("bill@initech.example", "Bill")
    assert "Created tenant Initech (initech)." in out
    assert "http://initech.localhost" in out
    assert "bill@initech.example" in out


def test_it_uses_the_domain_given(settings):
    create_tenant("hooli", "Hooli", "--domain", "Partners.Hooli.example", "--admin-email", "gavin@hooli.test")

    assert TenantDomain.objects.get(tenant__slug="hooli").domain == "partners.hooli.example"


def test_it_emails_the_admin_an_invitation_once_committed(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        create_tenant("initech", "Initech", "--admin-email", "bill@initech.example")

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["bill@initech.example"]
    assert "Initech" in mailoutbox[0].subject


def test_it_sends_no_invitation_with_no_invite(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        out = create_tenant("initech", "Initech", "--admin-email", "bill@initech.example", "--no-invite")

    assert mailoutbox == []
    assert "not invited" in out
    assert EmailAddress.objects.filter(email="bill@initech.example").exists()


def test_it_refuses_a_taken_slug_and_writes_nothing(acme):
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        create_tenant("acme", "Acme Two", "--domain", "acme-two.example", "--admin-email", "new@acme.test")

    assert str(refused.value) == "slug: A tenant with the slug 'acme' already exists."

    assert row_counts() == before


def test_it_refuses_a_taken_domain_and_writes_nothing(acme):
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        create_tenant("acme2", "Acme Two", "--domain", "ACME.localhost", "--admin-email", "new@acme.test")

    assert "The domain 'acme.localhost' already belongs to the tenant 'acme'." in str(refused.value)

    assert row_counts() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Acme Corp", "Acme", "--admin-email", "a@acme.example"], "slug: Use 1–40 lowercase letters"),
        (
            ["acme", "Acme", "--domain", "https://acme.example", "--admin-email", "a@acme.example"],
            "domain: Enter a host name such as partners.example.com",
        ),
        (["acme", "Acme", "--admin-email", "not-an-address"], "admin email: 'not-an-address' is not valid"),
        (["acme", "", "--admin-email", "a@acme.example"], "name: This field cannot be blank."),
        (
            ["acme", "Acme", "--domain", "localhost", "--admin-email", "a@acme.example"],
            "domain: The platform's base domain cannot belong to a tenant.",
        ),
    ],
    ids=["slug", "domain", "email", "name", "base-domain"],
)
def test_it_refuses_invalid_input_naming_what_is_wrong_and_writes_nothing(settings, args, message):
    settings.PRM_BASE_DOMAIN = "localhost"
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        create_tenant(*args)

    assert message in str(refused.value)
    assert row_counts() == before


def test_a_concurrent_create_of_the_same_slug_ends_in_a_clean_error(acme, monkeypatch):
    # Another process commits "acme" after our checks ran: make the checks blind to it, as they would be.
    monkeypatch.setattr(services, "tenant_check_available", lambda **kwargs: None)
    monkeypatch.setattr(Tenant, "validate_unique", lambda self, exclude=None: None)
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        create_tenant("acme", "Acme Two", "--domain", "acme-two.example", "--admin-email", "new@acme.test")

    assert "Key (slug)=(acme) already exists" in str(refused.value)
    assert "Nothing was created" in str(refused.value)
    assert row_counts() == before

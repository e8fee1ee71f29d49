from __future__ import annotations

import re
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.test import Client

from partners.models import Partner, PartnerMembership, PartnerType, Region, Stage, Tier
from prm import demo
from prm.models import Membership, Role, Tenant, TenantDomain, User
from prm.tenancy import tenant_scope, unscoped_across_tenants

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # The logos are real files: keep them out of the working tree.
    settings.MEDIA_ROOT = tmp_path


def seed_demo(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def demo_logins() -> list[tuple[str, str]]:
    """(host, email) of every demo login of the tenants."""
    logins = []
    for spec in demo.TENANTS:
        people = [spec.admin, spec.manager] + [person for p in spec.partners for person in p.people]
        logins += [(spec.domain, person.email) for person in people]
    return logins


def row_counts() -> dict[str, int]:
    models = [
        Tenant,
        TenantDomain,
        User,
        EmailAddress,
        Membership,
        PartnerType,
        Tier,
        Partner,
        PartnerMembership,
    ]
    with unscoped_across_tenants():
        return {model.__name__: model.objects.count() for model in models}


def test_it_creates_two_branded_tenants_with_their_partner_programs():
    seed_demo()

    def settings_of(tenant):
        return tenant.name, tenant.primary_domain, tenant.time_zone, tenant.currency, tenant.default_language

    acme, globex = Tenant.objects.get(slug="acme"), Tenant.objects.get(slug="globex")
    assert settings_of(acme) == ("Acme Cloud", "acme.localhost", "America/New_York", "USD", "en")
    assert settings_of(globex) == ("Globex Systems", "globex.localhost", "Europe/Berlin", "EUR", "de")
    assert acme.primary_color != globex.primary_color
    for tenant in (acme, globex):
        assert tenant.logo.name.endswith(".png")
        with tenant.logo.open("rb") as logo:
            assert logo.read(8) == b"\x89PNG\r\n\x1a\n"
        with tenant_scope(tenant):
            partners = list(Partner.objects.select_related("partner_type", "tier"))
            assert 10 <= len(partners) <= 14
            assert {p.partner_type.slug for p in partners} == {
                "reseller",
                "msp",
                "systems-integrator",
                "referral",
                "technology",
            }
            assert {p.stage for p in partners} == set(Stage.values)
            assert {p.tier.slug for p in partners if p.tier} == {"registered", "silver", "gold", "platinum"}
            assert {p.region for p in partners} <= set(Region.values)
            assert all(p.website_domain.endswith((".example", ".test")) for p in partners)


def test_each_tenant_has_six_logins_and_there_is_a_platform_superuser():
    seed_demo()

    for slug in ("acme", "globex"):
        tenant = Tenant.objects.get(slug=slug)
        with tenant_scope(tenant):
            roles = sorted(Membership.objects.values_list("role", flat=True))
            people_partners = set(PartnerMembership.objects.values_list("partner", flat=True))
        assert roles == sorted(
            [Role.TENANT_ADMIN, Role.CHANNEL_MANAGER] + [Role.PARTNER_ADMIN] * 2 + [Role.PARTNER_USER] * 2
        )
        assert len(people_partners) == 2
    platform = User.objects.get(email="platform@prm.example")
    assert platform.is_superuser and platform.is_staff
    for user in User.objects.all():
        assert user.check_password(demo.DEFAULT_PASSWORD)
        assert user.emailaddress_set.filter(email=user.email, primary=True, verified=True).exists()


def test_it_prints_every_login_grouped_by_host_with_the_password():
    out = seed_demo()

    table = out[out.index("Demo logins") :]
    assert "Password for all of them: demo-pass-2026" in table
    # One block per host: its URL, then its logins.
    blocks = {block.split()[0]: block for block in table.split("\n\n")[1:]}
    assert list(blocks) == ["http://localhost/admin/", "http://acme.localhost/", "http://globex.localhost/"]
    assert "platform@prm.example" in blocks["http://localhost/admin/"]
    for host, email in demo_logins():
        assert email in blocks[f"http://{host}/"]
    assert re.search(r"ana\.lopez@northwind\.example +Partner admin +Northwind Traders", table)


def test_every_demo_login_signs_in_on_its_own_host(settings):
    settings.ACCOUNT_RATE_LIMITS = False  # a dozen sign-ins from one address is the test here, not abuse
    seed_demo()

    for host, email in demo_logins():
        client = Client(HTTP_HOST=host)
        response = client.post("/accounts/login/", {"login": email, "password": demo.DEFAULT_PASSWORD})
        assert (response.status_code, response.url) == (302, "/"), email
        assert client.get("/").status_code == 200, email

    client = Client(HTTP_HOST="localhost")
    credentials = {"login": "platform@prm.example", "password": demo.DEFAULT_PASSWORD}
    response = client.post("/accounts/login/", credentials)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_demo_login_cannot_sign_in_on_the_other_tenants_host(settings):
    settings.ACCOUNT_RATE_LIMITS = False
    seed_demo()

    client = Client(HTTP_HOST="globex.localhost")
    credentials = {"login": "admin@acme.example", "password": demo.DEFAULT_PASSWORD}
    response = client.post("/accounts/login/", credentials)

    assert response.status_code == 200  # the form again, with the wrong-password message
    assert client.get("/").status_code == 302  # still signed out: sent to the login page


def test_running_it_twice_changes_nothing():
    seed_demo()
    counts = row_counts()
    hashes = dict(User.objects.values_list("email", "password"))
    logos = dict(Tenant.objects.values_list("slug", "logo"))

    out = seed_demo()

    assert row_counts() == counts
    # Same hashes: re-running does not end the sessions people already hold.
    assert dict(User.objects.values_list("email", "password")) == hashes
    assert dict(Tenant.objects.values_list("slug", "logo")) == logos
    assert "Acme Cloud (acme.localhost): already seeded, nothing to add." in out


def test_a_second_run_with_another_password_changes_every_demo_password():
    seed_demo()
    counts = row_counts()

    out = seed_demo("--password", "another-pass-2027")

    assert row_counts() == counts
    for user in User.objects.all():
        assert user.check_password("another-pass-2027")
    assert "Password for all of them: another-pass-2027" in out


def test_it_sends_no_email(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo()

    assert mailoutbox == []

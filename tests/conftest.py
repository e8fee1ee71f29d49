"""Shared fixtures: the cast of people every view and service is tested with, and test-wide settings.

The cast, as in healthchecks' Alice/Bob/Charlie, built through the real services:

    acme (the tenant under test)                 globex (the other tenant)
      tenant_admin, manager                        the same roles, same shape
      partner "Northwind": partner_admin alice, partner_user bob
      other_partner "Contoso": partner_admin carol, partner_user charlie
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from partners import services as partner_services
from partners.models import Partner, PartnerType, Region, Stage, Tier
from prm import services
from prm.celery import app as celery_app
from prm.models import Role, Tenant, User
from prm.tenancy import tenant_scope
from tests.factories import PASSWORD

# The browser fixtures (chromium, browser_page, portal_url) for any test module that asks for them.
pytest_plugins = ["tests.browser"]


@pytest.fixture(autouse=True, scope="session")
def _test_settings():
    # Hashing at full strength costs ~0.2 s a user and the cast has a dozen; the hashed static manifest
    # exists only after collectstatic, which a deployment runs and the tests need not. CRM credentials are
    # encrypted with a key made for this run.
    with override_settings(
        PRM_CRM_ENCRYPTION_KEYS=[Fernet.generate_key().decode()],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        yield


@pytest.fixture(autouse=True, scope="session")
def _private_files_in_a_temporary_directory(tmp_path_factory):
    # Files uploaded during the run (enablement's assets) never land in the demo's .prm/media.
    with override_settings(PRM_PRIVATE_MEDIA_ROOT=tmp_path_factory.mktemp("private-files")):
        yield


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Tasks run in-process unless the test starts a real worker (marker `worker`)."""
    eager = request.node.get_closest_marker("worker") is None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@dataclass
class TenantCast:
    tenant: Tenant
    host: str
    tenant_admin: User
    manager: User
    partner: Partner
    partner_admin: User
    partner_user: User
    other_partner: Partner
    other_partner_admin: User
    other_partner_user: User
    extra_markers: list[str]

    def by_role(self) -> dict[str, User]:
        """One person per role, the way the isolation harness walks them."""
        return {
            Role.TENANT_ADMIN: self.tenant_admin,
            Role.CHANNEL_MANAGER: self.manager,
            Role.PARTNER_ADMIN: self.partner_admin,
            Role.PARTNER_USER: self.partner_user,
        }


@dataclass
class Cast:
    acme: TenantCast
    globex: TenantCast

    # The names the tests read best with.
    @property
    def tenant(self) -> Tenant:
        return self.acme.tenant

    @property
    def host(self) -> str:
        return self.acme.host

    @property
    def manager(self) -> User:
        return self.acme.manager

    @property
    def partner_admin(self) -> User:
        return self.acme.partner_admin

    @property
    def partner_user(self) -> User:
        return self.acme.partner_user

    @property
    def other_partner_user(self) -> User:
        """A user of another partner of the same tenant."""
        return self.acme.other_partner_user

    @property
    def outsider(self) -> User:
        """A channel manager of another tenant."""
        return self.globex.manager


def _person(tenant_slug: str, local: str) -> str:
    return f"{local}@{tenant_slug}.test"


def build_tenant_cast(slug: str, name: str) -> TenantCast:
    tenant = services.tenant_create(
        slug=slug,
        name=name,
        admin_email=_person(slug, "admin"),
        admin_name=f"{name} Admin",
        send_invitation=False,
    )
    with tenant_scope(tenant):
        manager = services.membership_add(
            tenant=tenant,
            email=_person(slug, "manager"),
            full_name="Mia Manager",
            role=Role.CHANNEL_MANAGER,
            send_invitation=False,
        ).user
        reseller = PartnerType.objects.get(slug="reseller")
        gold = Tier.objects.get(slug="gold")
        # Names only this tenant has, so a page leaking its choices or filters shows them.
        own_type = PartnerType.objects.create(slug="exclusive", name=f"{name}-only Distributor")
        own_tier = Tier.objects.create(slug="diamond", name=f"{name} Diamond", rank=90)
        silver = Tier.objects.get(slug="silver")
        partner = partner_services.partner_create(
            name=f"Northwind {name}",
            partner_type=reseller,
            country="DE",
            region=Region.EMEA,
            website_domain=f"northwind-{slug}.example",
            tier=gold,
            stage=Stage.ACTIVE,
            acting_user=None,
        )
        other_partner = partner_services.partner_create(
            name=f"Contoso {name}",
            partner_type=reseller,
            country="US",
            region=Region.NORTH_AMERICA,
            website_domain=f"contoso-{slug}.example",
            tier=silver,
            stage=Stage.ONBOARDING,
            acting_user=None,
        )

        def member(partner, local, full_name, role):
            return partner_services.partner_member_add(
                partner=partner,
                email=_person(slug, local),
                full_name=full_name,
                role=role,
                acting_user=None,
                send_invitation=False,
            ).membership.user

        cast = TenantCast(
            tenant=tenant,
            host=f"{slug}.localhost",
            tenant_admin=User.objects.get(email=_person(slug, "admin")),
            manager=manager,
            partner=partner,
            partner_admin=member(partner, "alice", "Alice Admin", Role.PARTNER_ADMIN),
            partner_user=member(partner, "bob", "Bob User", Role.PARTNER_USER),
            other_partner=other_partner,
            other_partner_admin=member(other_partner, "carol", "Carol Admin", Role.PARTNER_ADMIN),
            other_partner_user=member(other_partner, "charlie", "Charlie User", Role.PARTNER_USER),
            extra_markers=[own_type.name, own_tier.name],
        )
    for user in User.objects.filter(email__endswith=f"@{slug}.test"):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        user.emailaddress_set.update(verified=True)
    for person in cast.by_role().values():
        person.refresh_from_db()
    for person in (cast.other_partner_admin, cast.other_partner_user):
        person.refresh_from_db()
    return cast


@pytest.fixture
def cast(db) -> Cast:
    return Cast(acme=build_tenant_cast("acme", "Acme"), globex=build_tenant_cast("globex", "Globex"))


@pytest.fixture
def acme_scope(cast):
    """Run the test body inside acme's tenant scope (for direct ORM reads in assertions)."""
    with tenant_scope(cast.tenant):
        yield cast.tenant

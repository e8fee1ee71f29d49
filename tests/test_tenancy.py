"""Fail-closed tenant scoping: what a forgotten filter, a missing scope or a crossing write does."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models
from django.test import Client

from partners.models import Partner, PartnerType, Tier
from prm.models import Membership, ParkedTask, Tenant, TenantDomain
from prm.tenancy import ScopeError, TenantOwnedModel, current_tenant, tenant_scope, unscoped_across_tenants
from tests.factories import PartnerFactory, TenantDomainFactory, TenantFactory

# Platform rows that point at a tenant but are read before (or outside) any tenant scope.
PLATFORM_MODELS = {
    TenantDomain: "resolves the Host header to a tenant, before a scope can exist",
    ParkedTask: "platform operations data, shown in the platform admin only",
}


def is_tenant_owned(model) -> bool:
    """A model with a foreign key to Tenant, or to a tenant-owned model: its rows belong to one tenant."""
    for field in model._meta.concrete_fields:
        if not isinstance(field, models.ForeignKey):
            continue
        target = field.related_model
        if target is Tenant or (target is not model and issubclass(target, TenantOwnedModel)):
            return True
    return False


def tenant_owned_models():
    return [m for m in apps.get_models() if is_tenant_owned(m) and m not in PLATFORM_MODELS]


def test_the_walk_finds_the_tenant_owned_models():
    found = set(tenant_owned_models())
    assert {Membership, Partner, PartnerType, Tier} <= found


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_every_tenant_owned_model_has_the_scoped_default_manager(model):
    assert hasattr(model._default_manager, "prm_tenant_path"), (
        f"{model._meta.label} holds tenant data but its default manager is not scoped: "
        "inherit prm.tenancy.TenantOwnedModel or use prm.tenancy.scoped_manager()"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_an_unscoped_query_of_a_tenant_owned_model_raises(model):
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(pk=1).exists()


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_uniqueness_on_tenant_data_includes_the_tenant(model):
    def implies_tenant(field_name: str) -> bool:
        field = model._meta.get_field(field_name)
        if field.name == "tenant":
            return True
        # A unique key through a tenant-owned row (a one-to-one, a permission's object) is per tenant.
        return field.is_relation and field.related_model is not None and is_tenant_owned(field.related_model)

    offenders = []
    for field in model._meta.concrete_fields:
        if field.unique and not field.primary_key and not isinstance(field, models.UUIDField):
            if not implies_tenant(field.name):
                offenders.append(field.name)
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
            if not any(implies_tenant(name) for name in constraint.fields):
                offenders.append(constraint.name)
    for together in model._meta.unique_together:
        if not any(implies_tenant(name) for name in together):
            offenders.append(str(together))
    assert offenders == [], f"{model._meta.label}: unique without the tenant: {offenders}"


@pytest.mark.django_db
def test_a_scope_returns_only_its_tenants_rows():
    acme_partner = PartnerFactory(tenant=TenantFactory(slug="acme"))
    globex_partner = PartnerFactory(tenant=TenantFactory(slug="globex"))
    with tenant_scope(acme_partner.tenant):
        assert list(Partner.objects.all()) == [acme_partner]
        assert not Partner.objects.filter(pk=globex_partner.pk).exists()
    with unscoped_across_tenants():
        assert Partner.objects.count() == 2


@pytest.mark.django_db
def test_a_scope_needs_a_saved_tenant():
    with pytest.raises(ScopeError):
        with tenant_scope(None):
            pass
    with pytest.raises(ScopeError):
        with tenant_scope(Tenant(slug="unsaved", name="Unsaved")):
            pass
    assert current_tenant() is None


@pytest.mark.django_db
def test_a_row_of_another_tenant_cannot_be_written_from_inside_a_scope():
    globex_partner = PartnerFactory(tenant=TenantFactory(slug="globex"))
    acme = TenantFactory(slug="acme")
    with tenant_scope(acme):
        globex_partner.name = "Renamed from acme"
        with pytest.raises(ScopeError):
            globex_partner.save()
    globex_partner.refresh_from_db()
    assert globex_partner.name != "Renamed from acme"


@pytest.mark.django_db
def test_a_new_row_takes_the_tenant_of_the_scope():
    acme = TenantFactory(slug="acme")
    with tenant_scope(acme):
        partner_type = PartnerType.objects.create(slug="var", name="Value-added reseller")
    assert partner_type.tenant == acme


@pytest.mark.django_db
def test_a_new_row_without_tenant_or_scope_is_refused():
    with pytest.raises(ScopeError):
        PartnerType(slug="var", name="Value-added reseller").save()


@pytest.mark.django_db
class TestHostResolution:
    def test_an_unknown_host_is_a_404_and_names_no_tenant(self):
        TenantFactory(slug="acme")
        response = Client(HTTP_HOST="nowhere.localhost").get("/accounts/login/")
        assert response.status_code == 404
        assert "acme" not in response.content.decode().lower()

    def test_a_tenants_own_subdomain_serves_its_portal(self):
        TenantFactory(slug="acme", name="Acme Cloud")
        response = Client(HTTP_HOST="acme.localhost:8000").get("/accounts/login/")
        assert response.status_code == 200
        assert "Acme Cloud" in response.content.decode()

    def test_a_custom_domain_serves_its_tenants_portal(self):
        tenant = TenantFactory(slug="acme", name="Acme Cloud")
        TenantDomainFactory(tenant=tenant, domain="partners.acme-cloud.example")
        response = Client(HTTP_HOST="partners.acme-cloud.example").get("/accounts/login/")
        assert response.status_code == 200
        assert "Acme Cloud" in response.content.decode()

    def test_an_inactive_tenant_is_a_404(self):
        TenantFactory(slug="acme", is_active=False)
        assert Client(HTTP_HOST="acme.localhost").get("/accounts/login/").status_code == 404

    def test_the_base_host_serves_the_platform_admin_not_a_tenant(self):
        TenantFactory(slug="acme")
        response = Client(HTTP_HOST="localhost").get("/admin/")
        assert response.status_code == 302
        assert Client(HTTP_HOST="localhost").get("/partners/").status_code == 404

"""Fail-closed tenant scoping.

Every tenant-owned model inherits `TenantOwnedModel`. Its default manager (`objects`) refuses to run a query
unless a tenant scope is active, so a forgotten filter raises `ScopeError` instead of reading another
tenant's rows. A scope is entered in exactly two kinds of places: the request middleware, and the entry of a
task or command (`tenant_scope`). The rare job that must cross tenants says so with the deliberately ugly
`unscoped_across_tenants()`.

The mechanics are django-scopes (as used by pretix); this module pins the one dimension we scope on and
refuses the "scope with tenant=None" that django-scopes would read as "no filter".
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.db import models
from django_scopes import ScopedManager, get_scope, scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from prm import rls

if TYPE_CHECKING:
    from prm.models import Tenant

__all__ = [
    "ScopeError",
    "TenantOwnedModel",
    "current_tenant",
    "scoped_manager",
    "tenant_scope",
    "unscoped_across_tenants",
]


@contextlib.contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    """Run the block with `tenant` as the only tenant whose rows tenant-owned managers return."""
    from prm.models import Tenant

    if not isinstance(tenant, Tenant) or tenant.pk is None:
        raise ScopeError(f"tenant_scope() needs a saved Tenant, got {tenant!r}")
    previous = current_tenant()
    with scope(tenant=tenant):
        rls.set_connection_tenant(tenant.pk)
        try:
            yield tenant
        finally:
            rls.set_connection_tenant(previous.pk if previous is not None else None)


@contextlib.contextmanager
def unscoped_across_tenants() -> Iterator[None]:
    """Lift tenant scoping for the block. Only for platform jobs that must see every tenant's rows."""
    previous = current_tenant()
    with scopes_disabled():
        rls.set_connection_tenant(None)
        try:
            yield
        finally:
            if previous is not None:
                rls.set_connection_tenant(previous.pk)


def current_tenant() -> Tenant | None:
    """The tenant of the active scope, or None outside any tenant scope."""
    state = get_scope()
    if not state.get("_enabled", True):
        return None
    return state.get("tenant")


def scoped_manager(path: str = "tenant", manager_class: type[models.Manager] = models.Manager):
    """A default manager that filters on `path` by the active tenant and refuses to run without one."""
    manager = ScopedManager(tenant=path, _manager_class=manager_class)
    manager.prm_tenant_path = path
    return manager


class TenantOwnedModel(models.Model):
    """Base of every row that belongs to one tenant."""

    tenant = models.ForeignKey("prm.Tenant", on_delete=models.CASCADE, editable=False, related_name="+")

    objects = scoped_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # A new row takes the tenant of the active scope; a row of another tenant is never written from
        # inside a scope, whatever the caller set.
        active = current_tenant()
        if self.tenant_id is None:
            if active is None:
                raise ScopeError(
                    f"Cannot save {type(self).__name__} without a tenant or an active tenant scope"
                )
            self.tenant = active
        elif active is not None and self.tenant_id != active.pk:
            raise ScopeError(
                f"Refusing to save {type(self).__name__} of tenant {self.tenant_id} "
                f"inside the scope of tenant {active.pk}"
            )
        super().save(*args, **kwargs)

"""Two admin sites on one path: the platform admin on the base host, each tenant's admin on its own host.

The tenant admin answers to the tenant's staff roles only, shows the tenant's rows only (every queryset comes
from scoped default managers), and answers 404 for an object that is not the tenant's. Its login is
allauth's, so the admin gets the same rate limits, emailed-code login and two-factor step as the portal.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from prm.models import STAFF_ROLES, Role


def _allauth_login(request):
    """Send anonymous visitors to allauth's login; signed-in people without admin rights get a 404."""
    if request.user.is_authenticated:
        if request.user.is_active and request.admin_site_may_enter:
            return HttpResponseRedirect(request.GET.get("next") or reverse("admin:index"))
        raise Http404
    next_url = request.GET.get("next") or request.get_full_path()
    return HttpResponseRedirect(f"{resolve_url('account_login')}?{urlencode({'next': next_url})}")


class TenantAdminSite(admin.AdminSite):
    site_url = "/"
    index_title = _("Partner program")
    enable_nav_sidebar = True

    def each_context(self, request):
        context = super().each_context(request)
        tenant = request.tenant
        context["site_header"] = context["site_title"] = f"{tenant.name} · {_('Program admin')}"
        return context

    def has_permission(self, request) -> bool:
        membership = getattr(request, "membership", None)
        return bool(request.user.is_active and membership is not None and membership.role in STAFF_ROLES)

    def login(self, request, extra_context=None):
        request.admin_site_may_enter = self.has_permission(request)
        return _allauth_login(request)

    def logout(self, request, extra_context=None):
        return HttpResponseRedirect(resolve_url("account_logout"))


class PlatformAdminSite(admin.AdminSite):
    site_header = site_title = _("PRM platform")
    index_title = _("Tenants and people")
    site_url = None

    def has_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser and request.tenant is None)

    def login(self, request, extra_context=None):
        request.admin_site_may_enter = self.has_permission(request)
        return _allauth_login(request)

    def logout(self, request, extra_context=None):
        return HttpResponseRedirect(resolve_url("account_logout"))


tenant_admin_site = TenantAdminSite(name="admin")
platform_admin_site = PlatformAdminSite(name="platform_admin")


class TenantModelAdmin(admin.ModelAdmin):
    """Base of every ModelAdmin on the tenant admin: rights by role, and 404 for anything not the tenant's.

    `editor_roles` may add, change and delete; `viewer_roles` may look.
    """

    editor_roles: frozenset[str] = STAFF_ROLES
    viewer_roles: frozenset[str] = STAFF_ROLES

    def _role(self, request) -> str | None:
        membership = getattr(request, "membership", None)
        return membership.role if membership is not None else None

    def has_module_permission(self, request) -> bool:
        return self._role(request) in (self.viewer_roles | self.editor_roles)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self._role(request) in self.editor_roles

    def has_change_permission(self, request, obj=None) -> bool:
        return self._role(request) in self.editor_roles

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._role(request) in self.editor_roles

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the changelist with a message naming the id; another tenant's object must
        # look exactly like one that never existed.
        raise Http404


class TenantAdminOnly(TenantModelAdmin):
    """For the tenant's own settings and people: channel managers may look, tenant admins may edit."""

    editor_roles = frozenset({Role.TENANT_ADMIN})

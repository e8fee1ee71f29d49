"""Two admin sites on one path: the platform admin on the base host, each tenant's admin on its own host.

The tenant admin answers to the tenant's staff roles only, shows the tenant's rows only (every queryset comes
from scoped default managers), and answers 404 for an object that is not the tenant's. Its login is
allauth's, so the admin gets the same rate limits, emailed-code login and two-factor step as the portal.
"""

from __future__ import annotations

from functools import update_wrapper

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _

from prm.models import STAFF_ROLES, Role


class AllauthDoorAdminSite(admin.AdminSite):
    """An admin site whose doors are the portal's: allauth signs people in and out and changes passwords.

    Anonymous visitors are sent to allauth's login; signed-in people without rights here get a 404 from
    every admin page at once (the admin does not exist for them), not a trip through a login form.
    """

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            if not self.has_permission(request):
                raise Http404
            next_url = request.GET.get("next", "")
            if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
                next_url = reverse(f"{self.name}:index")
            return HttpResponseRedirect(next_url)
        next_url = request.GET.get("next") or request.get_full_path()
        return HttpResponseRedirect(f"{resolve_url('account_login')}?{urlencode({'next': next_url})}")

    def logout(self, request, extra_context=None):
        return HttpResponseRedirect(resolve_url("account_logout"))

    def password_change(self, request, extra_context=None):
        return HttpResponseRedirect(resolve_url("account_change_password"))

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def gate(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise Http404
            return inner(request, *args, **kwargs)

        return update_wrapper(gate, inner)


class TenantAdminSite(AllauthDoorAdminSite):
    site_url = "/"
    index_title = _("Partner program")
    enable_nav_sidebar = True

    def each_context(self, request):
        context = super().each_context(request)
        tenant = request.tenant
        # Not inside the f-string: makemessages cannot extract a string from there.
        program_admin = _("Program admin")
        context["site_header"] = context["site_title"] = f"{tenant.name} · {program_admin}"
        return context

    def has_permission(self, request) -> bool:
        membership = getattr(request, "membership", None)
        return bool(request.user.is_active and membership is not None and membership.role in STAFF_ROLES)

    def get_urls(self):
        # Django's "view on site" shortcut loads the object through the unscoped base manager; ours goes
        # through the scoped default manager, so another tenant's object is a 404 like everywhere else.
        urls = super().get_urls()
        for index, pattern in enumerate(urls):
            if getattr(pattern, "name", None) == "view_on_site":
                urls[index] = path(
                    "r/<int:content_type_id>/<path:object_id>/",
                    self.admin_view(view_on_site_scoped),
                    name="view_on_site",
                )
        return urls


def view_on_site_scoped(request, content_type_id: int, object_id: str):
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist as missing:
        raise Http404 from missing
    if model is None or not hasattr(model, "get_absolute_url"):
        raise Http404
    try:
        obj = model._default_manager.filter(pk=object_id).first()
    except (ValueError, ValidationError) as bad_id:
        raise Http404 from bad_id
    if obj is None:
        raise Http404
    return HttpResponseRedirect(obj.get_absolute_url())


class PlatformAdminSite(AllauthDoorAdminSite):
    site_header = site_title = _("PRM platform")
    index_title = _("Tenants and people")
    site_url = None

    def has_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser and request.tenant is None)


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

    def get_object(self, request, object_id, from_field=None):
        # Django answers a missing object with a redirect naming the id, or a 403 when the role may not
        # delete; another tenant's object must look exactly like one that never existed, before any of that.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj


class TenantAdminOnly(TenantModelAdmin):
    """For the tenant's own settings and people: channel managers may look, tenant admins may edit."""

    editor_roles = frozenset({Role.TENANT_ADMIN})


class ReadOnlyModelAdmin(TenantModelAdmin):
    """Rows written by services only (records, logs, the sync's own state): the tenant's staff read them,
    nobody adds, changes or deletes them here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """A record's history or attachments shown on its parent's page: written by services only, so nobody
    adds, changes or deletes rows here, and whoever may open the parent (its admin decides, by role) reads
    them. Set `fields`; they are all read-only."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_view_permission(self, request, obj=None) -> bool:
        return True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

"""Request plumbing: a request id for the logs, the tenant from the host, the member behind the session."""

from __future__ import annotations

import re
import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth import logout
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone, translation

from prm import logging as prm_logging
from prm.models import Membership, TenantDomain
from prm.tenancy import tenant_scope, unscoped_across_tenants

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Tag the request, its log lines and its response with one id (kept from X-Request-ID when sane)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        with prm_logging.log_context(request_id=request.id):
            response = self.get_response(request)
        response["X-Request-ID"] = request.id
        return response


def resolve_host(host: str):
    """The tenant a host name serves, None for the platform's base host; raises Http404 for anything else."""
    host = host.split(":", 1)[0].rstrip(".").lower()
    if host == settings.PRM_BASE_DOMAIN:
        return None
    domain = TenantDomain.objects.select_related("tenant").filter(domain=host, tenant__is_active=True).first()
    if domain is None:
        raise Http404("No portal at this address")
    return domain.tenant


class TenantMiddleware:
    """Resolve the tenant from the Host header and run the whole request inside its scope.

    The base host serves the platform admin (its own URLconf); a tenant's host serves its portal. Any other
    host is a 404, never a default tenant.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Health probes come by IP or an internal name: /healthz answers on any host; it reads no tenant data.
        tenant = None if request.path_info == "/healthz" else resolve_host(request.get_host())
        request.tenant = tenant
        if tenant is None:
            request.urlconf = settings.PRM_PLATFORM_URLCONF
            # The platform admin manages tenants themselves: the one request path that sees across them.
            with unscoped_across_tenants():
                return self.get_response(request)
        with tenant_scope(tenant), prm_logging.log_context(tenant=tenant.slug):
            return self.get_response(request)


class MembershipMiddleware:
    """Attach the signed-in person's membership of this tenant; a session without one is ended.

    Sessions are per host already; this catches the rest (a membership revoked mid-session, a custom domain
    sharing cookies with another tenant's host).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        user = request.user
        if user.is_authenticated:
            if request.tenant is None:
                if not user.is_superuser:
                    logout(request)
            else:
                request.membership = Membership.objects.active().filter(user=user).first()
                if request.membership is None:
                    logout(request)
        return self.get_response(request)


class TenantLocaleMiddleware:
    """Speak the visitor's chosen language, else the tenant's; show times in the tenant's time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = request.tenant
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = (
            chosen if chosen in supported else (tenant.default_language if tenant else settings.LANGUAGE_CODE)
        )
        request.LANGUAGE_CODE = language
        # Both are thread state: set them for this request only, so the next request on the thread
        # (another tenant's) starts clean.
        with (
            translation.override(language),
            timezone.override(zoneinfo.ZoneInfo(tenant.time_zone) if tenant is not None else None),
        ):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class StaffMFAMiddleware:
    """Where the tenant requires it, staff without an authenticator must set one up before anything else."""

    allowed_prefixes = ("/accounts/", "/static/", "/healthz", "/i18n/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = request.membership
        if (
            membership is not None
            and request.tenant.require_mfa_for_staff
            and membership.is_staff_role
            and not request.path_info.startswith(self.allowed_prefixes)
        ):
            from allauth.mfa.models import Authenticator

            if not Authenticator.objects.filter(user=request.user, type=Authenticator.Type.TOTP).exists():
                return redirect("mfa_activate_totp")
        return self.get_response(request)

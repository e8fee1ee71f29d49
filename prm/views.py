"""Views of the core: the home dashboard, health, branding."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from onboarding import selectors as onboarding_selectors
from partners import selectors as partner_selectors


@login_required
def home(request):
    """The member's start page: program figures for staff, their organisation for partner people."""
    membership = request.membership
    context = {"partner": partner_selectors.partner_for_member(membership)}
    if membership.is_staff_role:
        context["stage_counts"] = partner_selectors.stage_counts()
    else:
        context["onboarding"] = onboarding_selectors.onboarding_progress(context["partner"])
    return render(request, "prm/home.html", context)


@require_GET
def tenant_logo(request):
    """The tenant's logo; public, since it brands the sign-in page."""
    logo = request.tenant.logo
    if not logo:
        raise Http404
    try:
        handle = logo.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    response = FileResponse(handle)
    response["Cache-Control"] = "public, max-age=300"
    return response


@never_cache
@require_GET
def healthz(request):
    """Database, broker and the age of the last worker heartbeat; 200 when all are well, else 503."""
    from prm.celery import _redis
    from prm.tasks import heartbeat_key

    checks: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True}
    except Exception as error:  # noqa: BLE001 - the point is to report any failure
        checks["database"] = {"ok": False, "error": str(error)}
    try:
        _redis().ping()
        checks["broker"] = {"ok": True}
        beat = _redis().get(heartbeat_key())
        if beat is None:
            checks["worker"] = {"ok": False, "error": "no heartbeat recorded yet"}
        else:
            age = time.time() - float(beat)
            checks["worker"] = {
                "ok": age <= settings.PRM_HEARTBEAT_MAX_AGE,
                "last_heartbeat_age_seconds": round(age, 1),
            }
    except Exception as error:  # noqa: BLE001
        checks["broker"] = {"ok": False, "error": str(error)}
        checks["worker"] = {"ok": False, "error": "broker unreachable"}
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )

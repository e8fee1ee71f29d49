"""The sync-status page: the CRM mirror's state of the tenant, for its staff (channel managers, admins)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from crm_sync.models import DriftRun, MirrorLink, OutboxEntry, Resolution, Watermark
from crm_sync.selectors import connection_of, inbound_state, is_paused, outbox_counts
from prm.admin_sites import tenant_admin_site

# The admin lists behind the page's tables, by the name the template uses.
ADMIN_LISTS = {
    "outbox": OutboxEntry,
    "watermarks": Watermark,
    "links": MirrorLink,
    "resolutions": Resolution,
    "drift_runs": DriftRun,
}


@login_required
def sync_status(request):
    membership = request.membership
    if membership is None or not membership.is_staff_role:
        raise Http404
    tenant = request.tenant
    connection = connection_of(tenant)
    now = timezone.now()
    return render(
        request,
        "crm_sync/status.html",
        {
            "connection": connection,
            "paused": connection is not None and is_paused(connection, now),
            "rows": outbox_counts(tenant),
            **inbound_state(tenant),
            "admin_lists": admin_lists(request),
        },
    )


def admin_lists(request) -> dict[str, str]:
    """The changelist URL of each table's model in the tenant admin, for the ones this person may view."""
    lists = {}
    for name, model in ADMIN_LISTS.items():
        model_admin = tenant_admin_site._registry.get(model)
        if model_admin is not None and model_admin.has_view_permission(request):
            opts = model._meta
            lists[name] = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return lists

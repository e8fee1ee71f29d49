"""The sync-status page: the CRM mirror's state of the tenant, for its staff (channel managers, admins)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from crm_sync.selectors import connection_of, inbound_state, is_paused, outbox_counts


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
        },
    )

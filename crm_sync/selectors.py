"""Reads of the CRM mirror: the sync state of a tenant, for crm_status and the sync-status page."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Min, Q

from crm_sync import registry
from crm_sync.models import CRMConnection, OutboxEntry, OutboxState
from prm.models import Tenant
from prm.tenancy import tenant_scope

STATES = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.SENT, OutboxState.DEAD)


def outbox_counts(tenant: Tenant) -> list[dict]:
    """Per mirrored object key (parents first, then keys nobody mirrors any more): the count of each state
    and the oldest pending row's creation time, in one query."""
    with tenant_scope(tenant):
        rows = OutboxEntry.objects.values("object_key").annotate(
            **{state.value: Count("id", filter=Q(state=state)) for state in STATES},
            oldest_pending=Min("created_at", filter=Q(state=OutboxState.PENDING)),
        )
        found = {row["object_key"]: row for row in rows}
    keys = [m.key for m in registry.mirrors()]
    keys += sorted(set(found) - set(keys))
    empty = {state.value: 0 for state in STATES} | {"oldest_pending": None}
    return [{**empty, **found.get(key, {}), "object_key": key} for key in keys]


def connection_of(tenant: Tenant) -> CRMConnection | None:
    with tenant_scope(tenant):
        return CRMConnection.objects.first()


def is_paused(connection: CRMConnection, now: datetime) -> bool:
    return bool(connection.paused_until and connection.paused_until > now)

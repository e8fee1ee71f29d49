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


def record_sync_state(record) -> dict | None:
    """Where a mirrored record stands with the CRM: its latest outbox row's state, when it was last sent,
    and the error that holds it back; None when its model is not mirrored. Two queries at most."""
    key = record._meta.label_lower
    try:
        registry.get(key)
    except KeyError:
        return None
    connection = CRMConnection.objects.filter(tenant_id=record.tenant_id).first()
    rows = OutboxEntry.objects.filter(tenant_id=record.tenant_id, object_key=key, record_id=record.pk)
    latest = rows.order_by("-changed_at", "-id").first()
    last_sent = latest.sent_at if latest is not None and latest.state == OutboxState.SENT else None
    if latest is not None and latest.state != OutboxState.SENT:
        last_sent = (
            rows.filter(state=OutboxState.SENT).order_by("-sent_at").values_list("sent_at", flat=True).first()
        )
    return {
        "connection": connection,
        "enabled": bool(connection and connection.is_enabled),
        "latest": latest,
        "last_sent": last_sent,
    }

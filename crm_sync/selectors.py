"""Reads of the CRM mirror: the sync state of a tenant, for crm_status and the sync-status page."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Min, Q
from django.utils.text import capfirst

from crm_sync import registry
from crm_sync.models import (
    CRMConnection,
    DriftRun,
    MirrorLink,
    OutboxEntry,
    OutboxState,
    Resolution,
    Watermark,
)
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
    mirrors = {m.key: m for m in registry.mirrors()}
    keys = list(mirrors) + sorted(set(found) - set(mirrors))
    empty = {state.value: 0 for state in STATES} | {"oldest_pending": None}
    return [
        {**empty, **found.get(key, {}), "object_key": key, "label": _label(mirrors.get(key), key)}
        for key in keys
    ]


def _label(declared: registry.Mirror | None, key: str) -> str:
    """What staff read for a mirrored object: "Partners → Account"; the key for one nobody mirrors now."""
    if declared is None:
        return key
    return f"{capfirst(declared.model._meta.verbose_name_plural)} → {declared.crm_object}"


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


ATTENTION_LIMIT = 50
RESOLUTIONS_SHOWN = 20
DRIFT_RUNS_SHOWN = 14


def inbound_state(tenant: Tenant) -> dict:
    """What the sync-status page shows of the inbound half: each object's watermark, the records ops must
    look at (a CRM value refused, deleted in the CRM), the latest shared-field resolutions and the drift
    checks' history. A fixed number of queries: one per list, and one per mirrored object with flagged
    records (for their names)."""
    with tenant_scope(tenant):
        watermarks = list(Watermark.objects.order_by("crm_object"))
        attention = list(
            MirrorLink.objects.filter(Q(unlinked_at__isnull=False) | ~Q(flag="")).order_by(
                "-flagged_at", "-unlinked_at", "-id"
            )[:ATTENTION_LIMIT]
        )
        resolutions = list(Resolution.objects.all()[:RESOLUTIONS_SHOWN])
        drift_runs = list(DriftRun.objects.all()[:DRIFT_RUNS_SHOWN])
        name_records([*attention, *resolutions])
    return {
        "watermarks": watermarks,
        "attention": attention,
        "resolutions": resolutions,
        "drift_runs": drift_runs,
        "last_drift": drift_runs[0] if drift_runs else None,
    }


def name_records(rows: list) -> None:
    """Give each row (MirrorLink, Resolution) the portal record it is about, as `.record` (None if gone)."""
    by_key: dict[str, set[int]] = {}
    for row in rows:
        by_key.setdefault(row.object_key, set()).add(row.record_id)
    found: dict[tuple[str, int], object] = {}
    for key, ids in by_key.items():
        try:
            model = registry.get(key).model
        except KeyError:
            continue
        for pk, record in model.objects.in_bulk(list(ids)).items():
            found[(key, pk)] = record
    for row in rows:
        row.record = found.get((row.object_key, row.record_id))

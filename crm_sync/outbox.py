"""Draining the outbox: claim a tenant's due rows, upsert their records' latest state, record each result.

A drain claims pending rows that are due (`SELECT ... FOR UPDATE SKIP LOCKED`, parents' rows first) in a
short transaction that marks them `sending` with a claim time, commits, sends, then records each result.
An edit made while a row is sending writes a new pending row (the partial unique index covers pending rows
only), so the latest state always goes out. A row left `sending` past the lease (its worker died) goes back
to pending on the next drain.

Records go out by sObject Collections upsert on the external-ID field, at most 200 per call, with
`allOrNone: false`, so every record has its own result:

- success: the row is `sent`;
- `UNABLE_TO_LOCK_ROW`, and a whole call failing with a 5xx, a timeout or a connection error: pending again
  with backoff and jitter (transient: never a dead letter); after a whole call failed the drain stops, and
  the rows it claimed but did not send go back to pending as they were. A whole call's failure backs its
  rows off half a minute at most, and the first call that goes through afterwards makes every row that only
  waited on the failure due at once, so the end of an outage is followed by a prompt catch-up;
- any other error of a record: pending again with backoff, and a dead letter with the CRM's
  `errorCode: message` after PRM_CRM_MAX_ATTEMPTS such refusals (transient failures never count);
- `REQUEST_LIMIT_EXCEEDED`, or API usage (the `Sforce-Limit-Info` header) past the connection's pause
  share: the connection pauses for PAUSE_FOR and the rows go back to pending without counting an attempt.

Deletes are mirrored. The trigger turns a deleted record's row into a delete carrying its external ID
(`OutboxEntry.external_id`; edits still pending before the delete go out as that one delete). A drain sends
deletes after its upserts, children's before their parents': it looks the CRM Ids up by external ID (SOQL
`... WHERE PRM_External_Id__c IN (...)`, up to 200 a query), then deletes them by sObject Collections
(`DELETE composite/sobjects?ids=...&allOrNone=false`, up to 200 a call), each record's result ruled as for
an upsert. A record the CRM does not have (never sent, or already deleted: `ENTITY_IS_DELETED`,
`NOT_FOUND`, `INVALID_CROSS_REFERENCE_KEY`) is done without a call. Not deleted in the CRM: records a mirror's
condition kept out of it (a deal deleted before approval) and CRM-only copies (customer accounts read from
the CRM); their deletes write no row. The record's MirrorLink goes with it.
"""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from simple_salesforce.exceptions import SalesforceError

from crm_sync import registry
from crm_sync.client import CRMError, with_fresh_session
from crm_sync.models import CRMConnection, Direction, FieldMapping, OutboxEntry, OutboxState
from crm_sync.services import mapping_defaults_ensure
from prm.models import Tenant
from prm.tenancy import tenant_scope

COLLECTION_LIMIT = 200  # records per sObject Collections call, Salesforce's limit
BULK_THRESHOLD = 2000  # a resync of more records of one object goes through Bulk API 2.0
BULK_JOB_SIZE = 10_000  # records per Bulk API 2.0 job
PAUSE_FOR = timedelta(minutes=15)
BACKOFF_CAP = 15 * 60.0
# A whole call failing (the CRM unreachable, 5xx, a refused session) is the CRM's trouble, not the records':
# their retries stay at most half a minute apart, so a long outage ends with a prompt catch-up (and the first
# call that goes through makes every row that only waited on the outage due at once: _crm_answered).
OUTAGE_BACKOFF_CAP = 30.0
TRANSIENT_CODES = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"}
CRM_ONLY_NOTE = "A read-only copy of a CRM record; never sent back."
DELETED_NOTE = "Deleted in the portal before it was sent."
NOT_IN_CRM_NOTE = "Deleted in the portal; the CRM had no such record."
# Per-record delete errors meaning the CRM record is already gone: the delete is done.
GONE_CODES = {"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"}
PARENT_NOT_SENT = "Waiting for its parent record, which failed in the same drain."


@dataclass
class DrainResult:
    """What one drain did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    calls: int = 0
    paused: bool = False
    halted: bool = False  # a whole call failed; the rest waits for the next drain
    # External IDs of the records that failed in this drain: their children wait instead of failing.
    failed: set[str] = field(default_factory=set)


class _Halt(Exception):
    """Stop this drain: the CRM asked us to pause (REQUEST_LIMIT_EXCEEDED, usage past the pause share), or a
    whole call failed (down, unreachable, credentials refused) and the next would most likely fail too."""

    def __init__(self, *, paused: bool):
        super().__init__()
        self.paused = paused


def outbox_drain(*, tenant: Tenant, batch_size: int = 200, max_batches: int = 50) -> DrainResult:
    """Send the tenant's due outbox rows to its CRM; a paused, disabled or absent connection sends none."""
    result = DrainResult()
    with tenant_scope(tenant):
        connection = _ready_connection(tenant, result)
        if connection is None:
            return result
        mappings = _mappings(tenant)
        for _batch in range(max_batches):
            claim_time, entries = _claim(tenant, batch_size)
            if not entries:
                break
            result.claimed += len(entries)
            _send_batch(connection, entries, claim_time, mappings, result)
            if result.paused or result.halted:
                break
        _save_connection_state(connection)
    return result


def outbox_bulk_send(
    *, tenant: Tenant, object_key: str, job_size: int = BULK_JOB_SIZE, failed: set[str] | None = None
) -> DrainResult:
    """Send the tenant's due rows of one mirrored object through Bulk API 2.0 upsert jobs, up to `job_size`
    records a job: for resyncs of more than BULK_THRESHOLD records, where 200-record calls would spend the
    org's API allowance. Each record's row in the job's results decides, as in a drain.

    `failed` carries the external IDs of records that failed in earlier jobs of the same resync (it is
    updated): children of those wait for their parent instead of failing.
    """
    result = DrainResult()
    if failed is not None:
        result.failed = failed
    declared = registry.get(object_key)
    with tenant_scope(tenant):
        connection = _ready_connection(tenant, result)
        if connection is None:
            return result
        mappings = _mappings(tenant)
        while True:
            claim_time, entries = _claim(tenant, job_size, object_key=object_key)
            if not entries:
                break
            result.claimed += len(entries)
            try:
                _send_bulk_job(connection, declared, entries, claim_time, mappings[declared.key], result)
            except _Halt as halt:
                result.paused, result.halted = halt.paused, not halt.paused
                break
        _save_connection_state(connection)
    return result


def _ready_connection(tenant: Tenant, result: DrainResult) -> CRMConnection | None:
    """The tenant's connection when it may send now; None when absent, disabled or paused (noted)."""
    connection = CRMConnection.objects.filter(tenant=tenant).first()
    if connection is None or not connection.is_enabled:
        return None
    if connection.paused_until is not None and connection.paused_until > timezone.now():
        result.paused = True
        return None
    connection.paused_until, connection.pause_reason = None, ""
    _reclaim_expired(tenant)
    return connection


def _save_connection_state(connection: CRMConnection) -> None:
    connection.save(
        update_fields=[
            "last_success_at",
            "last_error",
            "api_usage",
            "api_limit",
            "paused_until",
            "pause_reason",
            "updated_at",
        ]
    )


def outbox_retry(*, entries: models.QuerySet[OutboxEntry]) -> int:
    """Put the dead letters among `entries` back to pending, due now with a fresh attempt count; the number
    retried. A dead letter whose record has a newer pending row is dropped: that row sends the latest state.
    """
    retried = 0
    for entry in entries.filter(state=OutboxState.DEAD):
        try:
            with transaction.atomic():
                OutboxEntry.objects.filter(pk=entry.pk, state=OutboxState.DEAD).update(
                    state=OutboxState.PENDING,
                    attempts=0,
                    refusals=0,
                    next_attempt_at=None,
                    claimed_at=None,
                )
        except IntegrityError:
            OutboxEntry.objects.filter(pk=entry.pk, state=OutboxState.DEAD).delete()
        retried += 1
    return retried


def tenants_due() -> list[int]:
    """Ids of tenants with an enabled, unpaused connection and due pending rows (for the beat)."""
    now = timezone.now()
    due: list[int] = []
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            connection = CRMConnection.objects.filter(tenant=tenant, is_enabled=True).first()
            if connection is None or (connection.paused_until and connection.paused_until > now):
                continue
            if (
                _due_rows(tenant).exists()
                or OutboxEntry.objects.filter(
                    tenant=tenant, state=OutboxState.SENDING, claimed_at__lt=now - lease()
                ).exists()
            ):
                due.append(tenant.pk)
    return due


# --- claiming ---------------------------------------------------------------------------------------------


def lease() -> timedelta:
    """How long a row may stay `sending` before it is reclaimed (PRM_CRM_SENDING_LEASE)."""
    return timedelta(seconds=settings.PRM_CRM_SENDING_LEASE)


def _due_rows(tenant: Tenant) -> models.QuerySet[OutboxEntry]:
    now = timezone.now()
    # A delete waits while an upsert of the same record is being sent: sent after it, that upsert would
    # re-create the record the delete removed.
    upserting = OutboxEntry.objects.filter(
        tenant=models.OuterRef("tenant"),
        object_key=models.OuterRef("object_key"),
        record_id=models.OuterRef("record_id"),
        state=OutboxState.SENDING,
        claimed_at__gte=now - lease(),
    )
    return (
        OutboxEntry.objects.filter(tenant=tenant, state=OutboxState.PENDING)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .filter(models.Q(external_id="") | ~models.Exists(upserting))
    )


def _claim(
    tenant: Tenant, batch_size: int, *, object_key: str | None = None
) -> tuple[datetime, list[OutboxEntry]]:
    """Mark up to `batch_size` due rows (of `object_key` only, when given) `sending`, parents' rows first,
    in a short transaction."""
    order = models.Case(
        *(models.When(object_key=m.key, then=models.Value(n)) for n, m in enumerate(registry.mirrors())),
        default=models.Value(len(registry.mirrors())),
    )
    now = timezone.now()
    with transaction.atomic():
        due = _due_rows(tenant)
        if object_key is not None:
            due = due.filter(object_key=object_key)
        ids = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .annotate(priority=order)
            .order_by("priority", "changed_at", "id")
            .values_list("id", flat=True)[:batch_size]
        )
        OutboxEntry.objects.filter(id__in=ids).update(state=OutboxState.SENDING, claimed_at=now)
    return now, list(OutboxEntry.objects.filter(id__in=ids, claimed_at=now))


def _reclaim_expired(tenant: Tenant) -> None:
    """Rows a dead worker left `sending` past the lease go back to pending (no attempt counted)."""
    stale = OutboxEntry.objects.filter(
        tenant=tenant, state=OutboxState.SENDING, claimed_at__lt=timezone.now() - lease()
    )
    for entry in stale:
        _release(entry, entry.claimed_at, {})


def _release(entry: OutboxEntry, claim_time: datetime, changes: dict[str, Any]) -> None:
    """Put a claimed row back to pending with `changes`; when a newer pending row of the record exists, that
    one carries the latest state and this one is dropped."""
    try:
        with transaction.atomic():
            OutboxEntry.objects.filter(pk=entry.pk, state=OutboxState.SENDING, claimed_at=claim_time).update(
                state=OutboxState.PENDING, claimed_at=None, **changes
            )
    except IntegrityError:
        OutboxEntry.objects.filter(pk=entry.pk, state=OutboxState.SENDING, claimed_at=claim_time).delete()


# --- sending ----------------------------------------------------------------------------------------------


def _mappings(tenant: Tenant) -> dict[str, dict[str, str]]:
    """Portal path -> CRM field of each mirrored object, for the fields that flow to the CRM."""
    mapping_defaults_ensure(tenant)
    mappings: dict[str, dict[str, str]] = defaultdict(dict)
    for mapping in FieldMapping.objects.filter(direction__in=[Direction.TO_CRM, Direction.BOTH]):
        mappings[mapping.object_key][mapping.portal_field] = mapping.crm_field
    return mappings


def _is_uuid(value: Any) -> bool:
    """Whether a reference value is a portal public id (sent by external ID), not a CRM Id (sent as is)."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _record_values(declared: registry.Mirror, record: models.Model, fields: dict[str, str]) -> dict:
    """The upsert body of one record; the parent reference goes by the parent's external ID."""
    values = declared.values(record, fields)
    if declared.parent:
        parent = registry.get(declared.parent)
        reference = f"{parent.crm_object}Id"
        if values.get(reference) is not None and _is_uuid(values[reference]):
            values[parent.crm_object] = {parent.external_id_field: str(values.pop(reference))}
    body = json.loads(json.dumps(values, cls=DjangoJSONEncoder))
    return {"attributes": {"type": declared.crm_object}, **body}


def _send_batch(
    connection: CRMConnection,
    entries: list[OutboxEntry],
    claim_time: datetime,
    mappings: dict[str, dict[str, str]],
    result: DrainResult,
) -> None:
    by_key: dict[str, list[OutboxEntry]] = defaultdict(list)
    deletes: dict[str, list[OutboxEntry]] = defaultdict(list)
    for entry in entries:
        (deletes if entry.external_id else by_key)[entry.object_key].append(entry)
    pending = list(entries)  # not yet resolved: released again if the drain pauses
    try:
        for declared in registry.mirrors():
            if declared.key not in by_key:
                continue
            group = by_key.pop(declared.key)
            records = declared.model.objects.select_related(
                *declared.related(mappings[declared.key])
            ).in_bulk([e.record_id for e in group])
            ready: list[tuple[OutboxEntry, dict]] = []
            for entry in group:
                record = records.get(entry.record_id)
                if record is None:
                    _mark_sent([entry], claim_time, note=DELETED_NOTE)
                    pending.remove(entry)
                    continue
                if declared.is_crm_only(record):
                    _mark_sent([entry], claim_time, note=CRM_ONLY_NOTE)
                    pending.remove(entry)
                    continue
                try:
                    body = _record_values(declared, record, mappings[declared.key])
                except Exception as failure:  # noqa: BLE001 - a broken mapping path is this record's error
                    _fail(entry, claim_time, f"{type(failure).__name__}: {failure}", result, transient=False)
                    pending.remove(entry)
                    continue
                if _parent_failed(declared, body, result):
                    _fail(entry, claim_time, PARENT_NOT_SENT, result, transient=True, counted=False)
                    pending.remove(entry)
                    continue
                ready.append((entry, body))
            for start in range(0, len(ready), COLLECTION_LIMIT):
                chunk = ready[start : start + COLLECTION_LIMIT]
                _send_chunk(connection, declared, chunk, claim_time, result)
                for entry, _body in chunk:
                    pending.remove(entry)
        # Children before their parents: deleting a CRM parent may take its children with it.
        for declared in reversed(registry.mirrors()):
            group = deletes.pop(declared.key, [])
            for start in range(0, len(group), COLLECTION_LIMIT):
                chunk = group[start : start + COLLECTION_LIMIT]
                _delete_chunk(connection, declared, chunk, claim_time, result)
                for entry in chunk:
                    pending.remove(entry)
        for key, group in [*by_key.items(), *deletes.items()]:  # rows of objects nobody mirrors any more
            for entry in group:
                _fail(entry, claim_time, f"{key} is not mirrored", result, transient=False)
                pending.remove(entry)
    except _Halt as halt:
        result.paused, result.halted = halt.paused, not halt.paused
        for entry in pending:
            _release(entry, claim_time, {})


def _parent_failed(declared: registry.Mirror, body: dict, result: DrainResult) -> bool:
    if not declared.parent:
        return False
    parent = registry.get(declared.parent)
    reference = body.get(parent.crm_object)
    return isinstance(reference, dict) and reference.get(parent.external_id_field) in result.failed


def _send_chunk(
    connection: CRMConnection,
    declared: registry.Mirror,
    chunk: list[tuple[OutboxEntry, dict]],
    claim_time: datetime,
    result: DrainResult,
) -> None:
    shared = shared_guard(connection, declared, chunk, claim_time, result)
    path = f"composite/sobjects/{declared.crm_object}/{declared.external_id_field}"
    payload = {"allOrNone": False, "records": [body for _entry, body in chunk]}
    try:
        answers, over_share = _collections_call(connection, result, path, method="PATCH", json=payload)
    except CRMError as failure:
        _call_failed(connection, declared, chunk, claim_time, result, failure)
    now = timezone.now()
    sent: list[OutboxEntry] = []
    for (entry, body), answer in zip(chunk, answers, strict=True):
        if answer.get("success"):
            sent.append(entry)
            continue
        result.failed.add(body[declared.external_id_field])
        code, message = _record_error(answer)
        _fail(entry, claim_time, message, result, transient=code in TRANSIENT_CODES, now=now)
    _mark_sent(sent, claim_time)
    if shared:
        _remember_shared(declared, [(e, b) for e, b in chunk if e in sent], shared)
    result.sent += len(sent)
    if sent:
        _crm_answered(connection, now)
    if over_share:
        raise _Halt(paused=True)


def _record_error(answer: dict) -> tuple[str, str]:
    """The code and `code: message` of a failed record's result in a Collections answer."""
    errors = answer.get("errors") or [{}]
    code = errors[0].get("statusCode") or errors[0].get("errorCode") or "UNKNOWN_ERROR"
    return code, f"{code}: {errors[0].get('message', '')}"


def _soql_list(values: list[str]) -> str:
    return ", ".join("'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'" for value in values)


def _delete_chunk(
    connection: CRMConnection,
    declared: registry.Mirror,
    chunk: list[OutboxEntry],
    claim_time: datetime,
    result: DrainResult,
) -> None:
    """Delete the CRM records of up to COLLECTION_LIMIT records deleted in the portal: their CRM Ids by
    external ID in one query, then one sObject Collections delete; a record the CRM lacks is done."""
    ext = declared.external_id_field
    wanted = _soql_list([entry.external_id for entry in chunk])
    soql = f"SELECT Id, {ext} FROM {declared.crm_object} WHERE {ext} IN ({wanted})"
    result.calls += 1
    try:
        rows = with_fresh_session(connection, lambda sf: sf.query_all(soql)["records"])
    except CRMError as failure:
        _call_failed(
            connection, declared, [(e, {ext: e.external_id}) for e in chunk], claim_time, result, failure
        )
    crm_ids = {row[ext]: row["Id"] for row in rows}
    absent = [entry for entry in chunk if entry.external_id not in crm_ids]
    _mark_sent(absent, claim_time, note=NOT_IN_CRM_NOTE)
    _forget_links(declared, absent)
    present = [(entry, crm_ids[entry.external_id]) for entry in chunk if entry.external_id in crm_ids]
    if not present:
        return
    params = {"ids": ",".join(crm_id for _entry, crm_id in present), "allOrNone": "false"}
    try:
        answers, over_share = _collections_call(
            connection, result, "composite/sobjects", params=params, method="DELETE"
        )
    except CRMError as failure:
        pairs = [(entry, {ext: entry.external_id}) for entry, _crm_id in present]
        _call_failed(connection, declared, pairs, claim_time, result, failure)
    now = timezone.now()
    deleted: list[OutboxEntry] = []
    gone: list[OutboxEntry] = []
    # Results come in the order of the ids; a failed one need not name its id.
    for (entry, _crm_id), answer in zip(present, answers, strict=True):
        if answer.get("success"):
            deleted.append(entry)
            continue
        code, message = _record_error(answer)
        if code in GONE_CODES:
            gone.append(entry)
            continue
        _fail(entry, claim_time, message, result, transient=code in TRANSIENT_CODES, now=now)
    _mark_sent(deleted, claim_time)
    _mark_sent(gone, claim_time, note=NOT_IN_CRM_NOTE)
    _forget_links(declared, deleted + gone)
    result.sent += len(deleted)
    if deleted:
        _crm_answered(connection, now)
    if over_share:
        raise _Halt(paused=True)


def crm_delete(connection: CRMConnection, crm_ids: list[str]) -> int:
    """Delete CRM records by Id, COLLECTION_LIMIT a call (crm_verify --fix); the number deleted or already
    gone. A failed call raises CRMError."""
    done = 0
    for start in range(0, len(crm_ids), COLLECTION_LIMIT):
        params = {"ids": ",".join(crm_ids[start : start + COLLECTION_LIMIT]), "allOrNone": "false"}
        answers = with_fresh_session(
            connection,
            lambda sf, params=params: sf.restful("composite/sobjects", params=params, method="DELETE"),
        )
        done += sum(
            1 for answer in answers if answer.get("success") or _record_error(answer)[0] in GONE_CODES
        )
    return done


def _forget_links(declared: registry.Mirror, entries: list[OutboxEntry]) -> None:
    """The records are gone on both sides: what the inbound sync knew of them goes too."""
    from crm_sync.models import MirrorLink

    if entries:
        MirrorLink.objects.filter(
            object_key=declared.key, record_id__in=[e.record_id for e in entries]
        ).delete()


def shared_guard(
    connection: CRMConnection,
    declared: registry.Mirror,
    chunk: list[tuple[OutboxEntry, dict]],
    claim_time: datetime,
    result: DrainResult,
) -> list[str]:
    """Keep a later CRM write of a shared field: before sending records with shared fields, read those
    fields' current CRM values and SystemModstamp; a value a CRM user changed since the portal last knew it
    (MirrorLink.crm_values), later than the portal's change (the outbox row's changed_at), is dropped from
    the body, so the CRM's value stays and the inbound poll brings it to the portal. Each such field is a
    recorded Resolution. Returns the shared CRM fields (none: nothing was read)."""
    from crm_sync import inbound
    from crm_sync.models import MirrorLink, Resolution, Winner

    shared = list(
        FieldMapping.objects.filter(object_key=declared.key, direction=Direction.BOTH).values_list(
            "crm_field", flat=True
        )
    )
    if not shared or not chunk:
        return []
    ext = declared.external_id_field
    links = {
        link.record_id: link
        for link in MirrorLink.objects.filter(
            object_key=declared.key, record_id__in=[entry.record_id for entry, _body in chunk]
        )
    }
    known = [
        (entry, body)
        for entry, body in chunk
        if links.get(entry.record_id) and links[entry.record_id].crm_values
    ]
    if not known:
        return shared
    quoted = ", ".join("'" + str(body[ext]).replace("'", "\\'") + "'" for _entry, body in known)
    soql = (
        f"SELECT Id, {ext}, SystemModstamp, {', '.join(shared)} FROM {declared.crm_object} "
        f"WHERE {ext} IN ({quoted})"
    )
    result.calls += 1
    try:
        rows = with_fresh_session(connection, lambda sf: sf.query_all(soql)["records"])
    except CRMError as failure:
        _call_failed(connection, declared, chunk, claim_time, result, failure)
    current = {row[ext]: row for row in rows}
    for entry, body in known:
        row = current.get(body[ext])
        if row is None:
            continue
        link = links[entry.record_id]
        stamp = inbound.parse_stamp(row["SystemModstamp"])
        for name in shared:
            if name not in body or inbound.same(declared, name, link.crm_values.get(name), row.get(name)):
                continue  # the CRM still holds what the portal knew: no CRM write to weigh
            if inbound.same(declared, name, body[name], row.get(name)):
                continue
            if inbound.same(declared, name, body[name], link.crm_values.get(name)):
                body[name] = row.get(name)  # only the CRM changed this field: keep its value
                continue
            winner = Winner.CRM if stamp >= entry.changed_at else Winner.PORTAL
            Resolution.objects.create(
                tenant_id=entry.tenant_id,
                object_key=declared.key,
                record_id=entry.record_id,
                crm_field=name,
                portal_value=inbound.normalized(body[name]),
                crm_value=inbound.normalized(row.get(name)),
                portal_written_at=entry.changed_at,
                crm_written_at=stamp,
                winner=winner,
            )
            if winner == Winner.CRM:
                body[name] = row.get(name)
    return shared


def _remember_shared(
    declared: registry.Mirror, sent: list[tuple[OutboxEntry, dict]], shared: list[str]
) -> None:
    """Note the shared values the CRM now holds for the records just sent."""
    from crm_sync.models import MirrorLink

    for entry, body in sent:
        link, _ = MirrorLink.objects.get_or_create(
            tenant_id=entry.tenant_id, object_key=declared.key, record_id=entry.record_id
        )
        link.crm_values = {name: body.get(name) for name in shared if name in body}
        link.save(update_fields=["crm_values"])


def _flatten(body: dict) -> dict[str, str]:
    """A Collections body as a Bulk API 2.0 CSV row: a parent reference becomes `Account.<ext field>`."""
    row: dict[str, str] = {}
    for name, value in body.items():
        if name == "attributes":
            continue
        if isinstance(value, dict):
            for field_name, field_value in value.items():
                row[f"{name}.{field_name}"] = "" if field_value is None else str(field_value)
        elif isinstance(value, bool):
            row[name] = "true" if value else "false"
        else:
            row[name] = "" if value is None else str(value)
    return row


def _send_bulk_job(
    connection: CRMConnection,
    declared: registry.Mirror,
    entries: list[OutboxEntry],
    claim_time: datetime,
    fields: dict[str, str],
    result: DrainResult,
) -> None:
    deletes = [entry for entry in entries if entry.external_id]
    entries = [entry for entry in entries if not entry.external_id]
    for start in range(0, len(deletes), COLLECTION_LIMIT):
        try:
            _delete_chunk(connection, declared, deletes[start : start + COLLECTION_LIMIT], claim_time, result)
        except _Halt:
            for entry in deletes[start:] + entries:  # the ones resolved already are left as they are
                _release(entry, claim_time, {})
            raise
    records = declared.model.objects.select_related(*declared.related(fields)).in_bulk(
        [e.record_id for e in entries]
    )
    ready: list[tuple[OutboxEntry, dict]] = []
    for entry in entries:
        record = records.get(entry.record_id)
        if record is None:
            _mark_sent([entry], claim_time, note=DELETED_NOTE)
            continue
        if declared.is_crm_only(record):
            _mark_sent([entry], claim_time, note=CRM_ONLY_NOTE)
            continue
        try:
            body = _record_values(declared, record, fields)
        except Exception as failure:  # noqa: BLE001 - a broken mapping path is this record's error
            _fail(entry, claim_time, f"{type(failure).__name__}: {failure}", result, transient=False)
            continue
        if _parent_failed(declared, body, result):
            _fail(entry, claim_time, PARENT_NOT_SENT, result, transient=True, counted=False)
            continue
        ready.append((entry, body))
    if not ready:
        return
    rows = [_flatten(body) for _entry, body in ready]
    columns = sorted({column for row in rows for column in row})
    rows = [{column: row.get(column, "") for column in columns} for row in rows]
    ext = declared.external_id_field

    def call(sf):
        bulk = getattr(sf.bulk2, declared.crm_object)
        jobs = bulk.upsert(records=rows, external_id_field=ext, batch_size=len(rows), wait=1)
        outcomes = []
        for job in jobs:
            outcomes.append(
                (bulk.get_successful_records(job["job_id"]), bulk.get_failed_records(job["job_id"]))
            )
        return outcomes

    result.calls += 1
    try:
        outcomes = with_fresh_session(connection, call)
    except CRMError as failure:
        try:
            _call_failed(connection, declared, ready, claim_time, result, failure)
        except _Halt as halt:
            # Refused whole (REQUEST_LIMIT_EXCEEDED): the rows wait as they were, not for a lease to end.
            if halt.paused:
                for entry, _body in ready:
                    _release(entry, claim_time, {})
            raise
    by_external_id = {body[ext]: entry for entry, body in ready}
    now = timezone.now()
    sent: list[OutboxEntry] = []
    for successful, failed in outcomes:
        for row in csv.DictReader(io.StringIO(successful)):
            entry = by_external_id.pop(row.get(ext, ""), None)
            if entry is not None:
                sent.append(entry)
        for row in csv.DictReader(io.StringIO(failed)):
            entry = by_external_id.pop(row.get(ext, ""), None)
            if entry is None:
                continue
            code, _, message = (row.get("sf__Error") or "UNKNOWN_ERROR:").partition(":")
            result.failed.add(row[ext])
            error = f"{code}: {message.removesuffix(' --').rstrip(':')}"
            _fail(entry, claim_time, error, result, transient=code in TRANSIENT_CODES, now=now)
    # Rows the job did not process (neither result lists them) go back to pending as they were.
    for entry in by_external_id.values():
        _release(entry, claim_time, {})
    _mark_sent(sent, claim_time)
    result.sent += len(sent)
    if sent:
        _crm_answered(connection, now)


def _crm_answered(connection: CRMConnection, now: datetime) -> None:
    """A call went through. If the connection's last call had failed (the CRM was down, refused the
    session, or answered 5xx), the rows that were only waiting out that failure's backoff are due at once:
    the CRM is back, and their backoff no longer protects anything."""
    if connection.last_error:
        OutboxEntry.objects.filter(
            tenant=connection.tenant_id, state=OutboxState.PENDING, refusals=0, next_attempt_at__gt=now
        ).update(next_attempt_at=None)
    connection.last_success_at = now
    connection.last_error = ""


def _collections_call(
    connection: CRMConnection, result: DrainResult, path: str, **options
) -> tuple[Any, bool]:
    """One sObject Collections call (a session refreshed once if it expired): its answers, and whether the
    API usage it reported passes the connection's pause share. A whole call failing raises CRMError."""
    usage: dict[str, Any] = {}

    def call(sf):
        answer = sf.restful(path, **options)
        usage.update(getattr(sf, "api_usage", None) or {})
        return answer

    result.calls += 1
    answers = with_fresh_session(connection, call)
    return answers, _record_usage(connection, usage)


def _call_failed(
    connection: CRMConnection,
    declared: registry.Mirror,
    chunk: list[tuple[OutboxEntry, dict]],
    claim_time: datetime,
    result: DrainResult,
    failure: CRMError,
) -> None:
    """A whole call failed: pause on REQUEST_LIMIT_EXCEEDED, else fail its rows; either way, halt."""
    cause = failure.__cause__
    now = timezone.now()
    if _error_code(cause) == "REQUEST_LIMIT_EXCEEDED":
        _pause(connection, str(failure))
        raise _Halt(paused=True) from failure
    connection.last_error = str(failure)
    transient = (
        cause is None  # no answer at all: credentials refused or token endpoint unreachable
        or isinstance(cause, requests.RequestException | OSError)
        or (isinstance(cause, SalesforceError) and cause.status >= 500)
    )
    counted = cause is not None
    result.failed.update(body[declared.external_id_field] for _entry, body in chunk)
    for entry, _body in chunk:
        _fail(
            entry,
            claim_time,
            str(failure),
            result,
            transient=transient,
            counted=counted,
            now=now,
            cap=OUTAGE_BACKOFF_CAP if transient else BACKOFF_CAP,
        )
    raise _Halt(paused=False) from failure


def _error_code(cause: BaseException | None) -> str | None:
    if isinstance(cause, SalesforceError):
        content = cause.content
        if isinstance(content, list) and content and isinstance(content[0], dict):
            return content[0].get("errorCode")
    return None


def _record_usage(connection: CRMConnection, usage: dict[str, Any]) -> bool:
    """Note the API usage the CRM reported; pause the connection (True) when it passed the pause share."""
    api = usage.get("api-usage")
    if api is None:
        return False
    connection.api_usage, connection.api_limit = api.used, api.total
    if api.total and api.used >= connection.pause_at_usage * api.total:
        _pause(
            connection,
            f"API usage {api.used}/{api.total} passed {connection.pause_at_usage:.0%} of the daily limit",
        )
        return True
    return False


def _pause(connection: CRMConnection, reason: str) -> None:
    connection.paused_until = timezone.now() + PAUSE_FOR
    connection.pause_reason = reason[:255]
    connection.last_error = reason


# --- results ----------------------------------------------------------------------------------------------


def _mark_sent(entries: list[OutboxEntry], claim_time: datetime, *, note: str = "") -> None:
    if entries:
        OutboxEntry.objects.filter(
            pk__in=[e.pk for e in entries], state=OutboxState.SENDING, claimed_at=claim_time
        ).update(state=OutboxState.SENT, sent_at=timezone.now(), last_error=note)


def backoff(attempts: int, now: datetime, cap: float = BACKOFF_CAP) -> datetime:
    """When a row that failed `attempts` times is next due: exponential, capped, with jitter."""
    delay = min(cap, settings.PRM_CRM_BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return now + timedelta(seconds=delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not a secret


def _fail(
    entry: OutboxEntry,
    claim_time: datetime,
    error: str,
    result: DrainResult,
    *,
    transient: bool,
    counted: bool = True,
    now: datetime | None = None,
    cap: float = BACKOFF_CAP,
) -> None:
    """Record a failed send: pending again with backoff, or a dead letter once out of attempts."""
    now = now or timezone.now()
    attempts = entry.attempts + (1 if counted else 0)
    refusals = entry.refusals + (1 if counted and not transient else 0)
    if not transient and refusals >= settings.PRM_CRM_MAX_ATTEMPTS:
        OutboxEntry.objects.filter(pk=entry.pk, state=OutboxState.SENDING, claimed_at=claim_time).update(
            state=OutboxState.DEAD, attempts=attempts, refusals=refusals, last_error=error
        )
        result.dead += 1
        return
    _release(
        entry,
        claim_time,
        {
            "attempts": attempts,
            "refusals": refusals,
            "last_error": error,
            "next_attempt_at": backoff(attempts, now, cap),
        },
    )
    result.retried += 1

"""Proving the mirror: compare every mirrored record with the CRM, field by field (manage.py crm_verify).

For each mirrored object the CRM's records carrying an external ID are read (SOQL paged through
`nextRecordsUrl`, or a Bulk API 2.0 query above BULK_THRESHOLD records) and compared with the portal's
records that the mirror's condition lets through, on every mapped field. A reference compares by what it
points at (the CRM Id is translated to that record's external ID). A record with an unsent outbox row is in
flight, not drift, and is counted apart. A record the CRM does not have counts as one drifting value
(field "(missing)"); so does a CRM record carrying an external ID that no portal record has (field "(in the
CRM only)", listed under the CRM object: a record deleted in the portal whose delete never reached the
CRM), unless its delete is still in the outbox. The portal's external IDs are read in one query per
mirrored model, not per record.

`fix`: portal-owned drift and missing records are queued in the outbox again (the drain sends them);
records in the CRM only are deleted there (sObject Collections, 200 a call);
CRM-owned drift is applied through the mirror's apply service, as a poll would; shared drift follows the
later write (the CRM's, since an in-flight record is not drift).

Each run is recorded as a DriftRun (the nightly beat run too): the sync-status page shows its history.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection as db
from django.db import transaction

from crm_sync import inbound, outbox, registry
from crm_sync.client import CRMError, with_fresh_session
from crm_sync.models import (
    CRMConnection,
    Direction,
    DriftRun,
    FieldMapping,
    OutboxEntry,
    OutboxState,
)
from crm_sync.services import mapping_defaults_ensure
from prm.models import Tenant
from prm.tenancy import tenant_scope

MISSING = "(missing)"
CRM_ONLY = "(in the CRM only)"
EXAMPLES = 3


@dataclass
class Drift:
    key: str
    crm_field: str
    external_id: str
    portal: str
    crm: str
    direction: str


@dataclass
class VerifyReport:
    """What a verification found."""

    checked: int = 0
    in_flight: int = 0
    drift: list[Drift] = field(default_factory=list)
    fixed_sent: int = 0
    fixed_applied: int = 0
    fixed_deleted: int = 0  # records in the CRM only, deleted there
    refused: int = 0  # CRM-owned drift the portal refused to apply (the poll flags those records)
    error: str = ""

    def by_field(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for item in self.drift:
            counts[item.key][item.crm_field] += 1
        return {key: dict(fields) for key, fields in counts.items()}


def _fetch(connection: CRMConnection, soql: str, crm_object: str) -> list[dict]:
    def call(sf):
        page = sf.query(soql)
        if page["totalSize"] > inbound.BULK_THRESHOLD:
            rows: list[dict] = []
            for text in getattr(sf.bulk2, crm_object).query(soql, wait=1):
                for row in csv.DictReader(io.StringIO(text)):
                    rows.append({name: (value if value != "" else None) for name, value in row.items()})
            return rows
        rows = list(page["records"])
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
            rows.extend(page["records"])
        return rows

    return with_fresh_session(connection, call)


def _reference_targets(declared: registry.Mirror) -> dict[str, str]:
    """CRM reference field -> CRM object it points at."""
    targets = {name: registry.get(key).crm_object for name, key in declared.references.items()}
    if declared.parent:
        parent = registry.get(declared.parent).crm_object
        targets[f"{parent}Id"] = parent
    return targets


def verify(
    *, tenant: Tenant, object_key: str | None = None, fix: bool = False, record: bool = True
) -> VerifyReport:
    """Compare the tenant's mirrored records with its CRM; with `fix`, repair what differs."""
    report = VerifyReport()
    mapping_defaults_ensure(tenant)
    with tenant_scope(tenant):
        connection = CRMConnection.objects.filter(tenant=tenant).first()
        if connection is None:
            report.error = "no CRM connection"
            return report
        mappings: dict[str, list[FieldMapping]] = defaultdict(list)
        for mapping in FieldMapping.objects.all():
            mappings[mapping.object_key].append(mapping)
        selected = [m for m in registry.mirrors() if object_key is None or m.key == object_key]
        external_ids: dict[str, dict[str, str]] = {}  # CRM object -> Id -> external ID

        def ext_of(crm_object: str) -> dict[str, str]:
            if crm_object not in external_ids:
                rows = _fetch(
                    connection, f"SELECT Id, {registry.EXTERNAL_ID_FIELD} FROM {crm_object}", crm_object
                )
                external_ids[crm_object] = {r["Id"]: r.get(registry.EXTERNAL_ID_FIELD) or "" for r in rows}
            return external_ids[crm_object]

        try:
            for declared in selected:
                _verify_object(connection, declared, mappings[declared.key], ext_of, report, fix)
            for crm_object in dict.fromkeys(declared.crm_object for declared in selected):
                _verify_crm_only(connection, crm_object, ext_of, report, fix)
        except CRMError as failure:
            report.error = str(failure)
        if record:
            DriftRun.objects.create(
                tenant=tenant,
                records_checked=report.checked,
                drift_count=len(report.drift),
                by_field=report.by_field(),
                fixed=fix,
                error=report.error,
            )
    return report


def _verify_object(connection, declared, mappings, ext_of, report: VerifyReport, fix: bool) -> None:
    names = list(dict.fromkeys(["Id", registry.EXTERNAL_ID_FIELD, *(m.crm_field for m in mappings)]))
    soql = f"SELECT {', '.join(names)} FROM {declared.crm_object} WHERE {registry.EXTERNAL_ID_FIELD} != null"
    crm = {
        row[registry.EXTERNAL_ID_FIELD]: row
        for row in _fetch(connection, soql, declared.crm_object)
        if row.get(registry.EXTERNAL_ID_FIELD)
    }
    targets = _reference_targets(declared)
    table = declared.model._meta.db_table
    records = (
        declared.model.objects.select_related(
            *declared.related({m.portal_field: m.crm_field for m in mappings})
        )
        .extra(where=[declared.row_condition(table)])  # noqa: S610 - the mirror's own declared SQL condition
        .order_by("pk")
    )
    in_flight = set(
        OutboxEntry.objects.filter(
            object_key=declared.key, state__in=[OutboxState.PENDING, OutboxState.SENDING]
        ).values_list("record_id", flat=True)
    )
    resend: list[int] = []
    for record in records:
        if declared.is_crm_only(record):
            continue
        if record.pk in in_flight:
            report.in_flight += 1
            continue
        report.checked += 1
        external_id = str(registry.resolve(record, declared.external_id))
        row = crm.get(external_id)
        if row is None:
            report.drift.append(Drift(declared.key, MISSING, external_id, "", "", Direction.TO_CRM))
            resend.append(record.pk)
            continue
        apply: dict[str, Any] = {}
        for mapping in mappings:
            portal = inbound.portal_value(record, mapping.portal_field)
            value = row.get(mapping.crm_field)
            if mapping.crm_field in targets:
                if value and value != portal:
                    value = ext_of(targets[mapping.crm_field]).get(value) or value
                if inbound.normalized(portal) == inbound.normalized(value):
                    continue
            elif inbound.same(declared, mapping.crm_field, portal, value):
                continue
            report.drift.append(
                Drift(
                    declared.key,
                    mapping.crm_field,
                    external_id,
                    inbound.normalized(portal),
                    inbound.normalized(row.get(mapping.crm_field)),
                    mapping.direction,
                )
            )
            if mapping.direction == Direction.TO_CRM:
                resend.append(record.pk)
            else:
                apply[mapping.portal_field] = row.get(mapping.crm_field)
        if fix and apply:
            try:
                with transaction.atomic():
                    if declared.apply is not None:
                        declared.apply(record=record, values=apply)
                    else:
                        inbound.apply_fields(record, apply)
                report.fixed_applied += 1
            except Exception:  # noqa: BLE001 - a refused value stays drift; the poll flags it
                report.refused += 1
    if fix and resend:
        report.fixed_sent += requeue(declared, sorted(set(resend)))


def _verify_crm_only(connection, crm_object: str, ext_of, report: VerifyReport, fix: bool) -> None:
    """CRM records of `crm_object` whose external ID no portal record of any mirror to it has; `fix` deletes
    them in the CRM."""
    crm = {external_id: crm_id for crm_id, external_id in ext_of(crm_object).items() if external_id}
    if not crm:
        return
    portal: set[str] = set()
    for declared in registry.mirrors():
        if declared.crm_object == crm_object:
            lookup = declared.external_id.replace(".", "__")
            portal.update(str(value) for value in declared.model.objects.values_list(lookup, flat=True))
    deleting = set(
        OutboxEntry.objects.filter(state__in=[OutboxState.PENDING, OutboxState.SENDING])
        .exclude(external_id="")
        .values_list("external_id", flat=True)
    )
    orphans = sorted(external_id for external_id in crm if external_id not in portal)
    report.in_flight += sum(1 for external_id in orphans if external_id in deleting)
    orphans = [external_id for external_id in orphans if external_id not in deleting]
    for external_id in orphans:
        report.drift.append(Drift(crm_object, CRM_ONLY, external_id, "", crm[external_id], Direction.TO_CRM))
    if fix and orphans:
        report.fixed_deleted += outbox.crm_delete(connection, [crm[external_id] for external_id in orphans])


def requeue(declared: registry.Mirror, record_ids: list[int]) -> int:
    """Queue the given records of `declared` for the CRM again (through the triggers' ON CONFLICT target)."""
    meta = declared.model._meta
    sql = f"""
        INSERT INTO "{registry.OUTBOX_TABLE}"
            (tenant_id, object_key, record_id, state, attempts, last_error, created_at, changed_at)
        SELECT "tenant_id", %s, "{meta.pk.column}", 'pending', 0, '', now(), now()
        FROM "{meta.db_table}" WHERE "{meta.pk.column}" = ANY(%s)
        ON CONFLICT (tenant_id, object_key, record_id) WHERE state = 'pending'
        DO UPDATE SET changed_at = now(), next_attempt_at = NULL
    """
    with db.cursor() as cursor:
        cursor.execute(sql, [declared.key, record_ids])
        return cursor.rowcount


def drift_lines(report: VerifyReport, examples: int = EXAMPLES) -> list[str]:
    """The report as lines: drift by object and field, with examples."""
    lines: list[str] = []
    by_key: dict[str, dict[str, list[Drift]]] = defaultdict(lambda: defaultdict(list))
    for item in report.drift:
        by_key[item.key][item.crm_field].append(item)
    for key, fields in by_key.items():
        total = sum(len(items) for items in fields.values())
        if CRM_ONLY in fields:  # keyed by the CRM object: which mirror it came from is gone with it
            lines.append(f"{key}: {total} in the CRM only (no portal record)")
            for item in fields[CRM_ONLY][:examples]:
                lines.append(f"    {item.external_id}: CRM record {item.crm}")
            continue
        declared = registry.get(key)
        lines.append(f"{key} → {declared.crm_object}: {total} differing")
        for crm_field, items in sorted(fields.items()):
            lines.append(f"  {crm_field} ({items[0].direction}): {len(items)}")
            for item in items[:examples]:
                if crm_field == MISSING:
                    lines.append(f"    {item.external_id}: not in the CRM")
                else:
                    lines.append(f"    {item.external_id}: portal {item.portal!r}, CRM {item.crm!r}")
    return lines

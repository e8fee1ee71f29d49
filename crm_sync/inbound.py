"""The inbound half of the CRM mirror: read the CRM's changes back, and apply what the CRM owns.

Per tenant and CRM object a `Watermark` row holds the SystemModstamp of the last change applied. A poll
asks for `SystemModstamp >= watermark - OVERLAP` (an inclusive bound with a look-back, so a change written
in the same second as the last one read, or committed late, is not missed), ordered by (SystemModstamp,
Id), page by page through `nextRecordsUrl`; above BULK_THRESHOLD changed records (a first load, a long
outage) through a Bulk API 2.0 query. A change already applied within the overlap (same Id and
SystemModstamp, kept in `Watermark.recent`) is skipped. The watermark moves past each record once it is
applied or refused (a refused value flags the record, which keeps it visible); a CRM fault (5xx,
REQUEST_LIMIT_EXCEEDED, an expired session twice) stops the poll where it was, so faults delay, never lose.

Field ownership comes from the tenant's field mappings: `to_crm` portal-owned (never read back), `from_crm`
CRM-owned (the CRM's value is applied), `both` shared (the later write wins: the CRM's write time is the
record's SystemModstamp, the portal's the `changed_at` of the record's unsent outbox row; without an unsent
row the portal's value is already in the CRM, so the CRM wrote later; a tie goes to the CRM). Each shared
field written on both sides is recorded as a `Resolution`. Values are applied through the mirror's `apply`
service (dealreg.services.deal_apply_crm_update for deals), so the same rules and events fire as for a
portal edit; a value the service refuses flags the record (`MirrorLink.flag`) and the batch goes on.

Echoes: a change whose values the portal already holds (its own write coming back) is a no-op. Applying a
CRM value changes the portal record, whose trigger queues it for the CRM; when after the apply every value
the portal would send equals the CRM's, the row this apply queued is marked sent without a call, so the CRM's
value is not bounced back (a row queued by an earlier portal edit still goes: it may carry other fields).

CRM records without an external ID (the portal did not create them) go to the object's `receive_crm_only`
handler (dealreg fills its customer accounts, read-only). Deletions come from the getDeleted resource: the
portal record is not deleted but flagged unlinked (`MirrorLink.unlinked_at`), shown on the sync-status page;
`crm_resync` sends it again, which re-creates it. A deletion whose portal record no longer exists (the
portal's own delete, mirrored by the drain) flags nothing: its leftover link is dropped.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db
from django.utils import timezone

from crm_sync import outbox, registry
from crm_sync.client import CRMError, with_fresh_session
from crm_sync.models import (
    CRMConnection,
    Direction,
    FieldMapping,
    MirrorLink,
    OutboxEntry,
    OutboxState,
    Resolution,
    Watermark,
    Winner,
)
from crm_sync.services import mapping_defaults_ensure
from prm.models import Tenant
from prm.tenancy import tenant_scope

logger = logging.getLogger("prm.crm_sync")

OVERLAP = timedelta(seconds=2)
BULK_THRESHOLD = 2000
ECHO_NOTE = "The CRM already holds these values (applied from the CRM)."
FIRST_DELETED_WINDOW = timedelta(days=1)


@dataclass
class PollResult:
    """What one poll did."""

    fetched: int = 0
    applied: int = 0
    unchanged: int = 0
    skipped: int = 0  # seen before within the overlap
    flagged: int = 0
    crm_only: int = 0
    unlinked: int = 0
    resolved: int = 0
    echoes: int = 0
    calls: int = 0
    bulk: bool = False
    halted: bool = False
    paused: bool = False
    errors: list[str] = field(default_factory=list)


class _Stop(Exception):
    """A CRM call failed: stop this tenant's poll where it is."""


def crm_objects() -> dict[str, list[registry.Mirror]]:
    """The mirrors of each CRM object, parents' objects first (Accounts before Opportunities)."""
    by_object: dict[str, list[registry.Mirror]] = defaultdict(list)
    for declared in registry.mirrors():
        by_object[declared.crm_object].append(declared)
    return dict(by_object)


def _mappings() -> dict[str, list[FieldMapping]]:
    found: dict[str, list[FieldMapping]] = defaultdict(list)
    for mapping in FieldMapping.objects.all():
        found[mapping.object_key].append(mapping)
    return found


def query_fields(declared_list: list[registry.Mirror], mappings: dict[str, list[FieldMapping]]) -> list[str]:
    """Every CRM field the mirrors of one object map, with Id, SystemModstamp and the external ID."""
    names = ["Id", "SystemModstamp", registry.EXTERNAL_ID_FIELD]
    crm_object = declared_list[0].crm_object
    for declared in declared_list:
        names += [m.crm_field for m in mappings.get(declared.key, [])]
    names += {
        "Account": ["Name", "Website", "BillingCountry"],
        "Opportunity": ["AccountId", "StageName"],
    }.get(crm_object, [])
    return list(dict.fromkeys(names))


def soql_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(value: Any) -> datetime:
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _stamp_key(value: Any) -> str:
    return parse_stamp(value).isoformat()


# --- comparing values -------------------------------------------------------------------------------------


def normalized(value: Any) -> str:
    """A value as text for comparison: None and "" alike, dates in ISO form, booleans lower-case."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def same(declared: registry.Mirror, crm_field: str, portal: Any, crm: Any) -> bool:
    """Whether the portal's value of `crm_field` and the CRM's are the same value."""
    if crm_field in declared.compare:
        return bool(declared.compare[crm_field](portal, crm))
    left, right = normalized(portal), normalized(crm)
    if left == right:
        return True
    try:
        return Decimal(left) == Decimal(right)
    except (InvalidOperation, ValueError):
        return False


def portal_value(record: Any, path: str) -> Any:
    try:
        return registry.resolve(record, path)
    except Exception:  # noqa: BLE001 - a broken mapping path reads as no value
        return None


# --- polling ----------------------------------------------------------------------------------------------


def inbound_poll(*, tenant: Tenant, objects: list[str] | None = None) -> PollResult:
    """Read the tenant's CRM changes since each object's watermark and apply them; then its deletions."""
    result = PollResult()
    mapping_defaults_ensure(tenant)
    with tenant_scope(tenant):
        connection = CRMConnection.objects.filter(tenant=tenant).first()
        if connection is None or not connection.is_enabled:
            return result
        if connection.paused_until is not None and connection.paused_until > timezone.now():
            result.paused = True
            return result
        mappings = _mappings()
        try:
            for crm_object, declared_list in crm_objects().items():
                if objects is not None and crm_object not in objects:
                    continue
                _poll_object(connection, crm_object, declared_list, mappings, result)
                _poll_deleted(connection, crm_object, declared_list, result)
        except _Stop:
            result.halted = True
            # Only what the poll itself learnt: a drain may be saving its own figures at the same time.
            paused = ["paused_until", "pause_reason"] if result.paused else []
            connection.save(update_fields=["last_error", *paused, "updated_at"])
    return result


def _call(connection: CRMConnection, call, result: PollResult, watermark: Watermark):
    result.calls += 1
    try:
        return with_fresh_session(connection, call)
    except CRMError as failure:
        if outbox._error_code(failure.__cause__) == "REQUEST_LIMIT_EXCEEDED":
            outbox._pause(connection, str(failure))
            result.paused = True
        connection.last_error = str(failure)
        watermark.last_error = str(failure)
        watermark.save(update_fields=["last_error"])
        result.errors.append(str(failure))
        raise _Stop from failure


def _poll_object(
    connection: CRMConnection,
    crm_object: str,
    declared_list: list[registry.Mirror],
    mappings: dict[str, list[FieldMapping]],
    result: PollResult,
) -> None:
    watermark, _ = Watermark.objects.get_or_create(tenant=connection.tenant, crm_object=crm_object)
    names = query_fields(declared_list, mappings)
    where = (
        f" WHERE SystemModstamp >= {soql_time(watermark.modstamp - OVERLAP)}" if watermark.modstamp else ""
    )
    soql = f"SELECT {', '.join(names)} FROM {crm_object}{where}"
    page = _call(connection, lambda sf: sf.query(f"{soql} ORDER BY SystemModstamp, Id"), result, watermark)
    if page["totalSize"] > BULK_THRESHOLD:
        result.bulk = True

        def bulk(sf):
            rows: list[dict] = []
            for text in getattr(sf.bulk2, crm_object).query(soql, wait=1):
                for row in csv.DictReader(io.StringIO(text)):
                    rows.append({name: (value if value != "" else None) for name, value in row.items()})
            return rows

        rows = _call(connection, bulk, result, watermark)
        rows.sort(key=lambda row: (parse_stamp(row["SystemModstamp"]), row["Id"]))
        _apply_page(connection, crm_object, declared_list, mappings, rows, watermark, result)
    else:
        while True:
            _apply_page(connection, crm_object, declared_list, mappings, page["records"], watermark, result)
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                break
            locator = page["nextRecordsUrl"]
            page = _call(
                connection,
                lambda sf, at=locator: sf.query_more(at, identifier_is_url=True),
                result,
                watermark,
            )
    watermark.last_polled_at = timezone.now()
    watermark.last_error = ""
    watermark.save(update_fields=["last_polled_at", "last_error", "modstamp", "recent"])


def _advance(watermark: Watermark, row: dict) -> None:
    stamp = parse_stamp(row["SystemModstamp"])
    if watermark.modstamp is None or stamp > watermark.modstamp:
        watermark.modstamp = stamp
    recent = dict(watermark.recent or {})
    recent[row["Id"]] = stamp.isoformat()
    floor = watermark.modstamp - OVERLAP - timedelta(seconds=1)
    watermark.recent = {key: value for key, value in recent.items() if datetime.fromisoformat(value) >= floor}


@dataclass
class _PageCache:
    """A page's portal records and links, read in a few queries instead of per record."""

    records: dict[str, tuple[registry.Mirror, Any]] = field(default_factory=dict)  # external ID -> found
    links: dict[tuple[str, int], MirrorLink] = field(default_factory=dict)


def _page_cache(declared_list: list[registry.Mirror], rows: list[dict]) -> _PageCache:
    cache = _PageCache()
    external_ids = [
        row.get(registry.EXTERNAL_ID_FIELD) for row in rows if row.get(registry.EXTERNAL_ID_FIELD)
    ]
    if not external_ids:
        return cache
    for declared in declared_list:
        lookup = declared.external_id.replace(".", "__")
        try:
            pairs = dict(
                declared.model.objects.filter(**{f"{lookup}__in": external_ids}).values_list("pk", lookup)
            )
        except (ValidationError, ValueError):
            continue
        found = declared.model.objects.in_bulk(list(pairs))
        for pk, external_id in pairs.items():
            cache.records.setdefault(str(external_id), (declared, found[pk]))
    keys = {declared.key for declared, _record in cache.records.values()}
    pks = [record.pk for _declared, record in cache.records.values()]
    for link in MirrorLink.objects.filter(object_key__in=keys, record_id__in=pks):
        cache.links[(link.object_key, link.record_id)] = link
    return cache


def _apply_page(connection, crm_object, declared_list, mappings, rows, watermark, result) -> None:
    rows = [{name: value for name, value in row.items() if name != "attributes"} for row in rows]
    cache = _page_cache(declared_list, rows)
    for row in rows:
        result.fetched += 1
        if (watermark.recent or {}).get(row["Id"]) == _stamp_key(row["SystemModstamp"]):
            result.skipped += 1
            continue
        try:
            with transaction.atomic():
                apply_record(crm_object, declared_list, mappings, row, result, cache=cache)
        except (OperationalError, InterfaceError):
            # The portal's own database failed: keep the watermark here, so this change is read again.
            watermark.save(update_fields=["modstamp", "recent"])
            raise
        _advance(watermark, row)
    watermark.save(update_fields=["modstamp", "recent"])


def find_record(declared_list: list[registry.Mirror], external_id: str):
    """(declaration, portal record) of the record with `external_id` among the object's mirrors."""
    for declared in declared_list:
        lookup = declared.external_id.replace(".", "__")
        try:
            record = declared.model.objects.filter(**{lookup: external_id}).first()
        except (ValidationError, ValueError):
            continue
        if record is not None:
            return declared, record
    return None, None


def _find_by_crm_id(crm_id: str):
    """The portal record a CRM Id is linked to (for CRM-only Opportunities of portal-created Accounts)."""
    link = MirrorLink.objects.filter(crm_id=crm_id).first()
    if link is None:
        return None
    try:
        declared = registry.get(link.object_key)
    except KeyError:
        return None
    return declared.model.objects.filter(pk=link.record_id).first()


def apply_record(
    crm_object: str,
    declared_list: list[registry.Mirror],
    mappings: dict[str, list[FieldMapping]],
    row: dict,
    result: PollResult,
    *,
    cache: _PageCache | None = None,
) -> None:
    """Apply one changed CRM record to the portal (inside the caller's transaction); `cache` holds what a
    page's records need, read beforehand (without it, each is read here)."""
    external_id = row.get(registry.EXTERNAL_ID_FIELD)
    if not external_id:
        handler = registry.crm_only_handlers().get(crm_object)
        if handler is not None:
            handler(record=row, find=_find_by_crm_id)
            result.crm_only += 1
        return
    if cache is not None:
        declared, record = cache.records.get(str(external_id), (None, None))
    else:
        declared, record = find_record(declared_list, external_id)
    if record is None:
        result.unchanged += 1
        return
    stamp = parse_stamp(row["SystemModstamp"])
    link = cache.links.get((declared.key, record.pk)) if cache is not None else None
    if link is None:
        link, _ = MirrorLink.objects.get_or_create(
            tenant_id=record.tenant_id, object_key=declared.key, record_id=record.pk
        )
        if cache is not None:
            cache.links[(declared.key, record.pk)] = link
    link.crm_id, link.crm_modstamp, link.unlinked_at = row["Id"], stamp, None
    own = [m for m in mappings.get(declared.key, []) if m.direction in (Direction.FROM_CRM, Direction.BOTH)]
    known = dict(link.crm_values or {})  # the shared values the CRM held when the portal last synced
    link.crm_values = {
        m.crm_field: row[m.crm_field] for m in own if m.direction == Direction.BOTH and m.crm_field in row
    }
    differing = [
        m
        for m in own
        if m.crm_field in row
        and not same(declared, m.crm_field, portal_value(record, m.portal_field), row[m.crm_field])
    ]
    if not differing:
        link.flag, link.flagged_at = "", None
        link.save()
        result.unchanged += 1
        return
    if cache is not None:
        # The page was read a while ago: decide on the record's and its outbox's state as they are now.
        record = declared.model.objects.filter(pk=record.pk).first()
        if record is None:  # deleted in the portal since: its delete goes to the CRM, nothing to apply
            result.unchanged += 1
            return
        differing = [
            m
            for m in differing
            if not same(declared, m.crm_field, portal_value(record, m.portal_field), row[m.crm_field])
        ]
        if not differing:
            link.save()
            result.unchanged += 1
            return
    unsent = (
        OutboxEntry.objects.filter(
            object_key=declared.key,
            record_id=record.pk,
            state__in=[OutboxState.PENDING, OutboxState.SENDING],
        )
        .order_by("-changed_at")
        .first()
    )
    values: dict[str, Any] = {}
    for mapping in differing:
        crm_value = row[mapping.crm_field]
        portal_now = portal_value(record, mapping.portal_field)
        portal_changed = mapping.crm_field not in known or not same(
            declared, mapping.crm_field, portal_now, known[mapping.crm_field]
        )
        if mapping.direction == Direction.BOTH and unsent is not None and portal_changed:
            winner = Winner.PORTAL if unsent.changed_at > stamp else Winner.CRM
            Resolution.objects.create(
                tenant=record.tenant,
                object_key=declared.key,
                record_id=record.pk,
                crm_field=mapping.crm_field,
                portal_value=normalized(portal_value(record, mapping.portal_field)),
                crm_value=normalized(crm_value),
                portal_written_at=unsent.changed_at,
                crm_written_at=stamp,
                winner=winner,
            )
            result.resolved += 1
            if winner == Winner.PORTAL:
                continue
        values[mapping.portal_field] = crm_value
    if not values:
        link.save()
        return
    with db.cursor() as cursor:
        cursor.execute("SELECT now()")
        transaction_start = cursor.fetchone()[0]
    try:
        with transaction.atomic():
            if declared.apply is not None:
                declared.apply(record=record, values=values)
            else:
                apply_fields(record, values)
    except (OperationalError, InterfaceError):
        raise
    except Exception as refused:  # noqa: BLE001 - any refusal of the value flags the record, the batch goes on
        link.flag = refusal_text(refused, values)
        link.flagged_at = timezone.now()
        link.save()
        result.flagged += 1
        return
    link.flag, link.flagged_at = "", None
    link.save()
    result.applied += 1
    if _suppress_echo(declared, record.pk, mappings, row, transaction_start):
        result.echoes += 1


def refusal_text(refused: Exception, values: dict[str, Any]) -> str:
    if isinstance(refused, ValidationError):
        if hasattr(refused, "message_dict"):
            text = "; ".join(
                f"{name}: {' '.join(messages)}" for name, messages in refused.message_dict.items()
            )
        else:
            text = "; ".join(refused.messages)
    else:
        text = f"{type(refused).__name__}: {refused}"
    shown = ", ".join(f"{path}={normalized(value)[:60]!r}" for path, value in values.items())
    return f"{text} (CRM values: {shown})"


def apply_fields(record: Any, values: dict[str, Any]) -> None:
    """Set plain fields of `record` to CRM values, validated as a form would: the default for mirrors
    without an `apply` service."""
    names = []
    for path, value in values.items():
        try:
            model_field = record._meta.get_field(path)
        except FieldDoesNotExist:
            raise ValidationError({path: f"{path} is not a field the CRM can set"}) from None
        if model_field.is_relation or not model_field.concrete:
            raise ValidationError({path: f"{path} is not a field the CRM can set"})
        setattr(record, path, model_field.to_python("" if value is None and not model_field.null else value))
        names.append(model_field.name)
    others = [f.name for f in record._meta.fields if f.name not in names]
    record.full_clean(exclude=others)
    record.save(update_fields=names)


def _suppress_echo(
    declared: registry.Mirror,
    record_id: int,
    mappings: dict[str, list[FieldMapping]],
    row: dict,
    transaction_start: datetime,
) -> bool:
    """Mark the outbox row this apply queued as sent when the CRM already holds every value it would send."""
    record = declared.model.objects.filter(pk=record_id).first()
    if record is None:
        return False
    outgoing = [
        m for m in mappings.get(declared.key, []) if m.direction in (Direction.TO_CRM, Direction.BOTH)
    ]
    for mapping in outgoing:
        if mapping.crm_field not in row or mapping.crm_field in declared.references:
            continue
        if declared.parent and mapping.crm_field == f"{registry.get(declared.parent).crm_object}Id":
            continue  # a reference: sent by external ID, read back as an Id
        if not same(
            declared, mapping.crm_field, portal_value(record, mapping.portal_field), row[mapping.crm_field]
        ):
            return False
    return bool(
        OutboxEntry.objects.filter(
            object_key=declared.key,
            record_id=record_id,
            state=OutboxState.PENDING,
            created_at=transaction_start,
        ).update(state=OutboxState.SENT, sent_at=timezone.now(), last_error=ECHO_NOTE)
    )


def _poll_deleted(
    connection: CRMConnection, crm_object: str, declared_list: list[registry.Mirror], result: PollResult
) -> None:
    watermark = Watermark.objects.get(tenant=connection.tenant, crm_object=crm_object)
    # The resource takes whole seconds: round up, so a deletion in the current second is included.
    end = (timezone.now() + timedelta(seconds=1)).replace(microsecond=0)
    start = (watermark.deleted_until - OVERLAP) if watermark.deleted_until else end - FIRST_DELETED_WINDOW
    answer = _call(connection, lambda sf: getattr(sf, crm_object).deleted(start, end), result, watermark)
    deleted_at = {
        deleted["id"]: parse_stamp(deleted["deletedDate"]) if deleted.get("deletedDate") else end
        for deleted in answer.get("deletedRecords") or []
    }
    for declared in declared_list if deleted_at else []:
        links = MirrorLink.objects.filter(crm_id__in=list(deleted_at), object_key=declared.key)
        # A record deleted in the portal itself (the drain's delete coming back): nothing left to flag.
        links.exclude(record_id__in=declared.model.objects.values("pk")).delete()
        for link in links.filter(unlinked_at__isnull=True):
            link.unlinked_at = deleted_at[link.crm_id]
            link.save(update_fields=["unlinked_at"])
            result.unlinked += 1
    latest = answer.get("latestDateCovered")
    watermark.deleted_until = parse_stamp(latest) if latest else end
    watermark.save(update_fields=["deleted_until"])


def tenants_due(now: datetime | None = None) -> list[int]:
    """Ids of tenants with an enabled, unpaused connection whose poll interval has passed (for the beat)."""
    now = now or timezone.now()
    due: list[int] = []
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            connection = CRMConnection.objects.filter(tenant=tenant, is_enabled=True).first()
            if connection is None or (connection.paused_until and connection.paused_until > now):
                continue
            polled = [w.last_polled_at for w in Watermark.objects.all()]
            if (
                not polled
                or None in polled
                or min(polled) <= now - timedelta(seconds=connection.poll_interval - 1)
            ):
                due.append(tenant.pk)
    return due

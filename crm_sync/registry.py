"""What the portal mirrors to the CRM: each app declares its mirrored models in its own `crm.py`.

    # partners/crm.py
    from crm_sync.registry import mirror

    mirror(Partner, crm_object="Account", fields={"name": "Name", "tier.name": "PRM_Tier__c"})

`fields` maps a portal field, a dotted path through relations (`tier.name`), or the name of a method or
property of the record (called without arguments) to a CRM field. Every mirrored CRM object carries the
record's public id (a UUID) in the external-ID field `PRM_External_Id__c`, so an upsert by that field never
creates a duplicate. `external_id` names the path of that UUID (default `public_id`). `parent` names the
mirrored object a record belongs to (`"partners.partner"` for a contact of a partner's account): parents are
sent before their children, and a reference field whose value is the parent's public id is resolved to the
parent's CRM record. `references` maps further reference fields to the mirrored object they point at
(`{"PRM_Partner_Account__c": "partners.partner"}`): the value (that record's public id) is sent as a
reference by external ID, and that object is sent first too. `condition` is a SQL condition on the new row
(`NEW.status IN ('approved', 'won')`): inserts and updates of rows that do not meet it write no outbox row,
so such records never reach the CRM until a change makes them meet it; a delete of a row that does not meet
it writes none either (the record never reached the CRM). `crm_only` names field values of records that
came from the CRM (`{"source": "crm"}`): they are never sent, and deleting them deletes nothing in the CRM.

These declarations are the defaults of each tenant's field mappings (`crm_sync.models.FieldMapping`).

How changes are captured (the transactional outbox): `mirror()` registers a django-pgtrigger trigger on the
model, AFTER INSERT OR UPDATE OR DELETE, FOR EACH ROW. pgtrigger compiles it into the model's own app's
migrations (`makemigrations` after a new declaration), so the trigger is installed by `migrate` like any
schema change, while the model's app imports nothing of crm_sync but this public `mirror()`. The trigger
inserts a pending `crm_sync_outboxentry` row in the same transaction as the change, or, when the record
already has a pending row, only moves its `changed_at` (a partial unique index on (tenant, object key,
record id) where the state is pending, and `INSERT ... ON CONFLICT ... DO UPDATE`): a burst of edits
coalesces into one pending row. A delete writes the record's external ID into the row (`external_id`, read
from OLD, through a subquery when the path goes through a relation), turning a pending row into a delete
with a fresh attempt count: edits followed by a delete go out as one delete. Because it is a database
trigger, bulk `update()`s, `delete()`s and raw SQL are captured too. The row takes its tenant from the
changed row; under row-level security the insert runs with the session's `prm.tenant_id`, which inside a
tenant scope is that same tenant (the mirrored table's own policy guarantees it), and outside any scope lets
every tenant's row through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pgtrigger
from django.core.exceptions import FieldDoesNotExist
from django.db import models

EXTERNAL_ID_FIELD = "PRM_External_Id__c"
OUTBOX_TABLE = "crm_sync_outboxentry"
TRIGGER_NAME = "crm_outbox"

__all__ = [
    "EXTERNAL_ID_FIELD",
    "Mirror",
    "get",
    "mirror",
    "mirrors",
    "object_choices",
    "path_exists",
    "resolve",
]


@dataclass(frozen=True)
class Mirror:
    """One mirrored model: its key (`app_label.model_name`), CRM object and default field mapping."""

    key: str
    model: type[models.Model]
    crm_object: str
    fields: dict[str, str] = field(default_factory=dict)
    parent: str | None = None
    external_id: str = "public_id"
    external_id_field: str = EXTERNAL_ID_FIELD
    references: dict[str, str] = field(default_factory=dict)
    condition: str = ""
    # Default direction of each CRM field ("to_crm" portal-owned, "from_crm" CRM-owned, "both" shared).
    directions: dict[str, str] = field(default_factory=dict)
    # Portal services that apply CRM values (crm_sync.inbound): apply(record=, values={path: value}) and a
    # predicate of records that came from the CRM and are never sent back.
    apply: Any = None
    # Field values of records that came from the CRM: never sent, never deleted there ({"source": "crm"}).
    crm_only: dict[str, Any] = field(default_factory=dict)
    # CRM field -> same(portal_value, crm_value) for fields whose values mean the same in more than one
    # spelling (any open Opportunity stage is an approved deal's "open").
    compare: dict[str, Any] = field(default_factory=dict)

    def values(self, record: models.Model, fields: dict[str, str] | None = None) -> dict[str, Any]:
        """The CRM values of `record` under `fields` (portal path -> CRM field; default: the declaration)."""
        values = {crm: resolve(record, path) for path, crm in (fields or self.fields).items()}
        values[self.external_id_field] = str(resolve(record, self.external_id))
        for crm_field, key in self.references.items():
            if values.get(crm_field) is not None:
                target = get(key)
                values[relationship_name(crm_field)] = {target.external_id_field: str(values.pop(crm_field))}
        return values

    def related(self, fields: dict[str, str] | None = None) -> list[str]:
        """The select_related() paths that `fields` and the external id walk through, so that building a
        batch of records costs one query, not one per record and relation."""
        found: set[str] = set()
        for path in [*(fields or self.fields), self.external_id]:
            current, walked = self.model, []
            for name in path.split(".")[:-1]:
                try:
                    relation = current._meta.get_field(name)
                except FieldDoesNotExist:
                    break
                if not (relation.many_to_one or relation.one_to_one) or relation.related_model is None:
                    break
                walked.append(name)
                current = relation.related_model
            if walked:
                found.add("__".join(walked))
        return sorted(found)

    def is_crm_only(self, record: models.Model) -> bool:
        """Whether `record` is a read-only copy of a CRM record (never sent back)."""
        return bool(self.crm_only) and all(
            getattr(record, name) == value for name, value in self.crm_only.items()
        )

    def row_condition(self, table: str) -> str:
        """`condition` over the rows of `table` instead of the trigger's NEW row (for a query that queues
        rows itself, such as a resync); "TRUE" without a condition."""
        return self.condition.replace("NEW.", f'"{table}".') if self.condition else "TRUE"


def relationship_name(crm_field: str) -> str:
    """The name a reference is written under by external ID: AccountId -> Account, X__c -> X__r."""
    if crm_field.endswith("__c"):
        return crm_field[:-3] + "__r"
    return crm_field[:-2] if crm_field.endswith("Id") else crm_field


_registry: dict[str, Mirror] = {}
# CRM records the portal did not create, by CRM object: handler(record: dict) fills the portal's read-only
# copy (dealreg's customer accounts from Accounts and open Opportunities).
_crm_only_handlers: dict[str, Any] = {}


def receive_crm_only(crm_object: str, handler: Any) -> None:
    """Have `handler(record=<CRM record dict>)` called for each changed `crm_object` record without an
    external ID (one the portal did not create)."""
    _crm_only_handlers[crm_object] = handler


def crm_only_handlers() -> dict[str, Any]:
    return dict(_crm_only_handlers)


def mirror(
    model: type[models.Model],
    *,
    crm_object: str,
    fields: dict[str, str],
    parent: str | None = None,
    external_id: str = "public_id",
    references: dict[str, str] | None = None,
    condition: str = "",
    directions: dict[str, str] | None = None,
    apply: Any = None,
    crm_only: dict[str, Any] | None = None,
    compare: dict[str, Any] | None = None,
) -> Mirror:
    """Declare that `model` is mirrored to `crm_object`, and capture its changes in the outbox."""
    from prm.tenancy import TenantOwnedModel

    if not issubclass(model, TenantOwnedModel):
        raise TypeError(f"{model.__name__} is not tenant-owned; only tenant data is mirrored")
    key = model._meta.label_lower
    declared = Mirror(
        key=key,
        model=model,
        crm_object=crm_object,
        fields=dict(fields),
        parent=parent,
        external_id=external_id,
        references=dict(references or {}),
        condition=condition,
        directions=dict(directions or {}),
        apply=apply,
        crm_only={name: str(value) for name, value in (crm_only or {}).items()},
        compare=dict(compare or {}),
    )
    if key in _registry:
        if _registry[key] != declared:
            raise ValueError(f"{key} is already mirrored differently")
        return _registry[key]
    pgtrigger.register(outbox_trigger(model, condition, external_id=external_id, crm_only=declared.crm_only))(
        model
    )
    _registry[key] = declared
    return declared


def outbox_trigger(
    model: type[models.Model],
    condition: str = "",
    *,
    external_id: str = "public_id",
    crm_only: dict[str, str] | None = None,
) -> pgtrigger.Trigger:
    """The row trigger that records every change of `model` as (or into) a pending outbox row; with a
    `condition`, only inserts and updates whose new row meets it, and deletes whose old row did. A delete
    carries the record's external ID (`external_id`, a path from the record) and turns the record's pending
    row into a delete; deletes of CRM-only rows (`crm_only` field values) write nothing."""
    key = model._meta.label_lower
    pk = model._meta.pk.column
    skip = (
        f"\n            IF TG_OP <> 'DELETE' AND NOT ({condition}) THEN RETURN NULL; END IF;"
        if condition
        else ""
    )
    # What a delete of a record the CRM never got, or of a CRM-only copy, would skip.
    keep = [f"NOT ({condition.replace('NEW.', 'OLD.')})"] if condition else []
    keep += [
        f'OLD."{model._meta.get_field(name).column}" = {_literal(value)}'
        for name, value in (crm_only or {}).items()
    ]
    skip_delete = f"\n                IF {' OR '.join(keep)} THEN RETURN NULL; END IF;" if keep else ""
    # A proxy model mirrors its concrete model's rows a second way (a deal as Opportunity and as Lead): its
    # trigger sits on the same table, so it needs a name of its own.
    name = f"{TRIGGER_NAME}_{model._meta.model_name}" if model._meta.proxy else TRIGGER_NAME
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.After,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        level=pgtrigger.Row,
        func=f"""{skip}
            IF TG_OP = 'DELETE' THEN{skip_delete}
                INSERT INTO "{OUTBOX_TABLE}"
                    (tenant_id, object_key, record_id, state, attempts, last_error, created_at, changed_at,
                     external_id)
                VALUES (OLD.tenant_id, '{key}', OLD."{pk}", 'pending', 0, '', now(), now(),
                        COALESCE(({_column_sql(model, external_id, "OLD")})::text, ''))
                ON CONFLICT (tenant_id, object_key, record_id) WHERE state = 'pending'
                DO UPDATE SET changed_at = now(), external_id = EXCLUDED.external_id, attempts = 0,
                    refusals = 0, last_error = '', next_attempt_at = NULL;
                RETURN NULL;
            END IF;
            INSERT INTO "{OUTBOX_TABLE}"
                (tenant_id, object_key, record_id, state, attempts, last_error, created_at, changed_at)
            VALUES (NEW.tenant_id, '{key}', NEW."{pk}", 'pending', 0, '', now(), now())
            ON CONFLICT (tenant_id, object_key, record_id) WHERE state = 'pending'
            DO UPDATE SET changed_at = now();
            RETURN NULL;
        """,
    )


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _column_sql(model: type[models.Model], path: str, row: str) -> str:
    """SQL for the value at dotted `path` from `row` (a trigger's OLD), through a subquery per relation."""
    name, _, rest = path.partition(".")
    found = model._meta.get_field(name)
    if not rest:
        return f'{row}."{found.column}"'
    target = found.related_model
    alias = f"_prm_{name}"
    return (
        f'(SELECT {_column_sql(target, rest, alias)} FROM "{target._meta.db_table}" {alias} '
        f'WHERE {alias}."{found.target_field.column}" = {row}."{found.column}")'
    )


def mirrors() -> list[Mirror]:
    """Every declaration, parents before their children."""
    ordered: list[Mirror] = []

    def add(item: Mirror) -> None:
        if item in ordered:
            return
        if item.parent in _registry:
            add(_registry[item.parent])
        for key in sorted(item.references.values()):
            if key in _registry:
                add(_registry[key])
        ordered.append(item)

    for item in sorted(_registry.values(), key=lambda m: m.key):
        add(item)
    return ordered


def get(key: str) -> Mirror:
    """The declaration of `key` (`app_label.model_name`); KeyError when it is not mirrored."""
    return _registry[key]


def object_choices() -> list[tuple[str, str]]:
    """(key, label) of every mirrored model, for choice fields."""
    return [(m.key, f"{m.model._meta.verbose_name} → {m.crm_object}") for m in mirrors()]


def resolve(record: Any, path: str) -> Any:
    """The value at dotted `path` from `record`; a method at the end is called; None stops the walk."""
    value = record
    for name in path.split("."):
        if value is None:
            return None
        value = getattr(value, name)
    if callable(value):
        value = value()
    return value


def path_exists(model: type[models.Model], path: str) -> bool:
    """Whether dotted `path` leads from `model` through its relations to a field, property or method."""
    current = model
    names = path.split(".")
    for position, name in enumerate(names):
        last = position == len(names) - 1
        try:
            found = current._meta.get_field(name)
        except FieldDoesNotExist:
            return last and not name.startswith("_") and hasattr(current, name)
        if found.is_relation and found.related_model is not None:
            current = found.related_model
        elif not last:
            return False
    return True

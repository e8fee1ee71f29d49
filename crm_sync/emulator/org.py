"""Record operations with Salesforce's checks: create, update, delete and upsert by external ID.

Each function raises schema.FieldError (a 400 with Salesforce's errorCode), NotFound or MultipleMatches.
Callers hold a store transaction.
"""

from __future__ import annotations

from . import schema
from .schema import EXTERNAL_ID_FIELD, FieldError
from .store import Store


class NotFound(Exception):
    """No live record with that id or external ID."""


class MultipleMatches(Exception):
    """An upsert's external ID value matches several records (Salesforce answers 300)."""

    def __init__(self, ids: list[str]):
        super().__init__(ids)
        self.ids = ids


def check_values(store: Store, obj: str, body: dict, *, creating: bool, from_csv: bool = False) -> dict:
    """The stored values of a write's fields, checked as Salesforce checks them."""
    fields = schema.OBJECTS[obj]
    values = {}
    for name, value in body.items():
        if name == "attributes":
            continue
        field = fields.get(name)
        if field is None and isinstance(value, dict):
            # A parent referenced by its external ID: {"Account": {"PRM_External_Id__c": "..."}}.
            field = schema.reference_by_relationship(obj, name)
            if field is not None:
                name, value = field.name, _resolve_reference(store, obj, field, name, value)
        if field is None:
            raise FieldError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj}", [name])
        if not field.writable:
            raise FieldError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {name}. Please check the security settings of this field "
                f"and verify that it is read/write for your profile or permission set.",
                [name],
            )
        values[name] = schema.coerce(field, value, from_csv=from_csv)
    # On create every required field needs a value; on update only those being set are checked.
    required = [field.name for field in fields.values() if field.required]
    if creating:
        missing = [name for name in required if values.get(name) is None]
    else:
        missing = [name for name in required if name in values and values[name] is None]
    if missing:
        raise FieldError(
            "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
        )
    for name, value in values.items():
        target = fields[name].reference_to
        if value is None or target is None or target == "User":
            continue
        record_id = schema.normalize_id(value)
        if record_id is None or store.get_record(target, record_id) is None:
            raise FieldError(
                "INVALID_CROSS_REFERENCE_KEY",
                f"{fields[name].label}: id value of incorrect type: {value}",
                [name],
            )
        values[name] = record_id
    return values


def _resolve_reference(store: Store, obj: str, field, relationship: str, value: dict) -> str:
    """The id of the parent a relationship reference names by one external-ID field, as Salesforce does."""
    target = field.reference_to
    if len(value) != 1:
        raise FieldError(
            "INVALID_FIELD",
            f"The relationship {relationship} on {obj} must name exactly one external ID field",
            [relationship],
        )
    [(ext_field, ext_value)] = value.items()
    target_field = schema.OBJECTS[target].get(ext_field)
    if target_field is None or not target_field.external_id:
        raise FieldError(
            "INVALID_FIELD",
            f"Field name provided, {ext_field} is not an External ID or indexed field for {target}",
            [relationship],
        )
    matches = store.find_by_field(target, ext_field, str(ext_value))
    if not matches:
        raise FieldError(
            "INVALID_FIELD",
            f"Foreign key external ID: {ext_value} not found for field {ext_field} in entity {target}",
            [relationship],
        )
    if len(matches) > 1:
        raise FieldError(
            "INVALID_FIELD",
            f"Foreign key external ID: {ext_value} matches multiple records for field {ext_field} in "
            f"entity {target}",
            [relationship],
        )
    return matches[0]["Id"]


def create(store: Store, obj: str, values: dict) -> str:
    """Insert a record with checked values; its id."""
    _check_unique(store, obj, values, record_id=None)
    now = schema.now_text()
    record_id = schema.make_id(obj, store.next_number(f"counter:{obj}"))
    data = {name: None for name in schema.OBJECTS[obj]}
    data.update(values)
    data.update(
        Id=record_id,
        IsDeleted=False,
        OwnerId=values.get("OwnerId") or "005Em0000000001AAA",
        CreatedDate=now,
        LastModifiedDate=now,
        SystemModstamp=now,
    )
    _derive(obj, data)
    store.insert_record(obj, data)
    return record_id


def update(store: Store, obj: str, record_id: str, values: dict) -> None:
    """Apply checked values to a live record."""
    data = store.get_record(obj, record_id)
    if data is None:
        raise NotFound(record_id)
    _check_unique(store, obj, values, record_id=record_id)
    now = schema.now_text()
    data.update(values)
    data.update(LastModifiedDate=now, SystemModstamp=now)
    _derive(obj, data)
    store.save_record(obj, data)


def delete(store: Store, obj: str, record_id: str) -> None:
    """Soft-delete: the record leaves queries and reads and is listed by getDeleted."""
    if store.get_record(obj, record_id) is None:
        raise NotFound(record_id)
    store.mark_deleted(record_id, schema.now_text())


def upsert(
    store: Store, obj: str, ext_field: str, ext_value: str, body: dict, *, from_csv=False
) -> tuple[str, bool]:
    """Create or update the record whose `ext_field` is `ext_value`: (id, created)."""
    field = schema.OBJECTS[obj].get(ext_field)
    if field is None or not field.external_id:
        raise NotFound(ext_field)
    body = {name: value for name, value in body.items() if name != ext_field}
    matches = store.find_by_field(obj, ext_field, ext_value)
    if len(matches) > 1:
        raise MultipleMatches([record["Id"] for record in matches])
    if matches:
        values = check_values(store, obj, body, creating=False, from_csv=from_csv)
        update(store, obj, matches[0]["Id"], values)
        return matches[0]["Id"], False
    values = check_values(store, obj, body, creating=True, from_csv=from_csv)
    values[ext_field] = ext_value
    return create(store, obj, values), True


def _check_unique(store: Store, obj: str, values: dict, *, record_id: str | None) -> None:
    value = values.get(EXTERNAL_ID_FIELD)
    if value is None:
        return
    for other in store.find_by_field(obj, EXTERNAL_ID_FIELD, value):
        if other["Id"] != record_id:
            raise FieldError(
                "DUPLICATE_VALUE",
                f"duplicate value found: {EXTERNAL_ID_FIELD} duplicates value on record with id: "
                f"{other['Id']}",
                [EXTERNAL_ID_FIELD],
            )


def _derive(obj: str, data: dict) -> None:
    # Contact and Lead Name is a compound of FirstName and LastName, read-only.
    if obj in ("Contact", "Lead"):
        data["Name"] = " ".join(part for part in (data.get("FirstName"), data.get("LastName")) if part)

"""The emulated org's schema: four objects, their fields, describe output, record ids and value checks."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

API_VERSION = "62.0"
EXTERNAL_ID_FIELD = "PRM_External_Id__c"

KEY_PREFIXES = {"Account": "001", "Contact": "003", "Opportunity": "006", "Lead": "00Q"}
OBJECT_BY_PREFIX = {prefix: name for name, prefix in KEY_PREFIXES.items()}
LABELS = {
    "Account": ("Account", "Accounts"),
    "Contact": ("Contact", "Contacts"),
    "Opportunity": ("Opportunity", "Opportunities"),
    "Lead": ("Lead", "Leads"),
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # a describe type: id, string, reference, datetime, date, boolean, currency, picklist...
    label: str
    length: int = 0
    required: bool = False  # not nillable on create (REQUIRED_FIELD_MISSING)
    writable: bool = True  # createable and updateable
    external_id: bool = False
    unique: bool = False
    reference_to: str | None = None

    def describe(self) -> dict:
        nillable = not self.required and self.writable and self.type != "boolean"
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length,
            "custom": self.name.endswith("__c"),
            "createable": self.writable,
            "updateable": self.writable,
            "nillable": nillable,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.name == "Id" or self.external_id,
            "defaultedOnCreate": not self.writable or self.type == "boolean",
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "relationshipName": relationship_name(self),
            "picklistValues": [],
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
        }


_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
    "boolean": "xsd:boolean",
    "currency": "xsd:double",
    "double": "xsd:double",
}


def _system_fields() -> list[Field]:
    return [
        Field("Id", "id", "Record ID", length=18, writable=False),
        Field("IsDeleted", "boolean", "Deleted", writable=False),
        Field("OwnerId", "reference", "Owner ID", length=18, reference_to="User"),
        Field("CreatedDate", "datetime", "Created Date", writable=False),
        Field("LastModifiedDate", "datetime", "Last Modified Date", writable=False),
        Field("SystemModstamp", "datetime", "System Modstamp", writable=False),
        Field(EXTERNAL_ID_FIELD, "string", "PRM External ID", length=64, external_id=True, unique=True),
    ]


OBJECTS: dict[str, dict[str, Field]] = {}


def _define(name: str, fields: list[Field]) -> None:
    OBJECTS[name] = {field.name: field for field in _system_fields() + fields}


_define(
    "Account",
    [
        Field("Name", "string", "Account Name", length=255, required=True),
        Field("Website", "url", "Website", length=255),
        Field("BillingCountry", "string", "Billing Country", length=80),
        Field("Type", "picklist", "Account Type", length=255),
        Field("PRM_Tier__c", "string", "PRM Tier", length=80),
        Field("PRM_Stage__c", "string", "PRM Stage", length=80),
        Field("PRM_Partner_Type__c", "string", "PRM Partner Type", length=80),
        Field("PRM_Region__c", "string", "PRM Region", length=80),
        # An external ID without the Unique attribute, as Salesforce allows: the one way to reach the
        # documented 300 answer of an upsert whose value matches several records.
        Field("Legacy_Id__c", "string", "Legacy ID", length=64, external_id=True),
    ],
)
_define(
    "Contact",
    [
        Field("FirstName", "string", "First Name", length=40),
        Field("LastName", "string", "Last Name", length=80, required=True),
        Field("Name", "string", "Full Name", length=121, writable=False),
        Field("Email", "email", "Email", length=80),
        Field("AccountId", "reference", "Account ID", length=18, reference_to="Account"),
    ],
)
_define(
    "Opportunity",
    [
        Field("Name", "string", "Name", length=120, required=True),
        Field("StageName", "picklist", "Stage", length=255, required=True),
        Field("CloseDate", "date", "Close Date", required=True),
        Field("Amount", "currency", "Amount"),
        # As in an org with multiple currencies on: the Opportunity's currency (ISO code).
        Field("CurrencyIsoCode", "picklist", "Opportunity Currency", length=3),
        Field("AccountId", "reference", "Account ID", length=18, reference_to="Account"),
        Field(
            "PRM_Partner_Account__c", "reference", "PRM Partner Account", length=18, reference_to="Account"
        ),
        Field("Description", "textarea", "Description", length=32000),
        Field("PRM_Partner_External_Id__c", "string", "PRM Partner External ID", length=64),
        Field("PRM_Deal_Status__c", "string", "PRM Deal Status", length=40),
        Field("PRM_Protected_Until__c", "date", "PRM Protected Until"),
    ],
)
_define(
    "Lead",
    [
        Field("FirstName", "string", "First Name", length=40),
        Field("LastName", "string", "Last Name", length=80, required=True),
        Field("Name", "string", "Full Name", length=121, writable=False),
        Field("Company", "string", "Company", length=255, required=True),
        Field("Email", "email", "Email", length=80),
        Field("Status", "picklist", "Lead Status", length=255),
        Field("Website", "url", "Website", length=255),
        Field("PRM_Partner_External_Id__c", "string", "PRM Partner External ID", length=64),
    ],
)


def relationship_name(field: Field) -> str | None:
    """The name a reference field's parent is written under: AccountId -> Account, X__c -> X__r."""
    if field.reference_to is None:
        return None
    if field.name.endswith("__c"):
        return field.name[:-3] + "__r"
    return field.name[:-2] if field.name.endswith("Id") else None


def reference_by_relationship(obj: str, name: str) -> Field | None:
    """The reference field of `obj` whose relationship name is `name`, if any."""
    for field in OBJECTS[obj].values():
        if field.reference_to not in (None, "User") and relationship_name(field) == name:
            return field
    return None


def describe(obj: str, base: str) -> dict:
    entry = describe_global_entry(obj, base)
    entry["fields"] = [field.describe() for field in OBJECTS[obj].values()]
    entry["urls"]["rowTemplate"] = f"{base}/sobjects/{obj}/{{ID}}"
    return entry


def describe_global_entry(obj: str, base: str) -> dict:
    singular, plural = LABELS[obj]
    return {
        "name": obj,
        "label": singular,
        "labelPlural": plural,
        "keyPrefix": KEY_PREFIXES[obj],
        "custom": False,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "urls": {"sobject": f"{base}/sobjects/{obj}", "describe": f"{base}/sobjects/{obj}/describe"},
    }


# --- ids ----------------------------------------------------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def make_id(obj: str, number: int) -> str:
    """The 18-character id of the object's `number`th record: key prefix, a pod-like filler, a base-62
    counter, and Salesforce's case-safe suffix."""
    digits = ""
    for _ in range(7):
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    short = KEY_PREFIXES[obj] + "Em000" + digits
    return short + _suffix(short)


def _suffix(short: str) -> str:
    # Each 5-character chunk: a bit per upper-case letter, read as an index into A-Z0-5.
    out = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(short[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        out += _SUFFIX[bits]
    return out


def normalize_id(value: str) -> str | None:
    """An 18-character id from a 15- or 18-character one, or None when it is not an id."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9A-Za-z]{15}([0-9A-Za-z]{3})?", value):
        return None
    return value[:15] + _suffix(value[:15])


# --- values -------------------------------------------------------------------------------------------------


def now_text() -> str:
    """Salesforce's datetime format, in UTC with milliseconds: 2026-11-24T10:00:00.000+0000."""
    return format_datetime(datetime.datetime.now(datetime.UTC))


def format_datetime(value: datetime.datetime) -> str:
    value = value.astimezone(datetime.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime.datetime | None:
    """A datetime from Salesforce's formats (Z, +0000, +00:00, with or without milliseconds)."""
    if not isinstance(text, str):
        return None
    candidate = text.strip()
    if candidate.endswith("Z"):
        candidate = candidate[:-1] + "+00:00"
    candidate = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", candidate)
    try:
        value = datetime.datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value


class FieldError(Exception):
    """A write Salesforce refuses: `code` is its errorCode, `fields` the fields concerned."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or []


def coerce(field: Field, value, *, from_csv: bool = False):
    """The stored form of `value` for `field`, or FieldError as Salesforce answers.

    JSON bodies are deserialized before anything else, so a value of the wrong JSON type is a
    JSON_PARSER_ERROR; CSV (Bulk API) values are all text and fail per row with
    INVALID_TYPE_ON_FIELD_IN_RECORD.
    """
    if from_csv and value == "":
        return None
    if value is None:
        return None
    kind = field.type

    def bad(expected: str) -> FieldError:
        if from_csv:
            return FieldError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{field.label}: value not of required type: {value}",
                [field.name],
            )
        return FieldError(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {expected} from VALUE_STRING value {value} or request may be "
            f"missing a required field",
            [field.name],
        )

    if kind in ("currency", "double"):
        if isinstance(value, bool):
            raise bad(kind)
        if isinstance(value, int | float):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad(kind) from None
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad("boolean")
    if kind == "date":
        try:
            return datetime.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise bad("date") from None
    if kind == "datetime":
        parsed = parse_datetime(value)
        if parsed is None:
            raise bad("datetime")
        return format_datetime(parsed)
    if isinstance(value, dict | list):
        raise bad("string")
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if field.length and len(text) > field.length:
        raise FieldError(
            "STRING_TOO_LONG",
            f"{field.label}: data value too large: {text[:40]} (max length={field.length})",
            [field.name],
        )
    return text

"""The SOQL subset the mirror uses, parsed and evaluated over the stored records.

    SELECT f1, f2 FROM Object
      [WHERE cond {AND|OR cond} ...]   cond: f = v, f != v, f < v, f <= v, f > v, f >= v, f LIKE 'x%',
                                             f IN (v, ...), f NOT IN (v, ...), NOT cond, ( ... )
      [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

Values: 'quoted strings' (with \\' escapes), numbers, true/false, null, and unquoted date (2026-11-24) and
datetime (2026-11-24T10:00:00Z, ...+01:00) literals. String comparison is case-insensitive, as in SOQL.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from . import schema
from .schema import FieldError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
      | (?P<date>\d{4}-\d{2}-\d{2})
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
            "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE"}  # fmt: skip


class MalformedQuery(FieldError):
    def __init__(self, message: str):
        super().__init__("MALFORMED_QUERY", message)


@dataclass
class Query:
    obj: str
    fields: list[str]
    where: object = None  # a tree of tuples, see _Parser
    order: list[tuple[str, bool, bool]] = field(default_factory=list)  # (field, descending, nulls_last)
    limit: int | None = None
    offset: int = 0


def parse(text: str) -> Query:
    """A Query from SOQL text; MalformedQuery or FieldError (INVALID_FIELD, INVALID_TYPE) otherwise."""
    return _Parser(_tokenize(text)).query()


def run(query: Query, records: list[dict]) -> list[tuple[str, dict]]:
    """The matching records, ordered and limited: (Id, the selected fields) each."""
    fields = schema.OBJECTS[query.obj]
    rows = [record for record in records if query.where is None or _holds(query.where, record, fields)]
    for name, descending, nulls_last in reversed(query.order):
        present = [row for row in rows if row.get(name) is not None]
        absent = [row for row in rows if row.get(name) is None]
        present.sort(key=lambda row, n=name: _sort_key(fields[n], row[n]), reverse=descending)
        rows = present + absent if nulls_last else absent + present
    rows = rows[query.offset :]
    if query.limit is not None:
        rows = rows[: query.limit]
    return [(row["Id"], {name: row.get(name) for name in query.fields}) for row in rows]


# --- parsing ------------------------------------------------------------------------------------------------


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise MalformedQuery(f"unexpected token: '{text[position : position + 20]}'")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "word" and value.upper() in KEYWORDS:
            kind, value = "keyword", value.upper()
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.position = 0
        self.fields: dict[str, schema.Field] = {}
        self.obj = ""

    def peek(self, value: str | None = None) -> bool:
        if self.position >= len(self.tokens):
            return False
        return value is None or self.tokens[self.position][1] == value

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        if self.position >= len(self.tokens):
            raise MalformedQuery(f"unexpected end of query, expecting {value or kind}")
        token_kind, token_value = self.tokens[self.position]
        if (kind and token_kind != kind) or (value and token_value != value):
            raise MalformedQuery(f"unexpected token: '{token_value}', expecting {value or kind}")
        self.position += 1
        return token_value

    def query(self) -> Query:
        self.take("keyword", "SELECT")
        names = [self.take("word")]
        while self.peek(","):
            self.take()
            names.append(self.take("word"))
        self.take("keyword", "FROM")
        obj = self.take("word")
        canonical = {name.lower(): name for name in schema.OBJECTS}.get(obj.lower())
        if canonical is None:
            raise FieldError("INVALID_TYPE", f"sObject type '{obj}' is not supported.")
        self.obj, self.fields = canonical, schema.OBJECTS[canonical]
        query = Query(obj=canonical, fields=[self.field_name(name) for name in names])
        if self.peek("WHERE"):
            self.take()
            query.where = self.expression()
        if self.peek("ORDER"):
            self.take()
            self.take("keyword", "BY")
            while True:
                name = self.field_name(self.take("word"))
                descending = False
                if self.peek("ASC") or self.peek("DESC"):
                    descending = self.take() == "DESC"
                nulls_last = descending
                if self.peek("NULLS"):
                    self.take()
                    nulls_last = self.take("keyword") == "LAST"
                query.order.append((name, descending, nulls_last))
                if not self.peek(","):
                    break
                self.take()
        if self.peek("LIMIT"):
            self.take()
            query.limit = int(self.take("number"))
        if self.peek("OFFSET"):
            self.take()
            query.offset = int(self.take("number"))
        if self.position != len(self.tokens):
            raise MalformedQuery(f"unexpected token: '{self.tokens[self.position][1]}'")
        return query

    def field_name(self, name: str) -> str:
        canonical = {key.lower(): key for key in self.fields}.get(name.lower())
        if canonical is None:
            raise FieldError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{self.obj}'. If you are attempting to use a custom "
                f"field, be sure to append the '__c' after the custom field name.",
            )
        return canonical

    # Conditions: OR of ANDs of (possibly negated) comparisons or parenthesised expressions.
    def expression(self):
        node = self.conjunction()
        while self.peek("OR"):
            self.take()
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self):
        node = self.condition()
        while self.peek("AND"):
            self.take()
            node = ("and", node, self.condition())
        return node

    def condition(self):
        if self.peek("NOT"):
            self.take()
            return ("not", self.condition())
        if self.peek("("):
            self.take()
            node = self.expression()
            self.take("punct", ")")
            return node
        name = self.field_name(self.take("word"))
        if self.peek("IN") or self.peek("NOT"):
            negate = self.take() == "NOT"
            if negate:
                self.take("keyword", "IN")
            self.take("punct", "(")
            values = [self.literal()]
            while self.peek(","):
                self.take()
                values.append(self.literal())
            self.take("punct", ")")
            return ("not_in" if negate else "in", name, [self.checked(name, value) for value in values])
        if self.peek("LIKE"):
            self.take()
            return ("like", name, self.checked(name, self.literal()))
        op = self.take("op")
        return ("cmp", name, "!=" if op == "<>" else op, self.checked(name, self.literal()))

    def checked(self, name: str, value):
        # As Salesforce, refuse a literal of the wrong type when the query is parsed, not per row.
        if value is not None:
            _comparable(self.fields[name], value)
        return value

    def literal(self):
        if self.position >= len(self.tokens):
            raise MalformedQuery("unexpected end of query, expecting a value")
        kind, value = self.tokens[self.position]
        self.position += 1
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", value[1:-1])
        if kind == "number":
            return float(value)
        if kind == "date":
            return datetime.date.fromisoformat(value)
        if kind == "datetime":
            return schema.parse_datetime(value)
        if kind == "keyword" and value in ("NULL", "TRUE", "FALSE"):
            return {"NULL": None, "TRUE": True, "FALSE": False}[value]
        raise MalformedQuery(f"unexpected token: '{value}', expecting a value")


# --- evaluation ---------------------------------------------------------------------------------------------


def _holds(node, record: dict, fields: dict[str, schema.Field]) -> bool:
    kind = node[0]
    if kind == "and":
        return _holds(node[1], record, fields) and _holds(node[2], record, fields)
    if kind == "or":
        return _holds(node[1], record, fields) or _holds(node[2], record, fields)
    if kind == "not":
        return not _holds(node[1], record, fields)
    name = node[1]
    field_ = fields[name]
    stored = record.get(name)
    if kind in ("in", "not_in"):
        found = any(_equal(field_, stored, value) for value in node[2])
        return found if kind == "in" else not found
    if kind == "like":
        if stored is None:
            return False
        pattern = "".join(
            ".*" if char == "%" else "." if char == "_" else re.escape(char) for char in str(node[2])
        )
        return re.fullmatch(pattern, str(stored), re.IGNORECASE | re.DOTALL) is not None
    _, _, op, value = node
    if op == "=":
        return _equal(field_, stored, value)
    if op == "!=":
        return not _equal(field_, stored, value)
    if stored is None or value is None:
        return False
    left, right = _sort_key(field_, stored), _comparable(field_, value)
    try:
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    except TypeError:
        raise FieldError("INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on field {name}") from None


def _equal(field_: schema.Field, stored, value) -> bool:
    if stored is None or value is None:
        return stored is None and value is None
    return _sort_key(field_, stored) == _comparable(field_, value)


def _sort_key(field_: schema.Field, stored):
    """The comparable form of a stored value."""
    if field_.type == "datetime":
        return schema.parse_datetime(stored)
    if field_.type == "date":
        return datetime.date.fromisoformat(stored)
    if field_.type in ("currency", "double"):
        return float(stored)
    if field_.type == "boolean":
        return bool(stored)
    if field_.type in ("id", "reference"):
        return str(stored)[:15]
    return str(stored).lower()


def _comparable(field_: schema.Field, value):
    """The comparable form of a literal, checked against the field's type as SOQL does."""
    if field_.type == "datetime":
        if not isinstance(value, datetime.datetime):
            raise _wrong_literal(field_, "dateTime", quoted=False)
        return value
    if field_.type == "date":
        if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
            raise _wrong_literal(field_, "date", quoted=False)
        return value
    if field_.type in ("currency", "double"):
        if not isinstance(value, float):
            raise _wrong_literal(field_, "double", quoted=False)
        return value
    if field_.type == "boolean":
        return bool(value)
    if not isinstance(value, str):
        raise _wrong_literal(field_, "string", quoted=True)
    if field_.type in ("id", "reference"):
        return value[:15]
    return value.lower()


def _wrong_literal(field_: schema.Field, kind: str, *, quoted: bool) -> FieldError:
    enclosed = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return FieldError(
        "INVALID_FIELD",
        f"value of filter criterion for field '{field_.name}' must be of type {kind} and {enclosed}",
    )

"""The Salesforce REST API subset, as plain functions of a request: routing, auth, limits, faults.

server.py turns HTTP into `Request`s and `Response`s; everything Salesforce-shaped happens here.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import itertools
import json
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

from . import org, schema, soql
from .faults import Faults, FaultState
from .schema import API_VERSION, FieldError
from .store import Store

BASE = f"/services/data/v{API_VERSION}"
ORG_ID = "00DEm0000000001AAA"
USER_ID = "005Em0000000001AAA"
COLLECTION_LIMIT = 200
DEFAULT_QUERY_BATCH = 2000
DEFAULTS = {"api_max": 100_000, "session_lifetime": 7200, "query_batch_size": DEFAULT_QUERY_BATCH}
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
LOCKED = "unable to obtain exclusive access to this record or 1 records"
ROLLED_BACK = (
    "Record rolled back because not all records were valid and the request was using AllOrNone header"
)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError as error:
            raise FieldError("JSON_PARSER_ERROR", f"Unexpected character: {error}") from None

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, [default])[0]


@dataclass
class Response:
    status: int
    body: object = None  # JSON-able, or bytes/str sent as they are
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
    # For the request log:
    object: str | None = None
    record_count: int | None = None

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


def error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    item = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return Response(status, [item])


class Api:
    def __init__(self, store: Store, base_url: str = ""):
        self.store = store
        self.base_url = base_url  # set by the server once it knows its port
        self.faults = FaultState(Faults(**store.get_setting("faults", {})))
        self._locators: OrderedDict[str, tuple[str, list[dict]]] = OrderedDict()
        self._locator_numbers = itertools.count(1)
        self._lock = threading.Lock()

    # --- settings -------------------------------------------------------------------------------------

    def setting(self, key: str):
        return self.store.get_setting(key, DEFAULTS[key])

    def set_faults(self, faults: Faults) -> None:
        self.store.set_setting("faults", faults.__dict__)
        self.faults.set(faults)

    def credentials(self) -> dict:
        return self.store.get_setting("credentials", {"clients": {}, "users": {}})

    def add_credentials(self, *, client: tuple[str, str] | None = None, user: tuple[str, str] | None = None):
        with self.store.transaction():
            creds = self.credentials()
            if client:
                creds["clients"][client[0]] = client[1]
            if user:
                creds["users"][user[0]] = user[1]
            self.store.set_setting("credentials", creds)

    def usage(self) -> tuple[int, int]:
        return self.store.get_setting("api_usage", 0), self.setting("api_max")

    # --- entry ----------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path == "/services/oauth2/token" and request.method == "POST":
            return self.token(request)
        if path in ("/services/data", "/services/data/"):
            return Response(200, [{"label": "Winter '25", "url": BASE, "version": API_VERSION}])
        if not path.startswith(BASE):
            return Response(404, NOT_FOUND)
        response = self.api_call(request, path[len(BASE) :] or "/")
        used, limit = self.usage()
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{limit}"
        return response

    def api_call(self, request: Request, path: str) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").removeprefix("OAuth ")
        if not token or not self.store.session_valid(token.strip()):
            return error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        used, limit = self.usage()
        if self.faults.faults.request_limit_exceeded or used >= limit:
            return error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if self.faults.server_error():
            return error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry.")
        self.store.next_number("api_usage")
        try:
            return self.route(request, path)
        except FieldError as failure:
            return error(400, failure.code, failure.message, failure.fields)

    def route(self, request: Request, path: str) -> Response:
        parts = [unquote(part) for part in path.strip("/").split("/")] if path != "/" else []
        method = request.method
        head = parts[0] if parts else ""
        if head == "sobjects":
            return self.sobjects(request, parts[1:])
        if head == "composite" and len(parts) == 4 and parts[1] == "sobjects" and method == "PATCH":
            return self.collection_upsert(request, parts[2], parts[3])
        if head == "composite" and len(parts) == 2 and parts[1] == "sobjects" and method == "DELETE":
            return self.collection_delete(request)
        if head == "query" and method == "GET":
            return self.query(request, parts[1] if len(parts) > 1 else None)
        if head == "limits" and method == "GET":
            return self.limits()
        if head == "jobs" and len(parts) >= 2 and parts[1] == "ingest":
            return self.ingest(request, parts[2:])
        if head == "jobs" and len(parts) >= 2 and parts[1] == "query":
            return self.query_job(request, parts[2:])
        return Response(404, NOT_FOUND)

    # --- OAuth ----------------------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        form.update({key: values[0] for key, values in request.query.items()})
        creds = self.credentials()
        grant = form.get("grant_type")
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")

        def oauth_error(code: str, description: str) -> Response:
            return Response(400, {"error": code, "error_description": description})

        if grant not in ("client_credentials", "password"):
            return oauth_error("unsupported_grant_type", "grant type not supported")
        if grant == "client_credentials" or creds["clients"]:
            # The password flow also names a connected app; when none is configured the emulator skips it.
            if client_id not in creds["clients"]:
                return oauth_error("invalid_client_id", "client identifier invalid")
            if not hmac.compare_digest(creds["clients"][client_id], client_secret):
                return oauth_error("invalid_client", "invalid client credentials")
        principal = f"client:{client_id}"
        if grant == "password":
            username, password = form.get("username", ""), form.get("password", "")
            if not hmac.compare_digest(creds["users"].get(username, "\0" + password), password):
                return oauth_error("invalid_grant", "authentication failure")
            principal = f"user:{username}"
        access_token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        issued = self.store.add_session(access_token, principal, self.setting("session_lifetime"))
        issued_at = str(int(issued * 1000))
        identity = f"{self.base_url}/id/{ORG_ID}/{USER_ID}"
        signature = hmac.new(
            (client_secret or "emulator").encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        return Response(
            200,
            {
                "access_token": access_token,
                "instance_url": self.base_url,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
                "signature": base64.b64encode(signature).decode(),
            },
        )

    # --- sObjects -------------------------------------------------------------------------------------

    def sobjects(self, request: Request, parts: list[str]) -> Response:
        method = request.method
        if not parts:
            if method != "GET":
                return Response(405, NOT_FOUND)
            return Response(
                200,
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": COLLECTION_LIMIT,
                    "sobjects": [schema.describe_global_entry(obj, BASE) for obj in schema.OBJECTS],
                },
            )
        obj = parts[0]
        if obj not in schema.OBJECTS:
            return Response(404, NOT_FOUND)
        rest = parts[1:]
        if not rest:
            if method == "POST":
                return self.create(request, obj)
            if method == "GET":
                describe = schema.describe(obj, BASE)
                return Response(200, {"objectDescribe": describe, "recentItems": []}, object=obj)
        elif rest == ["describe"] and method == "GET":
            return Response(200, schema.describe(obj, BASE), object=obj)
        elif rest[0] in ("deleted", "updated") and len(rest) == 1 and method == "GET":
            return self.changed(request, obj, rest[0])
        elif len(rest) == 1:
            return self.record(request, obj, rest[0])
        elif len(rest) == 2:
            return self.by_external_id(request, obj, rest[0], rest[1])
        return Response(404, NOT_FOUND)

    def create(self, request: Request, obj: str) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise FieldError("JSON_PARSER_ERROR", "Cannot deserialize instance of sObject")
        with self.store.transaction():
            record_id = org.create(self.store, obj, org.check_values(self.store, obj, body, creating=True))
        return Response(201, {"id": record_id, "success": True, "errors": []}, object=obj, record_count=1)

    def record(self, request: Request, obj: str, raw_id: str) -> Response:
        record_id = schema.normalize_id(raw_id)
        record = self.store.get_record(obj, record_id) if record_id else None
        if record is None:
            return Response(404, NOT_FOUND, object=obj)
        if request.method == "GET":
            return Response(200, self.shape(obj, record, request.param("fields")), object=obj, record_count=1)
        if request.method == "PATCH":
            body = request.json()
            with self.store.transaction():
                org.update(
                    self.store, obj, record_id, org.check_values(self.store, obj, body, creating=False)
                )
            return Response(204, object=obj, record_count=1)
        if request.method == "DELETE":
            with self.store.transaction():
                org.delete(self.store, obj, record_id)
            return Response(204, object=obj, record_count=1)
        return Response(405, NOT_FOUND)

    def by_external_id(self, request: Request, obj: str, ext_field: str, value: str) -> Response:
        field_ = schema.OBJECTS[obj].get(ext_field)
        if field_ is None or not field_.external_id:
            return Response(404, NOT_FOUND, object=obj)
        if request.method == "GET":
            matches = self.store.find_by_field(obj, ext_field, value)
            if len(matches) > 1:
                return Response(300, [f"{BASE}/sobjects/{obj}/{m['Id']}" for m in matches], object=obj)
            if not matches:
                return Response(404, NOT_FOUND, object=obj)
            return Response(200, self.shape(obj, matches[0], request.param("fields")), object=obj)
        if request.method != "PATCH":
            return Response(405, NOT_FOUND)
        body = request.json()
        if not isinstance(body, dict):
            raise FieldError("JSON_PARSER_ERROR", "Cannot deserialize instance of sObject")
        try:
            with self.store.transaction():
                record_id, created = org.upsert(self.store, obj, ext_field, value, body)
        except org.MultipleMatches as multiple:
            return Response(300, [f"{BASE}/sobjects/{obj}/{rid}" for rid in multiple.ids], object=obj)
        # API 46.0 and later: 201 with created true, or 200 with created false (no longer 204).
        result = {"id": record_id, "success": True, "errors": [], "created": created}
        return Response(201 if created else 200, result, object=obj, record_count=1)

    def shape(self, obj: str, record: dict, fields: str | None) -> dict:
        """A record as the API returns it: attributes first, then all fields or the requested ones."""
        out = {"attributes": {"type": obj, "url": f"{BASE}/sobjects/{obj}/{record['Id']}"}}
        if fields:
            known = schema.OBJECTS[obj]
            for name in (name.strip() for name in fields.split(",")):
                if name not in known:
                    raise FieldError("INVALID_FIELD", f"No such column '{name}' on entity '{obj}'.")
                out[name] = record.get(name)
        else:
            out.update({name: record.get(name) for name in schema.OBJECTS[obj]})
        return out

    def changed(self, request: Request, obj: str, kind: str) -> Response:
        start = schema.parse_datetime(request.param("start", ""))
        end = schema.parse_datetime(request.param("end", ""))
        if start is None or end is None:
            raise FieldError("MISSING_ARGUMENT", "start and end parameters are required")
        latest = schema.format_datetime(end)
        if kind == "deleted":
            rows = self.store.execute(
                "select id, deleted_date from records where object = ? and is_deleted = 1", (obj,)
            )
            deleted = [
                {"id": row["id"], "deletedDate": row["deleted_date"]}
                for row in rows
                if start <= schema.parse_datetime(row["deleted_date"]) <= end
            ]
            earliest = schema.format_datetime(start)
            body = {"deletedRecords": deleted, "earliestDateAvailable": earliest, "latestDateCovered": latest}
            return Response(200, body, object=obj, record_count=len(deleted))
        ids = [
            record["Id"]
            for record in self.store.live_records(obj)
            if start <= schema.parse_datetime(record["SystemModstamp"]) <= end
        ]
        return Response(200, {"ids": ids, "latestDateCovered": latest}, object=obj, record_count=len(ids))

    # --- sObject Collections upsert -------------------------------------------------------------------

    def collection_upsert(self, request: Request, obj: str, ext_field: str) -> Response:
        if obj not in schema.OBJECTS:
            return Response(404, NOT_FOUND)
        field_ = schema.OBJECTS[obj].get(ext_field)
        if field_ is None or not field_.external_id:
            message = f"Field name provided, {ext_field} is not an External ID or indexed field for {obj}"
            raise FieldError("INVALID_FIELD", message)
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise FieldError("JSON_PARSER_ERROR", "Expected a JSON object with a records list")
        records, all_or_none = body["records"], bool(body.get("allOrNone", False))
        if len(records) > COLLECTION_LIMIT:
            raise FieldError(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        for record in records:
            attributes = record.get("attributes") if isinstance(record, dict) else None
            if not isinstance(attributes, dict) or attributes.get("type") != obj:
                raise FieldError(
                    "INVALID_TYPE", "Each record must have attributes with the URI's sObject type"
                )
            # The whole body is deserialized first: a value of the wrong type fails the request (400).
            for name, value in record.items():
                known = schema.OBJECTS[obj].get(name)
                if known is not None and name != "attributes":
                    schema.coerce(known, value)
        counts: dict[str, int] = {}
        for record in records:
            if record.get(ext_field) is not None:
                counts[str(record[ext_field])] = counts.get(str(record[ext_field]), 0) + 1

        results: list[dict] = []
        with self.store.transaction():
            self.store.execute("savepoint batch")
            for index, record in enumerate(records):
                value = record.get(ext_field)
                try:
                    if value is None:
                        raise FieldError("MISSING_ARGUMENT", f"{ext_field} not specified", [ext_field])
                    value = str(value)
                    if counts[value] > 1:
                        raise _duplicate_external_id(ext_field, value)
                    if self.faults.row_locked():
                        raise FieldError("UNABLE_TO_LOCK_ROW", LOCKED)
                    with self.store.savepoint(f"r{index}"):
                        record_id, created = org.upsert(self.store, obj, ext_field, value, record)
                    results.append({"id": record_id, "success": True, "errors": [], "created": created})
                except FieldError as failure:
                    results.append(_failed(failure.code, failure.message, failure.fields))
                except org.MultipleMatches as multiple:
                    message = f"{ext_field} matches multiple records: {', '.join(multiple.ids)}"
                    results.append(_failed("DUPLICATE_EXTERNAL_ID", message, [ext_field]))
            results = self._end_batch(results, all_or_none=all_or_none)
        return Response(200, results, object=obj, record_count=len(records))

    def _end_batch(self, results: list[dict], *, all_or_none: bool) -> list[dict]:
        """Close a collection call's savepoint; with allOrNone and any failure, undo the batch and report
        every record that had succeeded as rolled back, as Salesforce does."""
        if all_or_none and not all(result["success"] for result in results):
            self.store.execute("rollback to batch")
            results = [
                result if not result["success"] else _failed("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK)
                for result in results
            ]
        self.store.execute("release batch")
        return results

    # --- sObject Collections delete -------------------------------------------------------------------

    def collection_delete(self, request: Request) -> Response:
        ids = [part.strip() for part in (request.param("ids") or "").split(",") if part.strip()]
        if not ids:
            raise FieldError("MISSING_ARGUMENT", "ids parameter is required")
        if len(ids) > COLLECTION_LIMIT:
            raise FieldError(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        all_or_none = (request.param("allOrNone") or "false").lower() == "true"
        results: list[dict] = []
        objects: set[str] = set()
        with self.store.transaction():
            self.store.execute("savepoint batch")
            for raw_id in ids:
                record_id = schema.normalize_id(raw_id)
                state = self.store.record_state(record_id) if record_id else None
                # Results come in the order of the ids; a failed one carries no id (the guide's example).
                if record_id is None:
                    results.append(_failed("MALFORMED_ID", f"malformed id {raw_id}"))
                elif state is None:
                    results.append(_failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"))
                elif state[1]:
                    results.append(_failed("ENTITY_IS_DELETED", "entity is deleted"))
                elif self.faults.row_locked():
                    results.append(_failed("UNABLE_TO_LOCK_ROW", LOCKED))
                else:
                    org.delete(self.store, state[0], record_id)
                    objects.add(state[0])
                    results.append({"id": record_id, "success": True, "errors": []})
            results = self._end_batch(results, all_or_none=all_or_none)
        obj = objects.pop() if len(objects) == 1 else None
        return Response(200, results, object=obj, record_count=len(ids))

    # --- SOQL -----------------------------------------------------------------------------------------

    def query(self, request: Request, locator: str | None) -> Response:
        batch = self.setting("query_batch_size")
        options = request.headers.get("sforce-query-options", "")
        match = re.search(r"batchSize=(\d+)", options)
        if match:
            batch = max(200, min(int(match.group(1)), DEFAULT_QUERY_BATCH))
        if locator is None:
            text = request.param("q")
            if not text:
                raise FieldError("MALFORMED_QUERY", "A query string has to be specified")
            parsed = soql.parse(text)
            rows = [
                {
                    "attributes": {"type": parsed.obj, "url": f"{BASE}/sobjects/{parsed.obj}/{record_id}"},
                    **row,
                }
                for record_id, row in soql.run(parsed, self.store.live_records(parsed.obj))
            ]
            with self._lock:
                key = f"01gEm{next(self._locator_numbers):010d}AAA"
                self._locators[key] = (parsed.obj, rows)
                while len(self._locators) > 200:
                    self._locators.popitem(last=False)
            obj, offset = parsed.obj, 0
        else:
            key, _, offset_text = locator.rpartition("-")
            with self._lock:
                found = self._locators.get(key)
            if found is None or not offset_text.isdigit():
                return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            (obj, rows), offset = found, int(offset_text)
        page = rows[offset : offset + batch]
        body = {"totalSize": len(rows), "done": offset + batch >= len(rows), "records": page}
        if not body["done"]:
            body["nextRecordsUrl"] = f"{BASE}/query/{key}-{offset + batch}"
        return Response(200, body, object=obj, record_count=len(page))

    def limits(self) -> Response:
        used, limit = self.usage()
        return Response(
            200,
            {
                "DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
                "DataStorageMB": {"Max": 1024, "Remaining": 1024},
            },
        )

    # --- Bulk API 2.0 query ---------------------------------------------------------------------------

    def query_job(self, request: Request, parts: list[str]) -> Response:
        """Query jobs: the query runs when the job is created (the answer says UploadComplete, the next
        poll JobComplete, as a fast job on a real org does); results are CSV pages with Sforce-Locator."""
        method = request.method
        if not parts:
            if method != "POST":
                return Response(405, NOT_FOUND)
            body = request.json() or {}
            if body.get("operation") not in ("query", "queryAll"):
                raise FieldError("INVALIDJOB", f"Invalid operation: {body.get('operation')}")
            parsed = soql.parse(body.get("query") or "")
            records = self.store.live_records(parsed.obj)
            if body["operation"] == "queryAll":
                records = self.store.all_records(parsed.obj)
            rows = soql.run(parsed, records)
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(parsed.fields)
            for _record_id, row in rows:
                writer.writerow([_csv_value(row.get(name)) for name in parsed.fields])
            now = schema.now_text()
            job_id = "750Em" + f"{self.store.next_number('counter:job'):010d}" + "AAB"
            info = {
                "id": job_id,
                "operation": body["operation"],
                "object": parsed.obj,
                "createdById": USER_ID,
                "createdDate": now,
                "systemModstamp": now,
                "state": "JobComplete",
                "concurrencyMode": "Parallel",
                "contentType": "CSV",
                "apiVersion": float(API_VERSION),
                "jobType": "V2Query",
                "lineEnding": "LF",
                "columnDelimiter": "COMMA",
                "numberRecordsProcessed": len(rows),
                "retries": 0,
                "totalProcessingTime": 0,
            }
            self.store.save_job(job_id, info, successful=out.getvalue())
            return Response(200, {**info, "state": "UploadComplete"}, object=parsed.obj)
        found = self.store.get_job(parts[0])
        if found is None or found[0].get("jobType") != "V2Query":
            return Response(404, NOT_FOUND)
        info, blobs = found
        rest = parts[1:]
        if not rest and method == "GET":
            return Response(200, info, object=info["object"])
        if not rest and method == "DELETE":
            self.store.execute("delete from jobs where id = ?", (info["id"],))
            return Response(204)
        if rest == ["results"] and method == "GET":
            header, _, data = (blobs["successful"] or "").partition("\n")
            lines = data.splitlines()
            try:
                size = max(1, int(request.param("maxRecords") or 50_000))
                offset = int(request.param("locator") or 0)
            except ValueError:
                raise FieldError("INVALID_LOCATOR", "invalid locator or maxRecords") from None
            page = lines[offset : offset + size]
            following = offset + size
            response = Response(
                200,
                "\n".join([header, *page]) + "\n",
                content_type="text/csv",
                object=info["object"],
                record_count=len(page),
            )
            response.headers["Sforce-Locator"] = str(following) if following < len(lines) else "null"
            response.headers["Sforce-NumberOfRecords"] = str(len(page))
            return response
        return Response(404, NOT_FOUND)

    # --- Bulk API 2.0 ingest --------------------------------------------------------------------------

    def ingest(self, request: Request, parts: list[str]) -> Response:
        method = request.method
        if not parts:
            if method == "POST":
                return self.create_job(request)
            return Response(405, NOT_FOUND)
        found = self.store.get_job(parts[0])
        if found is None:
            return Response(404, NOT_FOUND)
        info, blobs = found
        rest = parts[1:]
        if not rest and method == "GET":
            return Response(200, info, object=info["object"])
        if not rest and method == "PATCH":
            return self.set_job_state(request, info, blobs)
        if not rest and method == "DELETE":
            self.store.execute("delete from jobs where id = ?", (info["id"],))
            return Response(204)
        if rest == ["batches"] and method == "PUT":
            if info["state"] != "Open":
                raise FieldError("INVALIDJOBSTATE", "Job is not in the Open state")
            data = request.body.decode("utf-8-sig")
            self.store.save_job(info["id"], info, upload=blobs["upload"] + data)
            rows = max(data.count("\n") - 1, 0)
            return Response(201, object=info["object"], record_count=rows)
        if rest == ["successfulResults"] and method == "GET":
            return Response(200, blobs["successful"], content_type="text/csv", object=info["object"])
        if rest == ["failedResults"] and method == "GET":
            return Response(200, blobs["failed"], content_type="text/csv", object=info["object"])
        if rest == ["unprocessedrecords"] and method == "GET":
            return Response(200, "", content_type="text/csv", object=info["object"])
        return Response(404, NOT_FOUND)

    def create_job(self, request: Request) -> Response:
        body = request.json() or {}
        obj, operation = body.get("object"), body.get("operation")
        if obj not in schema.OBJECTS:
            raise FieldError("INVALIDENTITY", f"Entity '{obj}' is not supported by the Bulk API.")
        if operation not in ("insert", "update", "upsert", "delete"):
            raise FieldError("INVALIDJOB", f"Invalid operation: {operation}")
        ext_field = body.get("externalIdFieldName")
        if operation == "upsert":
            field_ = schema.OBJECTS[obj].get(ext_field or "")
            if field_ is None or not field_.external_id:
                raise FieldError("INVALIDJOB", f"Invalid external ID field: {ext_field}")
        now = schema.now_text()
        job_id = "750Em" + f"{self.store.next_number('counter:job'):010d}" + "AAA"
        info = {
            "id": job_id,
            "operation": operation,
            "object": obj,
            "createdById": USER_ID,
            "createdDate": now,
            "systemModstamp": now,
            "state": "Open",
            "externalIdFieldName": ext_field,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(API_VERSION),
            "jobType": "V2Ingest",
            "lineEnding": body.get("lineEnding", "LF"),
            "columnDelimiter": body.get("columnDelimiter", "COMMA"),
            "numberRecordsProcessed": 0,
            "numberRecordsFailed": 0,
            "retries": 0,
            "totalProcessingTime": 0,
            "errorMessage": None,
        }
        self.store.save_job(job_id, info)
        return Response(200, info, object=obj)

    def set_job_state(self, request: Request, info: dict, blobs: dict) -> Response:
        state = (request.json() or {}).get("state")
        if state == "Aborted" and info["state"] in ("Open", "UploadComplete"):
            info["state"] = "Aborted"
            self.store.save_job(info["id"], info)
            return Response(200, info, object=info["object"])
        if state != "UploadComplete" or info["state"] != "Open":
            raise FieldError("INVALIDJOBSTATE", f"Can't change the job state from {info['state']} to {state}")
        # Salesforce processes the data asynchronously; the emulator does it before answering, so the
        # next poll finds the job complete. The answer itself still says UploadComplete.
        successful, failed, processed, failures = self.process_job(info, blobs["upload"])
        info["state"] = "UploadComplete"
        answer = dict(info)
        info.update(
            state="JobComplete",
            numberRecordsProcessed=processed,
            numberRecordsFailed=failures,
            systemModstamp=schema.now_text(),
        )
        self.store.save_job(info["id"], info, successful=successful, failed=failed)
        return Response(200, answer, object=info["object"], record_count=processed)

    def process_job(self, info: dict, data: str) -> tuple[str, str, int, int]:
        obj, operation, ext_field = info["object"], info["operation"], info["externalIdFieldName"]
        reader = csv.DictReader(io.StringIO(data))
        columns = reader.fieldnames or []
        rows = list(reader)
        ok_out, failed_out = io.StringIO(), io.StringIO()
        ok_writer = csv.writer(ok_out, lineterminator="\n")
        failed_writer = csv.writer(failed_out, lineterminator="\n")
        ok_writer.writerow(["sf__Id", "sf__Created", *columns])
        failed_writer.writerow(["sf__Id", "sf__Error", *columns])
        counts: dict[str, int] = {}
        if operation == "upsert":
            for row in rows:
                counts[row.get(ext_field, "")] = counts.get(row.get(ext_field, ""), 0) + 1
        failures = 0
        with self.store.transaction():
            for index, row in enumerate(rows):
                values = [row.get(column, "") for column in columns]
                record_id = row.get("Id", "")
                try:
                    if self.faults.row_locked():
                        raise FieldError("UNABLE_TO_LOCK_ROW", LOCKED)
                    with self.store.savepoint(f"row{index}"):
                        record_id, created = self.ingest_row(obj, operation, ext_field, row, counts)
                    ok_writer.writerow([record_id, "true" if created else "false", *values])
                except FieldError as failure:
                    failures += 1
                    message = f"{failure.code}:{failure.message}:{','.join(failure.fields)} --"
                    failed_writer.writerow([record_id, message, *values])
                except (org.NotFound, org.MultipleMatches) as failure:
                    failures += 1
                    code = (
                        "ENTITY_IS_DELETED" if isinstance(failure, org.NotFound) else "DUPLICATE_EXTERNAL_ID"
                    )
                    failed_writer.writerow([record_id, f"{code}:{failure}: --", *values])
        return ok_out.getvalue(), failed_out.getvalue(), len(rows), failures

    def ingest_row(self, obj: str, operation: str, ext_field: str | None, row: dict, counts: dict):
        body: dict = {}
        for name, value in row.items():
            if name == "Id":
                continue
            relationship, dot, parent_field = name.partition(".")
            if dot:  # a parent named by its external ID: the column `Account.PRM_External_Id__c`
                if value:
                    body[relationship] = {parent_field: value}
            else:
                body[name] = value
        if operation == "insert":
            values = org.check_values(self.store, obj, body, creating=True, from_csv=True)
            return org.create(self.store, obj, values), True
        if operation == "upsert":
            value = row.get(ext_field or "", "")
            if not value:
                raise FieldError("MISSING_ARGUMENT", f"{ext_field} not specified", [ext_field])
            if counts.get(value, 0) > 1:
                raise _duplicate_external_id(ext_field, value)
            return org.upsert(self.store, obj, ext_field, value, body, from_csv=True)
        record_id = schema.normalize_id(row.get("Id", ""))
        if record_id is None:
            raise FieldError("MALFORMED_ID", f"bad id {row.get('Id', '')}", ["Id"])
        if operation == "delete":
            org.delete(self.store, obj, record_id)
            return record_id, False
        values = org.check_values(self.store, obj, body, creating=False, from_csv=True)
        org.update(self.store, obj, record_id, values)
        return record_id, False


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _failed(code: str, message: str, fields: list[str] | None = None) -> dict:
    # Per-record errors in sObject Collections carry statusCode, not errorCode.
    return {"success": False, "errors": [{"statusCode": code, "message": message, "fields": fields or []}]}


def _duplicate_external_id(ext_field: str, value: str) -> FieldError:
    return FieldError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [ext_field])

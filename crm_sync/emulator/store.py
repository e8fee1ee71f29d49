"""The emulator's storage: one SQLite file in the data directory, so records survive a restart.

One connection shared by the server's threads behind a lock: the emulator serves one client process's
worth of traffic, and a single writer keeps allOrNone rollbacks (SQLite savepoints) simple.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from . import schema

SCHEMA = """
create table if not exists records (
    id text primary key,
    object text not null,
    ext_id text,
    is_deleted integer not null default 0,
    system_modstamp text not null,
    deleted_date text,
    data text not null
);
-- PRM_External_Id__c is an External ID with the Unique attribute: the database enforces it.
create unique index if not exists records_ext_id on records (object, ext_id)
    where ext_id is not null and is_deleted = 0;
create index if not exists records_object on records (object, is_deleted, system_modstamp);
create table if not exists settings (key text primary key, value text not null);
create table if not exists sessions (
    token text primary key, principal text not null, issued_at real not null, expires_at real not null
);
create table if not exists requests (
    seq integer primary key autoincrement,
    at real not null,
    method text not null,
    path text not null,
    status integer not null,
    object text,
    record_count integer,
    duration_ms real not null
);
create table if not exists jobs (id text primary key, info text not null, upload text not null default '',
    successful text not null default '', failed text not null default '');
"""


class Store:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("pragma journal_mode=wal")
        self._conn.execute("pragma synchronous=normal")
        self._conn.executescript(SCHEMA)
        self._in_transaction = False

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- transactions ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and a transaction; commit on success, roll back on an exception."""
        with self._lock:
            if self._in_transaction:
                yield
                return
            self._conn.execute("begin immediate")
            self._in_transaction = True
            try:
                yield
            except BaseException:
                self._conn.execute("rollback")
                raise
            else:
                self._conn.execute("commit")
            finally:
                self._in_transaction = False

    @contextlib.contextmanager
    def savepoint(self, name: str = "sp") -> Iterator[None]:
        """A nested unit inside transaction(): rolled back alone on an exception (which propagates)."""
        self._conn.execute(f"savepoint {name}")
        try:
            yield
        except BaseException:
            self._conn.execute(f"rollback to {name}")
            self._conn.execute(f"release {name}")
            raise
        self._conn.execute(f"release {name}")

    def rollback_to(self, name: str) -> None:
        self._conn.execute(f"rollback to {name}")

    def execute(self, sql: str, params=()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    # --- settings -------------------------------------------------------------------------------------

    def get_setting(self, key: str, default=None):
        row = self.execute("select value from settings where key = ?", (key,)).fetchone()
        return json.loads(row["value"]) if row else default

    def set_setting(self, key: str, value) -> None:
        self.execute(
            "insert into settings (key, value) values (?, ?) "
            "on conflict (key) do update set value = excluded.value",
            (key, json.dumps(value)),
        )

    def next_number(self, counter: str) -> int:
        """Add one to a counter (record ids, API usage) and return it."""
        with self.transaction():
            number = self.get_setting(counter, 0) + 1
            self.set_setting(counter, number)
        return number

    # --- records --------------------------------------------------------------------------------------

    def insert_record(self, obj: str, data: dict) -> None:
        self.execute(
            "insert into records (id, object, ext_id, system_modstamp, data) values (?, ?, ?, ?, ?)",
            (data["Id"], obj, data.get(schema.EXTERNAL_ID_FIELD), data["SystemModstamp"], json.dumps(data)),
        )

    def save_record(self, obj: str, data: dict) -> None:
        self.execute(
            "update records set ext_id = ?, system_modstamp = ?, data = ? where id = ?",
            (data.get(schema.EXTERNAL_ID_FIELD), data["SystemModstamp"], json.dumps(data), data["Id"]),
        )

    def mark_deleted(self, record_id: str, when: str) -> None:
        row = self.execute("select data from records where id = ?", (record_id,)).fetchone()
        data = json.loads(row["data"])
        data.update(IsDeleted=True, SystemModstamp=when)
        self.execute(
            "update records set is_deleted = 1, deleted_date = ?, system_modstamp = ?, data = ? where id = ?",
            (when, when, json.dumps(data), record_id),
        )

    def get_record(self, obj: str, record_id: str) -> dict | None:
        row = self.execute(
            "select data from records where object = ? and id = ? and is_deleted = 0", (obj, record_id)
        ).fetchone()
        return json.loads(row["data"]) if row else None

    def record_state(self, record_id: str) -> tuple[str, bool] | None:
        """(object, deleted) of any record with this id, live or deleted; None when there is none."""
        row = self.execute("select object, is_deleted from records where id = ?", (record_id,)).fetchone()
        return (row["object"], bool(row["is_deleted"])) if row else None

    def find_by_field(self, obj: str, field: str, value: str) -> list[dict]:
        if field == schema.EXTERNAL_ID_FIELD:  # indexed
            rows = self.execute(
                "select data from records where object = ? and ext_id = ? and is_deleted = 0", (obj, value)
            )
            return [json.loads(row["data"]) for row in rows]
        return [record for record in self.live_records(obj) if record.get(field) == value]

    def live_records(self, obj: str) -> list[dict]:
        rows = self.execute(
            "select data from records where object = ? and is_deleted = 0 order by id", (obj,)
        )
        return [json.loads(row["data"]) for row in rows]

    def all_records(self, obj: str) -> list[dict]:
        """Live and deleted records (queryAll), deleted ones with IsDeleted true."""
        rows = self.execute("select data, is_deleted from records where object = ? order by id", (obj,))
        return [{**json.loads(row["data"]), "IsDeleted": bool(row["is_deleted"])} for row in rows]

    def deleted_between(self, obj: str, start: str, end: str) -> list[tuple[str, str]]:
        rows = self.execute(
            "select id, deleted_date from records where object = ? and is_deleted = 1 order by deleted_date",
            (obj,),
        )
        return [(row["id"], row["deleted_date"]) for row in rows]

    def count_records(self) -> int:
        return self.execute("select count(*) from records where is_deleted = 0").fetchone()[0]

    # --- sessions -------------------------------------------------------------------------------------

    def add_session(self, token: str, principal: str, lifetime: float) -> float:
        issued = time.time()
        self.execute(
            "insert into sessions (token, principal, issued_at, expires_at) values (?, ?, ?, ?)",
            (token, principal, issued, issued + lifetime),
        )
        return issued

    def session_valid(self, token: str) -> bool:
        row = self.execute("select expires_at from sessions where token = ?", (token,)).fetchone()
        return row is not None and row["expires_at"] > time.time()

    def expire_sessions(self) -> None:
        self.execute("delete from sessions")

    # --- request log ----------------------------------------------------------------------------------

    def log_request(self, entry: dict) -> None:
        self.execute(
            "insert into requests (at, method, path, status, object, record_count, duration_ms) "
            "values (:at, :method, :path, :status, :object, :record_count, :duration_ms)",
            entry,
        )

    def request_log(self) -> list[dict]:
        rows = self.execute(
            "select at, method, path, status, object, record_count, duration_ms from requests order by seq"
        )
        return [dict(row) for row in rows]

    # --- bulk jobs ------------------------------------------------------------------------------------

    def save_job(self, job_id: str, info: dict, **blobs: str) -> None:
        self.execute(
            "insert into jobs (id, info) values (?, ?) on conflict (id) do update set info = excluded.info",
            (job_id, json.dumps(info)),
        )
        for column, text in blobs.items():
            assert column in ("upload", "successful", "failed")
            self.execute(f"update jobs set {column} = ? where id = ?", (text, job_id))

    def get_job(self, job_id: str) -> tuple[dict, dict] | None:
        row = self.execute("select * from jobs where id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        return json.loads(row["info"]), {k: row[k] for k in ("upload", "successful", "failed")}

    # --- reset ----------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget records, sessions, the request log, jobs and settings other than credentials."""
        with self.transaction():
            for table in ("records", "sessions", "requests", "jobs"):
                self._conn.execute(f"delete from {table}")
            self._conn.execute("delete from settings where key not in ('credentials')")

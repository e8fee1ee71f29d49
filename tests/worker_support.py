"""A real Celery worker for the tests whose behaviour under test is the worker's.

`start_worker()` runs `celery -A prm worker` as a subprocess against the *test* database, with a queue, a
Redis key prefix and a mail directory of its own, so parallel test runs (and a developer's worker on the
same Redis) never take each other's messages. `Worker.stop()` ends it and every process it started.
`wait_for()` is how tests wait on it: poll a condition up to a deadline, never a bare sleep.
"""

from __future__ import annotations

import contextlib
import ctypes
import email
import email.message
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import psutil
from django.conf import settings

T = TypeVar("T")

PROJECT_DIR = Path(settings.BASE_DIR)


class WorkerError(AssertionError):
    """The worker did not start, stop or do what the test waited for; carries the tail of its log."""


def wait_for(
    condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `condition` until it returns something truthy; return that, or fail once `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition!r}")
        time.sleep(interval)


def database_url(database: dict) -> str:
    """A DATABASE_URL for the connection settings `database` (settings.DATABASES['default'])."""
    user = quote(database.get("USER") or "", safe="")
    password = quote(database.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(database.get("HOST") or "", safe="")  # a socket directory's slashes are escaped
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"postgresql://{credentials}{host}{port}/{quote(database['NAME'], safe='')}"


def _die_with_parent() -> None:
    # Linux: the worker gets SIGTERM if the test process dies without tearing down (killed, crashed), so no
    # worker outlives its test run. Elsewhere the fixture's teardown is all there is.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Worker:
    process: subprocess.Popen
    queue: str
    key_prefix: str
    mail_dir: Path
    log_path: Path
    _log_file: object = field(repr=False, default=None)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_records(self) -> list[dict]:
        """The worker's JSON log lines, parsed (banner and other non-JSON output skipped)."""
        records = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
        return records

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def emails(self) -> list[email.message.EmailMessage]:
        """Every message the worker's file backend wrote, parsed."""
        separator = b"\n" + b"-" * 79 + b"\n"
        messages = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_bytes().split(separator):
                if chunk.strip():
                    messages.append(email.message_from_bytes(chunk, policy=email.policy.default))
        return messages

    def email_with_subject(self, subject: str) -> email.message.EmailMessage | None:
        return next((message for message in self.emails() if message["Subject"] == subject), None)

    def wait_for(self, condition: Callable[[], T], *, timeout: float = 30.0, what: str = "") -> T:
        """`wait_for`, failing early (with the worker's log) if the worker has died."""

        def check():
            value = condition()
            if not value and self.process.poll() is not None:
                raise WorkerError(f"the worker exited ({self.process.returncode}):\n{self.log_tail()}")
            return value

        try:
            return wait_for(check, timeout=timeout, what=what)
        except WorkerError:
            raise
        except AssertionError as error:
            raise WorkerError(f"{error}\n--- worker log ---\n{self.log_tail()}") from None

    def processes(self) -> list[psutil.Process]:
        """The worker and every process it started (its own session, so none escapes the count)."""
        found = []
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if os.getsid(process.pid) == self.process.pid:
                    found.append(process)
        return found

    def stop(self, timeout: float = 15.0) -> list[int]:
        """Warm shutdown (SIGTERM), then SIGKILL for anything left; returns the pids that had to be killed."""
        family = self.processes()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        _gone, alive = psutil.wait_procs(family, timeout=5)
        leftovers = {process.pid: process for process in alive + self.processes()}
        for process in leftovers.values():
            with contextlib.suppress(psutil.Error):
                process.kill()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        if self._log_file is not None:
            self._log_file.close()
        return sorted(leftovers)

    def cleanup_redis(self) -> None:
        """Drop this run's queue, bindings and keys from the shared Redis."""
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        try:
            keys = [
                *client.scan_iter(match=f"{self.queue}*"),
                *client.scan_iter(match=f"_kombu.binding*.{self.queue}"),
                *client.scan_iter(match=f"{self.key_prefix}:*"),
            ]
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def _celery_env(run_id: str, mail_dir: Path, max_deliveries: int, extra_env: dict | None) -> dict:
    """The environment of a test worker or beat: the test database, this run's queue and key prefix."""
    database = settings.DATABASES["default"]
    if not database["NAME"].startswith("test_"):
        raise RuntimeError(f"refusing to start a test worker on {database['NAME']!r}: not a test database")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        "PRM_DB_CONN_MAX_AGE": "0",  # no idle connection may keep the test database from being dropped
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PRM_CELERY_QUEUE": run_id,
        "PRM_CACHE_KEY_PREFIX": run_id,
        "PRM_CELERY_EAGER": "0",
        "PRM_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "PRM_EMAIL_FILE_PATH": str(mail_dir),
        "PRM_LOG_FORMAT": "json",
        "PRM_LOG_LEVEL": "INFO",
        "PRM_TASK_MAX_DELIVERIES": str(max_deliveries),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def start_worker(
    directory: Path,
    *,
    max_deliveries: int,
    include: tuple[str, ...] = ("tests.worker_tasks",),
    extra_env: dict | None = None,
) -> Worker:
    """Start `celery -A prm worker` (prefork, one child) on a fresh queue; return once it is consuming.

    `extra_env` adds settings (PRM_* variables) for the worker process.
    """
    run_id = f"prm-test-{uuid.uuid4().hex[:12]}"
    mail_dir = directory / "mail"
    mail_dir.mkdir(parents=True, exist_ok=True)
    log_path = directory / "worker.log"
    env = _celery_env(run_id, mail_dir, max_deliveries, extra_env)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "prm",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        "1",  # a child that dies is replaced, as in production
        "--queues",
        run_id,
        "--hostname",
        f"{run_id}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel",
        "INFO",
    ]
    if include:
        command += ["--include", ",".join(include)]
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=PROJECT_DIR,  # `tests` must be importable for --include tests.worker_tasks
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    worker = Worker(process, run_id, run_id, mail_dir, log_path, log_file)
    try:
        worker.wait_for(
            lambda: any(
                record.get("logger") == "celery.apps.worker" and record.get("message", "").endswith("ready.")
                for record in worker.log_records()
            ),
            what="the worker to report ready",
        )
    except BaseException:
        worker.stop()
        worker.cleanup_redis()
        raise
    return worker


def start_beat(worker: Worker, directory: Path, *, extra_env: dict | None = None) -> Worker:
    """Start `celery -A prm beat` sending the schedule's tasks to `worker`'s queue; stop it with .stop()."""
    log_path = directory / "beat.log"
    env = _celery_env(worker.queue, worker.mail_dir, 3, extra_env)
    env["PRM_BEAT_SCHEDULE"] = str(directory / "celerybeat-schedule")
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "prm", "beat", "--loglevel", "INFO"],
        cwd=PROJECT_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    return Worker(process, worker.queue, worker.key_prefix, worker.mail_dir, log_path, log_file)


@contextlib.contextmanager
def serving_worker(directory: Path, **start_options):
    """Start a worker and point this test process at its queue and key prefix; stop it on exit.

    Yields (worker, killed): `killed` fills with the processes that had to be killed at shutdown.
    """
    from django.test import override_settings

    from prm.celery import app as celery_app

    worker = start_worker(directory, **start_options)
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = worker.queue
    killed: list = []
    try:
        with override_settings(PRM_CACHE_KEY_PREFIX=worker.key_prefix):
            yield worker, killed
    finally:
        celery_app.conf.task_default_queue = previous_queue
        killed.extend(worker.stop())
        worker.cleanup_redis()

"""Tasks only the tests need. The test worker loads them with `--include tests.worker_tasks`."""

from __future__ import annotations

import os
import signal

from celery.utils.log import get_task_logger
from django.conf import settings

from prm.celery import _redis, tenant_task


def runs_key(marker: str) -> str:
    return f"{settings.PRM_CACHE_KEY_PREFIX}:test-runs:{marker}"


@tenant_task(name="tests.worker_tasks.kill_own_process")
def kill_own_process(tenant, marker: str) -> None:
    """Note the run, then die the way an out-of-memory kill would: no exception, no ack, no cleanup."""
    _redis().rpush(runs_key(marker), f"{tenant.slug}:{os.getpid()}")
    os.kill(os.getpid(), signal.SIGKILL)


@tenant_task(name="tests.worker_tasks.log_line")
def log_line(tenant, message: str) -> None:
    """Log `message` the way Celery's documentation tells tasks to: through the task logger."""
    get_task_logger(__name__).warning(message)

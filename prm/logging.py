"""Structured logging: every line carries the request id and the tenant of the code that wrote it."""

from __future__ import annotations

import contextlib
import logging
from contextvars import ContextVar

_context: ContextVar[dict[str, str]] = ContextVar("prm_log_context", default={})


@contextlib.contextmanager
def log_context(**values: str):
    """Add `values` (request_id, tenant, task_id) to every log record written inside the block."""
    token = _context.set({**_context.get(), **values})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        record.request_id = context.get("request_id", "-")
        record.tenant = context.get("tenant", "-")
        if "task_id" in context:
            record.task_id = context["task_id"]
        return True

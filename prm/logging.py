"""Structured logging: every line carries the request id and the tenant of the code that wrote it."""

from __future__ import annotations

import contextlib
import logging
from contextvars import ContextVar

from django.http import HttpRequest

_context: ContextVar[dict[str, str] | None] = ContextVar("prm_log_context", default=None)


@contextlib.contextmanager
def log_context(**values: str):
    """Add `values` (request_id, tenant, task_id) to every log record written inside the block."""
    token = _context.set({**(_context.get() or {}), **values})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        # Django logs 4xx/5xx responses ("Not Found: /x") after the middleware has returned, outside the
        # request's log context; those records carry the request itself.
        request = getattr(record, "request", None)
        if not isinstance(request, HttpRequest):
            request = None
        tenant = getattr(request, "tenant", None)
        record.request_id = context.get("request_id") or getattr(request, "id", None) or "-"
        record.tenant = context.get("tenant") or getattr(tenant, "slug", None) or "-"
        if "task_id" in context:
            record.task_id = context["task_id"]
        return True

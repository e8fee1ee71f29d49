"""The Celery app, and the base of every task: tenant scope on entry, bounded redelivery after a worker dies.

With acks_late and reject_on_worker_lost a message whose worker process died goes back to the queue. A
message that kills every worker it meets would loop forever, so each delivery is counted in Redis and a
message delivered more than PRM_TASK_MAX_DELIVERIES times is parked (prm.ParkedTask) instead of run.
"""

from __future__ import annotations

import functools
import logging
import os

from celery import Celery, Task, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prm.settings")

app = Celery("prm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("prm.tasks")


@signals.setup_logging.connect
def _log_as_django_does(**kwargs) -> None:
    """The worker logs through settings.LOGGING (JSON lines with the tenant) like the web processes.

    Without this receiver Celery gives its task logger and the pool's logger handlers of its own, in plain
    text without the tenant (worker_hijack_root_logger=False only spares the root logger).
    """
    from logging.config import dictConfig

    from celery.utils.log import get_multiprocessing_logger
    from django.conf import settings

    dictConfig(settings.LOGGING)
    # The pool reports dead processes ("... exited with signal 9") to a logger of its own that does not
    # propagate; send those to the project's handlers, without the pool's chatter below WARNING.
    pool_logger = get_multiprocessing_logger()
    pool_logger.propagate = True
    if pool_logger.level == logging.NOTSET:
        pool_logger.setLevel(logging.WARNING)


# Seconds to wait on Redis before giving up: without a bound, a wedged Redis hangs /healthz (and the web
# process serving it) and every task's delivery count forever.
REDIS_TIMEOUT = 3.0


def _redis():
    import redis
    from django.conf import settings

    client = getattr(_redis, "client", None)
    if client is None:
        client = _redis.client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )
    return client


class PRMTask(Task):
    """Counts deliveries of each message; parks the message once the count passes the bound."""

    def __call__(self, *args, **kwargs):
        from django.conf import settings

        from prm import logging as prm_logging

        if self.request.is_eager or not self.request.id:
            return super().__call__(*args, **kwargs)
        key = f"{settings.PRM_CACHE_KEY_PREFIX}:task-deliveries:{self.request.id}"
        deliveries = _redis().incr(key)
        _redis().expire(key, 7 * 24 * 3600)
        with prm_logging.log_context(task_id=self.request.id):
            if deliveries > settings.PRM_TASK_MAX_DELIVERIES:
                self._park(deliveries, args, kwargs)
                _redis().delete(key)
                return None
            try:
                return super().__call__(*args, **kwargs)
            finally:
                # Reached on success and on an exception (Celery's own retries get a new delivery count
                # only if the worker dies); never reached when the process is killed.
                _redis().delete(key)

    def _park(self, deliveries: int, args, kwargs) -> None:
        from prm.models import ParkedTask, Tenant

        tenant_id = kwargs.get("tenant_id") if isinstance(kwargs, dict) else None
        is_tenant_task = getattr(self, "prm_tenant_task", False)
        if tenant_id is None and is_tenant_task and args and isinstance(args[0], int):
            tenant_id = args[0]
        ParkedTask.objects.update_or_create(
            task_id=self.request.id,
            defaults={
                "task_name": self.name,
                "tenant": Tenant.objects.filter(pk=tenant_id).first() if tenant_id else None,
                "args": list(args),
                "kwargs": dict(kwargs),
                "deliveries": deliveries - 1,
                "error": (
                    f"The worker running this task died {deliveries - 1} times; parked instead of retried."
                ),
            },
        )
        logger.error("parked task %s %s after %d deliveries", self.name, self.request.id, deliveries - 1)


app.Task = PRMTask


def tenant_task(*task_args, **task_kwargs):
    """Declare a task whose first argument is a tenant id; the body runs inside that tenant's scope.

    @tenant_task()
    def deal_expire(tenant, deal_id): ...
    deal_expire.delay(tenant.pk, deal.pk)
    """

    def decorate(func):
        @functools.wraps(func)
        def run(tenant_id: int, *args, **kwargs):
            from prm import logging as prm_logging
            from prm.models import Tenant
            from prm.tenancy import tenant_scope

            tenant = Tenant.objects.get(pk=tenant_id)
            with tenant_scope(tenant), prm_logging.log_context(tenant=tenant.slug):
                return func(tenant, *args, **kwargs)

        task = app.task(*task_args, **task_kwargs)(run)
        task.prm_tenant_task = True
        return task

    return decorate

"""The CRM mirror's tasks: drain one tenant's outbox, and the beat's sweep over every tenant."""

from __future__ import annotations

import logging

from django.conf import settings

from crm_sync import outbox
from prm.celery import _redis, app, tenant_task

logger = logging.getLogger("prm.crm_sync")

# At most two wake-ups per tenant per this many seconds (crm_drain_wake); the beat drains whatever a lost
# wake-up left.
WAKE_DEBOUNCE_SECONDS = 1


@tenant_task()
def crm_drain(tenant) -> None:
    """Send the tenant's due outbox rows to its CRM."""
    drained = outbox.outbox_drain(tenant=tenant)
    if drained.claimed:
        logger.info(
            "crm drain: %d claimed, %d sent, %d retried, %d dead, %d calls%s",
            drained.claimed,
            drained.sent,
            drained.retried,
            drained.dead,
            drained.calls,
            ", paused" if drained.paused else "",
        )


@app.task
def crm_drain_all() -> None:
    """Enqueue a drain for every tenant with an enabled, unpaused connection and due rows."""
    for tenant_id in outbox.tenants_due():
        crm_drain.delay(tenant_id)


def crm_drain_wake(tenant_id: int) -> None:
    """Enqueue a drain for the tenant: at once for the first change in a second, and once more a second
    later for the changes that follow within it (so the last change is never left to the beat)."""
    prefix = f"{settings.PRM_CACHE_KEY_PREFIX}:crm-wake:{tenant_id}"
    try:
        if _redis().set(f"{prefix}:now", 1, nx=True, ex=WAKE_DEBOUNCE_SECONDS):
            crm_drain.apply_async((tenant_id,))
        elif _redis().set(f"{prefix}:later", 1, nx=True, ex=WAKE_DEBOUNCE_SECONDS):
            crm_drain.apply_async((tenant_id,), countdown=WAKE_DEBOUNCE_SECONDS)
    except Exception:  # the beat drains what a lost wake-up left; a change must never fail on this
        logger.warning("could not wake the CRM drain of tenant %s", tenant_id, exc_info=True)

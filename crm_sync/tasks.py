"""The CRM mirror's tasks: drain one tenant's outbox, and the beat's sweep over every tenant."""

from __future__ import annotations

import contextlib
import logging

from django.conf import settings
from redis.exceptions import LockError

from crm_sync import inbound, outbox
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
    if app.conf.task_always_eager:
        # Run in-process (PRM_CELERY_EAGER, and the tests): a countdown is not honoured there, so the
        # debounce's "once more a second later" would run at once and leave a change made within that
        # second to a beat that may not run. Each commit drains instead.
        crm_drain.apply((tenant_id,))
        return
    prefix = f"{settings.PRM_CACHE_KEY_PREFIX}:crm-wake:{tenant_id}"
    try:
        if _redis().set(f"{prefix}:now", 1, nx=True, ex=WAKE_DEBOUNCE_SECONDS):
            crm_drain.apply_async((tenant_id,))
        elif _redis().set(f"{prefix}:later", 1, nx=True, ex=WAKE_DEBOUNCE_SECONDS):
            crm_drain.apply_async((tenant_id,), countdown=WAKE_DEBOUNCE_SECONDS)
    except Exception:  # the beat drains what a lost wake-up left; a change must never fail on this
        logger.warning("could not wake the CRM drain of tenant %s", tenant_id, exc_info=True)


# A poll holds this lock per tenant, so a slow poll and the next beat's never apply the same changes at once.
POLL_LOCK_SECONDS = 300


@tenant_task()
def crm_poll(tenant) -> None:
    """Read the tenant's CRM changes back and apply what the CRM owns (crm_sync.inbound)."""
    # redis-py's lock holds a token of its own: a poll that outlived the lock never frees the next one's.
    lock = _redis().lock(f"{settings.PRM_CACHE_KEY_PREFIX}:crm-poll:{tenant.pk}", timeout=POLL_LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return
    try:
        polled = inbound.inbound_poll(tenant=tenant)
    finally:
        with contextlib.suppress(LockError):  # expired meanwhile, perhaps taken by the next poll: theirs
            lock.release()
    if polled.fetched or polled.errors:
        logger.info(
            "crm poll: %d read, %d applied, %d flagged, %d crm-only, %d unlinked%s",
            polled.fetched,
            polled.applied,
            polled.flagged,
            polled.crm_only,
            polled.unlinked,
            f", stopped: {polled.errors[0]}" if polled.errors else "",
        )


@app.task
def crm_poll_all() -> None:
    """Enqueue a poll for every tenant whose poll interval has passed."""
    for tenant_id in inbound.tenants_due():
        crm_poll.delay(tenant_id)


@tenant_task()
def crm_verify_nightly(tenant) -> None:
    """Compare the tenant's mirrored records with the CRM and record the drift count (crm_sync.verify)."""
    from crm_sync import verify

    verify.verify(tenant=tenant)


@app.task
def crm_verify_all() -> None:
    """The nightly drift check of every tenant with an enabled connection."""
    from crm_sync.models import CRMConnection
    from prm.models import Tenant
    from prm.tenancy import tenant_scope

    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            if CRMConnection.objects.filter(tenant=tenant, is_enabled=True).exists():
                crm_verify_nightly.delay(tenant.pk)

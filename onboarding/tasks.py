"""Onboarding's tasks: stall detection for one tenant, and beat's daily sweep over every tenant."""

from __future__ import annotations

import logging

from onboarding import services
from prm.celery import app, tenant_task
from prm.models import Tenant

logger = logging.getLogger("prm.onboarding")


@tenant_task(name="onboarding.tasks.onboarding_detect_stalls")
def onboarding_detect_stalls(tenant) -> None:
    """Flag and clear stalled partners of the tenant and email its channel managers their digests."""
    report = services.onboarding_detect_stalls(tenant=tenant)
    logger.info(
        "stall detection: %d stalled (%d new), %d recovered, %d digests",
        len(report.flagged),
        len(report.newly_flagged),
        len(report.cleared),
        len(report.digests),
    )


@app.task(name="onboarding.tasks.onboarding_detect_stalls_all")
def onboarding_detect_stalls_all() -> None:
    """Enqueue stall detection for every active tenant."""
    for tenant_id in Tenant.objects.filter(is_active=True).values_list("pk", flat=True):
        onboarding_detect_stalls.delay(tenant_id)

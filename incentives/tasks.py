"""incentives/'s beat tasks: the nightly tier evaluation and the expiry of unclaimed MDF approvals, tenant by
tenant."""

from __future__ import annotations

import logging

from incentives import services
from prm.celery import app, tenant_task
from prm.models import Tenant

logger = logging.getLogger("prm.incentives")


@tenant_task()
def tiers_evaluate(tenant) -> None:
    """Evaluate every partner of the tenant against the tier rules."""
    summary = services.tiers_evaluate()
    logger.info(
        "tier evaluation: %d partners, %d upgrades, %d downgrades recommended",
        summary.partners,
        summary.upgrades,
        summary.downgrades,
    )


@tenant_task()
def mdf_expire(tenant) -> None:
    """Expire the tenant's unclaimed MDF approvals past their deadline."""
    expired = services.mdf_expire_due()
    if expired:
        logger.info("mdf: %d unclaimed approvals expired", expired)


@app.task
def incentives_nightly_all() -> None:
    """Enqueue the evaluation and the MDF expiry of every active tenant."""
    for tenant_id in Tenant.objects.filter(is_active=True).values_list("pk", flat=True):
        tiers_evaluate.delay(tenant_id)
        mdf_expire.delay(tenant_id)

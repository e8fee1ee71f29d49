"""dealreg/'s beat tasks: the hourly sweep expires protections, warns of coming expiries and escalates
breached approval SLAs, tenant by tenant. Each step records what it did, so a sweep run twice does it once."""

from __future__ import annotations

import logging

from dealreg import services
from prm.celery import app, tenant_task
from prm.models import Tenant

logger = logging.getLogger("prm.dealreg")


@tenant_task()
def deals_sweep(tenant) -> None:
    """Expire, warn and escalate the tenant's deals that are due."""
    expired, warned = services.deals_expire_due()
    escalated = services.deals_escalate_sla()
    if expired or warned or escalated:
        logger.info("deal sweep: %d expired, %d warned, %d SLA escalations", expired, warned, escalated)


@app.task
def deals_sweep_all() -> None:
    """Enqueue the sweep of every active tenant."""
    for tenant_id in Tenant.objects.filter(is_active=True).values_list("pk", flat=True):
        deals_sweep.delay(tenant_id)

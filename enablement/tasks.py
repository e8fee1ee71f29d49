"""Enablement's tasks: the daily certificate expiry reminders."""

from __future__ import annotations

import logging

from enablement import services
from prm.celery import app, tenant_task
from prm.models import Tenant

logger = logging.getLogger("prm.enablement")


@tenant_task()
def certification_reminders(tenant) -> None:
    """Send the tenant's due 30- and 7-day certificate expiry reminders."""
    sent = services.certification_reminders_send()
    if sent:
        logger.info("certificate expiry reminders sent: %d", sent)


@app.task
def certification_reminders_all() -> None:
    """Beat's daily sweep: one reminder task per active tenant."""
    for tenant_id in Tenant.objects.filter(is_active=True).values_list("pk", flat=True):
        certification_reminders.delay(tenant_id)

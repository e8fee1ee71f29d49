"""Tasks of the core: outgoing email, invitations and the worker heartbeat."""

from __future__ import annotations

import logging
import smtplib
import time

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from prm.celery import _redis, app, tenant_task

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "worker-heartbeat"


def heartbeat_key() -> str:
    return f"{settings.PRM_CACHE_KEY_PREFIX}:{HEARTBEAT_KEY}"


@app.task(
    name="prm.tasks.send_email",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def send_email(message: dict) -> None:
    """Hand one serialised message (prm.mail.serialise) to the configured delivery backend."""
    from prm.mail import deserialise

    email = deserialise(message)
    with get_connection(settings.PRM_EMAIL_BACKEND) as connection:
        connection.send_messages([email])


@tenant_task(name="prm.tasks.membership_invite_send")
def membership_invite_send(tenant, membership_id: int, invited_by_id: int | None = None) -> None:
    """Email a new member their invitation (prm.emails.invitation); membership_add enqueues it on commit."""
    from prm import emails
    from prm.models import User

    invited_by = User.objects.filter(pk=invited_by_id).first() if invited_by_id else None
    logger.info("sending the invitation of membership %s", membership_id)
    emails.invitation(membership_id=membership_id, tenant=tenant, invited_by=invited_by)


@app.task(name="prm.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> float:
    """Record that a worker is alive and beat is scheduling; /healthz reads it."""
    now = time.time()
    _redis().set(heartbeat_key(), now)
    return now


__all__ = ["EmailMultiAlternatives", "membership_invite_send", "send_email", "worker_heartbeat"]

"""Tasks of the core: outgoing email and the worker heartbeat."""

from __future__ import annotations

import smtplib
import time

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from prm.celery import _redis, app

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


@app.task(name="prm.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> float:
    """Record that a worker is alive and beat is scheduling; /healthz reads it."""
    now = time.time()
    _redis().set(heartbeat_key(), now)
    return now


__all__ = ["EmailMultiAlternatives", "send_email", "worker_heartbeat"]

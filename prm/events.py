"""Domain events: how news travels up the stack without an app reading another app's tables.

A service sends an event; whoever cares connects a receiver in its AppConfig.ready(). `send_on_commit`
delivers once the writing transaction has committed, so listeners never see a change that rolled back.
Events that provision data inside the sender's own transaction (`tenant_created`) are sent at once.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# Sent inside the creating transaction: stage apps add their per-tenant defaults (partner types, tiers).
# kwargs: tenant
tenant_created = Signal()

# Lifecycle events, sent on commit. kwargs: tenant_id and the public ids named in the comment.
partner_approved = Signal()  # partner_id
agreement_signed = Signal()  # partner_id, user_id
profile_completed = Signal()  # partner_id
partner_first_login = Signal()  # partner_id, user_id
course_passed = Signal()  # partner_id, user_id, course_id, course_slug (may be empty)
deal_registered = Signal()  # partner_id, deal_id
deal_approved = Signal()  # partner_id, deal_id
deal_won = Signal()  # partner_id, deal_id


def send_on_commit(signal: Signal, sender, **kwargs) -> None:
    """Send `signal` once the current transaction commits (at once when none is open)."""
    transaction.on_commit(lambda: signal.send(sender=sender, **kwargs), robust=False)

"""What onboarding does when it hears of a lifecycle event (prm/events.py), and the sender of
`partner_first_login`.

Every receiver enters the event's tenant scope itself (events are delivered after the sender's commit, in
whatever context the sender ran) and does its writes through the services in one transaction. A receiver's
failure is logged, not raised: the sender's own work has committed already, and one listener's bug must not
turn the sender's page into an error.
"""

from __future__ import annotations

import functools
import logging

from django.db import transaction

from onboarding import services
from onboarding.models import FirstSignIn, TaskKind
from partners.models import Partner
from prm import events
from prm.models import Tenant
from prm.tenancy import current_tenant, tenant_scope

logger = logging.getLogger("prm.onboarding")


def _partner_event(handler):
    """Enter the tenant's scope, load the partner by its public id, run `handler(partner, **kwargs)`."""

    @functools.wraps(handler)
    def receive(sender, *, tenant_id, partner_id, **kwargs):
        try:
            tenant = Tenant.objects.get(pk=tenant_id)
            with tenant_scope(tenant), transaction.atomic():
                partner = Partner.objects.filter(public_id=partner_id).first()
                if partner is None:
                    logger.warning("onboarding: %s for unknown partner %s", handler.__name__, partner_id)
                    return
                handler(partner, **kwargs)
        except Exception:
            logger.exception("onboarding: %s failed for partner %s", handler.__name__, partner_id)

    return receive


@_partner_event
def on_partner_approved(partner, **kwargs):
    services.onboarding_start(partner=partner, acting_user=None)


@_partner_event
def on_agreement_signed(partner, **kwargs):
    services.onboarding_record_event(partner=partner, kind=TaskKind.AGREEMENT_SIGNED)


@_partner_event
def on_profile_completed(partner, **kwargs):
    services.onboarding_record_event(partner=partner, kind=TaskKind.PROFILE_COMPLETED)


@_partner_event
def on_partner_first_login(partner, **kwargs):
    services.onboarding_record_event(partner=partner, kind=TaskKind.FIRST_LOGIN)


@_partner_event
def on_course_passed(partner, *, course_id="", course_slug="", **kwargs):
    # A course task names its course by id or by short name: the pass counts under both.
    for ref in dict.fromkeys(str(ref) for ref in (course_id, course_slug) if ref):
        services.onboarding_record_event(partner=partner, kind=TaskKind.COURSE_PASSED, ref=ref)


@_partner_event
def on_deal_registered(partner, **kwargs):
    # Only the first deal matters to onboarding: the event is kept once per partner (ref left empty).
    services.onboarding_record_event(partner=partner, kind=TaskKind.DEAL_REGISTERED)


def add_tenant_defaults(sender, tenant, **kwargs) -> None:
    """A new tenant starts with the default onboarding plans and settings (after partners' default types)."""
    with tenant_scope(tenant):
        services.onboarding_plans_add_defaults(tenant=tenant)


def send_first_login(sender, request, user, **kwargs) -> None:
    """On Django's user_logged_in: the first sign-in of a partner person on their tenant's host sends
    `partner_first_login` once (a FirstSignIn row remembers it per person and tenant)."""
    from partners.selectors import partner_for_member
    from prm.models import Membership

    tenant = getattr(request, "tenant", None) if request is not None else None
    if tenant is None or current_tenant() is None:
        return
    membership = Membership.objects.active().filter(user=user).first()
    partner = partner_for_member(membership)
    if partner is None:
        return
    _row, created = FirstSignIn.objects.get_or_create(user=user, defaults={"partner": partner})
    if created:
        events.send_on_commit(
            events.partner_first_login,
            sender=FirstSignIn,
            tenant_id=tenant.pk,
            partner_id=partner.public_id,
            user_id=user.pk,
        )

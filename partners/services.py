"""Writes of partners/."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from partners.models import (
    STAGE_TRANSITIONS,
    Partner,
    PartnerMembership,
    PartnerType,
    Stage,
    StageChange,
    Tier,
)
from prm import services as core_services
from prm.models import PARTNER_ROLES, Membership, Role, User


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "partner"
    slug, n = base, 2
    while Partner.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def partner_create(
    *,
    name: str,
    partner_type: PartnerType,
    country: str,
    region: str,
    website_domain: str = "",
    tier: Tier | None = None,
    stage: str = Stage.APPLIED,
    acting_user: User | None,
) -> Partner:
    """Create a partner organisation in the active tenant."""
    partner = Partner(
        name=name,
        slug=_unique_slug(name),
        partner_type=partner_type,
        country=country,
        region=region,
        website_domain=website_domain,
        tier=tier,
        stage=stage,
    )
    partner.tenant = partner_type.tenant
    partner.full_clean()
    partner.save()
    StageChange.objects.create(
        tenant=partner.tenant, partner=partner, from_stage="", to_stage=stage, acting_user=acting_user
    )
    return partner


class StageTransitionError(ValidationError):
    """A lifecycle move the transition map does not allow."""


@transaction.atomic
def partner_change_stage(
    *, partner: Partner, to_stage: str, reason: str = "", acting_user: User | None
) -> StageChange | None:
    """Move a partner to `to_stage` and record the move; None when it already is there.

    Raises StageTransitionError for a move STAGE_TRANSITIONS does not allow.
    """
    # Lock the row: two events (say, a first deal and a manager's move) may move the same partner at once.
    locked = Partner.objects.select_for_update().only("id", "stage").get(pk=partner.pk)
    from_stage = locked.stage
    if from_stage == to_stage:
        return None
    if to_stage not in STAGE_TRANSITIONS.get(from_stage, frozenset()):
        raise StageTransitionError(
            _("A partner cannot move from %(from)s to %(to)s.")
            % {"from": Stage(from_stage).label, "to": Stage(to_stage).label}
        )
    Partner.objects.filter(pk=partner.pk).update(stage=to_stage, updated_at=timezone.now())
    partner.stage = to_stage
    return StageChange.objects.create(
        tenant=partner.tenant,
        partner=partner,
        from_stage=from_stage,
        to_stage=to_stage,
        reason=reason[:300],
        acting_user=acting_user,
    )


@transaction.atomic
def partner_member_add(
    *,
    partner: Partner,
    email: str,
    role: str = Role.PARTNER_USER,
    full_name: str = "",
    title: str = "",
    acting_user: User | None,
    send_invitation: bool = True,
) -> PartnerMembership:
    """Give a person a partner role in the partner's tenant, tied to `partner`."""
    if role not in PARTNER_ROLES:
        raise ValidationError({"role": _("People of a partner are partner admins or partner users.")})
    membership: Membership = core_services.membership_add(
        tenant=partner.tenant,
        email=email,
        role=role,
        full_name=full_name,
        acting_user=acting_user,
        send_invitation=send_invitation,
    )
    return PartnerMembership.objects.create(
        tenant=partner.tenant, membership=membership, partner=partner, title=title
    )


def partner_set_stalled(*, partner: Partner, reason: str | None) -> bool:
    """Flag a partner as stalled with `reason`, or clear the flag with None; True when the flag changed.

    A partner that stays stalled keeps its first `stalled_since`, so "stalled for N days" stays true.
    """
    if reason is None:
        changed = Partner.objects.filter(pk=partner.pk, stalled_since__isnull=False).update(
            stalled_since=None, stall_reason=""
        )
        partner.stalled_since, partner.stall_reason = None, ""
        return bool(changed)
    now = timezone.now()
    changed = Partner.objects.filter(pk=partner.pk, stalled_since__isnull=True).update(
        stalled_since=now, stall_reason=reason[:300]
    )
    Partner.objects.filter(pk=partner.pk).exclude(stall_reason=reason[:300]).update(stall_reason=reason[:300])
    partner.refresh_from_db(fields=["stalled_since", "stall_reason"])
    return bool(changed)

"""Writes of partners/."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext as _

from partners import emails as partner_emails
from partners import scoring
from partners.models import (
    APPLICATION_TRANSITIONS,
    STAGE_TRANSITIONS,
    AgreementAcceptance,
    ApplicationStatus,
    Partner,
    PartnerApplication,
    PartnerMembership,
    PartnerProfile,
    PartnerType,
    ProgramAgreement,
    Stage,
    StageChange,
    Tier,
)
from prm import events
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


# ---- Recruitment ----------------------------------------------------------------------------------------


class RecruitmentError(ValidationError):
    """A recruitment step that cannot happen as asked: the message says why; nothing was changed."""


def website_domain_of(website: str) -> str:
    """The company domain of a website address: its host, lowercased, without "www."."""
    from urllib.parse import urlsplit

    website = website.strip()
    host = urlsplit(website if "//" in website else f"//{website}").hostname or ""
    host = host.rstrip(".").lower()
    return host[4:] if host.startswith("www.") else host


def application_domain_taken(domain: str) -> bool:
    """Whether the active tenant already has an application or a partner for this company domain."""
    return (
        PartnerApplication.objects.filter(website_domain=domain).exists()
        or Partner.objects.filter(website_domain=domain).exists()
    )


@transaction.atomic
def application_submit(
    *,
    company_name: str,
    website: str,
    country: str,
    region: str,
    partner_type: PartnerType,
    employee_count: int,
    contact_name: str,
    contact_email: str,
    contact_phone: str = "",
    specialisations=(),
    answers: dict | None = None,
    submitted_from: str | None = None,
    send_confirmation: bool = True,
) -> PartnerApplication:
    """Record an application from the public form, score it against the ideal partner profile, and confirm
    it to the applicant. Raises RecruitmentError when the company's domain already applied."""
    domain = website_domain_of(website)
    taken = RecruitmentError(
        {"website": _("An application for this company already exists. We will be in touch.")}
    )
    if application_domain_taken(domain):
        raise taken
    application = PartnerApplication(
        company_name=company_name.strip(),
        website=website.strip(),
        website_domain=domain,
        country=country.strip().upper(),
        region=region,
        partner_type=partner_type,
        employee_count=employee_count,
        contact_name=contact_name.strip(),
        contact_email=contact_email.strip().lower(),
        contact_phone=contact_phone.strip(),
        answers=answers or {},
        submitted_from=submitted_from,
    )
    application.tenant = partner_type.tenant
    application.full_clean()
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError as twice:  # the same company's application saved in between (a double submit)
        raise taken from twice
    application.specialisations.set(specialisations)
    application_rescore(application=application)
    if send_confirmation:
        transaction.on_commit(lambda: partner_emails.application_received(application=application))
    return application


def application_rescore(*, application: PartnerApplication) -> PartnerApplication:
    """Score the application against the tenant's current ideal partner profile and keep the reasons."""
    application.fit_score, application.fit_reasons = scoring.fit_score(application)
    PartnerApplication.objects.filter(pk=application.pk).update(
        fit_score=application.fit_score, fit_reasons=application.fit_reasons
    )
    return application


def applications_rescore_pending() -> int:
    """Score every pending application again, after the ideal partner profile changed; returns how many.
    A fixed number of queries however many are pending: the criteria and specialisations read once, the
    scores written in one bulk update."""
    criteria = scoring.active_criteria()
    pending = list(PartnerApplication.objects.pending().prefetch_related("specialisations"))
    for application in pending:
        application.fit_score, application.fit_reasons = scoring.fit_score(application, criteria)
    PartnerApplication.objects.bulk_update(pending, ["fit_score", "fit_reasons"], batch_size=500)
    return len(pending)


def _application_decide(application: PartnerApplication, to_status: str) -> PartnerApplication:
    """Lock the application and check that it may move to `to_status`; raise RecruitmentError if not."""
    locked = PartnerApplication.objects.select_for_update().get(pk=application.pk)
    if to_status not in APPLICATION_TRANSITIONS[locked.status]:
        when = (
            date_format(timezone.localtime(locked.decided_at), "DATETIME_FORMAT") if locked.decided_at else ""
        )
        if locked.status == ApplicationStatus.APPROVED:
            message = _("%(company)s was already approved on %(when)s. Nothing was changed.")
        else:
            message = _("%(company)s was already rejected on %(when)s. Nothing was changed.")
        raise RecruitmentError(message % {"company": locked.company_name, "when": when})
    return locked


@transaction.atomic
def application_approve(
    *, application: PartnerApplication, reason: str = "", acting_user: User | None
) -> Partner:
    """Approve an application and provision the partner: the Partner (applied -> approved in its stage
    history), its profile, its partner admin (the contact person, emailed how to sign in), and
    `partner_approved` on commit, on which onboarding starts."""
    locked = _application_decide(application, ApplicationStatus.APPROVED)
    partner = partner_create(
        name=locked.company_name,
        partner_type=locked.partner_type,
        country=locked.country,
        region=locked.region,
        website_domain=locked.website_domain,
        stage=Stage.APPLIED,
        acting_user=None,
    )
    # The partner applied when the form came in, not when it was approved: application-to-approval time
    # is read from these two rows.
    StageChange.objects.filter(partner=partner).update(
        changed_at=locked.submitted_at, reason=_("Applied through the application form")[:300]
    )
    partner_change_stage(
        partner=partner,
        to_stage=Stage.APPROVED,
        reason=reason or _("Application approved"),
        acting_user=acting_user,
    )
    profile = PartnerProfile.objects.create(
        tenant=partner.tenant,
        partner=partner,
        employee_count=locked.employee_count,
        phone=locked.contact_phone,
    )
    profile.specialisations.set(locked.specialisations.all())
    link = partner_member_add(
        partner=partner,
        email=locked.contact_email,
        full_name=locked.contact_name,
        role=Role.PARTNER_ADMIN,
        acting_user=acting_user,
        send_invitation=False,  # the approval email below carries the invitation
    )
    locked.status = ApplicationStatus.APPROVED
    locked.decided_at = timezone.now()
    locked.decided_by = acting_user
    locked.decision_reason = reason
    locked.partner = partner
    locked.save(update_fields=["status", "decided_at", "decided_by", "decision_reason", "partner"])
    application.__dict__.update({f: getattr(locked, f) for f in ("status", "decided_at", "decision_reason")})
    application.partner = partner
    membership = link.membership
    transaction.on_commit(
        lambda: partner_emails.application_approved(application=locked, membership=membership)
    )
    events.send_on_commit(
        events.partner_approved,
        sender=Partner,
        tenant_id=partner.tenant_id,
        partner_id=str(partner.public_id),
    )
    return partner


@transaction.atomic
def application_reject(*, application: PartnerApplication, reason: str, acting_user: User | None) -> None:
    """Decline an application with a reason the applicant is emailed."""
    if not reason.strip():
        raise RecruitmentError({"reason": _("Say why the application is rejected; the applicant reads it.")})
    locked = _application_decide(application, ApplicationStatus.REJECTED)
    locked.status = ApplicationStatus.REJECTED
    locked.decided_at = timezone.now()
    locked.decided_by = acting_user
    locked.decision_reason = reason.strip()
    locked.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
    application.__dict__.update({f: getattr(locked, f) for f in ("status", "decided_at", "decision_reason")})
    transaction.on_commit(lambda: partner_emails.application_rejected(application=locked))


@transaction.atomic
def agreement_accept(
    *,
    agreement: ProgramAgreement,
    partner: Partner,
    typed_name: str,
    ip_address: str | None,
    user_agent: str,
    acting_user: User,
) -> AgreementAcceptance:
    """Record a partner admin's acceptance of the partner's current agreement, and send `agreement_signed`.

    Raises RecruitmentError for an outdated version (a newer one is in force), a version already accepted,
    a name that is not the person's, or someone who is not a partner admin of `partner`.
    """
    from partners import selectors

    if not PartnerMembership.objects.filter(
        partner=partner,
        membership__user=acting_user,
        membership__role=Role.PARTNER_ADMIN,
        membership__is_active=True,
    ).exists():
        raise RecruitmentError(
            _("Only a partner admin of %(partner)s can accept the agreement.") % {"partner": partner}
        )
    # Lock the partner: two admins accepting at once record one acceptance.
    Partner.objects.select_for_update().filter(pk=partner.pk).first()
    current = selectors.current_agreement(partner)
    if current is None or current.pk != agreement.pk:
        raise RecruitmentError(
            _("This version of the agreement is no longer current. Read the current version and accept it.")
        )
    if AgreementAcceptance.objects.filter(agreement=agreement, partner=partner).exists():
        raise RecruitmentError(_("%(partner)s has already accepted this version.") % {"partner": partner})
    typed = " ".join(typed_name.split())
    expected = " ".join((acting_user.full_name or "").split())
    if not typed or (expected and typed.casefold() != expected.casefold()):
        raise RecruitmentError({"typed_name": _("Type your full name as it appears on your account.")})
    acceptance = AgreementAcceptance.objects.create(
        tenant=partner.tenant,
        agreement=agreement,
        partner=partner,
        user=acting_user,
        typed_name=typed,
        ip_address=ip_address or None,
        user_agent=user_agent[:500],
    )
    events.send_on_commit(
        events.agreement_signed,
        sender=AgreementAcceptance,
        tenant_id=partner.tenant_id,
        partner_id=str(partner.public_id),
        user_id=acting_user.pk,
    )
    return acceptance


def _require_partner_admin(partner: Partner, user: User) -> None:
    if not PartnerMembership.objects.filter(
        partner=partner,
        membership__user=user,
        membership__role=Role.PARTNER_ADMIN,
        membership__is_active=True,
    ).exists():
        raise RecruitmentError(_("Only a partner admin of %(partner)s can do this.") % {"partner": partner})


@transaction.atomic
def partner_colleague_invite(
    *, partner: Partner, email: str, full_name: str, role: str, title: str = "", acting_user: User
) -> PartnerMembership:
    """A partner admin gives a colleague access to the portal; the colleague is emailed an invitation."""
    _require_partner_admin(partner, acting_user)
    return partner_member_add(
        partner=partner, email=email, full_name=full_name, role=role, title=title, acting_user=acting_user
    )


@transaction.atomic
def partner_colleague_deactivate(*, link: PartnerMembership, acting_user: User) -> PartnerMembership:
    """A partner admin takes a colleague's access away; the colleague's sessions end at once."""
    _require_partner_admin(link.partner, acting_user)
    if link.membership.user_id == acting_user.pk:
        raise RecruitmentError(_("You cannot deactivate yourself. Ask another partner admin."))
    core_services.membership_deactivate(membership=link.membership, acting_user=acting_user)
    return link


@transaction.atomic
def partner_profile_update(
    *,
    partner: Partner,
    description: str,
    employee_count: int | None,
    phone: str = "",
    specialisations=(),
    acting_user: User,
) -> PartnerProfile:
    """A partner admin keeps the partner's profile; the first time every part is filled in, the profile is
    complete and `profile_completed` is sent."""
    _require_partner_admin(partner, acting_user)
    profile, _created = PartnerProfile.objects.select_for_update().get_or_create(
        partner=partner, defaults={"tenant": partner.tenant}
    )
    profile.description = description.strip()
    profile.employee_count = employee_count
    profile.phone = phone.strip()
    profile.save()
    profile.specialisations.set(specialisations)
    complete = bool(profile.description and profile.employee_count and profile.specialisations.exists())
    if complete and profile.completed_at is None:
        profile.completed_at = timezone.now()
        PartnerProfile.objects.filter(pk=profile.pk).update(completed_at=profile.completed_at)
        events.send_on_commit(
            events.profile_completed,
            sender=PartnerProfile,
            tenant_id=partner.tenant_id,
            partner_id=str(partner.public_id),
        )
    return profile

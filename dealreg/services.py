"""Writes of dealreg/: registering, deciding, closing, expiring and extending deals; customer accounts.

Every status change goes through `deal_transition` (the one transition map is `DEAL_TRANSITIONS`), and
every decision is a `DealEvent` row saying who, when and why. Events and emails leave on commit.
"""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dealreg import emails
from dealreg.conflicts import normalize_domain, normalize_name
from dealreg.models import (
    DEAL_TRANSITIONS,
    EXPIRY_WARNING_DAYS,
    EXTENSION_TRANSITIONS,
    AccountSource,
    CustomerAccount,
    Deal,
    DealAttachment,
    DealConflict,
    DealEvent,
    DealEventKind,
    DealRegSettings,
    DealStatus,
    ExtensionRequest,
    ExtensionStatus,
)
from dealreg.selectors import conflict_matches
from partners.models import Partner
from prm import currencies, events
from prm.models import User
from prm.tenancy import current_tenant


class DealTransitionError(Exception):
    """A status change the workflow does not allow (an expired deal cannot be approved, say)."""


def deal_transition(deal: Deal, to: str) -> None:
    """Move `deal` to status `to`, or raise DealTransitionError; the only place a deal's status is set."""
    if to not in DEAL_TRANSITIONS.get(deal.status, set()):
        raise DealTransitionError(
            _("A deal that is %(current)s cannot become %(new)s.")
            % {"current": deal.get_status_display(), "new": DealStatus(to).label}
        )
    deal.status = to


def extension_transition(extension: ExtensionRequest, to: str) -> None:
    """Move an extension request to status `to`, or raise DealTransitionError."""
    if to not in EXTENSION_TRANSITIONS.get(extension.status, set()):
        raise DealTransitionError(_("This extension request has been decided already."))
    extension.status = to


def add_business_days(start: datetime, days: int, time_zone: str) -> datetime:
    """`start` moved forward by `days` working days (Monday to Friday) in the tenant's time zone."""
    local = start.astimezone(zoneinfo.ZoneInfo(time_zone))
    if local.weekday() >= 5:  # registered at the weekend: the clock starts on Monday morning
        local = (local + timedelta(days=7 - local.weekday())).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
    remaining = days
    while remaining > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            remaining -= 1
    return local


def _record(deal: Deal, kind: str, actor: User | None, reason: str = "") -> DealEvent:
    return DealEvent.objects.create(tenant=deal.tenant, deal=deal, kind=kind, actor=actor, reason=reason)


def _send(signal, deal: Deal) -> None:
    events.send_on_commit(
        signal,
        sender=Deal,
        tenant_id=deal.tenant_id,
        partner_id=deal.partner.public_id,
        deal_id=deal.public_id,
    )


@dataclass
class DealInput:
    """What a partner fills in on the registration form."""

    name: str
    customer_name: str
    customer_domain: str
    customer_country: str
    contact_name: str
    contact_email: str
    products: str
    amount: Decimal
    currency: str
    expected_close_date: date
    description: str = ""
    extra: dict | None = None
    attachment: Any = None  # an uploaded file the form checked, with its `prm_extension`


def currency_problem(currency: str) -> str | None:
    """Why a deal cannot be in `currency` (neither the program's currency nor one with an exchange rate),
    None when it can."""
    if currency in currencies.accepted_currencies():
        return None
    return _(
        "%(currency)s is not a currency of this program: use %(home)s or a currency with an exchange rate."
    ) % {"currency": currency, "home": currencies.home_currency()}


def deal_validate(*, data: DealInput, settings: DealRegSettings) -> None:
    """Raise ValidationError (by field) for values no registration may have."""
    errors: dict[str, str] = {}
    if data.amount is not None and data.amount < 0:
        errors["amount"] = _("The amount cannot be negative.")
    if data.currency and (problem := currency_problem(data.currency)):
        errors["currency"] = problem
    earliest = timezone.localdate() - timedelta(days=settings.close_date_tolerance_days)
    if data.expected_close_date is not None and data.expected_close_date < earliest:
        errors["expected_close_date"] = _("The expected close date cannot lie in the past.")
    extra = data.extra or {}
    for spec in settings.extra_field_specs():
        if spec["required"] and not str(extra.get(spec["name"], "")).strip():
            errors[f"extra_{spec['name']}"] = _("This field is required.")
    if errors:
        raise ValidationError(errors)


def deal_register(
    *,
    partner: Partner,
    data: DealInput,
    acting_user: User,
    submission_key: uuid.UUID | None = None,
) -> Deal:
    """Register a deal for `partner`: check it for channel conflicts, start its SLA clock, and approve it at
    once when the tenant's auto-approve rule allows. A second call with the same `submission_key` (a
    double-clicked or resubmitted form) returns the deal the first one made."""
    settings = DealRegSettings.current()
    if submission_key is not None:
        existing = Deal.objects.filter(submission_key=submission_key, partner=partner).first()
        if existing is not None:
            return existing
    deal_validate(data=data, settings=settings)
    tenant = current_tenant() or partner.tenant
    try:
        with transaction.atomic():
            deal = _deal_create(partner, data, acting_user, submission_key, settings, tenant)
    except IntegrityError:
        # The same form, submitted twice at the same moment: the other request made the deal.
        existing = Deal.objects.filter(submission_key=submission_key, partner=partner).first()
        if existing is None:
            raise
        return existing
    return deal


def _deal_create(partner, data, acting_user, submission_key, settings, tenant) -> Deal:
    now = timezone.now()
    deal = Deal(
        tenant=tenant,
        partner=partner,
        registered_by=acting_user,
        name=data.name,
        customer_name=data.customer_name,
        customer_domain=data.customer_domain,
        customer_country=data.customer_country,
        contact_name=data.contact_name,
        contact_email=data.contact_email,
        products=data.products,
        amount=data.amount,
        currency=data.currency,
        expected_close_date=data.expected_close_date,
        description=data.description,
        extra=data.extra or {},
        submitted_at=now,
        sla_due_at=add_business_days(now, settings.sla_business_days, tenant.time_zone),
    )
    if submission_key is not None:
        deal.submission_key = submission_key
    deal.full_clean(exclude=["tenant", "registered_by"])
    deal.save()
    matches = conflict_matches(
        name=deal.customer_name, domain=deal.customer_domain, partner=partner, exclude_deal=deal
    )
    DealConflict.objects.bulk_create(
        [
            DealConflict(
                tenant=tenant,
                deal=deal,
                other_deal_id=m.pk if m.target == "deal" else None,
                customer_account_id=m.pk if m.target == "account" else None,
                kind=m.kind,
                score=m.score,
            )
            for m in matches
        ]
    )
    if matches:
        deal.has_conflict = True
        deal.save(update_fields=["has_conflict", "updated_at"])
    if data.attachment is not None:
        DealAttachment.objects.create(
            tenant=tenant,
            deal=deal,
            file=data.attachment,
            name=data.attachment.name[:200],
            extension=data.attachment.prm_extension,
            size=data.attachment.size,
        )
    _record(deal, DealEventKind.SUBMITTED, acting_user)
    _send(events.deal_registered, deal)
    limit = settings.auto_approve_max_amount
    if settings.auto_approve and not matches and (limit is None or deal.amount < limit):
        _approve(deal, acting_user=None, reason=_("No possible conflict and within the auto-approve limit."))
    return deal


def _customer_for(deal: Deal) -> CustomerAccount:
    """The customer account a deal's customer is: the one with its domain, else (for a deal without a
    domain) the one with exactly its normalised name, else a new one."""
    if deal.normalized_domain:
        found = CustomerAccount.objects.filter(normalized_domain=deal.normalized_domain).first()
    else:
        found = CustomerAccount.objects.filter(normalized_name=deal.normalized_name).order_by("pk").first()
    if found is not None:
        return found
    return CustomerAccount.objects.create(
        tenant=deal.tenant,
        name=deal.customer_name,
        domain=deal.customer_domain,
        country=deal.customer_country,
        source=AccountSource.PORTAL,
    )


def _approve(deal: Deal, *, acting_user: User | None, reason: str, notify: bool = True) -> None:
    settings = DealRegSettings.current()
    deal_transition(deal, DealStatus.APPROVED)
    now = timezone.now()
    deal.decided_at = now
    deal.protection_expires_on = timezone.localdate(now) + timedelta(days=settings.protection_days)
    deal.customer = _customer_for(deal)
    deal.save()
    kind = DealEventKind.APPROVED if acting_user is not None else DealEventKind.AUTO_APPROVED
    _record(deal, kind, acting_user, reason)
    _send(events.deal_approved, deal)
    if notify:
        _email_on_commit(emails.deal_decided, deal)


def _locked(deal: Deal) -> Deal:
    """The deal's row, locked for this transaction: two managers may decide the same deal at once."""
    return Deal.objects.select_for_update(of=("self",)).select_related("partner").get(pk=deal.pk)


@transaction.atomic
def deal_approve(*, deal: Deal, acting_user: User, reason: str = "", notify: bool = True) -> Deal:
    """Approve a submitted registration: its protection period starts, and it goes to the CRM. The
    registrant is emailed unless `notify` is off (the demo's seed)."""
    deal = _locked(deal)
    _approve(deal, acting_user=acting_user, reason=reason, notify=notify)
    return deal


@transaction.atomic
def deal_reject(*, deal: Deal, acting_user: User, reason: str, notify: bool = True) -> Deal:
    """Reject a submitted registration, saying why (the partner sees the reason); emailed unless `notify`
    is off."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the registration is rejected.")})
    deal = _locked(deal)
    deal_transition(deal, DealStatus.REJECTED)
    deal.decided_at = timezone.now()
    deal.save()
    _record(deal, DealEventKind.REJECTED, acting_user, reason.strip())
    if notify:
        _email_on_commit(emails.deal_decided, deal)
    return deal


@transaction.atomic
def deal_close(*, deal: Deal, won: bool, acting_user: User, reason: str = "") -> Deal:
    """Mark an approved deal won or lost."""
    deal = _locked(deal)
    deal_transition(deal, DealStatus.WON if won else DealStatus.LOST)
    deal.closed_at = timezone.now()
    deal.save()
    _record(deal, DealEventKind.WON if won else DealEventKind.LOST, acting_user, reason)
    if won:
        _send(events.deal_won, deal)
    return deal


@transaction.atomic
def deal_expire(*, deal: Deal, acting_user: User | None = None) -> Deal:
    """End an approved deal's protection (its period is over and was not extended)."""
    deal = _locked(deal)
    deal_transition(deal, DealStatus.EXPIRED)
    deal.closed_at = timezone.now()
    deal.save()
    _record(deal, DealEventKind.EXPIRED, acting_user)
    _email_on_commit(emails.deal_expired, deal)
    return deal


@transaction.atomic
def extension_request(*, deal: Deal, days: int, reason: str, acting_user: User) -> ExtensionRequest:
    """A partner asks for `days` more protection of an approved deal; one open request per deal."""
    deal = _locked(deal)
    errors = {}
    if deal.status != DealStatus.APPROVED:
        errors["days"] = _("Only an approved deal's protection can be extended.")
    elif deal.extensions.filter(status=ExtensionStatus.REQUESTED).exists():
        errors["days"] = _("An extension of this deal is waiting for a decision already.")
    if not days or days < 1:
        errors["days"] = _("Ask for at least one day.")
    if not (reason or "").strip():
        errors["reason"] = _("Say why the deal needs more time.")
    if errors:
        raise ValidationError(errors)
    extension = ExtensionRequest.objects.create(
        tenant=deal.tenant, deal=deal, days=days, reason=reason.strip(), requested_by=acting_user
    )
    _record(deal, DealEventKind.EXTENSION_REQUESTED, acting_user, f"+{days}: {reason.strip()}")
    return extension


@transaction.atomic
def extension_decide(
    *, extension: ExtensionRequest, grant: bool, acting_user: User, reason: str = ""
) -> ExtensionRequest:
    """Grant (the protection moves by the requested days) or refuse an extension request."""
    extension = ExtensionRequest.objects.select_for_update().get(pk=extension.pk)
    deal = _locked(extension.deal)
    extension_transition(extension, ExtensionStatus.GRANTED if grant else ExtensionStatus.REFUSED)
    if grant and deal.status != DealStatus.APPROVED:
        raise DealTransitionError(_("Only an approved deal's protection can be extended."))
    extension.decided_by, extension.decided_at, extension.decision_reason = (
        acting_user,
        timezone.now(),
        reason,
    )
    extension.save()
    if grant:
        deal.protection_expires_on = max(deal.protection_expires_on, timezone.localdate()) + timedelta(
            days=extension.days
        )
        deal.expiry_warned_at = None
        deal.save()
    kind = DealEventKind.EXTENSION_GRANTED if grant else DealEventKind.EXTENSION_REFUSED
    _record(deal, kind, acting_user, reason)
    _email_on_commit(emails.extension_decided, deal, extension=extension)
    return extension


def deals_expire_due(*, today: date | None = None) -> tuple[int, int]:
    """The active tenant's daily protection sweep: expire deals whose protection ended, and warn partners
    EXPIRY_WARNING_DAYS ahead (once). Returns (expired, warned)."""
    today = today or timezone.localdate()
    expired = 0
    for deal in Deal.objects.protection_ended(today=today):
        deal_expire(deal=deal)
        expired += 1
    warned = 0
    for deal in Deal.objects.expiring_within(days=EXPIRY_WARNING_DAYS, today=today).filter(
        expiry_warned_at__isnull=True
    ):
        with transaction.atomic():
            deal = _locked(deal)
            deal.expiry_warned_at = timezone.now()
            deal.save(update_fields=["expiry_warned_at", "updated_at"])
            _record(deal, DealEventKind.EXPIRY_WARNED, None)
            _email_on_commit(emails.deal_expiring, deal)
        warned += 1
    return expired, warned


def deals_escalate_sla(*, now: datetime | None = None) -> int:
    """Email the tenant admins about registrations past their SLA clock (once per registration)."""
    breached = list(
        Deal.objects.sla_breached(now=now).filter(sla_escalated_at__isnull=True).select_related("partner")
    )
    if not breached:
        return 0
    with transaction.atomic():
        for deal in breached:
            deal.sla_escalated_at = timezone.now()
            deal.save(update_fields=["sla_escalated_at", "updated_at"])
            _record(deal, DealEventKind.SLA_ESCALATED, None)
        ids = [deal.pk for deal in breached]
        tenant = breached[0].tenant
        transaction.on_commit(lambda: emails.sla_breached(tenant=tenant, deal_ids=ids))
    return len(breached)


def _email_on_commit(func, deal: Deal, **kwargs) -> None:
    tenant, deal_id = deal.tenant, deal.pk
    transaction.on_commit(lambda: func(tenant=tenant, deal_id=deal_id, **kwargs))


@transaction.atomic
def customer_account_upsert(
    *,
    name: str,
    domain: str = "",
    country: str = "",
    source: str = AccountSource.IMPORT,
    crm_id: str = "",
    has_open_opportunity: bool = False,
    acting_user: User | None,
) -> tuple[CustomerAccount, bool]:
    """Add a customer account, or update the one with the same domain (else the same normalised name);
    (account, created)."""
    if not (name or "").strip():
        raise ValidationError({"name": _("A customer account needs a name.")})
    domain = normalize_domain(domain)
    account = None
    if domain:
        account = CustomerAccount.objects.filter(normalized_domain=domain).first()
    if account is None:
        account = CustomerAccount.objects.filter(
            normalized_name=normalize_name(name), normalized_domain=""
        ).first()
    created = account is None
    account = account or CustomerAccount(tenant=current_tenant(), source=source)
    account.name, account.domain = name.strip(), domain or account.domain
    account.country = country or account.country
    account.crm_id = crm_id or account.crm_id
    account.has_open_opportunity = has_open_opportunity or account.has_open_opportunity
    account.full_clean(exclude=["tenant"])
    account.save()
    return account, created


# --- values from the CRM (crm_sync.inbound applies the CRM's changes through these) ----------------------

# Salesforce's standard Opportunity stages; the two closed ones decide the deal.
CRM_OPEN_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
)
CRM_STAGE_STATUS = {"Closed Won": DealStatus.WON, "Closed Lost": DealStatus.LOST}


def crm_stage_status(stage: str) -> str | None:
    """The deal status a CRM stage stands for: won, lost, or None for an open stage; ValueError for a stage
    the portal does not know."""
    if stage in CRM_STAGE_STATUS:
        return CRM_STAGE_STATUS[stage]
    if stage in CRM_OPEN_STAGES:
        return None
    raise ValueError(stage)


def crm_stage_equivalent(portal: Any, crm: Any) -> bool:
    """Whether the portal's stage and the CRM's say the same about the deal: any open stage is "open"."""
    try:
        return crm_stage_status(str(portal or "")) == crm_stage_status(str(crm or ""))
    except ValueError:
        return False


@transaction.atomic
def deal_apply_crm_update(*, record: Deal, values: dict[str, Any], acting_user: User | None = None) -> Deal:
    """Apply the CRM's values of an approved (or closed) deal's Opportunity: `values` maps the deal's mapped
    paths (crm_stage, amount, currency, expected_close_date, description, name) to the CRM's values (a
    currency only if it is the program's or has an exchange rate). Closed Won and Closed Lost close the deal
    through deal_close (its event and the deal_won signal fire as for a portal edit). A value the deal
    cannot take raises ValidationError and changes nothing."""
    deal = _locked(record)
    errors: dict[str, str] = {}
    target = None
    for path, value in values.items():
        if path == "crm_stage":
            try:
                target = crm_stage_status(str(value or ""))
            except ValueError:
                errors["crm_stage"] = _("The CRM stage %(stage)s is not one the portal knows.") % {
                    "stage": value
                }
                continue
            if target is None and deal.status != DealStatus.APPROVED:
                errors["crm_stage"] = _("A deal that is %(status)s cannot be reopened from the CRM.") % {
                    "status": deal.get_status_display()
                }
            elif target is not None and deal.status != target:
                already_closed = deal.status in (DealStatus.WON, DealStatus.LOST, DealStatus.EXPIRED)
                if already_closed and not (target == DealStatus.LOST and deal.status == DealStatus.EXPIRED):
                    errors["crm_stage"] = _("A deal that is %(current)s cannot become %(new)s.") % {
                        "current": deal.get_status_display(),
                        "new": DealStatus(target).label,
                    }
            if target == DealStatus.LOST and deal.status == DealStatus.EXPIRED:
                target = None
        elif path == "amount":
            if value is None or value == "":
                errors["amount"] = _("The CRM amount %(value)s is negative or empty.") % {"value": value}
                continue
            try:
                amount = Decimal(str(value))
            except (ArithmeticError, ValueError):
                errors["amount"] = _("The CRM amount %(value)s is not a number.") % {"value": value}
                continue
            if not amount.is_finite():
                errors["amount"] = _("The CRM amount %(value)s is not a number.") % {"value": value}
                continue
            if amount < 0:
                errors["amount"] = _("The CRM amount %(value)s is negative or empty.") % {"value": value}
                continue
            deal.amount = amount.quantize(Decimal("0.01"))
        elif path == "expected_close_date":
            try:
                deal.expected_close_date = date.fromisoformat(str(value)[:10])
            except ValueError:
                errors["expected_close_date"] = _("The CRM close date %(value)s is not a date.") % {
                    "value": value
                }
        elif path == "currency":
            code = str(value or "").strip().upper()
            if problem := currency_problem(code):
                errors["currency"] = problem
                continue
            deal.currency = code
        elif path in ("description", "name"):
            setattr(deal, path, value or "")
        else:
            errors[path] = _("The deal's %(field)s is not set from the CRM.") % {"field": path}
    if not errors:
        try:
            deal.full_clean(exclude=["tenant", "partner", "registered_by", "customer"])
        except ValidationError as invalid:
            errors.update({name: " ".join(messages) for name, messages in invalid.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    deal.save()
    if target is not None and deal.status == DealStatus.APPROVED:
        deal = deal_close(
            deal=deal, won=target == DealStatus.WON, acting_user=acting_user, reason=_("Closed in the CRM.")
        )
    return deal


@transaction.atomic
def customer_account_from_crm(*, record: dict[str, Any], find=None) -> CustomerAccount | None:
    """Fill the read-only copy of a CRM Account the portal did not create (source "crm"), or, for an open
    Opportunity the portal did not create, mark its Account as having one; the conflict check sees both."""
    attributes = record.get("attributes") or {}
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    if kind == "Opportunity" or "StageName" in record:
        account = CustomerAccount.objects.filter(crm_id=record.get("AccountId") or "-").first()
        if account is None and find is not None and record.get("AccountId"):
            account = find(record["AccountId"])
        is_open = str(record.get("StageName") or "") not in CRM_STAGE_STATUS
        if account is not None and is_open and not account.has_open_opportunity:
            CustomerAccount.objects.filter(pk=account.pk).update(has_open_opportunity=True)
        return account
    crm_id = record.get("Id") or ""
    name = (record.get("Name") or "").strip()
    if not crm_id or not name:
        return None
    account = CustomerAccount.objects.filter(crm_id=crm_id, source=AccountSource.CRM).first()
    account = account or CustomerAccount(tenant=current_tenant(), source=AccountSource.CRM, crm_id=crm_id)
    account.name = name[:200]
    account.domain = normalize_domain(record.get("Website") or "")
    account.country = (
        (record.get("BillingCountry") or "")[:2] if len(record.get("BillingCountry") or "") == 2 else ""
    )
    try:
        account.full_clean(exclude=["tenant"])
    except ValidationError:
        account.domain = ""
    account.save()
    return account

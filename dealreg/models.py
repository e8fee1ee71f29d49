"""Deal registration: the tenant's customer accounts, partners' deal registrations with their conflicts,
decisions and extension requests, and each tenant's deal-registration settings."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enablement.storage import private_storage
from partners.models import Partner
from prm.models import CURRENCY_CHOICES, domain_validator
from prm.tenancy import TenantOwnedModel, scoped_manager

EXPIRY_WARNING_DAYS = 14


class DealRegSettings(TenantOwnedModel):
    """One row per tenant: how its deal registration works. Created with defaults on first use."""

    protection_days = models.PositiveIntegerField(
        _("protection period (days)"),
        default=90,
        validators=[MinValueValidator(1)],
        help_text=_("How long an approved registration protects the partner's deal."),
    )
    sla_business_days = models.PositiveIntegerField(
        _("approval SLA (business days)"),
        default=2,
        validators=[MinValueValidator(1)],
        help_text=_(
            "A registration not decided within this many business days escalates to the tenant admins."
        ),
    )
    close_date_tolerance_days = models.PositiveIntegerField(
        _("close date tolerance (days)"),
        default=0,
        help_text=_("How many days in the past an expected close date may lie."),
    )
    name_match_threshold = models.PositiveIntegerField(
        _("name match threshold"),
        default=88,
        validators=[MinValueValidator(50)],
        help_text=_("Similarity (50–100) from which two company names count as a possible conflict."),
    )
    auto_approve = models.BooleanField(
        _("auto-approve"),
        default=False,
        help_text=_("Approve registrations without a possible conflict and below the amount limit at once."),
    )
    auto_approve_max_amount = models.DecimalField(
        _("auto-approve amount limit"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Registrations of this amount or more wait for a channel manager. Empty: no limit."),
    )
    lead_mode = models.BooleanField(
        _("send registrations to the CRM as leads"),
        default=False,
        help_text=_(
            "Submitted registrations go to the CRM as Leads; approval marks the Lead converted and the deal "
            "goes on as an Opportunity."
        ),
    )
    extra_fields = models.JSONField(
        _("extra fields"),
        default=list,
        blank=True,
        help_text=_(
            'More questions on the registration form, as a list such as [{"name": "industry", '
            '"label": "Industry", "required": true}].'
        ),
    )

    class Meta:
        verbose_name = _("deal registration settings")
        verbose_name_plural = _("deal registration settings")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="dealreg_settings_one_per_tenant")]

    def __str__(self) -> str:
        return str(_("Deal registration settings"))

    @classmethod
    def current(cls) -> DealRegSettings:
        """The active tenant's settings, created with the defaults when it has none yet."""
        found = cls.objects.first()
        return found if found is not None else cls.objects.get_or_create()[0]

    def extra_field_specs(self) -> list[dict]:
        """The well-formed entries of `extra_fields` (a name and a label each)."""
        specs = []
        for entry in self.extra_fields or []:
            if isinstance(entry, dict) and entry.get("name") and entry.get("label"):
                specs.append(
                    {
                        "name": str(entry["name"]),
                        "label": str(entry["label"]),
                        "required": bool(entry.get("required")),
                    }
                )
        return specs


class AccountSource(models.TextChoices):
    PORTAL = "portal", _("Portal")
    IMPORT = "import", _("Import")
    CRM = "crm", _("CRM")


class CustomerAccount(TenantOwnedModel):
    """An end customer partners sell to. Filled by approved registrations, imports and (later) the CRM's own
    accounts: `crm_id` and `source` say where a row came from."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("website domain"), max_length=253, blank=True, validators=[domain_validator])
    country = models.CharField(_("country"), max_length=2, blank=True)
    normalized_name = models.CharField(_("normalised name"), max_length=200, editable=False, db_index=True)
    normalized_domain = models.CharField(_("normalised domain"), max_length=253, editable=False, blank=True)
    source = models.CharField(
        _("source"), max_length=8, choices=AccountSource.choices, default=AccountSource.PORTAL
    )
    crm_id = models.CharField(_("CRM id"), max_length=18, blank=True)
    has_open_opportunity = models.BooleanField(
        _("open opportunity in the CRM"), default=False, help_text=_("Set by imports and the CRM.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer account")
        verbose_name_plural = _("customer accounts")
        indexes = [models.Index(fields=["tenant", "normalized_domain"])]

    def __str__(self) -> str:
        return self.name

    # What the CRM mirror sends as a deal's AccountId: the CRM's own Id for an account that came from the
    # CRM (it has no external ID there), else this account's public id.
    def crm_reference(self) -> str:
        return self.crm_id if self.source == AccountSource.CRM and self.crm_id else str(self.public_id)

    def save(self, *args, **kwargs):
        from dealreg.conflicts import normalize_domain, normalize_name

        self.country = (self.country or "").upper()
        self.domain = normalize_domain(self.domain)
        self.normalized_domain = self.domain
        self.normalized_name = normalize_name(self.name)
        super().save(*args, **kwargs)


class DealStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    EXPIRED = "expired", _("Expired")


# The one transition map of a deal's status (dealreg.services.deal_transition applies it).
DEAL_TRANSITIONS: dict[str, set[str]] = {
    DealStatus.SUBMITTED: {DealStatus.APPROVED, DealStatus.REJECTED},
    DealStatus.APPROVED: {DealStatus.WON, DealStatus.LOST, DealStatus.EXPIRED},
    DealStatus.REJECTED: set(),
    DealStatus.WON: set(),
    DealStatus.LOST: set(),
    DealStatus.EXPIRED: set(),
}
OPEN_STATUSES = (DealStatus.SUBMITTED, DealStatus.APPROVED)
# Only these reach the CRM as Opportunities (dealreg/crm.py).
MIRRORED_STATUSES = (DealStatus.APPROVED, DealStatus.WON, DealStatus.LOST, DealStatus.EXPIRED)


class DealQuerySet(models.QuerySet):
    def open(self):
        """Registrations still in play: submitted or approved."""
        return self.filter(status__in=OPEN_STATUSES)

    def for_lists(self):
        """What list pages show about each deal, in one query."""
        return self.select_related("partner", "registered_by", "customer")

    def expiring_within(self, *, days: int = EXPIRY_WARNING_DAYS, today: date | None = None):
        """Approved deals whose protection ends within `days` days (and has not ended yet)."""
        today = today or timezone.localdate()
        return self.filter(
            status=DealStatus.APPROVED,
            protection_expires_on__gte=today,
            protection_expires_on__lte=today + timedelta(days=days),
        )

    def protection_ended(self, *, today: date | None = None):
        """Approved deals whose protection period is over."""
        return self.filter(
            status=DealStatus.APPROVED, protection_expires_on__lt=today or timezone.localdate()
        )

    def sla_breached(self, *, now=None):
        """Submitted registrations past their SLA clock."""
        return self.filter(status=DealStatus.SUBMITTED, sla_due_at__lt=now or timezone.now())

    def by_sla(self):
        """Oldest SLA deadline first: the approval queue's order."""
        return self.order_by(models.F("sla_due_at").asc(nulls_last=True), "submitted_at", "public_id")


class Deal(TenantOwnedModel):
    """A partner's registration of an opportunity with an end customer."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="deals", verbose_name=_("partner")
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    # A form's one-time key: a double-clicked or resubmitted form finds the deal it already made.
    submission_key = models.UUIDField(_("submission key"), default=uuid.uuid4, editable=False)
    name = models.CharField(_("deal name"), max_length=120)
    customer_name = models.CharField(_("customer"), max_length=200)
    customer_domain = models.CharField(
        _("customer website domain"), max_length=253, blank=True, validators=[domain_validator]
    )
    customer_country = models.CharField(_("customer country"), max_length=2, blank=True)
    normalized_name = models.CharField(_("normalised name"), max_length=200, editable=False, db_index=True)
    normalized_domain = models.CharField(_("normalised domain"), max_length=253, editable=False, blank=True)
    customer = models.ForeignKey(
        CustomerAccount,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deals",
        verbose_name=_("customer account"),
    )
    contact_name = models.CharField(_("customer contact"), max_length=160)
    contact_email = models.EmailField(_("contact email"), blank=True)
    products = models.CharField(_("products"), max_length=255)
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    expected_close_date = models.DateField(_("expected close date"))
    description = models.TextField(_("description"), blank=True)
    extra = models.JSONField(_("extra fields"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DealStatus.choices, default=DealStatus.SUBMITTED
    )
    has_conflict = models.BooleanField(_("possible conflict"), default=False)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    sla_due_at = models.DateTimeField(_("decision due"), null=True, blank=True)
    sla_escalated_at = models.DateTimeField(_("SLA escalated"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    protection_expires_on = models.DateField(_("protected until"), null=True, blank=True)
    expiry_warned_at = models.DateTimeField(_("expiry warning sent"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = scoped_manager(manager_class=models.Manager.from_queryset(DealQuerySet))

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("deal registration")
        verbose_name_plural = _("deal registrations")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "submission_key"], name="deal_submission_once"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "sla_due_at"]),
            models.Index(fields=["tenant", "normalized_domain"]),
            models.Index(fields=["tenant", "partner", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_name})"

    def save(self, *args, **kwargs):
        from dealreg.conflicts import normalize_domain, normalize_name

        self.customer_country = (self.customer_country or "").upper()
        self.customer_domain = normalize_domain(self.customer_domain)
        self.normalized_domain = self.customer_domain
        self.normalized_name = normalize_name(self.customer_name)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("dealreg:detail", kwargs={"public_id": self.public_id})

    @property
    def is_expiring_soon(self) -> bool:
        if self.status != DealStatus.APPROVED or self.protection_expires_on is None:
            return False
        return self.protection_expires_on <= timezone.localdate() + timedelta(days=EXPIRY_WARNING_DAYS)

    @property
    def sla_breached(self) -> bool:
        return (
            self.status == DealStatus.SUBMITTED
            and self.sla_due_at is not None
            and self.sla_due_at < timezone.now()
        )

    # What the CRM mirror sends (dealreg/crm.py).
    def partner_external_id(self) -> str:
        return str(self.partner.public_id)

    def crm_stage(self) -> str:
        return {
            DealStatus.WON: "Closed Won",
            DealStatus.LOST: "Closed Lost",
            DealStatus.EXPIRED: "Closed Lost",
        }.get(self.status, "Prospecting")


class DealLead(Deal):
    """A deal as the CRM's Lead, for tenants with the lead mode on (dealreg/crm.py): the same rows, mirrored
    a second way."""

    class Meta:
        proxy = True
        verbose_name = _("deal registration as lead")
        verbose_name_plural = _("deal registrations as leads")

    def lead_first_name(self) -> str:
        words = self.contact_name.split()
        return " ".join(words[:-1]) if len(words) > 1 else ""

    def lead_last_name(self) -> str:
        words = self.contact_name.split()
        return words[-1] if words else self.customer_name

    def lead_status(self) -> str:
        if self.status == DealStatus.SUBMITTED:
            return "Open - Not Contacted"
        if self.status == DealStatus.REJECTED:
            return "Closed - Not Converted"
        return "Closed - Converted"


def attachment_path(attachment: DealAttachment, filename: str) -> str:
    # Generated names: an uploaded name never becomes a path.
    return f"tenants/{attachment.tenant.slug}/deals/{attachment.public_id}.{attachment.extension}"


class DealAttachment(TenantOwnedModel):
    """A file a partner added to a registration (a quote, the customer's request). Served only to people who
    may see the deal."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("deal")
    )
    # The program's private storage (enablement.storage): no URL serves it; attachment_download does.
    file = models.FileField(_("file"), storage=private_storage, upload_to=attachment_path)
    name = models.CharField(_("file name"), max_length=200)
    extension = models.CharField(_("type"), max_length=8)
    size = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class ConflictKind(models.TextChoices):
    DOMAIN = "domain", _("Same domain")
    NAME = "name", _("Similar name")


class DealConflict(TenantOwnedModel):
    """A possible channel conflict found when a deal was registered: another partner's open registration, or
    one of the tenant's customer accounts. Shown to channel managers only."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="conflicts", verbose_name=_("deal"))
    other_deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("other deal")
    )
    customer_account = models.ForeignKey(
        CustomerAccount,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer account"),
    )
    kind = models.CharField(_("match"), max_length=8, choices=ConflictKind.choices)
    score = models.PositiveSmallIntegerField(_("similarity"), default=100)
    created_at = models.DateTimeField(_("found"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-score", "created_at"]
        verbose_name = _("deal conflict")
        verbose_name_plural = _("deal conflicts")

    def __str__(self) -> str:
        return f"{self.deal} ~ {self.other_deal or self.customer_account}"


class DealEventKind(models.TextChoices):
    SUBMITTED = "submitted", _("Registered")
    APPROVED = "approved", _("Approved")
    AUTO_APPROVED = "auto_approved", _("Approved automatically")
    REJECTED = "rejected", _("Rejected")
    WON = "won", _("Marked won")
    LOST = "lost", _("Marked lost")
    EXPIRED = "expired", _("Protection expired")
    EXPIRY_WARNED = "expiry_warned", _("Expiry warning sent")
    SLA_ESCALATED = "sla_escalated", _("SLA breach escalated")
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
    EXTENSION_GRANTED = "extension_granted", _("Extension granted")
    EXTENSION_REFUSED = "extension_refused", _("Extension refused")


class DealEvent(TenantOwnedModel):
    """One thing that happened to a deal: who, when, what and why. The deal's history."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="events", verbose_name=_("deal"))
    kind = models.CharField(_("what"), max_length=24, choices=DealEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    reason = models.TextField(_("why"), blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("deal event")
        verbose_name_plural = _("deal events")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.deal}"


class ExtensionStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    GRANTED = "granted", _("Granted")
    REFUSED = "refused", _("Refused")


EXTENSION_TRANSITIONS: dict[str, set[str]] = {
    ExtensionStatus.REQUESTED: {ExtensionStatus.GRANTED, ExtensionStatus.REFUSED},
    ExtensionStatus.GRANTED: set(),
    ExtensionStatus.REFUSED: set(),
}


class ExtensionRequest(TenantOwnedModel):
    """A partner's request to extend an approved deal's protection period."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="extensions", verbose_name=_("deal")
    )
    days = models.PositiveIntegerField(_("days"), validators=[MinValueValidator(1)])
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reason"), blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints = [
            models.UniqueConstraint(
                fields=["deal"], condition=models.Q(status="requested"), name="one_open_extension_per_deal"
            )
        ]

    def __str__(self) -> str:
        return f"+{self.days} · {self.deal}"

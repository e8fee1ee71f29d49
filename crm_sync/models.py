"""The CRM mirror's models: each tenant's connection to its Salesforce org, field mappings and outbox."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_sync import crypto, registry
from prm.tenancy import TenantOwnedModel

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_API_VERSION = "62.0"


class AuthFlow(models.TextChoices):
    """The OAuth grant used to obtain a token; the values are Salesforce's grant_type."""

    CLIENT_CREDENTIALS = "client_credentials", _("Client credentials")
    PASSWORD = "password", _("Username and password")


class CRMConnection(TenantOwnedModel):
    """How one tenant reaches its Salesforce org, and what the last contact with it showed.

    The client secret and the password are stored encrypted (crm_sync.crypto); read and set them through
    the `client_secret` and `password` properties.
    """

    login_url = models.URLField(
        _("login URL"),
        default=DEFAULT_LOGIN_URL,
        help_text=_(
            "Where tokens are obtained: https://login.salesforce.com, https://test.salesforce.com for a "
            "sandbox, or your org's My Domain URL."
        ),
    )
    auth_flow = models.CharField(
        _("sign-in method"), max_length=32, choices=AuthFlow.choices, default=AuthFlow.CLIENT_CREDENTIALS
    )
    client_id = models.CharField(_("client ID"), max_length=255, blank=True)
    client_secret_encrypted = models.TextField(editable=False, blank=True)
    username = models.CharField(_("username"), max_length=255, blank=True)
    password_encrypted = models.TextField(editable=False, blank=True)
    api_version = models.CharField(
        _("API version"),
        max_length=8,
        default=DEFAULT_API_VERSION,
        validators=[RegexValidator(r"^\d{2,3}\.0$", _("Use a version such as 62.0."))],
    )
    ca_cert_path = models.CharField(
        _("CA certificate to trust"),
        max_length=500,
        blank=True,
        help_text=_(
            "Path of a PEM file on the server, for a CRM with a private certificate authority (such as the "
            "local emulator). Leave empty to use the system's trusted authorities."
        ),
    )
    is_enabled = models.BooleanField(_("sync enabled"), default=True)
    pause_at_usage = models.DecimalField(
        _("pause at share of the daily API limit"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.80"),
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("1.00"))],
        help_text=_("Sync pauses when the org has used this share of its daily API requests (0.80 = 80%)."),
    )

    # What the last contact with the CRM showed: written by the connection test and the sync workers.
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    api_usage = models.PositiveIntegerField(_("API requests used today"), null=True, blank=True)
    api_limit = models.PositiveIntegerField(_("daily API request limit"), null=True, blank=True)
    paused_until = models.DateTimeField(_("paused until"), null=True, blank=True)
    pause_reason = models.CharField(_("pause reason"), max_length=255, blank=True)
    instance_url = models.URLField(_("instance URL"), blank=True)
    poll_interval = models.PositiveIntegerField(
        _("poll the CRM every (seconds)"),
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(3600)],
        help_text=_("How often the portal reads the CRM's changes back (crm_sync.inbound)."),
    )

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("CRM connection")
        verbose_name_plural = _("CRM connections")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="crm_connection_one_per_tenant")]

    def __str__(self) -> str:
        return f"{self.get_auth_flow_display()} · {self.login_url}"

    @property
    def client_secret(self) -> str:
        return crypto.decrypt(self.client_secret_encrypted)

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(value)

    @property
    def password(self) -> str:
        return crypto.decrypt(self.password_encrypted)

    @password.setter
    def password(self, value: str) -> None:
        self.password_encrypted = crypto.encrypt(value)


class Direction(models.TextChoices):
    """Which way a mapped field's value flows."""

    TO_CRM = "to_crm", _("Portal → CRM")
    FROM_CRM = "from_crm", _("CRM → portal")
    BOTH = "both", _("Both ways")


class FieldMapping(TenantOwnedModel):
    """One mapped field of a mirrored object for one tenant: which portal value goes to which CRM field, and
    which way.

    Defaults come from the declarations in each app's crm.py (crm_sync.services.mapping_defaults_ensure).
    """

    object_key = models.CharField(_("mirrored object"), max_length=100, choices=registry.object_choices)
    portal_field = models.CharField(
        _("portal field"),
        max_length=200,
        help_text=_("A field of the record, or a dotted path through its relations, such as tier.name."),
    )
    crm_field = models.CharField(_("CRM field"), max_length=100)
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.TO_CRM
    )

    class Meta:
        ordering = ["object_key", "crm_field"]
        verbose_name = _("field mapping")
        verbose_name_plural = _("field mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "object_key", "crm_field"], name="field_mapping_crm_field_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_key}: {self.portal_field} → {self.crm_field}"


class OutboxState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DEAD = "dead", _("Dead letter")


class OutboxEntry(TenantOwnedModel):
    """A mirrored record that changed and is (or was) to be sent to the CRM.

    Written by the database triggers of crm_sync.registry, never by Python: at most one pending row per
    record, whose changed_at moves with each further change; a delete turns it into a delete (external_id).
    """

    object_key = models.CharField(_("mirrored object"), max_length=100)
    record_id = models.BigIntegerField(_("record id"))
    state = models.CharField(
        _("state"), max_length=8, choices=OutboxState.choices, default=OutboxState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Of those, the ones the CRM refused for the record itself (not a lock, 5xx or timeout): what makes a
    # dead letter after PRM_CRM_MAX_ATTEMPTS, so transient failures before never count against a record.
    refusals = models.PositiveIntegerField(_("refusals"), default=0, db_default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Set when a drain claims the row (state sending); a row sending longer than the lease is reclaimed.
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    # A pending row is not sent before this (backoff after a failure); null: due now.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # Set by the trigger when the record was deleted: the row deletes the CRM record carrying this external
    # ID (the record itself is gone, so nothing else could tell). Empty: the row upserts the record.
    external_id = models.CharField(
        _("external ID of a deleted record"), max_length=255, blank=True, default="", db_default=""
    )

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("outbox entry")
        verbose_name_plural = _("outbox entries")
        constraints = [
            # The triggers' ON CONFLICT target: a burst of edits to one record coalesces into this row.
            models.UniqueConstraint(
                fields=["tenant", "object_key", "record_id"],
                condition=models.Q(state="pending"),
                name="outbox_one_pending_per_record",
            )
        ]
        indexes = [
            models.Index(fields=["state", "changed_at"], name="outbox_state_changed"),
            # A record's rows, for its sync state on staff pages.
            models.Index(fields=["tenant", "object_key", "record_id"], name="outbox_record"),
        ]

    def __str__(self) -> str:
        return f"{self.object_key} #{self.record_id} ({self.get_state_display()})"


# --- the inbound half (crm_sync.inbound) ------------------------------------------------------------------


class Watermark(TenantOwnedModel):
    """How far one tenant's CRM object has been read back: the SystemModstamp of the last change applied, the
    (Id, SystemModstamp) pairs applied within the look-back overlap (so a re-read change is skipped), and how
    far deletions have been read."""

    crm_object = models.CharField(_("CRM object"), max_length=100)
    modstamp = models.DateTimeField(_("changes applied up to"), null=True, blank=True)
    recent = models.JSONField(_("changes applied within the overlap"), default=dict, blank=True)
    deleted_until = models.DateTimeField(_("deletions read up to"), null=True, blank=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["crm_object"]
        verbose_name = _("inbound watermark")
        verbose_name_plural = _("inbound watermarks")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "crm_object"], name="watermark_one_per_object")
        ]

    def __str__(self) -> str:
        return f"{self.crm_object} @ {self.modstamp}"


class MirrorLink(TenantOwnedModel):
    """What the inbound sync knows of one mirrored portal record: its CRM Id, the last CRM change seen, and
    why ops should look at it (a CRM value the portal refused, or the CRM record deleted: unlinked)."""

    object_key = models.CharField(_("mirrored object"), max_length=100)
    record_id = models.BigIntegerField(_("record id"))
    crm_id = models.CharField(_("CRM id"), max_length=18, blank=True, db_index=True)
    crm_modstamp = models.DateTimeField(_("last CRM change seen"), null=True, blank=True)
    flag = models.TextField(_("refused CRM value"), blank=True)
    flagged_at = models.DateTimeField(_("flagged"), null=True, blank=True)
    unlinked_at = models.DateTimeField(_("deleted in the CRM"), null=True, blank=True)
    # The CRM's values of the record's shared fields as the portal last knew them (sent or read): a CRM
    # value different from these was written by a CRM user since.
    crm_values = models.JSONField(_("shared values last known in the CRM"), default=dict, blank=True)

    class Meta:
        ordering = ["object_key", "record_id"]
        verbose_name = _("mirror link")
        verbose_name_plural = _("mirror links")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "object_key", "record_id"], name="mirror_link_one_per_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_key} #{self.record_id} ↔ {self.crm_id}"


class Winner(models.TextChoices):
    PORTAL = "portal", _("Portal")
    CRM = "crm", _("CRM")


class Resolution(TenantOwnedModel):
    """A shared field written on both sides in the same window, and which write won (the later one)."""

    object_key = models.CharField(_("mirrored object"), max_length=100)
    record_id = models.BigIntegerField(_("record id"))
    crm_field = models.CharField(_("CRM field"), max_length=100)
    portal_value = models.TextField(_("portal value"), blank=True)
    crm_value = models.TextField(_("CRM value"), blank=True)
    portal_written_at = models.DateTimeField(_("portal write"))
    crm_written_at = models.DateTimeField(_("CRM write"))
    winner = models.CharField(_("winner"), max_length=8, choices=Winner.choices)
    resolved_at = models.DateTimeField(_("resolved"), default=timezone.now)

    class Meta:
        ordering = ["-resolved_at", "-id"]
        verbose_name = _("shared-field resolution")
        verbose_name_plural = _("shared-field resolutions")

    def __str__(self) -> str:
        return f"{self.object_key} #{self.record_id}.{self.crm_field}: {self.winner}"


class DriftRun(TenantOwnedModel):
    """One crm_verify run: how many mirrored records it compared and how many field values differed."""

    ran_at = models.DateTimeField(_("ran"), default=timezone.now)
    records_checked = models.PositiveIntegerField(_("records compared"), default=0)
    drift_count = models.PositiveIntegerField(_("differing values"), default=0)
    by_field = models.JSONField(_("drift by object and field"), default=dict, blank=True)
    fixed = models.BooleanField(_("fixed"), default=False)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-ran_at", "-id"]
        verbose_name = _("drift check")
        verbose_name_plural = _("drift checks")

    def __str__(self) -> str:
        return f"{self.ran_at:%Y-%m-%d %H:%M}: {self.drift_count}"

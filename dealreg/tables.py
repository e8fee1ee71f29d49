"""Tables of dealreg/ on the portal's table base (prm.tables)."""

from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from prm import currencies
from prm.money import money
from prm.tables import PRMTable, absent

THEN_BY_ID = ("public_id",)


def _date(value):
    if value is None:
        return absent(_("None"))
    day = timezone.localdate(value) if hasattr(value, "tzinfo") else value
    return format_html('<time datetime="{}">{}</time>', day.isoformat(), date_format(day, "DATE_FORMAT"))


def _date_value(value):
    if value is None:
        return ""
    return (timezone.localdate(value) if hasattr(value, "tzinfo") else value).isoformat()


class DealTable(PRMTable):
    """Deals a person may see: partners their own, staff all of the tenant's."""

    name = tables.Column(
        verbose_name=_("Deal"),
        linkify=("dealreg:detail", {"public_id": tables.A("public_id")}),
        order_by=("name", *THEN_BY_ID),
    )
    customer_name = tables.Column(verbose_name=_("Customer"), order_by=("customer_name", *THEN_BY_ID))
    partner = tables.Column(
        verbose_name=_("Partner"), accessor="partner__name", order_by=("partner__name", *THEN_BY_ID)
    )
    registered_by = tables.Column(
        verbose_name=_("Registered by"),
        accessor="registered_by__email",
        order_by=("registered_by__email", *THEN_BY_ID),
    )
    amount = tables.Column(verbose_name=_("Amount"), order_by=("amount", *THEN_BY_ID))
    status = tables.Column(verbose_name=_("Status"), order_by=("status", *THEN_BY_ID))
    submitted_at = tables.Column(verbose_name=_("Registered"), order_by=("submitted_at", *THEN_BY_ID))
    protection_expires_on = tables.Column(
        verbose_name=_("Protected until"), empty_values=(), order_by=("protection_expires_on", *THEN_BY_ID)
    )

    caption_text = ngettext_lazy("%(count)s deal", "%(count)s deals", "count")
    filtered_empty_text = _("No deal matches these filters.")

    class Meta(PRMTable.Meta):
        order_by = "-submitted_at"
        empty_text = _("No deal registrations yet.")

    def render_amount(self, record):
        return money(record.amount, record.currency)

    def value_amount(self, record):
        return f"{record.amount} {record.currency}"

    def render_status(self, record):
        label = record.get_status_display()
        if record.is_expiring_soon:
            return format_html(
                '<span class="stage-label">{}</span> <mark>{}</mark>', label, _("expiring soon")
            )
        return format_html('<span class="stage-label">{}</span>', label)

    def value_status(self, record):
        return record.status

    def render_submitted_at(self, value):
        return _date(value)

    def value_submitted_at(self, value):
        return _date_value(value)

    def render_protection_expires_on(self, value):
        return _date(value)

    def value_protection_expires_on(self, value):
        return _date_value(value)


class QueueTable(PRMTable):
    """The approval queue: submitted registrations, the oldest SLA deadline first."""

    name = tables.Column(
        verbose_name=_("Deal"),
        linkify=("dealreg:detail", {"public_id": tables.A("public_id")}),
        order_by=("name", *THEN_BY_ID),
    )
    customer_name = tables.Column(verbose_name=_("Customer"), order_by=("customer_name", *THEN_BY_ID))
    partner = tables.Column(
        verbose_name=_("Partner"), accessor="partner__name", order_by=("partner__name", *THEN_BY_ID)
    )
    amount = tables.Column(verbose_name=_("Amount"), order_by=("amount", *THEN_BY_ID))
    has_conflict = tables.BooleanColumn(
        verbose_name=_("Possible conflict"), order_by=("has_conflict", *THEN_BY_ID)
    )
    submitted_at = tables.Column(verbose_name=_("Registered"), order_by=("submitted_at", *THEN_BY_ID))
    sla_due_at = tables.Column(verbose_name=_("Decision due"), order_by=("sla_due_at", *THEN_BY_ID))

    caption_text = ngettext_lazy("%(count)s registration waiting", "%(count)s registrations waiting", "count")
    filtered_empty_text = _("No registration matches these filters.")

    class Meta(PRMTable.Meta):
        order_by = "sla_due_at"
        empty_text = _("No registration is waiting for a decision.")
        sequence = (
            "name",
            "sla_due_at",
            "has_conflict",
            "partner",
            "customer_name",
            "amount",
            "submitted_at",
        )

    def render_amount(self, record):
        return money(record.amount, record.currency)

    def value_amount(self, record):
        return f"{record.amount} {record.currency}"

    def render_submitted_at(self, value):
        return _date(value)

    def value_submitted_at(self, value):
        return _date_value(value)

    def render_sla_due_at(self, record, value):
        when = timezone.localtime(value)
        text = date_format(when, "SHORT_DATETIME_FORMAT")
        if record.sla_breached:
            return format_html(
                '<time datetime="{}"><mark>{}</mark></time> {}', when.isoformat(), text, _("overdue")
            )
        return format_html('<time datetime="{}">{}</time>', when.isoformat(), text)

    def value_sla_due_at(self, value):
        return timezone.localtime(value).isoformat() if value else ""


class PipelineTable(PRMTable):
    """The managers' pipeline: registrations per partner."""

    name = tables.Column(verbose_name=_("Partner"), order_by=("name", "slug"))
    submitted = tables.Column(verbose_name=_("Waiting"))
    approved = tables.Column(verbose_name=_("Approved"))
    approved_amount = tables.Column(verbose_name=_("Approved amount"), empty_values=())
    won = tables.Column(verbose_name=_("Won"))
    won_amount = tables.Column(verbose_name=_("Won amount"), empty_values=())
    not_converted = tables.Column(verbose_name=_("Left out: no exchange rate"))

    caption_text = ngettext_lazy("%(count)s partner", "%(count)s partners", "count")

    class Meta(PRMTable.Meta):
        order_by = "name"
        empty_text = _("No partner has registered a deal yet.")

    def render_approved_amount(self, value):
        return money(value or 0, currencies.home_currency())

    def render_won_amount(self, value):
        return money(value or 0, currencies.home_currency())

"""Tables of partners/ on the portal's table base (prm.tables)."""

from __future__ import annotations

import django_tables2 as tables
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from prm.tables import PRMTable, absent

# Ties on a sorted column fall back to the name, then the slug (unique per tenant), so pages never overlap.
THEN_BY_NAME = ("name", "slug")


class PartnerTable(PRMTable):
    """The staff partner directory: one row per partner, every column sortable."""

    name = tables.Column(
        verbose_name=_("Name"),
        linkify=("partners:detail", {"slug": tables.A("slug")}),
        order_by=THEN_BY_NAME,
    )
    partner_type = tables.Column(
        verbose_name=_("Type"), accessor="partner_type__name", order_by=("partner_type__name", *THEN_BY_NAME)
    )
    # Empty values reach render_tier and value_tier too: a partner without a tier says so.
    tier = tables.Column(verbose_name=_("Tier"), empty_values=())
    # The stage, with onboarding's stall flag beside it.
    stage = tables.Column(verbose_name=_("Stage"), accessor="stage")
    region = tables.Column(verbose_name=_("Region"), order_by=("region", *THEN_BY_NAME))
    country = tables.Column(verbose_name=_("Country"), order_by=("country", *THEN_BY_NAME))
    created = tables.Column(verbose_name=_("Created"), accessor="created_at", order_by=("created_at", "slug"))

    caption_text = ngettext_lazy("%(count)s partner", "%(count)s partners", "count")
    filtered_empty_text = _("No partner matches these filters.")

    class Meta(PRMTable.Meta):
        order_by = "name"
        empty_text = _("No partners yet. Approved applications and partners added in the admin appear here.")

    def render_tier(self, value):
        return value.name if value else absent(_("No tier"))

    def value_tier(self, value):
        return value.name if value else ""

    def order_tier(self, queryset, is_descending):
        # By rank (Platinum above Gold), not by name.
        return queryset.order_by_tier(descending=is_descending), True

    def render_stage(self, value, record):
        label = format_html('<span class="stage-label">{}</span>', record.get_stage_display())
        if record.stalled_since:
            return format_html(
                '{} <span class="badge badge--warning" title="{}">{}</span>',
                label,
                record.stall_reason,
                _("Stalled"),
            )
        return label

    def value_stage(self, value, record):
        return record.get_stage_display() + (" (stalled)" if record.stalled_since else "")

    def order_stage(self, queryset, is_descending):
        # In lifecycle order, not alphabetically.
        return queryset.order_by_stage(descending=is_descending), True

    def render_created(self, value):
        day = timezone.localdate(value)
        return format_html('<time datetime="{}">{}</time>', day.isoformat(), date_format(day, "DATE_FORMAT"))

    def value_created(self, value):
        return timezone.localdate(value).isoformat()


class ApplicationTable(PRMTable):
    """The review queue: one row per application, best fit first."""

    company_name = tables.Column(
        verbose_name=_("Company"),
        linkify=("recruitment:applications:detail", {"public_id": tables.A("public_id")}),
        order_by=("company_name", "public_id"),
    )
    partner_type = tables.Column(
        verbose_name=_("Type"), accessor="partner_type__name", order_by=("partner_type__name", "company_name")
    )
    region = tables.Column(verbose_name=_("Region"), order_by=("region", "company_name"))
    country = tables.Column(verbose_name=_("Country"), order_by=("country", "company_name"))
    fit_score = tables.Column(verbose_name=_("Fit score"), empty_values=())
    submitted = tables.Column(verbose_name=_("Waiting since"), accessor="submitted_at")
    status = tables.Column(verbose_name=_("Status"), order_by=("status", "-submitted_at"))

    caption_text = ngettext_lazy("%(count)s application", "%(count)s applications", "count")
    filtered_empty_text = _("No application matches these filters.")

    class Meta(PRMTable.Meta):
        order_by = "-fit_score"
        empty_text = _("No application is waiting for a decision.")

    def render_fit_score(self, value):
        if value is None:
            return absent(_("No ideal partner profile yet"))
        return format_html('<data class="fit-score" value="{}">{}</data>', value, value)

    def value_fit_score(self, value):
        return "" if value is None else value

    def order_fit_score(self, queryset, is_descending):
        score = (
            F("fit_score").desc(nulls_last=True) if is_descending else F("fit_score").asc(nulls_first=True)
        )
        return queryset.order_by(score, "submitted_at", "public_id"), True

    def render_submitted(self, value):
        local = timezone.localtime(value)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            local.isoformat(),
            date_format(local, "DATETIME_FORMAT"),
            naturaltime(value),  # "2 days ago", "vor 2 Tagen", "il y a 2 jours"
        )

    def value_submitted(self, value):
        return timezone.localtime(value).isoformat(timespec="minutes")

    def order_submitted(self, queryset, is_descending):
        # "Waiting since": the oldest application waits longest; descending shows it first.
        return queryset.order_by("submitted_at" if is_descending else "-submitted_at", "public_id"), True

    def render_status(self, value, record):
        return record.get_status_display()

"""Tables of partners/ on the portal's table base (prm.tables)."""

from __future__ import annotations

import django_tables2 as tables
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

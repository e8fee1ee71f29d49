"""Tables of onboarding/ on the portal's table base (prm.tables)."""

from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from prm.tables import PRMTable, absent


def _day(value):
    if not value:
        return absent(_("Not yet"))
    day = timezone.localdate(value)
    return format_html('<time datetime="{}">{}</time>', day.isoformat(), date_format(day, "DATE_FORMAT"))


class OnboardingTable(PRMTable):
    """The staff's onboarding overview: one row per partner in (or through) onboarding."""

    partner = tables.Column(
        verbose_name=_("Partner"),
        accessor="partner__name",
        linkify=("partners:detail", {"slug": tables.A("partner__slug")}),
        order_by=("partner__name", "partner__slug"),
    )
    stage = tables.Column(
        verbose_name=_("Stage"), accessor="partner__stage", order_by=("partner__stage", "partner__slug")
    )
    progress = tables.Column(verbose_name=_("Progress"), accessor="done", order_by=("done", "partner__slug"))
    overdue = tables.Column(verbose_name=_("Overdue"), order_by=("overdue", "partner__slug"))
    waiting = tables.Column(verbose_name=_("To sign off"), order_by=("waiting", "partner__slug"))
    started = tables.Column(
        verbose_name=_("Started"), accessor="started_at", order_by=("started_at", "partner__slug")
    )
    completed = tables.Column(
        verbose_name=_("Completed"),
        accessor="completed_at",
        empty_values=(),
        order_by=("completed_at", "partner__slug"),
    )

    caption_text = ngettext_lazy("%(count)s onboarding", "%(count)s onboardings", "count")
    filtered_empty_text = _("No onboarding matches these filters.")

    class Meta(PRMTable.Meta):
        order_by = "-started"
        empty_text = _("No partner has started onboarding yet. Onboarding starts when a partner is approved.")

    def render_stage(self, value, record):
        label = format_html('<span class="stage-label">{}</span>', record.partner.get_stage_display())
        if record.partner.stalled_since:
            return format_html(
                '{} <span class="badge badge--warning" title="{}">{}</span>',
                label,
                record.partner.stall_reason,
                _("Stalled"),
            )
        return label

    def value_stage(self, value, record):
        return record.partner.get_stage_display()

    def render_progress(self, value, record):
        return format_html(
            '<span class="progress-cell">'
            '<progress value="{}" max="{}" aria-hidden="true"></progress>{}'
            "</span>",
            record.done,
            record.total or 1,
            _("%(done)s of %(total)s") % {"done": record.done, "total": record.total},
        )

    def value_progress(self, value, record):
        return f"{record.done}/{record.total}"

    def render_started(self, value):
        return _day(value)

    def value_started(self, value):
        return timezone.localdate(value).isoformat()

    def render_completed(self, value):
        return _day(value)

    def value_completed(self, value):
        return timezone.localdate(value).isoformat() if value else ""


class CohortTable(PRMTable):
    """The metrics page's monthly cohorts of onboarding start."""

    month = tables.Column(verbose_name=_("Month"), orderable=False)
    started = tables.Column(verbose_name=_("Partners"), orderable=False)
    completion_rate = tables.Column(verbose_name=_("Completed"), orderable=False, empty_values=())
    activated = tables.Column(verbose_name=_("First deal"), orderable=False)
    median_days_to_first_deal = tables.Column(
        verbose_name=_("Median days to first deal"), orderable=False, empty_values=()
    )

    caption_text = ngettext_lazy("%(count)s monthly cohort", "%(count)s monthly cohorts", "count")

    class Meta(PRMTable.Meta):
        empty_text = _("No partner has started onboarding yet.")

    def render_month(self, value):
        return format_html(
            '<time datetime="{}">{}</time>', value.strftime("%Y-%m"), date_format(value, "YEAR_MONTH_FORMAT")
        )

    def render_completion_rate(self, value, record):
        if value is None:
            return absent(_("None"))
        return _("%(rate)s %% (%(completed)s of %(started)s)") % {
            "rate": number_format(value, 1),
            "completed": record.completed,
            "started": record.started,
        }

    def render_median_days_to_first_deal(self, value):
        return absent(_("No first deal yet")) if value is None else value

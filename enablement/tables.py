"""Tables of enablement/'s manager reports on the portal's table base (prm.tables)."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from prm.tables import PRMTable, absent

THEN_BY_NAME = ("name", "slug")


class PartnerEngagementTable(PRMTable):
    """Completion and engagement per partner."""

    name = tables.Column(
        verbose_name=_("Partner"),
        linkify=("partners:detail", {"slug": tables.A("slug")}),
        order_by=THEN_BY_NAME,
    )
    tier = tables.Column(verbose_name=_("Tier"), empty_values=())
    people = tables.Column(verbose_name=_("People"), order_by=("people", *THEN_BY_NAME))
    asset_views = tables.Column(verbose_name=_("Asset views"), order_by=("asset_views", *THEN_BY_NAME))
    asset_downloads = tables.Column(verbose_name=_("Downloads"), order_by=("asset_downloads", *THEN_BY_NAME))
    assets_reached = tables.Column(
        verbose_name=_("Assets opened"), order_by=("assets_reached", *THEN_BY_NAME)
    )
    courses_started = tables.Column(
        verbose_name=_("Courses started"), order_by=("courses_started", *THEN_BY_NAME)
    )
    courses_passed = tables.Column(
        verbose_name=_("Courses passed"), order_by=("courses_passed", *THEN_BY_NAME)
    )
    certified_people = tables.Column(
        verbose_name=_("People certified"), order_by=("certified_people", *THEN_BY_NAME)
    )

    caption_text = ngettext_lazy("%(count)s partner", "%(count)s partners", "count")
    filtered_empty_text = _("No partner matches these filters.")

    class Meta(PRMTable.Meta):
        order_by = "name"
        empty_text = _("No partners in the program yet.")

    def render_tier(self, value):
        return value.name if value else absent(_("No tier"))

    def value_tier(self, value):
        return value.name if value else ""

    def order_tier(self, queryset, is_descending):
        return queryset.order_by_tier(descending=is_descending), True


class AssetEngagementTable(PRMTable):
    """Views and downloads per asset of the library."""

    title = tables.Column(
        verbose_name=_("Asset"),
        linkify=("enablement:asset", {"public_id": tables.A("public_id")}),
        order_by=("title", "public_id"),
    )
    kind = tables.Column(verbose_name=_("Kind"), order_by=("kind", "title", "public_id"))
    audience = tables.Column(verbose_name=_("Audience"), empty_values=(), orderable=False)
    total_views = tables.Column(verbose_name=_("Views"), order_by=("total_views", "title", "public_id"))
    total_downloads = tables.Column(
        verbose_name=_("Downloads"), order_by=("total_downloads", "title", "public_id")
    )
    partners_reached = tables.Column(
        verbose_name=_("Partners"), order_by=("partners_reached", "title", "public_id")
    )
    people_reached = tables.Column(
        verbose_name=_("People"), order_by=("people_reached", "title", "public_id")
    )

    caption_text = ngettext_lazy("%(count)s asset", "%(count)s assets", "count")
    filtered_empty_text = _("No asset matches these filters.")

    class Meta(PRMTable.Meta):
        order_by = "title"
        empty_text = _("No assets in the library yet.")

    def render_kind(self, record):
        return record.get_kind_display()

    def value_kind(self, record):
        return record.get_kind_display()

    def render_audience(self, record):
        return record.audience_summary()

    def value_audience(self, record):
        return record.audience_summary()


class CourseCompletionTable(PRMTable):
    """How many people started and passed each course."""

    title = tables.Column(
        verbose_name=_("Course"),
        linkify=("enablement:course", {"public_id": tables.A("public_id")}),
        order_by=("title", "public_id"),
    )
    started = tables.Column(verbose_name=_("People started"), order_by=("started", "title", "public_id"))
    passed = tables.Column(verbose_name=_("People passed"), order_by=("passed", "title", "public_id"))
    pass_rate = tables.Column(verbose_name=_("Passed of started"), empty_values=(), orderable=False)
    public_id = tables.Column(verbose_name=_("Course id"), orderable=False)

    caption_text = ngettext_lazy("%(count)s course", "%(count)s courses", "count")
    filtered_empty_text = _("No course matches these filters.")

    class Meta(PRMTable.Meta):
        order_by = "title"
        empty_text = _("No courses yet.")

    def render_pass_rate(self, record):
        return self.value_pass_rate(record) or absent(_("Nobody started"))

    def value_pass_rate(self, record):
        return f"{round(100 * record.passed / record.started)}%" if record.started else ""

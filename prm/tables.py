"""The portal's one table base, and the view every filtered list page with a CSV export builds on.

A list page is three small pieces in its app: a `PRMTable` subclass in `tables.py`, a django-filter
`FilterSet` in `filters.py`, and a `FilteredTableView` subclass in `views.py` that says who may open it
(partners/ shows the pattern with the staff partner directory).
"""

from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django_filters.views import FilterView
from django_tables2.export import ExportMixin, TableExport
from django_tables2.views import SingleTableMixin

# A spreadsheet runs a cell that starts with one of these as a formula; partner names come from a
# public application form, so an export must never hand one over as it is (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """`value` as a spreadsheet shows it as text: a leading quote where it would start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def absent(label: str) -> str:
    """An empty cell: a dash for the eye, `label` ("No tier") for screen readers."""
    return format_html('<span aria-hidden="true">—</span><span class="visually-hidden">{}</span>', label)


class PRMTable(tables.Table):
    """Base of every table: our accessible template (templates/tables/table.html), Pico's striped compact
    look, 50 rows a page.

    Subclasses keep the look with `class Meta(PRMTable.Meta)` (django-tables2 does not inherit a Meta
    otherwise), name their rows in `caption_text` and say what an empty list means in `Meta.empty_text`,
    and in `filtered_empty_text` for when the filters leave no row.
    """

    caption_text = ngettext_lazy("%(count)s row", "%(count)s rows", "count")
    filtered_empty_text = _("No row matches these filters.")

    class Meta:
        template_name = "tables/table.html"
        attrs = {"class": "striped compact"}
        per_page = 50
        empty_text = _("Nothing here yet.")

    def __init__(self, *args, filtered: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.filtered = filtered
        if filtered:
            self.empty_text = self.filtered_empty_text

    @property
    def row_count(self) -> int:
        """Rows on all pages; a paginated table counted them already."""
        return self.paginator.count if hasattr(self, "paginator") else len(self.rows)

    @property
    def caption(self) -> str:
        return self.caption_text % {"count": self.row_count}

    def as_values(self, exclude_columns=None):
        # Only exports read the values; see spreadsheet_safe.
        for row in super().as_values(exclude_columns):
            yield [spreadsheet_safe(value) for value in row]


class CSVExport(TableExport):
    """django-tables2's export, CSV only: the other formats need libraries we do not install, and an
    unknown `?_export=` value then shows the page instead of failing."""

    @classmethod
    def is_valid_format(cls, export_format):
        return export_format == cls.CSV


class FilteredTableView(ExportMixin, SingleTableMixin, FilterView):
    """A sortable, filtered, paginated table, and its CSV export (`?_export=csv` on the same URL, so it
    keeps the filters and the sort and has the page's access rule).

    Subclasses set `table_class` (a PRMTable), `filterset_class`, `template_name` and `export_name`, return
    the rows the person may see from `get_queryset()`, and refuse whoever may not open the page in `get()`.
    The export holds every row the filters select, with the table's columns, in a file named
    `<export_name>-<tenant slug>-<date>.csv`.
    """

    export_class = CSVExport
    export_formats = (CSVExport.CSV,)
    # A filter value that does not validate shows its error on the form and narrows nothing; django-filter's
    # strict mode would show an empty list instead.
    strict = False

    def is_export(self) -> bool:
        return self.export_class.is_valid_format(self.request.GET.get(self.export_trigger_param))

    def get_table_pagination(self, table):
        # The export is every row on one sheet: no page, and no count query for a paginator.
        if self.is_export():
            return False
        return super().get_table_pagination(table)

    def get_table_kwargs(self):
        # An empty filtered list says that the filters hid every row, not that there are none.
        form = self.filterset.form
        return {"filtered": self.filterset.is_bound and any(form.cleaned_data.values())}

    def get_export_filename(self, export_format):
        today = timezone.localdate()  # in the tenant's time zone, as the page shows dates
        return f"{self.export_name}-{self.request.tenant.slug}-{today.isoformat()}.{export_format}"

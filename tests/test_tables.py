"""The portal's table base (prm.tables): what every table inherits, what an export hands a spreadsheet."""

from __future__ import annotations

import pytest
from django.utils.module_loading import autodiscover_modules

from prm.tables import CSVExport, PRMTable, spreadsheet_safe


def all_tables() -> list[type[PRMTable]]:
    autodiscover_modules("tables")
    found, todo = [], [PRMTable]
    while todo:
        for table in todo.pop().__subclasses__():
            found.append(table)
            todo.append(table)
    return found


def test_there_are_tables_to_check():
    assert any(table.__name__ == "PartnerTable" for table in all_tables())


@pytest.mark.parametrize("table", all_tables(), ids=lambda table: table.__name__)
def test_every_table_keeps_the_shared_look(table):
    # A table with its own Meta that does not inherit PRMTable.Meta falls back to django-tables2's defaults.
    assert table._meta.template_name == "tables/table.html"
    assert table._meta.per_page == 50
    assert table._meta.attrs == PRMTable._meta.attrs
    assert table._meta.empty_text


@pytest.mark.parametrize(
    "value, safe",
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("Northwind", "Northwind"),
        ("a=b", "a=b"),
        ("", ""),
        (3, 3),
        (None, None),
    ],
)
def test_an_export_cell_never_starts_a_formula(value, safe):
    assert spreadsheet_safe(value) == safe


@pytest.mark.parametrize("export_format", ["xlsx", "json", "CSV", "", None])
def test_exports_are_csv_only(export_format):
    assert CSVExport.is_valid_format("csv")
    assert not CSVExport.is_valid_format(export_format)

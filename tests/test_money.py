"""Amounts as each language writes them (prm.money), and on a German tenant's pages."""

from decimal import Decimal

import pytest

from prm.money import money


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        ("40000", "USD", "en", "$40,000"),
        ("1250.5", "EUR", "en", "€1,250.50"),
        ("40000", "EUR", "de", "40.000\xa0€"),
        ("1250.50", "EUR", "de", "1.250,50\xa0€"),
        ("10000.00", "EUR", "fr", "10\u202f000\xa0€"),
        ("-12.34", "GBP", "en", "-£12.34"),
        ("72000", "CHF", "en", "CHF\xa072,000"),
        ("72000", "CHF", "de", "72.000\xa0CHF"),
    ],
)
def test_amounts_read_as_the_language_writes_them(amount, currency, language, expected):
    assert money(Decimal(amount), currency, language=language) == expected


def test_nothing_stays_nothing():
    assert money(None, "USD") == ""

"""Amounts of money as the reader's language writes them, with Babel's CLDR data: "$40,000", "40.000 €",
"1 250,50 €". Whole amounts drop their cents, as people write round figures; others keep the currency's
digits."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, parse_pattern
from django.conf import settings
from django.utils.translation import get_language, to_locale

from prm.tenancy import current_tenant

# CLDR's currency spacing, which Babel does not apply: a symbol of letters ("CHF") is kept apart from the
# digits by a no-break space ("CHF 72,000", not "CHF72,000").
LETTERS_BY_DIGITS = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")


@lru_cache(maxsize=64)
def _patterns(locale: str):
    standard = Locale.parse(locale).currency_formats["standard"]
    return standard, parse_pattern(standard.pattern.replace(".00", ""))


def money(amount, currency: str | None = None, *, language: str | None = None) -> str:
    """`amount` in `currency` (the current tenant's by default) for the active language (or `language`)."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)
    if not currency:
        tenant = current_tenant()
        currency = tenant.currency if tenant is not None else "USD"
    locale = to_locale(language or get_language() or settings.LANGUAGE_CODE)
    standard, whole = _patterns(locale)
    if value == value.to_integral_value():
        text = format_currency(value, currency, format=whole, locale=locale, currency_digits=False)
    else:
        text = format_currency(value, currency, format=standard, locale=locale)
    return LETTERS_BY_DIGITS.sub("\xa0", text)

"""Amounts in other currencies, in the tenant's currency, with the tenant's exchange rates (`ExchangeRate`).

The rule, the same in SQL and in Python: an amount in the tenant's currency counts as it is; an amount in
another currency converts at that currency's rate effective on the day that matters (a won deal's close
date): the latest rate effective on or before it, else, for a day before the first rate, the earliest rate.
A currency with no rate at all does not convert (None in Python, NULL in SQL): the callers leave such
amounts out and say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Case, DecimalField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce

from prm.models import ExchangeRate
from prm.tenancy import current_tenant

RATE_FIELD = DecimalField(max_digits=18, decimal_places=8)
MONEY_FIELD = DecimalField(max_digits=24, decimal_places=2)


@dataclass(frozen=True)
class Conversion:
    """An amount converted to the tenant's currency: the result, and the rate used (1 for its own)."""

    amount: Decimal
    rate: Decimal
    rate_from: date | None = None


def home_currency() -> str:
    """The active tenant's currency."""
    tenant = current_tenant()
    return tenant.currency if tenant is not None else "USD"


def accepted_currencies() -> list[str]:
    """The tenant's currency first, then every currency with a rate: what a deal may be registered in."""
    home = home_currency()
    return [home, *sorted(ExchangeRate.objects.currencies() - {home})]


def convert(amount: Decimal, currency: str, day: date) -> Conversion | None:
    """`amount` in `currency` in the tenant's currency on `day`; None for a currency without any rate."""
    if currency == home_currency():
        return Conversion(amount=amount, rate=Decimal("1"))
    found = ExchangeRate.objects.rate_on(currency, day)
    if found is None:
        return None
    return Conversion(amount=amount * found.rate, rate=found.rate, rate_from=found.effective_from)


def rate_expression(*, currency: str = "currency", day: str):
    """SQL for the rate of the row's `currency` on its `day` (field paths or annotations of the outer
    query) to the tenant's currency: 1 for the tenant's own, NULL for a currency without any rate.

    Correlated subqueries on the small, indexed rates table: they run per row inside the caller's one
    grouped query, so a sum over many rows stays one query."""
    rates = ExchangeRate.objects.filter(currency=OuterRef(currency))
    on_or_before = Subquery(
        rates.filter(effective_from__lte=OuterRef(day)).order_by("-effective_from").values("rate")[:1],
        output_field=RATE_FIELD,
    )
    earliest = Subquery(rates.order_by("effective_from").values("rate")[:1], output_field=RATE_FIELD)
    return Case(
        When(**{currency: home_currency()}, then=Value(Decimal("1"), output_field=RATE_FIELD)),
        default=Coalesce(on_or_before, earliest, output_field=RATE_FIELD),
        output_field=RATE_FIELD,
    )

"""Helpers of dealreg's tests: registering deals the way a partner does, through the services."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from dealreg import services
from tests.crm_sync.conftest import _fresh_org, emulator  # noqa: F401 - the CRM emulator fixtures


def deal_input(**overrides) -> services.DealInput:
    values = {
        "name": "Cloud migration",
        "customer_name": "Fabrikam Industries",
        "customer_domain": "fabrikam.example",
        "customer_country": "GB",
        "contact_name": "Fiona Buyer",
        "contact_email": "fiona@fabrikam.example",
        "products": "Cloud suite",
        "amount": Decimal("48000"),
        "currency": "USD",
        "expected_close_date": datetime.date.today() + datetime.timedelta(days=45),
    }
    values.update(overrides)
    return services.DealInput(**values)


def register(partner, user, **overrides):
    return services.deal_register(partner=partner, data=deal_input(**overrides), acting_user=user)


@pytest.fixture
def post_form():
    """The registration form's fields, as a browser posts them."""

    def make(**overrides):
        data = {
            "submission_key": "7a0f3a5e-5d8e-4c55-9f0e-1f7c4a1d2b3c",
            "customer_name": "Fabrikam Industries",
            "customer_domain": "https://www.fabrikam.example/",
            "customer_country": "gb",
            "name": "Cloud migration",
            "contact_name": "Fiona Buyer",
            "contact_email": "fiona@fabrikam.example",
            "products": "Cloud suite",
            "amount": "48000",
            "currency": "USD",
            "expected_close_date": (datetime.date.today() + datetime.timedelta(days=45)).isoformat(),
            "description": "",
        }
        data.update(overrides)
        return data

    return make

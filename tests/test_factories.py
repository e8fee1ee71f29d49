"""Every model of the project has a factory, and each factory builds a valid row."""

from __future__ import annotations

import factory
import pytest
from django.apps import apps

from prm.tenancy import unscoped_across_tenants
from tests import factories

PROJECT_APPS = {"prm", "partners", "onboarding", "enablement", "dealreg", "incentives", "crm_sync"}


def project_models():
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


def factory_for(model):
    for value in vars(factories).values():
        if isinstance(value, type) and issubclass(value, factory.django.DjangoModelFactory):
            if value._meta.model is model:
                return value
    return None


def test_every_project_model_has_a_factory():
    missing = [m._meta.label for m in project_models() if factory_for(m) is None]
    assert missing == [], f"add factories to tests/factories.py for: {missing}"


@pytest.mark.django_db
@pytest.mark.parametrize("model", project_models(), ids=lambda m: m._meta.label)
def test_each_factory_saves_a_valid_row(model):
    obj = factory_for(model)()
    with unscoped_across_tenants():  # uniqueness checks query the table
        obj.full_clean(exclude=["password"])
    assert model._base_manager.filter(pk=obj.pk).exists()

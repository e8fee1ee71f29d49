"""Filters of onboarding/ list pages (django-filter)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _


class OnboardingFilter(django_filters.FilterSet):
    """The onboarding overview's filters."""

    completed = django_filters.BooleanFilter(
        label=_("Onboarding completed"), field_name="completed_at", lookup_expr="isnull", exclude=True
    )
    stalled = django_filters.BooleanFilter(
        label=_("Stalled in onboarding"),
        field_name="partner__stalled_since",
        lookup_expr="isnull",
        exclude=True,
    )

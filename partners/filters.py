"""Filters of partners/ list pages (django-filter)."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from partners.models import ApplicationStatus, PartnerType, Region, Stage, Tier


class PartnerFilter(django_filters.FilterSet):
    """The staff partner directory's filters. Types and tiers are chosen by slug, among the tenant's own."""

    q = django_filters.CharFilter(label=_("Name or domain"), method="search", widget=forms.SearchInput)
    # The home page's stage cards link to ?stage=<value>.
    stage = django_filters.ChoiceFilter(
        label=_("Lifecycle stage"), choices=Stage.choices, empty_label=_("All stages")
    )
    # The choices are read per request: the scoped managers only know the tenant inside the request's scope.
    partner_type = django_filters.ModelChoiceFilter(
        label=_("Partner type"),
        queryset=lambda request: PartnerType.objects.all(),
        to_field_name="slug",
        empty_label=_("All types"),
    )
    tier = django_filters.ModelChoiceFilter(
        label=_("Tier"),
        queryset=lambda request: Tier.objects.all(),
        to_field_name="slug",
        empty_label=_("All tiers"),
        null_label=_("No tier"),
    )
    region = django_filters.ChoiceFilter(
        label=_("Region"), choices=Region.choices, empty_label=_("All regions")
    )

    stalled = django_filters.BooleanFilter(
        label=_("Stalled in onboarding"), field_name="stalled_since", lookup_expr="isnull", exclude=True
    )

    def search(self, queryset, name, value):
        return queryset.search(value)


class ApplicationFilter(django_filters.FilterSet):
    """The review queue's filters: status (pending unless chosen), partner type and region."""

    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=ApplicationStatus.choices, empty_label=_("All statuses")
    )
    partner_type = django_filters.ModelChoiceFilter(
        label=_("Partner type"),
        queryset=lambda request: PartnerType.objects.all(),
        to_field_name="slug",
        empty_label=_("All types"),
    )
    region = django_filters.ChoiceFilter(
        label=_("Region"), choices=Region.choices, empty_label=_("All regions")
    )

"""Filters of enablement/ pages (django-filter)."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from enablement.models import AssetKind
from partners.models import PartnerType, Region, Tier


class LibraryFilter(django_filters.FilterSet):
    """The content library's search and filters."""

    q = django_filters.CharFilter(label=_("Search"), method="search", widget=forms.SearchInput)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=AssetKind.choices, empty_label=_("All kinds"))
    product = django_filters.CharFilter(label=_("Product"), lookup_expr="icontains")
    tag = django_filters.CharFilter(label=_("Tag"), field_name="tags", lookup_expr="icontains")

    def search(self, queryset, name, value):
        return queryset.search(value)


class PartnerReportFilter(django_filters.FilterSet):
    """The per-partner enablement report's filters."""

    q = django_filters.CharFilter(label=_("Partner"), field_name="name", lookup_expr="icontains")
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
    )
    region = django_filters.ChoiceFilter(
        label=_("Region"), choices=Region.choices, empty_label=_("All regions")
    )
    uncertified = django_filters.BooleanFilter(
        label=_("Nobody certified"), method="filter_uncertified", widget=forms.CheckboxInput
    )

    def filter_uncertified(self, queryset, name, value):
        return queryset.filter(certified_people=0) if value else queryset


class AssetReportFilter(django_filters.FilterSet):
    """The per-asset engagement report's filters."""

    q = django_filters.CharFilter(label=_("Title"), field_name="title", lookup_expr="icontains")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=AssetKind.choices, empty_label=_("All kinds"))


class CourseReportFilter(django_filters.FilterSet):
    """The per-course completion report's filters."""

    q = django_filters.CharFilter(label=_("Title"), field_name="title", lookup_expr="icontains")

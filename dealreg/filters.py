"""Filters of dealreg/ list pages (django-filter)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from dealreg.models import DealStatus
from partners.models import Partner


class DealFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Deal or customer"), method="search", widget=forms.SearchInput)
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=DealStatus.choices, empty_label=_("All statuses")
    )
    expiring = django_filters.BooleanFilter(
        label=_("Expiring within 14 days"), method="only_expiring", widget=forms.CheckboxInput
    )

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(customer_name__icontains=value))

    def only_expiring(self, queryset, name, value):
        return queryset.expiring_within() if value else queryset


class StaffDealFilter(DealFilter):
    # Chosen by slug, among the tenant's own partners (read per request, inside the request's scope).
    partner = django_filters.ModelChoiceFilter(
        label=_("Partner"),
        queryset=lambda request: Partner.objects.all(),
        to_field_name="slug",
        empty_label=_("All partners"),
    )
    conflict = django_filters.BooleanFilter(
        label=_("Possible conflict only"),
        field_name="has_conflict",
        method="only_conflicts",
        widget=forms.CheckboxInput,
    )

    def only_conflicts(self, queryset, name, value):
        return queryset.filter(has_conflict=True) if value else queryset


class QueueFilter(django_filters.FilterSet):
    partner = django_filters.ModelChoiceFilter(
        label=_("Partner"),
        queryset=lambda request: Partner.objects.all(),
        to_field_name="slug",
        empty_label=_("All partners"),
    )
    conflict = django_filters.BooleanFilter(
        label=_("Possible conflict only"), method="only_conflicts", widget=forms.CheckboxInput
    )

    def only_conflicts(self, queryset, name, value):
        return queryset.filter(has_conflict=True) if value else queryset


class PipelineFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Partner"), field_name="name", lookup_expr="icontains", widget=forms.SearchInput
    )

"""`{% load crm_sync %}{% crm_sync_state record %}`: a mirrored record's CRM sync state, for staff pages.

A template tag, so that the stage apps' pages can show it without their Python reaching into crm_sync.
"""

from __future__ import annotations

from django import template

from crm_sync import selectors

register = template.Library()


@register.inclusion_tag("crm_sync/_sync_state.html")
def crm_sync_state(record):
    return {"state": selectors.record_sync_state(record)}

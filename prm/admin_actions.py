"""Admin actions that ask for a reason (and whatever else their form asks) on an intermediate page, then
apply a service to each selected row, reporting what was done and what was refused.

The page lists the rows, shows the form and posts back to the changelist with `apply`; an invalid form is
shown again with its errors and nothing is written. A service refuses a row by raising ValidationError (or
another exception the action names); the other rows go ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


def apply_each(rows: Iterable, call: Callable[[Any], object], refused=(ValidationError,)):
    """Call `call` on each row; return how many went through and (row, message) for each refusal."""
    done, refusals = 0, []
    for row in rows:
        try:
            call(row)
            done += 1
        except refused as refusal:
            text = " ".join(refusal.messages) if isinstance(refusal, ValidationError) else str(refusal)
            refusals.append((row, text))
    return done, refusals


def report(
    modeladmin,
    request,
    done: int,
    refusals: list,
    *,
    done_message: Callable[[int], str] | None = None,
    refused_message: Callable[[int], str] | None = None,
) -> None:
    """Say how many rows went through, then each refusal as an error ("row: why"), or, with
    `refused_message`, one warning that counts them."""
    if done:
        text = done_message(done) if done_message else gettext("%(n)d done.") % {"n": done}
        modeladmin.message_user(request, text, messages.SUCCESS)
    if refusals and refused_message:
        modeladmin.message_user(request, refused_message(len(refusals)), messages.WARNING)
    elif refusals:
        for row, text in refusals:
            modeladmin.message_user(request, f"{row}: {text}", messages.ERROR)


def action_with_form(
    modeladmin,
    request,
    queryset,
    *,
    call: Callable[[Any, dict], object],
    title: str,
    form_class: type[forms.Form] = ReasonForm,
    reason_required: bool = True,
    reason_help: str = "",
    intro: str = "",
    describe: Callable[[Any], str] = str,
    submit_label: str | None = None,
    refused=(ValidationError,),
    done_message: Callable[[int], str] | None = None,
    refused_message: Callable[[int], str] | None = None,
):
    """Ask for the form on an intermediate page; once it is valid, call `call(row, cleaned_data)` on each
    row of `queryset` and report the outcome. Returns the page to show, or None (back to the changelist)."""
    if "apply" in request.POST:
        form = form_class(request.POST)
    else:
        form = form_class()
    form.fields["reason"].required = reason_required
    if reason_help:
        form.fields["reason"].help_text = reason_help
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        done, refusals = apply_each(queryset, lambda row: call(row, data), refused)
        report(
            modeladmin,
            request,
            done,
            refusals,
            done_message=done_message,
            refused_message=refused_message,
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "form": form,
        "rows": [(row.pk, describe(row)) for row in queryset],
        "submit_label": submit_label or gettext("Confirm"),
        "action": request.POST.get("action"),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/action_with_form.html", context)

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from incentives.models import MdfRequest


class MdfRequestForm(forms.ModelForm):
    class Meta:
        model = MdfRequest
        fields = ["title", "description", "amount", "starts_on", "ends_on"]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 4}),
        }

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("starts_on"), cleaned.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", _("The activity ends before it starts."))
        return cleaned


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ClaimForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount claimed"), max_digits=14, decimal_places=2, min_value=0.01)
    note = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    proofs = MultipleFileField(
        label=_("Proofs"),
        help_text=_("Invoices, photos, attendee lists: PDF, images, Office documents, CSV."),
    )

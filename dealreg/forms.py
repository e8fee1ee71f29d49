"""Forms of dealreg/: they check what a person typed; the services decide and write."""

from __future__ import annotations

import uuid

import filetype
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dealreg.conflicts import normalize_domain
from dealreg.models import DealRegSettings
from dealreg.services import DealInput
from prm import currencies
from prm.models import CURRENCY_CHOICES, domain_validator

CONFLICT_CHECK_FIELDS = ("customer_name", "customer_domain")
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# What the file's content says it is (filetype), never what its name says.
ATTACHMENT_TYPES = {"pdf", "png", "jpg", "gif", "docx", "xlsx", "pptx"}


class DealForm(forms.Form):
    """The registration form; the tenant's extra questions come after the standard ones."""

    submission_key = forms.UUIDField(widget=forms.HiddenInput)
    customer_name = forms.CharField(label=_("Customer company"), max_length=200)
    customer_domain = forms.CharField(
        label=_("Customer website"),
        max_length=253,
        required=False,
        help_text=_("The customer's web domain, such as contoso.com."),
    )
    customer_country = forms.CharField(
        label=_("Customer country"),
        max_length=2,
        required=False,
        help_text=_("ISO 3166 code, such as DE or US."),
    )
    name = forms.CharField(label=_("Deal name"), max_length=120)
    contact_name = forms.CharField(label=_("Customer contact"), max_length=160)
    contact_email = forms.EmailField(label=_("Contact email"), required=False)
    products = forms.CharField(label=_("Products"), max_length=255)
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=0)
    currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCY_CHOICES)
    expected_close_date = forms.DateField(
        label=_("Expected close date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    attachment = forms.FileField(
        label=_("Attachment"),
        required=False,
        help_text=_("Optional: a PDF, image or Office document of at most 10 MB."),
    )

    def __init__(self, *args, settings: DealRegSettings, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = settings
        # The program's currency (the default) and the currencies it has exchange rates for: a deal in
        # another currency could not count toward tiers or earn a rebate.
        self.fields["currency"].choices = [(code, code) for code in currencies.accepted_currencies()]
        self.fields["currency"].initial = tenant.currency
        self.fields["submission_key"].initial = uuid.uuid4()
        self.extra_names = []
        for spec in settings.extra_field_specs():
            key = f"extra_{spec['name']}"
            self.fields[key] = forms.CharField(label=spec["label"], max_length=500, required=spec["required"])
            self.extra_names.append((key, spec["name"]))
        for name in CONFLICT_CHECK_FIELDS:
            self.fields[name].widget.attrs.update(
                {
                    "hx-get": reverse("dealreg:conflict_check"),
                    "hx-trigger": "input changed delay:400ms, change",
                    "hx-target": "#conflict-check",
                    "hx-include": "#id_customer_name, #id_customer_domain",
                }
            )

    def clean_customer_domain(self):
        domain = normalize_domain(self.cleaned_data["customer_domain"])
        if domain:
            try:
                domain_validator(domain)
            except ValidationError:
                raise ValidationError(_("Enter a web domain such as contoso.com.")) from None
            if "." not in domain:
                raise ValidationError(_("Enter a web domain such as contoso.com."))
        return domain

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if not upload:
            return None
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise ValidationError(_("The file is larger than 10 MB."))
        head = upload.read(8192)
        upload.seek(0)
        kind = filetype.guess(head)
        if kind is None or kind.extension not in ATTACHMENT_TYPES:
            raise ValidationError(_("Attach a PDF, an image (PNG, JPEG) or an Office document."))
        upload.prm_extension = kind.extension
        return upload

    def clean_customer_country(self):
        country = self.cleaned_data["customer_country"].strip().upper()
        if country and not (len(country) == 2 and country.isalpha()):
            raise ValidationError(_("Use a two-letter country code such as DE."))
        return country

    def clean_expected_close_date(self):
        value = self.cleaned_data["expected_close_date"]
        earliest = timezone.localdate() - timezone.timedelta(days=self.settings.close_date_tolerance_days)
        if value < earliest:
            raise ValidationError(_("The expected close date cannot lie in the past."))
        return value

    def deal_input(self) -> DealInput:
        data = self.cleaned_data
        return DealInput(
            name=data["name"],
            customer_name=data["customer_name"],
            customer_domain=data["customer_domain"],
            customer_country=data["customer_country"],
            contact_name=data["contact_name"],
            contact_email=data["contact_email"],
            products=data["products"],
            amount=data["amount"],
            currency=data["currency"],
            expected_close_date=data["expected_close_date"],
            description=data["description"],
            extra={name: data.get(key, "") for key, name in self.extra_names},
            attachment=data.get("attachment"),
        )


class ConflictCheckForm(forms.Form):
    customer_name = forms.CharField(max_length=200, required=False)
    customer_domain = forms.CharField(max_length=253, required=False)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the registration is rejected."))
        return data


class CloseForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("won", _("Won")), ("lost", _("Lost"))])
    reason = forms.CharField(label=_("Note"), required=False, max_length=500)


class ExtensionForm(forms.Form):
    days = forms.IntegerField(label=_("Extra days"), min_value=1, max_value=365, initial=30)
    reason = forms.CharField(
        label=_("Why the deal needs more time"), widget=forms.Textarea(attrs={"rows": 2})
    )


class ExtensionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("grant", _("Grant")), ("refuse", _("Refuse"))])
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)

"""Forms of partners/: the public application, the review decision, agreements, the team and the profile."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from partners.models import (
    PartnerType,
    QualifyingQuestion,
    QuestionKind,
    Region,
    Specialisation,
)
from partners.services import application_domain_taken, website_domain_of
from prm.models import Role

country_validator = RegexValidator(r"^[A-Za-z]{2}$", _("Enter a two-letter country code, such as DE or US."))

# The honeypot: a field people never see or fill in (it sits off-screen and out of the tab order), which
# form-filling bots do. A filled-in honeypot looks like success to the bot and records nothing.
HONEYPOT = "company_fax"

YES_NO = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


def question_field_name(question: QualifyingQuestion) -> str:
    return f"q_{question.key}"


class ApplicationForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=160)
    website = forms.URLField(label=_("Website"), max_length=300, assume_scheme="https")
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        validators=[country_validator],
        help_text=_("Two-letter code, such as DE or US."),
    )
    region = forms.ChoiceField(label=_("Region"), choices=[("", "—"), *Region.choices])
    partner_type = forms.ModelChoiceField(
        label=_("Partner type"), queryset=PartnerType.objects.none(), to_field_name="slug", empty_label="—"
    )
    employee_count = forms.IntegerField(label=_("Number of employees"), min_value=1, max_value=10_000_000)
    specialisations = forms.ModelMultipleChoiceField(
        label=_("Specialisations"),
        queryset=Specialisation.objects.none(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    contact_name = forms.CharField(label=_("Your name"), max_length=150)
    contact_email = forms.EmailField(label=_("Your email"))
    contact_phone = forms.CharField(label=_("Your phone"), max_length=40, required=False)
    company_fax = forms.CharField(label=_("Leave this empty"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner_type"].queryset = PartnerType.objects.all()
        self.fields["specialisations"].queryset = Specialisation.objects.all()
        if not self.fields["specialisations"].queryset.exists():
            del self.fields["specialisations"]
        self.fields[HONEYPOT].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})
        self.questions = list(
            QualifyingQuestion.objects.filter(is_active=True).prefetch_related("partner_types")
        )
        for question in self.questions:
            self.fields[question_field_name(question)] = self._question_field(question)

    @staticmethod
    def _question_field(question: QualifyingQuestion) -> forms.Field:
        common = {"label": question.text, "help_text": question.help_text, "required": False}
        if question.kind == QuestionKind.YES_NO:
            return forms.ChoiceField(choices=YES_NO, **common)
        if question.kind == QuestionKind.NUMBER:
            return forms.IntegerField(min_value=0, **common)
        if question.kind == QuestionKind.CHOICE:
            return forms.ChoiceField(choices=[("", "—"), *((c, c) for c in question.choice_list())], **common)
        return forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3}), **common)

    def question_fields(self):
        """(bound field, slugs of the partner types it is asked of; empty for all) per question."""
        return [
            (self[question_field_name(q)], " ".join(t.slug for t in q.partner_types.all()))
            for q in self.questions
        ]

    def company_fields(self):
        names = ["company_name", "website", "country", "region", "partner_type", "employee_count"]
        return [self[name] for name in names + ["specialisations"] if name in self.fields]

    def contact_fields(self):
        return [self[name] for name in ("contact_name", "contact_email", "contact_phone")]

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get(HONEYPOT))

    def clean_website(self):
        website = self.cleaned_data["website"]
        domain = website_domain_of(website)
        if not domain or "." not in domain:
            raise forms.ValidationError(_("Enter your company's website, such as https://example.com."))
        if application_domain_taken(domain):
            raise forms.ValidationError(
                _("An application for this company already exists. We will be in touch.")
            )
        return website

    def clean(self):
        cleaned = super().clean()
        partner_type = cleaned.get("partner_type")
        answers = {}
        for question in self.questions:
            types = {t.pk for t in question.partner_types.all()}
            if types and (partner_type is None or partner_type.pk not in types):
                continue  # not asked of this type: its answer, if any, is dropped
            name = question_field_name(question)
            value = cleaned.get(name)
            if value in (None, ""):
                if question.required and name not in self.errors:
                    self.add_error(name, _("This question needs an answer."))
                continue
            answers[question.key] = value
        cleaned["answers"] = answers
        return cleaned


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The applicant reads it in the email. Required to reject."),
    )
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])


class AgreementAcceptForm(forms.Form):
    agreement = forms.UUIDField(widget=forms.HiddenInput)
    typed_name = forms.CharField(
        label=_("Your full name"), max_length=150, help_text=_("Typing your name signs the agreement.")
    )
    confirm = forms.BooleanField(
        label=_("I have read the agreement and accept it on behalf of my organisation.")
    )


class ColleagueInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[
            (Role.PARTNER_USER, Role.PARTNER_USER.label),
            (Role.PARTNER_ADMIN, Role.PARTNER_ADMIN.label),
        ],
        initial=Role.PARTNER_USER,
    )


class PartnerProfileForm(forms.Form):
    description = forms.CharField(
        label=_("About the company"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
    )
    employee_count = forms.IntegerField(
        label=_("Number of employees"), min_value=1, max_value=10_000_000, required=False
    )
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    specialisations = forms.ModelMultipleChoiceField(
        label=_("Specialisations"),
        queryset=Specialisation.objects.none(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["specialisations"].queryset = Specialisation.objects.all()

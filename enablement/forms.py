"""Forms of enablement/: a quiz attempt's answers."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from enablement.models import Question, QuestionKind


class QuizForm(forms.Form):
    """One field per question of the attempt, in the attempt's shuffled order."""

    def __init__(self, *args, attempt, **kwargs):
        super().__init__(*args, **kwargs)
        questions = {
            q.pk: q
            for q in Question.objects.filter(course_id=attempt.progress.course_id).prefetch_related("choices")
        }
        self.questions = [questions[pk] for pk in attempt.question_order if pk in questions]
        for number, question in enumerate(self.questions, start=1):
            choices = [(str(choice.pk), choice.text) for choice in question.choices.all()]
            label = f"{number}. {question.text}"
            if question.kind == QuestionKind.MULTIPLE:
                field = forms.MultipleChoiceField(
                    label=label,
                    choices=choices,
                    widget=forms.CheckboxSelectMultiple,
                    help_text=_("Choose every right answer."),
                    error_messages={"required": _("Answer this question.")},
                )
            else:
                field = forms.ChoiceField(
                    label=label,
                    choices=choices,
                    widget=forms.RadioSelect,
                    error_messages={"required": _("Answer this question.")},
                )
            self.fields[f"q{question.pk}"] = field

    def answers(self) -> dict[int, set[int]]:
        """Question id -> the chosen choice ids."""
        result = {}
        for question in self.questions:
            value = self.cleaned_data.get(f"q{question.pk}") or []
            values = value if isinstance(value, list) else [value]
            result[question.pk] = {int(v) for v in values}
        return result

"""The ideal partner profile: how well an application fits the tenant's weighted criteria (0-100)."""

from __future__ import annotations

from partners.models import CriterionKind, IdealPartnerCriterion, PartnerApplication, QuestionKind


def _answer(application: PartnerApplication, question):
    return application.answers.get(question.key) if question else None


def criterion_met(
    criterion: IdealPartnerCriterion, application: PartnerApplication, specialisation_ids
) -> bool:
    """Whether `application` meets one criterion."""
    kind = criterion.kind
    if kind == CriterionKind.PARTNER_TYPE:
        return application.partner_type_id == criterion.partner_type_id
    if kind == CriterionKind.REGION:
        return application.region == criterion.region
    if kind == CriterionKind.COUNTRY:
        return application.country.upper() == criterion.country.upper()
    if kind == CriterionKind.MIN_EMPLOYEES:
        return application.employee_count >= (criterion.minimum or 0)
    if kind == CriterionKind.SPECIALISATION:
        return criterion.specialisation_id in specialisation_ids
    if kind == CriterionKind.ANSWER:
        answer = _answer(application, criterion.question)
        if answer in (None, ""):
            return False
        if criterion.question.kind == QuestionKind.NUMBER:
            try:
                return float(answer) >= (criterion.minimum or 0)
            except (TypeError, ValueError):
                return False
        return str(answer).strip().casefold() == criterion.expected_answer.strip().casefold()
    return False


def active_criteria() -> list[IdealPartnerCriterion]:
    """The tenant's criteria that count, for fit_score (read once when scoring many applications)."""
    return list(IdealPartnerCriterion.objects.filter(is_active=True, weight__gt=0).select_related("question"))


def fit_score(
    application: PartnerApplication, criteria: list[IdealPartnerCriterion] | None = None
) -> tuple[int | None, list[dict]]:
    """(score 0-100, reasons) for a saved application; (None, []) while the tenant has no criteria.

    The score is the share of the active criteria's total weight that the application meets. Pass
    `criteria` (active_criteria()) when scoring many; prefetch their specialisations too.
    """
    criteria = active_criteria() if criteria is None else criteria
    if not criteria:
        return None, []
    specialisation_ids = {s.id for s in application.specialisations.all()}
    total = sum(c.weight for c in criteria)
    reasons, met_weight = [], 0
    for criterion in criteria:
        met = criterion_met(criterion, application, specialisation_ids)
        met_weight += criterion.weight if met else 0
        reasons.append({"label": criterion.label, "weight": criterion.weight, "met": met})
    return round(100 * met_weight / total), reasons

"""Enablement in the tenant admin: quiz questions that nobody could pass are refused."""

from __future__ import annotations

import pytest

from enablement.models import Question
from prm.tenancy import tenant_scope
from tests.enablement.conftest import signed_in


def question_post(course, kind, choices):
    data = {
        "course": str(course.pk),
        "position": "1",
        "text": "Which plan fits a team of 40?",
        "kind": kind,
        "choices-TOTAL_FORMS": str(len(choices)),
        "choices-INITIAL_FORMS": "0",
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "1000",
    }
    for n, (text, correct) in enumerate(choices):
        data[f"choices-{n}-text"] = text
        if correct:
            data[f"choices-{n}-is_correct"] = "on"
    return data


@pytest.mark.parametrize(
    ("kind", "choices", "says"),
    [
        ("single", [("Team", True), ("Business", True)], "exactly one right answer"),
        ("multiple", [("Team", False), ("Business", False)], "Mark the right answer."),
        ("single", [("Team", True)], "Give at least two answers."),
    ],
)
def test_a_question_nobody_could_pass_is_refused(cast, content, kind, choices, says):
    response = signed_in(cast.manager).post(
        "/admin/enablement/question/add/", question_post(content.course, kind, choices)
    )
    assert response.status_code == 200
    assert says in response.content.decode()
    with tenant_scope(cast.tenant):
        assert not Question.objects.filter(text="Which plan fits a team of 40?").exists()


def test_a_good_question_is_saved_with_its_choices(cast, content):
    data = question_post(content.course, "multiple", [("Team", True), ("Business", True), ("Free", False)])
    response = signed_in(cast.manager).post("/admin/enablement/question/add/", data)
    assert response.status_code == 302
    with tenant_scope(cast.tenant):
        question = Question.objects.get(text="Which plan fits a team of 40?")
        assert question.choices.filter(is_correct=True).count() == 2


def test_a_manager_adds_a_course_with_ordered_modules_in_the_admin(cast):
    data = {
        "title": "Selling backups",
        "summary": "",
        "pass_mark": "80",
        "max_attempts": "3",
        "is_published": "on",
        "modules-TOTAL_FORMS": "2",
        "modules-INITIAL_FORMS": "0",
        "modules-MIN_NUM_FORMS": "0",
        "modules-MAX_NUM_FORMS": "1000",
        "modules-0-position": "2",
        "modules-0-title": "The pitch",
        "modules-0-kind": "text",
        "modules-0-body": "<p>Pitch it.</p><script>x()</script>",
        "modules-1-position": "1",
        "modules-1-title": "The product",
        "modules-1-kind": "video",
        "modules-1-video_url": "https://video.example.com/watch/2",
    }
    response = signed_in(cast.manager).post("/admin/enablement/course/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    from enablement.models import Course

    with tenant_scope(cast.tenant):
        course = Course.objects.get(title="Selling backups")
        assert [m.title for m in course.modules.all()] == ["The product", "The pitch"]
        assert course.modules.get(title="The pitch").body == "<p>Pitch it.</p>"


def test_a_video_module_without_its_link_is_refused(cast):
    data = {
        "title": "Selling backups",
        "pass_mark": "80",
        "max_attempts": "3",
        "modules-TOTAL_FORMS": "1",
        "modules-INITIAL_FORMS": "0",
        "modules-MIN_NUM_FORMS": "0",
        "modules-MAX_NUM_FORMS": "1000",
        "modules-0-position": "1",
        "modules-0-title": "The demo",
        "modules-0-kind": "video",
    }
    response = signed_in(cast.manager).post("/admin/enablement/course/add/", data)
    assert response.status_code == 200
    assert "Give the video&#x27;s address." in response.content.decode()

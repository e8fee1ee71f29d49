"""Courses and quizzes: saved progress, shuffled questions, the pass mark, the attempt limit, double
submits, the course_passed event and the certificate it earns, and who may open what."""

from __future__ import annotations

import pytest

from enablement import services
from enablement.models import (
    Certification,
    CertificationAward,
    Choice,
    Course,
    CourseProgress,
    Module,
    Question,
    QuestionKind,
    QuizAttempt,
)
from prm import events
from prm.tenancy import tenant_scope
from tests.enablement.conftest import signed_in


@pytest.fixture
def received():
    """Every course_passed event sent during the test, as the kwargs it carried."""
    calls = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    events.course_passed.connect(receiver, dispatch_uid="test-course-passed")
    yield calls
    events.course_passed.disconnect(dispatch_uid="test-course-passed")


@pytest.fixture
def course(cast):
    """A course with two modules and three questions (two single choice, one multiple), pass mark 60%."""
    with tenant_scope(cast.tenant):
        course = Course.objects.create(title="Selling Cloud Backup", pass_mark=60, max_attempts=2)
        Module.objects.create(course=course, position=1, title="The product", body="<p>It backs up.</p>")
        Module.objects.create(course=course, position=2, title="The pitch", body="<p>Sell it.</p>")
        for n in range(1, 3):
            q = Question.objects.create(course=course, position=n, text=f"Single {n}?")
            Choice.objects.create(question=q, text=f"Right {n}", is_correct=True)
            Choice.objects.create(question=q, text=f"Wrong {n}")
        q = Question.objects.create(course=course, position=3, text="Multiple?", kind=QuestionKind.MULTIPLE)
        Choice.objects.create(question=q, text="Right A", is_correct=True)
        Choice.objects.create(question=q, text="Right B", is_correct=True)
        Choice.objects.create(question=q, text="Wrong C")
        return course


def answers(course, *, right: int) -> dict[str, list[str]]:
    """POST data answering the first `right` questions (by position) right and the rest wrong."""
    data = {}
    with tenant_scope(course.tenant):
        for index, question in enumerate(course.questions.order_by("position")):
            choices = question.choices.all()
            wanted = [c for c in choices if c.is_correct == (index < right)]
            if question.kind == QuestionKind.SINGLE:
                wanted = wanted[:1]
            data[f"q{question.pk}"] = [str(c.pk) for c in wanted]
    return data


def start(client, course):
    response = client.post(f"/enablement/courses/{course.public_id}/quiz")
    assert response.status_code == 302
    return response["Location"]


def test_modules_marked_done_are_saved_for_the_person(cast, course):
    client = signed_in(cast.partner_user)
    with tenant_scope(cast.tenant):
        first = course.modules.get(position=1)
    client.post(f"/enablement/courses/{course.public_id}/modules/{first.public_id}/done")
    body = client.get(f"/enablement/courses/{course.public_id}/").content.decode()
    assert body.count("Mark as done") == 1
    with tenant_scope(cast.tenant):
        progress = CourseProgress.objects.get(user=cast.partner_user)
        assert list(progress.completed_modules.all()) == [first]
        assert progress.partner == cast.acme.partner
    # A colleague's progress is their own.
    assert (
        signed_in(cast.acme.partner_admin)
        .get(f"/enablement/courses/{course.public_id}/")
        .content.decode()
        .count("Mark as done")
        == 2
    )


def test_the_quiz_shows_the_questions_in_a_shuffled_order_kept_per_attempt(cast, course):
    with tenant_scope(cast.tenant):
        orders = set()
        for _ in range(12):
            progress = CourseProgress.objects.create(
                course=course, user=cast.partner_user, partner=cast.acme.partner
            )
            attempt = services.quiz_attempt_start(
                course=course, partner=cast.acme.partner, acting_user=cast.partner_user
            )
            assert sorted(attempt.question_order) == sorted(course.questions.values_list("pk", flat=True))
            orders.add(tuple(attempt.question_order))
            progress.delete()
    assert len(orders) > 1
    client = signed_in(cast.partner_user)
    page = client.get(start(client, course)).content.decode()
    with tenant_scope(cast.tenant):
        attempt = QuizAttempt.objects.get()
        texts = [Question.objects.get(pk=pk).text for pk in attempt.question_order]
    positions = [page.index(text) for text in texts]
    assert positions == sorted(positions)


def test_passing_the_quiz_passes_the_course_earns_the_certificate_and_sends_course_passed(
    cast, course, received, django_capture_on_commit_callbacks
):
    with tenant_scope(cast.tenant):
        certification = Certification.objects.create(name="Backup seller", valid_months=12)
        certification.courses.add(course)
    client = signed_in(cast.partner_user)
    attempt_url = start(client, course)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(attempt_url, answers(course, right=2))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "You passed with 67%" in page
    assert "Your Backup seller certificate" in page
    assert received == [
        {
            "signal": events.course_passed,
            "tenant_id": cast.tenant.pk,
            "partner_id": cast.acme.partner.public_id,
            "user_id": cast.partner_user.pk,
            "course_id": course.public_id,
            "course_slug": course.slug,
        }
    ]
    with tenant_scope(cast.tenant):
        award = CertificationAward.objects.get()
        assert (award.user, award.partner, award.certification) == (
            cast.partner_user,
            cast.acme.partner,
            certification,
        )
        assert CourseProgress.objects.get().passed_at is not None


def test_failing_leaves_the_course_open_and_sends_nothing(
    cast, course, received, django_capture_on_commit_callbacks
):
    client = signed_in(cast.partner_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(start(client, course), answers(course, right=1))
    assert "You scored 33%; the pass mark is 60%." in client.get(response["Location"]).content.decode()
    assert received == []
    with tenant_scope(cast.tenant):
        assert CourseProgress.objects.get().passed_at is None


def test_a_quiz_submitted_twice_changes_nothing(cast, course, received, django_capture_on_commit_callbacks):
    client = signed_in(cast.partner_user)
    attempt_url = start(client, course)
    client.post(attempt_url, answers(course, right=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(attempt_url, answers(course, right=3))
    assert response.status_code == 302
    assert "submitted already; nothing was changed" in client.get(response["Location"]).content.decode()
    with tenant_scope(cast.tenant):
        attempt = QuizAttempt.objects.get()
        assert (attempt.score, attempt.passed) == (33, False)
        assert CourseProgress.objects.get().passed_at is None
    assert received == []


def test_no_attempt_starts_after_the_limit(cast, course):
    client = signed_in(cast.partner_user)
    for _ in range(2):
        client.post(start(client, course), answers(course, right=0))
    response = client.post(f"/enablement/courses/{course.public_id}/quiz")
    page = client.get(response["Location"]).content.decode()
    assert "You have used all 2 attempts at this quiz." in page
    with tenant_scope(cast.tenant):
        assert QuizAttempt.objects.count() == 2


def test_starting_twice_resumes_the_open_attempt(cast, course):
    client = signed_in(cast.partner_user)
    assert start(client, course) == start(client, course)


def test_a_passed_course_cannot_be_retaken_while_its_certificate_is_fresh(cast, course):
    client = signed_in(cast.partner_user)
    client.post(start(client, course), answers(course, right=3))
    response = client.post(f"/enablement/courses/{course.public_id}/quiz")
    assert "You passed this course already." in client.get(response["Location"]).content.decode()


def test_an_incomplete_answer_sheet_is_shown_again_with_errors(cast, course):
    client = signed_in(cast.partner_user)
    attempt_url = start(client, course)
    response = client.post(attempt_url, {})
    assert response.status_code == 200
    assert "Answer this question." in response.content.decode()
    with tenant_scope(cast.tenant):
        assert QuizAttempt.objects.get().submitted_at is None


def test_another_persons_attempt_is_a_404(cast, course):
    client = signed_in(cast.partner_user)
    attempt_url = start(client, course)
    for user in (cast.acme.partner_admin, cast.other_partner_user, cast.manager):
        assert signed_in(user).get(attempt_url).status_code == 404
        assert signed_in(user).post(attempt_url, answers(course, right=3)).status_code == 404
    with tenant_scope(cast.tenant):
        assert QuizAttempt.objects.get().submitted_at is None


def test_a_course_outside_the_audience_is_a_404(cast, course):
    from partners.models import Tier

    with tenant_scope(cast.tenant):
        course.audience_tiers.set([Tier.objects.get(slug="platinum")])
    client = signed_in(cast.partner_user)
    assert client.get(f"/enablement/courses/{course.public_id}/").status_code == 404
    assert client.post(f"/enablement/courses/{course.public_id}/quiz").status_code == 404
    assert "Selling Cloud Backup" not in client.get("/enablement/courses/").content.decode()


def test_rich_text_is_sanitised_when_saved(cast, course):
    with tenant_scope(cast.tenant):
        module = Module.objects.create(
            course=course,
            title="Unsafe",
            body='<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:x()">a</a>'
            '<a href="https://example.com">b</a></p>',
        )
    assert "<script" not in module.body and "onclick" not in module.body and "javascript:" not in module.body
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">b</a>' in module.body


# Partner pages pay two reads of the agreement gate (partners.middleware).
COURSE_LIST_QUERIES = 13


def test_the_course_list_shows_progress_at_the_same_query_cost_with_many_courses(
    cast, course, django_assert_num_queries
):
    client = signed_in(cast.partner_user)
    with tenant_scope(cast.tenant):
        first = course.modules.get(position=1)
    client.post(f"/enablement/courses/{course.public_id}/modules/{first.public_id}/done")
    with django_assert_num_queries(COURSE_LIST_QUERIES):
        response = client.get("/enablement/courses/")
    assert "1 of 2 modules done" in response.content.decode()
    with tenant_scope(cast.tenant):
        for n in range(12):
            extra = Course.objects.create(title=f"Extra course {n}")
            Module.objects.create(course=extra, title="Intro")
            CourseProgress.objects.create(course=extra, user=cast.partner_user, partner=cast.acme.partner)
    with django_assert_num_queries(COURSE_LIST_QUERIES):
        response = client.get("/enablement/courses/")
    assert response.content.decode().count("0 of 1 modules done") == 12

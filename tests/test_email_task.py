"""Email leaves through a task (prm.mail.TaskEmailBackend), tasks run eagerly here. What a real worker
delivers: tests/test_worker.py."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives, send_mail
from django.db import transaction

from prm import services
from prm.mail import deserialise, serialise
from prm.models import Role
from prm.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def email_via_task(settings):
    # pytest-django swaps in the locmem backend for every test; here it stands behind the task instead.
    settings.EMAIL_BACKEND = "prm.mail.TaskEmailBackend"
    settings.PRM_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_send_mail_enqueues_the_email_only_when_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        sent = send_mail(
            "Your deal is approved",
            "Congratulations.",
            None,
            ["alice@acme.test"],
            html_message="<p>Congratulations.</p>",
        )
        assert sent == 1
    assert len(callbacks) == 1
    assert mail.outbox == [], "nothing may be sent before the commit"

    callbacks[0]()

    [message] = mail.outbox
    assert message.subject == "Your deal is approved"
    assert message.to == ["alice@acme.test"]
    assert message.alternatives == [("<p>Congratulations.</p>", "text/html")]


def test_email_of_a_rolled_back_transaction_is_never_enqueued(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            send_mail("Your deal is approved", "Congratulations.", None, ["alice@acme.test"])
            raise RuntimeError("the approval failed")

    assert callbacks == []
    assert mail.outbox == []


def test_membership_add_emails_the_invitation_through_the_task_once_committed(
    cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, tenant_scope(cast.tenant):
        services.membership_add(
            tenant=cast.tenant,
            email="newcomer@acme.test",
            role=Role.CHANNEL_MANAGER,
            acting_user=cast.acme.tenant_admin,
        )
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    [invitation] = mail.outbox
    assert invitation.to == ["newcomer@acme.test"]
    assert invitation.subject == "[Acme] You are invited to the Acme partner portal"
    assert "http://acme.localhost/accounts/login/code/" in invitation.body


def test_serialise_round_trips_every_part_of_a_message_through_json():
    original = EmailMultiAlternatives(
        subject="Q3 rebate statement",
        body="Your statement is attached.",
        from_email="Acme Partner Program <partners@acme.test>",
        to=["alice@northwind.test", "Bob <bob@northwind.test>"],
        cc=["manager@acme.test"],
        bcc=["audit@acme.test"],
        reply_to=["Mia <mia@acme.test>"],
        headers={"X-PRM-Tenant": "acme", "List-Unsubscribe": "<https://acme.localhost/u/1>"},
    )
    original.attach_alternative("<p>Your statement is <b>attached</b>.</p>", "text/html")

    copy = deserialise(json.loads(json.dumps(serialise(original))))

    for attribute in ("subject", "body", "from_email", "to", "cc", "bcc", "reply_to", "extra_headers"):
        assert getattr(copy, attribute) == getattr(original, attribute), attribute
    assert copy.alternatives == [("<p>Your statement is <b>attached</b>.</p>", "text/html")]
    assert copy.recipients() == original.recipients()
    assert copy.message()["X-PRM-Tenant"] == "acme"


def test_serialise_keeps_an_html_only_message_html():
    # allauth sends a template that has only an HTML body this way.
    original = EmailMessage(
        "Confirm your address", "<p>Click <a href='https://x.test'>here</a>.</p>", to=["alice@acme.test"]
    )
    original.content_subtype = "html"

    copy = deserialise(json.loads(json.dumps(serialise(original))))

    assert copy.content_subtype == "html"
    assert copy.message().get_content_type() == "text/html"


def test_serialise_round_trips_attachments():
    original = EmailMessage("Payout statement", "Attached.", to=["alice@acme.test"])
    original.attach("statement.pdf", b"%PDF-1.7\x00\xff binary", "application/pdf")
    original.attach("statement.csv", "partner,amount\nNorthwind,1200.00\n", "text/csv")

    copy = deserialise(json.loads(json.dumps(serialise(original))))

    assert [tuple(attachment) for attachment in copy.attachments] == [
        ("statement.pdf", b"%PDF-1.7\x00\xff binary", "application/pdf"),
        ("statement.csv", "partner,amount\nNorthwind,1200.00\n", "text/csv"),
    ]


def test_serialise_refuses_an_attachment_it_cannot_queue_instead_of_dropping_it():
    from email.mime.text import MIMEText

    message = EmailMessage("Payout statement", "Attached.", to=["alice@acme.test"])
    message.attach(MIMEText("partner,amount", "csv"))

    with pytest.raises(TypeError, match="Attach files by name"):
        serialise(message)

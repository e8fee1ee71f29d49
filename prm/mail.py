"""Email leaves through a Celery task, never from inside a web request.

`TaskEmailBackend` is Django's EMAIL_BACKEND: it serialises each message to JSON and enqueues
`prm.tasks.send_email` once the current transaction commits (an email about a change that rolled back is
never sent). The task hands the message to PRM_EMAIL_BACKEND (SMTP, console or file) and retries on failure.
"""

from __future__ import annotations

import base64
from email.mime.base import MIMEBase

from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction


def serialise(message) -> dict:
    alternatives = [[content, mimetype] for content, mimetype in getattr(message, "alternatives", [])]
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        # "html" for a message whose body is HTML (allauth sends HTML-only templates this way).
        "content_subtype": message.content_subtype,
        "alternatives": alternatives,
        "attachments": [_serialise_attachment(attachment) for attachment in message.attachments],
    }


def _serialise_attachment(attachment) -> dict:
    if isinstance(attachment, MIMEBase):
        raise TypeError(
            "Attach files by name, content and type (EmailMessage.attach(filename, content, "
            "mimetype)): a MIME object cannot be queued for the email task."
        )
    filename, content, mimetype = attachment
    if isinstance(content, str):
        return {"filename": filename, "mimetype": mimetype, "text": content}
    return {"filename": filename, "mimetype": mimetype, "base64": base64.b64encode(content).decode("ascii")}


def deserialise(data: dict) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=data["subject"],
        body=data["body"],
        from_email=data["from_email"],
        to=data["to"],
        cc=data["cc"],
        bcc=data["bcc"],
        reply_to=data["reply_to"],
        headers=data["headers"],
    )
    # .get(): messages queued before a field existed still deserialise.
    message.content_subtype = data.get("content_subtype", "plain")
    for content, mimetype in data["alternatives"]:
        message.attach_alternative(content, mimetype)
    for attachment in data.get("attachments", []):
        content = attachment["text"] if "text" in attachment else base64.b64decode(attachment["base64"])
        message.attach(attachment["filename"], content, attachment["mimetype"])
    return message


class TaskEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        from prm.tasks import send_email

        payloads = [serialise(message) for message in email_messages]
        for payload in payloads:
            transaction.on_commit(lambda payload=payload: send_email.delay(payload))
        return len(payloads)

"""The Celery wiring, proven with a real worker process: email by task, invitations in the tenant's scope,
the heartbeat behind /healthz, and the bounded requeue of a message whose worker dies.

One worker serves the whole module (starting one costs seconds). It consumes a queue of its own and uses a
Redis key prefix of its own, so parallel test runs never take each other's messages.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.mail import send_mail
from django.db import transaction

from prm import services
from prm.celery import _redis
from prm.models import ParkedTask, Role
from prm.tasks import heartbeat_key, worker_heartbeat
from prm.tenancy import tenant_scope
from tests import worker_tasks
from tests.worker_support import serving_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Below the default of 3 (the worker reads PRM_TASK_MAX_DELIVERIES): the pool takes up to 5 s to notice
# each dead process.
MAX_DELIVERIES = 2


@pytest.fixture(scope="module")
def worker(django_db_setup, tmp_path_factory):
    """A running `celery -A prm worker`, on the test database, consuming this module's own queue."""
    directory = tmp_path_factory.mktemp("celery-worker")
    with serving_worker(directory, max_deliveries=MAX_DELIVERIES) as (worker, killed):
        yield worker
    assert not killed, f"worker processes survived a warm shutdown and had to be killed: {killed}"
    assert not worker.processes(), "a worker process outlived its test run"


@pytest.fixture
def email_via_task(settings):
    # pytest-django swaps in the locmem backend for every test; these tests are about the real one.
    settings.EMAIL_BACKEND = "prm.mail.TaskEmailBackend"


def test_send_mail_is_delivered_by_the_worker(worker, email_via_task):
    subject = f"Quarterly review {uuid.uuid4().hex[:8]}"

    send_mail(
        subject,
        "See you on Tuesday.",
        "PRM <noreply@prm.test>",
        ["alice@acme.test"],
        html_message="<p>See you on <b>Tuesday</b>.</p>",
    )

    message = worker.wait_for(lambda: worker.email_with_subject(subject), what=f"the email {subject!r}")
    assert message["To"] == "alice@acme.test"
    assert message["From"] == "PRM <noreply@prm.test>"
    assert message.get_body(("plain",)).get_content().strip() == "See you on Tuesday."
    assert message.get_body(("html",)).get_content().strip() == "<p>See you on <b>Tuesday</b>.</p>"


def test_email_of_a_rolled_back_transaction_is_never_sent(worker, email_via_task):
    token = uuid.uuid4().hex[:8]

    with pytest.raises(RuntimeError), transaction.atomic():
        send_mail(f"Rolled back {token}", "Never.", None, ["alice@acme.test"])
        raise RuntimeError("the change failed")
    # The queue is first in, first out and the worker runs one task at a time: once this later email is
    # delivered, the rolled-back one would have been too, had it been enqueued.
    send_mail(f"Committed {token}", "Yes.", None, ["alice@acme.test"])

    worker.wait_for(lambda: worker.email_with_subject(f"Committed {token}"), what="the committed email")
    assert worker.email_with_subject(f"Rolled back {token}") is None


def test_membership_add_sends_the_invitation_from_the_worker_in_the_tenant_scope(
    worker, email_via_task, cast
):
    with tenant_scope(cast.tenant):
        membership = services.membership_add(
            tenant=cast.tenant,
            email="newcomer@acme.test",
            full_name="Nia Newcomer",
            role=Role.CHANNEL_MANAGER,
            acting_user=cast.acme.tenant_admin,
        )

    subject = "[Acme] You are invited to the Acme partner portal"
    invitation = worker.wait_for(
        lambda: next((m for m in worker.emails() if m["To"] == "newcomer@acme.test"), None),
        what="the invitation",
    )
    assert invitation["Subject"] == subject
    # Rendered from acme's rows inside acme's scope: the tenant's name and its own host.
    html = invitation.get_body(("html",)).get_content()
    assert "You now have access to the Acme partner portal as Channel manager." in html
    assert "http://acme.localhost/accounts/" in html
    # The task's log lines carry the tenant and the task id, as JSON.
    line = next(
        record
        for record in worker.log_records()
        if record.get("message") == f"sending the invitation of membership {membership.pk}"
    )
    assert line["tenant"] == "acme"
    assert line["logger"] == "prm.tasks"
    assert line["task_id"]
    assert line["request_id"] == "-"


def test_the_heartbeat_from_the_worker_makes_healthz_report_the_worker_ok(worker, client):
    _redis().delete(heartbeat_key())
    before = client.get("/healthz", HTTP_HOST="localhost")
    assert before.status_code == 503
    assert before.json()["checks"]["worker"] == {"ok": False, "error": "no heartbeat recorded yet"}

    worker_heartbeat.delay()

    worker.wait_for(lambda: _redis().get(heartbeat_key()), what="the heartbeat")
    for host in ("localhost", "10.0.0.1"):
        response = client.get("/healthz", HTTP_HOST=host)
        assert response.status_code == 200, (host, response.content)
        body = response.json()
        assert body["status"] == "ok"
        assert body["checks"]["database"] == {"ok": True}
        assert body["checks"]["broker"] == {"ok": True}
        assert body["checks"]["worker"]["ok"] is True
        assert body["checks"]["worker"]["last_heartbeat_age_seconds"] < 30


def test_a_task_that_kills_its_worker_is_redelivered_a_bounded_number_of_times_then_parked(worker, cast):
    marker = uuid.uuid4().hex[:8]
    runs = worker_tasks.runs_key(marker)
    max_deliveries = MAX_DELIVERIES

    result = worker_tasks.kill_own_process.delay(cast.tenant.pk, marker)

    parked = worker.wait_for(
        lambda: ParkedTask.objects.filter(task_id=result.id).first(), what="the task to be parked"
    )
    # Each delivery ran the task in acme's scope and killed the worker process running it (a fresh one each
    # time: the pool replaced the dead one); the delivery after the last allowed one parked it unrun.
    entries = [entry.decode() for entry in _redis().lrange(runs, 0, -1)]
    assert len(entries) == max_deliveries
    assert all(entry.startswith("acme:") for entry in entries)
    assert len(set(entries)) == max_deliveries
    assert parked.task_name == "tests.worker_tasks.kill_own_process"
    assert parked.tenant == cast.tenant
    assert parked.args == [cast.tenant.pk, marker]
    assert parked.deliveries == max_deliveries
    assert f"died {max_deliveries} times" in parked.error
    assert any(
        record["logger"] == "multiprocessing" and "exited with 'signal 9 (SIGKILL)'" in record["message"]
        for record in worker.log_records()
    ), "the pool's report of the dead process should be a JSON log line"

    # The parked message is done with: the worker goes on to the next message, and never runs it again.
    _redis().delete(heartbeat_key())
    worker_heartbeat.delay()
    worker.wait_for(lambda: _redis().get(heartbeat_key()), what="the worker to take the next message")
    assert _redis().llen(runs) == max_deliveries
    assert _redis().llen(worker.queue) == 0
    assert not _redis().exists(f"{worker.key_prefix}:task-deliveries:{result.id}")
    assert ParkedTask.objects.count() == 1


def test_every_line_the_worker_logs_is_json_and_a_task_logger_line_carries_the_tenant(worker, cast):
    message = f"checked the partner program {uuid.uuid4().hex[:8]}"

    worker_tasks.log_line.delay(cast.tenant.pk, message)

    record = worker.wait_for(
        lambda: next((record for record in worker.log_records() if record.get("message") == message), None),
        what="the task's log line",
    )
    assert record["level"] == "WARNING"
    assert record["tenant"] == "acme"
    assert record["task_id"]
    # Only Celery's start-up banner is plain text; everything logged once the worker runs is JSON.
    lines = worker.log().split(" ready.", 1)[1].splitlines()[1:]
    not_json = [line for line in lines if line.strip() and not _is_json_object(line)]
    assert not not_json, "\n".join(not_json)


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False

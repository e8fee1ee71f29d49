"""Structured logs: the JSON lines of settings.LOGGING carry the request id and the tenant; the response
names its request id. (The worker's own log lines: tests/test_worker.py.)"""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re

import pytest
from django.conf import settings

from prm import services
from prm.models import Role
from prm.tenancy import tenant_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log():
    """The root logger also writes to a buffer through the formatter and filter settings.LOGGING declares;
    returns a function that reads the lines back, parsed."""
    configurator = logging.config.DictConfigurator(settings.LOGGING)
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(configurator.configure_formatter(dict(settings.LOGGING["formatters"]["json"])))
    handler.addFilter(configurator.configure_filter(dict(settings.LOGGING["filters"]["context"])))
    root = logging.getLogger()
    root.addHandler(handler)

    def records() -> list[dict]:
        # Every line must parse: that is the promise, so no line is skipped.
        return [json.loads(line) for line in handler.stream.getvalue().splitlines()]

    yield records
    root.removeHandler(handler)


def test_a_request_to_a_tenant_host_logs_json_lines_with_its_request_id_and_tenant(client, cast, json_log):
    response = client.get("/no-such-page/", HTTP_HOST=cast.host)

    assert response.status_code == 404
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [line] = [record for record in json_log() if record["logger"] == "django.request"]
    assert line["message"] == "Not Found: /no-such-page/"
    assert line["level"] == "WARNING"
    assert line["request_id"] == request_id
    assert line["tenant"] == "acme"
    assert line["time"]


def test_the_platform_host_logs_no_tenant_and_nothing_leaks_past_the_request(client, cast, json_log):
    client.get("/no-such-page/", HTTP_HOST=cast.host)
    response = client.get("/no-such-page/", HTTP_HOST="localhost")
    logging.getLogger("prm.test").warning("after the requests")

    *_, platform_line, after = json_log()
    assert platform_line["message"] == "Not Found: /no-such-page/"
    assert platform_line["request_id"] == response["X-Request-ID"]
    assert platform_line["tenant"] == "-"
    assert (after["message"], after["request_id"], after["tenant"]) == ("after the requests", "-", "-")


def test_the_404_for_an_unknown_host_is_logged_with_its_request_id(client, json_log):
    response = client.get("/", HTTP_HOST="nobody.example")

    assert response.status_code == 404
    line = json_log()[-1]
    assert line["message"] == "Not Found: /"
    assert line["request_id"] == response["X-Request-ID"]
    assert line["tenant"] == "-"


def test_a_sane_incoming_request_id_is_kept(client, cast, json_log):
    response = client.get("/no-such-page/", HTTP_HOST=cast.host, HTTP_X_REQUEST_ID="lb-7f3a.91c2_e4")

    assert response["X-Request-ID"] == "lb-7f3a.91c2_e4"
    assert json_log()[-1]["request_id"] == "lb-7f3a.91c2_e4"


@pytest.mark.parametrize(
    "incoming",
    ["short", "x" * 65, "has spaces in it", 'quote"injection', "line\nbreak12", "ünïcödé-id-123"],
)
def test_a_malformed_incoming_request_id_is_replaced(client, cast, incoming):
    response = client.get("/healthz", HTTP_HOST=cast.host, HTTP_X_REQUEST_ID=incoming)

    assert response["X-Request-ID"] != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_every_response_gets_a_fresh_request_id(client, cast):
    first = client.get("/healthz", HTTP_HOST=cast.host)["X-Request-ID"]
    second = client.get("/healthz", HTTP_HOST=cast.host)["X-Request-ID"]

    assert first != second


def test_log_lines_inside_a_tenant_task_carry_the_tenant(cast, json_log, django_capture_on_commit_callbacks):
    # membership_add enqueues prm.tasks.membership_invite_send, a tenant task, run eagerly here.
    with django_capture_on_commit_callbacks(execute=True), tenant_scope(cast.globex.tenant):
        membership = services.membership_add(
            tenant=cast.globex.tenant, email="newcomer@globex.test", role=Role.CHANNEL_MANAGER
        )
    logging.getLogger("prm.test").warning("after the task")

    task_line = next(record for record in json_log() if record["logger"] == "prm.tasks")
    assert task_line["message"] == f"sending the invitation of membership {membership.pk}"
    assert task_line["tenant"] == "globex"
    assert json_log()[-1]["tenant"] == "-"

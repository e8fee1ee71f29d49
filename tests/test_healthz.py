"""/healthz without a worker: what it reports when the heartbeat is missing or stale, and when Redis is
unreachable or hangs. (With a real worker's heartbeat: tests/test_worker.py.)"""

from __future__ import annotations

import contextlib
import signal
import socket
import time
import uuid

import pytest
from django.test import override_settings

from prm import celery as prm_celery
from prm.tasks import heartbeat_key, worker_heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_keys(settings):
    # A developer's worker and beat on the same Redis write the heartbeat under the default prefix.
    settings.PRM_CACHE_KEY_PREFIX = f"prm-test-{uuid.uuid4().hex[:12]}"
    yield
    prm_celery._redis().delete(heartbeat_key())


@pytest.fixture
def redis_at():
    """Point the Redis client /healthz uses at another address for the test."""
    overrides = []

    def point(url: str) -> None:
        overrides.append(override_settings(REDIS_URL=url))
        overrides[-1].enable()
        _forget_client()

    yield point
    for override in reversed(overrides):
        override.disable()
    _forget_client()  # the next caller builds a client for the real REDIS_URL


def _forget_client() -> None:
    with contextlib.suppress(AttributeError):
        del prm_celery._redis.client


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail the block if it takes longer than `seconds` (a hang would otherwise stall the suite)."""

    def expire(signum, frame):
        raise AssertionError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def healthz(client, host: str = "localhost"):
    response = client.get("/healthz", HTTP_HOST=host)
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response, response.json()


@pytest.mark.parametrize("host", ["localhost", "10.0.0.1", "healthz.internal", "acme.localhost"])
def test_without_a_heartbeat_it_answers_503_on_any_host(client, host):
    response, body = healthz(client, host)

    assert response.status_code == 503
    assert body == {
        "status": "fail",
        "checks": {
            "database": {"ok": True},
            "broker": {"ok": True},
            "worker": {"ok": False, "error": "no heartbeat recorded yet"},
        },
    }


def test_a_fresh_heartbeat_makes_it_healthy(client):
    worker_heartbeat()

    response, body = healthz(client)

    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["checks"]["worker"]["ok"] is True
    assert 0 <= body["checks"]["worker"]["last_heartbeat_age_seconds"] < 5


def test_a_stale_heartbeat_means_the_worker_is_not_ok(client, settings):
    prm_celery._redis().set(heartbeat_key(), time.time() - settings.PRM_HEARTBEAT_MAX_AGE - 30)

    response, body = healthz(client)

    assert response.status_code == 503
    assert body["checks"]["worker"]["ok"] is False
    assert body["checks"]["worker"]["last_heartbeat_age_seconds"] >= settings.PRM_HEARTBEAT_MAX_AGE + 30
    assert body["checks"]["database"] == {"ok": True}


def test_an_unreachable_broker_answers_503_with_the_error(client, redis_at):
    # A bound socket that does not listen: the port is ours, and nothing answers on it.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        redis_at(f"redis://127.0.0.1:{unused.getsockname()[1]}/0")

        response, body = healthz(client, "10.0.0.1")

    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["broker"]["ok"] is False
    assert "Connection refused" in body["checks"]["broker"]["error"]
    assert body["checks"]["worker"] == {"ok": False, "error": "broker unreachable"}


def test_a_broker_that_accepts_but_never_answers_fails_the_check_instead_of_hanging(
    client, redis_at, monkeypatch
):
    monkeypatch.setattr(prm_celery, "REDIS_TIMEOUT", 0.3)
    # Listening, so the connection opens, but nobody ever reads or answers: a wedged Redis.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        redis_at(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")

        with deadline(5):
            response, body = healthz(client)

    assert response.status_code == 503
    assert body["checks"]["broker"]["ok"] is False
    assert "Timeout" in body["checks"]["broker"]["error"]

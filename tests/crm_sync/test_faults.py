import time

import pytest
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from tests.crm_sync.conftest import api_calls, connect


def test_every_api_call_is_counted_and_reported_in_sforce_limit_info(sf, emulator, session):
    emulator.configure(api_max=1000)
    sf.query("SELECT Id FROM Account")
    sf.Account.create({"Name": "A"})
    response = session.get(
        f"{emulator.url}/services/data/v62.0/limits/", headers={"Authorization": f"Bearer {sf.session_id}"}
    )
    assert response.headers["Sforce-Limit-Info"] == "api-usage=3/1000"
    assert response.json()["DailyApiRequests"] == {"Max": 1000, "Remaining": 997}
    assert sf.limits()["DailyApiRequests"]["Remaining"] == 996
    assert sf.api_usage["api-usage"].used == 4
    assert [entry["method"] for entry in api_calls(emulator)] == ["GET", "POST", "GET", "GET"]
    assert api_calls(emulator)[1]["object"] == "Account" and api_calls(emulator)[1]["record_count"] == 1


def test_the_request_limit_is_enforced_once_the_daily_allowance_is_used(sf, emulator):
    emulator.configure(api_max=2)
    sf.query("SELECT Id FROM Account")
    sf.query("SELECT Id FROM Account")
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM Account")
    assert refused.value.status == 403
    assert refused.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]


def test_request_limit_exceeded_can_be_switched_on_and_off(sf, emulator):
    emulator.set_faults(request_limit_exceeded=True)
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Account")
    emulator.clear_faults()
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0


def test_a_5xx_rate_with_a_seed_fails_the_same_calls_each_time(sf, emulator):
    def outcomes():
        emulator.set_faults(error_rate=0.3, seed=42)
        seen = []
        for _ in range(40):
            try:
                sf.query("SELECT Id FROM Account")
                seen.append(True)
            except SalesforceGeneralError as failure:
                assert failure.status == 503
                seen.append(False)
        return seen

    first = outcomes()
    assert 4 <= first.count(False) <= 24
    assert outcomes() == first


def test_expired_sessions_get_401_and_a_fresh_token_works(sf, emulator, session):
    emulator.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")
    assert connect(emulator, session).query("SELECT Id FROM Account")["totalSize"] == 0


def test_faults_are_settable_through_the_admin_endpoint(sf, emulator, session):
    response = session.post(f"{emulator.url}/__emulator__/faults", json={"latency_ms": 150})
    assert response.status_code == 200 and response.json()["latency_ms"] == 150
    started = time.monotonic()
    sf.query("SELECT Id FROM Account")
    assert time.monotonic() - started >= 0.15

    session.post(f"{emulator.url}/__emulator__/faults", json={"expire_sessions": True})
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")
    assert session.post(f"{emulator.url}/__emulator__/faults", json={"bogus": 1}).status_code == 400


def test_the_request_log_and_reset_are_served_over_http(sf, emulator, session):
    sf.Account.create({"Name": "A"})
    log = session.get(f"{emulator.url}/__emulator__/requests").json()
    assert log[-1]["path"] == "/services/data/v62.0/sobjects/Account/" and log[-1]["status"] == 201
    assert len(session.get(f"{emulator.url}/__emulator__/records?object=Account").json()) == 1
    assert session.post(f"{emulator.url}/__emulator__/reset").status_code == 204
    assert emulator.records("Account") == [] and emulator.request_log() == []

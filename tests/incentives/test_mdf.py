"""MDF: requests within the quarter's allowance, approvals that lock the budget row, claims with checked
proofs, the ledger posting, expiry, and the partner's pages with the outsiders."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from incentives import selectors, services
from incentives.models import (
    ClaimStatus,
    EntryKind,
    LedgerEntry,
    MdfBudget,
    MdfClaim,
    MdfRequest,
    MdfStatus,
)
from prm.tenancy import tenant_scope
from tests.incentives.conftest import set_rule

TODAY = datetime.date.today()
PDF = b"%PDF-1.4\n%invoice\n"


def client_for(user, host="acme.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def proof(name="invoice.pdf", data=PDF):
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def ask(cast, amount, **overrides):
    values = {
        "partner": cast.acme.partner,
        "title": "Customer webinar",
        "description": "Two sessions.",
        "amount": Decimal(amount),
        "starts_on": TODAY,
        "ends_on": TODAY,
        "acting_user": cast.partner_admin,
    }
    values.update(overrides)
    return services.mdf_request_submit(**values)


@pytest.fixture
def allowance(cast, acme_scope):
    """Gold's allowance is $10,000 a quarter."""
    set_rule("gold", mdf_allowance=Decimal("10000"))


@pytest.mark.django_db
def test_a_request_above_the_remaining_allowance_is_refused_and_nothing_is_written(cast, allowance):
    approved = ask(cast, "7000")
    services.mdf_request_approve(request=approved, acting_user=cast.manager)
    with pytest.raises(services.IncentiveError, match=r"more than the \$3,000 left"):
        ask(cast, "3500")
    assert MdfRequest.objects.count() == 1
    assert selectors.budget_for(cast.acme.partner, TODAY).remaining == Decimal("3000")


@pytest.mark.django_db
def test_an_approved_claim_posts_to_the_ledger_and_returns_the_unused_amount(cast, allowance):
    request = services.mdf_request_approve(request=ask(cast, "4000"), acting_user=cast.manager)
    claim = services.mdf_claim_submit(
        request=request, amount=Decimal("3500"), note="Done.", files=[proof()], acting_user=cast.partner_admin
    )
    assert claim.proofs.get().content_type == "application/pdf"
    entry = services.mdf_claim_approve(claim=claim, acting_user=cast.manager)
    assert (entry.kind, entry.amount) == (EntryKind.MDF, Decimal("3500"))
    assert MdfRequest.objects.get(pk=request.pk).status == MdfStatus.PAID
    assert selectors.budget_for(cast.acme.partner, TODAY).committed == Decimal("3500")
    with pytest.raises(services.IncentiveError, match="approved already"):
        services.mdf_claim_approve(claim=claim, acting_user=cast.manager)
    assert LedgerEntry.objects.filter(kind=EntryKind.MDF).count() == 1


@pytest.mark.django_db
def test_a_claim_above_the_approved_amount_or_after_expiry_is_refused(cast, allowance):
    request = services.mdf_request_approve(request=ask(cast, "1000"), acting_user=cast.manager)
    with pytest.raises(services.IncentiveError, match="above the approved"):
        services.mdf_claim_submit(
            request=request,
            amount=Decimal("1000.01"),
            note="",
            files=[proof()],
            acting_user=cast.partner_admin,
        )
    assert not MdfClaim.objects.exists()
    MdfRequest.objects.filter(pk=request.pk).update(claim_by=TODAY - datetime.timedelta(days=1))
    with pytest.raises(services.IncentiveError, match="expired"):
        services.mdf_claim_submit(
            request=MdfRequest.objects.get(pk=request.pk),
            amount=Decimal("500"),
            note="",
            files=[proof()],
            acting_user=cast.partner_admin,
        )
    assert not MdfClaim.objects.exists()


@pytest.mark.django_db
def test_a_proof_that_is_not_what_its_name_says_is_refused(cast, allowance):
    request = services.mdf_request_approve(request=ask(cast, "1000"), acting_user=cast.manager)
    with pytest.raises(services.IncentiveError.__mro__[1], match="not a PDF file"):
        services.mdf_claim_submit(
            request=request,
            amount=Decimal("100"),
            note="",
            files=[proof(data=b"<html><script>alert(1)</script></html>")],
            acting_user=cast.partner_admin,
        )
    assert not MdfClaim.objects.exists()
    assert MdfRequest.objects.get(pk=request.pk).status == MdfStatus.APPROVED


@pytest.mark.django_db
def test_unclaimed_approvals_expire_and_give_the_funds_back(cast, allowance):
    request = services.mdf_request_approve(request=ask(cast, "6000"), acting_user=cast.manager)
    assert services.mdf_expire_due(today=request.claim_by) == 0
    assert services.mdf_expire_due(today=request.claim_by + datetime.timedelta(days=1)) == 1
    assert MdfRequest.objects.get(pk=request.pk).status == MdfStatus.EXPIRED
    assert selectors.budget_for(cast.acme.partner, TODAY).remaining == Decimal("10000")


@pytest.mark.django_db
def test_a_rejected_claim_can_be_claimed_again(cast, allowance):
    request = services.mdf_request_approve(request=ask(cast, "1000"), acting_user=cast.manager)
    claim = services.mdf_claim_submit(
        request=request, amount=Decimal("900"), note="", files=[proof()], acting_user=cast.partner_admin
    )
    services.mdf_claim_reject(claim=claim, acting_user=cast.manager, reason="The invoice is unreadable.")
    assert MdfClaim.objects.get(pk=claim.pk).status == ClaimStatus.REJECTED
    again = services.mdf_claim_submit(
        request=MdfRequest.objects.get(pk=request.pk),
        amount=Decimal("900"),
        note="",
        files=[proof()],
        acting_user=cast.partner_admin,
    )
    assert again.status == ClaimStatus.SUBMITTED


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_approvals_cannot_overspend_the_budget(cast):
    with tenant_scope(cast.tenant):
        set_rule("gold", mdf_allowance=Decimal("10000"))
        first, second = ask(cast, "6000"), ask(cast, "6000")
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(request):
        try:
            with tenant_scope(cast.tenant):
                barrier.wait(timeout=10)
                services.mdf_request_approve(request=request, acting_user=cast.manager)
            outcomes.append("approved")
        except services.IncentiveError as refused:
            outcomes.append(str(refused.messages[0]))
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(request,)) for request in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2
    assert outcomes.count("approved") == 1
    [refusal] = [outcome for outcome in outcomes if outcome != "approved"]
    assert "would overspend the budget: $4,000 is left" in refusal
    with tenant_scope(cast.tenant):
        budget = MdfBudget.objects.get()
        assert budget.committed == Decimal("6000")
        assert MdfRequest.objects.filter(status=MdfStatus.APPROVED).count() == 1


@pytest.mark.django_db
def test_a_partner_asks_for_funds_and_claims_them_through_the_pages(cast, allowance):
    alice = client_for(cast.partner_admin)
    refused = alice.post(
        "/incentives/mdf/new/",
        {
            "title": "Roadshow",
            "description": "Three cities.",
            "amount": "20000",
            "starts_on": TODAY,
            "ends_on": TODAY,
        },
    )
    assert refused.status_code == 200
    assert "more than the $10,000 left" in refused.content.decode()
    assert not MdfRequest.objects.exists()
    response = alice.post(
        "/incentives/mdf/new/",
        {
            "title": "Roadshow",
            "description": "Three cities.",
            "amount": "2000",
            "starts_on": TODAY,
            "ends_on": TODAY,
        },
    )
    request = MdfRequest.objects.get()
    assert response.status_code == 302
    services.mdf_request_approve(request=request, acting_user=cast.manager)
    claimed = alice.post(
        f"/incentives/mdf/{request.public_id}/claim/", {"amount": "1800", "note": "", "proofs": [proof()]}
    )
    assert claimed.status_code == 302
    proof_row = MdfClaim.objects.get().proofs.get()
    assert alice.get(f"/incentives/proofs/{proof_row.public_id}/").status_code == 200
    # Outsiders: another partner's person and another tenant's manager.
    carol = client_for(cast.acme.other_partner_admin)
    assert carol.get(f"/incentives/mdf/{request.public_id}/").status_code == 404
    assert carol.get(f"/incentives/proofs/{proof_row.public_id}/").status_code == 404
    outsider = client_for(cast.outsider, host="globex.localhost")
    assert outsider.get(f"/incentives/mdf/{request.public_id}/").status_code == 404


@pytest.mark.django_db
def test_managers_decide_in_the_admin_and_a_second_claim_approval_says_so(cast, allowance):
    request = ask(cast, "2000")
    manager = client_for(cast.manager)
    manager.post(
        "/admin/incentives/mdfrequest/",
        {"action": "approve", "_selected_action": [request.pk], "apply": "1", "reason": ""},
    )
    request = MdfRequest.objects.get(pk=request.pk)
    assert request.status == MdfStatus.APPROVED
    claim = services.mdf_claim_submit(
        request=request, amount=Decimal("1500"), note="", files=[proof()], acting_user=cast.partner_admin
    )
    page = manager.get(f"/admin/incentives/mdfclaim/{claim.pk}/change/").content.decode()
    assert "invoice.pdf" in page
    for _ in range(2):
        response = manager.post(
            "/admin/incentives/mdfclaim/",
            {"action": "approve", "_selected_action": [claim.pk], "apply": "1", "reason": ""},
            follow=True,
        )
    assert "This claim was approved already." in response.content.decode()
    assert LedgerEntry.objects.filter(mdf_claim=claim).count() == 1

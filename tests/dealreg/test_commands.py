"""dealreg's management commands: the customer-account import and the conflict report on the demo data."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dealreg.models import CustomerAccount, Deal, DealEventKind
from prm.tenancy import tenant_scope, unscoped_across_tenants

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_import_creates_and_updates_accounts(cast, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(
        "name,domain,country,crm_id,open_opportunity\n"
        "Contoso Ltd,https://www.contoso.example/,gb,001Em0000000001AAA,yes\n"
        "Fabrikam,,us,,\n"
    )
    assert "2 customer account(s) created, 0 updated" in run(
        "import_customer_accounts", str(path), "--tenant", "acme"
    )
    path.write_text("name,domain\nContoso Limited,contoso.example\n")
    assert "0 customer account(s) created, 1 updated" in run(
        "import_customer_accounts", str(path), "--tenant", "acme"
    )
    with tenant_scope(cast.tenant):
        contoso = CustomerAccount.objects.get(domain="contoso.example")
        assert (contoso.name, contoso.country, contoso.has_open_opportunity) == (
            "Contoso Limited",
            "GB",
            True,
        )
        assert CustomerAccount.objects.count() == 2
    with tenant_scope(cast.globex.tenant):
        assert CustomerAccount.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,domain\nGood Co,good.example\n,nameless.example\n", "1 bad row"),
        ("name,domain\nBad Domain,not a domain\n", "1 bad row"),
        ("company\nContoso\n", "'name' column"),
    ],
)
def test_a_bad_file_imports_nothing_and_says_why(cast, tmp_path, content, message):
    path = tmp_path / "accounts.csv"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        run("import_customer_accounts", str(path), "--tenant", "acme")
    with tenant_scope(cast.tenant):
        assert CustomerAccount.objects.count() == 0


def test_the_import_refuses_an_unknown_tenant_or_file(cast, tmp_path):
    with pytest.raises(CommandError, match="No tenant"):
        run("import_customer_accounts", str(tmp_path / "x.csv"), "--tenant", "nope")
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_customer_accounts", str(tmp_path / "missing.csv"), "--tenant", "acme")


def test_the_conflict_report_counts_true_and_false_matches_on_the_demo_data(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=StringIO())
    output = run("conflict_report", "--demo-truth")
    assert "acme:" in output and "globex:" in output
    # The figures the demo data was built to show (dealreg/demo_data.py): see README, "Deal registration".
    assert "all tenants: 23 true matches, 4 false matches, 1 missed, 0 unlabelled; precision 85.2%" in output
    # A demo deal's history starts when it was registered, which the demo spreads over the past weeks.
    with unscoped_across_tenants():
        for deal in Deal.objects.all():
            registered = deal.events.get(kind=DealEventKind.SUBMITTED)
            assert registered.created_at == deal.submitted_at, deal.name

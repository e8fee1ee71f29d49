"""Report what the channel-conflict check flagged, and, on the demo's data, how precise it was.

Each registration's conflicts are the ones its check found at the moment of registration (DealConflict
rows). With --demo-truth each flagged pair is judged against dealreg/demo_data.py, which says which
customers are really the same company: a true match (same company) or a false match (another company).
A missed match is a pair of the same company that the check could have seen (another partner's earlier
registration, or a customer account that existed when the deal was registered) but did not flag.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dealreg import demo_data
from dealreg.models import CustomerAccount, Deal, DealConflict, DealEventKind
from prm.models import Tenant
from prm.tenancy import tenant_scope


def describe(name: str, domain: str) -> str:
    return f"{name} [{domain or '-'}]"


class Command(BaseCommand):
    help = (
        "List the possible channel conflicts found at registration; with --demo-truth, count true, false and "
        "missed matches on the demo's data and print the precision and recall."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", metavar="SLUG", help="Only this tenant (default: every tenant).")
        parser.add_argument(
            "--demo-truth", action="store_true", help="Judge the matches against the demo data's truth."
        )
        parser.add_argument("--quiet-pairs", action="store_true", help="Print only the figures.")

    def handle(self, *args, tenant=None, demo_truth=False, quiet_pairs=False, **options):
        tenants = Tenant.objects.order_by("slug")
        if tenant:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant with the slug {tenant!r}.")
        totals = {"true": 0, "false": 0, "missed": 0, "unlabelled": 0}
        for each in tenants:
            with tenant_scope(each):
                counts = self.report(each, demo_truth, quiet_pairs)
            for key in totals:
                totals[key] += counts[key]
        if demo_truth:
            self.stdout.write(self.figures("all tenants", totals))

    def report(self, tenant: Tenant, demo_truth: bool, quiet_pairs: bool) -> dict[str, int]:
        truth = demo_data.company_of(tenant.slug) if demo_truth else {}
        deals = list(Deal.objects.select_related("partner").order_by("pk"))
        registered_at = dict(
            Deal.objects.filter(events__kind=DealEventKind.SUBMITTED).values_list("pk", "events__created_at")
        )
        accounts = list(CustomerAccount.objects.all())
        conflicts = DealConflict.objects.select_related("deal", "other_deal__partner", "customer_account")
        flagged: dict[int, set[tuple[str, int]]] = {}
        counts = {"true": 0, "false": 0, "missed": 0, "unlabelled": 0}

        def company(name: str, domain: str) -> str | None:
            return truth.get(demo_data.truth_key(name, domain))

        self.stdout.write(f"{tenant.slug}: {len(deals)} registrations, {conflicts.count()} flagged pairs")
        for conflict in conflicts.order_by("deal_id", "-score"):
            deal = conflict.deal
            other = conflict.other_deal or conflict.customer_account
            target = ("deal", other.pk) if conflict.other_deal else ("account", other.pk)
            flagged.setdefault(deal.pk, set()).add(target)
            other_name = other.customer_name if conflict.other_deal else other.name
            other_domain = other.customer_domain if conflict.other_deal else other.domain
            verdict = ""
            if demo_truth:
                mine, theirs = (
                    company(deal.customer_name, deal.customer_domain),
                    company(other_name, other_domain),
                )
                if mine is None or theirs is None:
                    verdict, key = "unlabelled", "unlabelled"
                else:
                    verdict, key = ("true", "true") if mine == theirs else ("FALSE", "false")
                counts[key] += 1
            if not quiet_pairs:
                self.stdout.write(
                    f"  {verdict:>10} {conflict.kind:6} {conflict.score:3d}  "
                    f"{describe(deal.customer_name, deal.customer_domain)} ~ "
                    f"{describe(other_name, other_domain)}"
                )
        if demo_truth:
            for deal in deals:
                mine = company(deal.customer_name, deal.customer_domain)
                if mine is None:
                    continue
                seen = flagged.get(deal.pk, set())
                when = registered_at.get(deal.pk)
                candidates = [
                    ("deal", other.pk, other.customer_name, other.customer_domain)
                    for other in deals
                    if other.pk < deal.pk and other.partner_id != deal.partner_id
                ] + [
                    ("account", account.pk, account.name, account.domain)
                    for account in accounts
                    if when is not None and account.created_at < when
                ]
                for kind, pk, name, domain in candidates:
                    if company(name, domain) == mine and (kind, pk) not in seen:
                        counts["missed"] += 1
                        if not quiet_pairs:
                            self.stdout.write(
                                f"  {'missed':>10}             "
                                f"{describe(deal.customer_name, deal.customer_domain)} ~ "
                                f"{describe(name, domain)}"
                            )
            self.stdout.write(self.figures(tenant.slug, counts))
        return counts

    def figures(self, label: str, counts: dict[str, int]) -> str:
        true, false, missed = counts["true"], counts["false"], counts["missed"]
        precision = true / (true + false) if true + false else 1.0
        recall = true / (true + missed) if true + missed else 1.0
        return (
            f"{label}: {true} true matches, {false} false matches, {missed} missed, "
            f"{counts['unlabelled']} unlabelled; precision {precision:.1%}, recall {recall:.1%}"
        )

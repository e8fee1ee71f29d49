"""The demo's customer accounts and deal registrations, with the truth about which customers are the same
company (`company`), so `manage.py conflict_report --demo-truth` can count the conflict check's true and
false matches on the seeded data. prm/demo.py seeds them; nothing else reads this module.

Some customers are deliberately the same company under another spelling ("Contoso Ltd" / "Contoso
Limited", "Müller" / "Mueller"), some deliberately different companies with similar names ("Contoso
Pharmaceuticals", "Stadtwerke Landau" next to "Stadtwerke Lindau").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoAccount:
    name: str
    domain: str
    country: str
    company: str


@dataclass(frozen=True)
class DemoDeal:
    partner: str
    customer: str
    domain: str
    company: str
    amount: int
    outcome: str  # submitted, approved, rejected, won, lost, expiring (approved, protection ends soon)
    products: str = "Cloud platform subscription"


ACCOUNTS: dict[str, tuple[DemoAccount, ...]] = {
    "acme": (
        DemoAccount("Contoso Ltd", "contoso.com", "GB", "contoso"),
        DemoAccount("Fabrikam, Inc.", "fabrikam.com", "US", "fabrikam"),
        DemoAccount("Adventure Works Cycles", "adventure-works.com", "US", "adventureworks"),
        DemoAccount("Tailspin Toys", "tailspintoys.com", "US", "tailspin"),
        DemoAccount("Wide World Importers", "wideworldimporters.com", "US", "wwi"),
        DemoAccount("Margie's Travel", "margiestravel.com", "US", "margies"),
    ),
    "globex": (
        DemoAccount("Müller Maschinenbau GmbH", "muellermaschinenbau.de", "DE", "mueller"),
        DemoAccount("Bäckerei Schmidt KG", "baeckerei-schmidt.de", "DE", "schmidt-baeckerei"),
        DemoAccount("Stadtwerke Lindau", "stadtwerke-lindau.de", "DE", "sw-lindau"),
        DemoAccount("Kronberg Logistik AG", "kronberg-logistik.de", "DE", "kronberg"),
    ),
}

NW, BH, SU, LU, HV = (
    "Northwind Traders",
    "Blue Harbor IT",
    "Summit Integration Group",
    "Lumen Data Partners",
    "Harborview Systems",
)
RW, AB, HI, HC, PT = (
    "Rheinwerk IT GmbH",
    "Alpenblick Systemhaus AG",
    "Helvetia Integration AG",
    "Hanse Cloud Partner GmbH",
    "Polder Tech B.V.",
)

# In registration order, oldest first.
DEALS: dict[str, tuple[DemoDeal, ...]] = {
    "acme": (
        DemoDeal(NW, "Contoso Limited", "contoso.com", "contoso", 120000, "approved"),
        DemoDeal(BH, "Contoso Ltd.", "", "contoso", 80000, "rejected"),
        DemoDeal(SU, "Contoso Pharmaceuticals", "contosopharma.com", "contosopharma", 240000, "won"),
        DemoDeal(NW, "Litware Inc", "litware.com", "litware", 45000, "approved"),
        DemoDeal(LU, "Litware Incorporated", "litwareinc.com", "litware", 52000, "submitted"),
        DemoDeal(HV, "Lit Ware", "", "litware", 18000, "submitted"),
        DemoDeal(BH, "Northwind Health", "northwindhealth.com", "nwhealth", 67000, "expiring"),
        DemoDeal(SU, "Northwind Heath", "", "nwhealth", 30000, "rejected"),
        DemoDeal(HV, "Northwind Electric Cars", "nwelectric.com", "nwcars", 150000, "approved"),
        DemoDeal(LU, "Fabrikam Residences", "fabrikamresidences.com", "fabrikam-residences", 22000, "won"),
        DemoDeal(NW, "Fabricam", "fabrikam.com", "fabrikam", 95000, "submitted"),
        DemoDeal(SU, "Tailspin Toys GmbH", "tailspintoys.de", "tailspin", 41000, "submitted"),
        DemoDeal(BH, "Trey Research", "treyresearch.net", "trey", 36000, "approved"),
        DemoDeal(LU, "Trey Research Group", "", "trey", 39000, "submitted"),
        DemoDeal(HV, "Proseware, Inc.", "proseware.com", "proseware", 58000, "lost"),
        DemoDeal(NW, "Proseware Systems", "prosewaresys.com", "prosewaresys", 27000, "approved"),
        DemoDeal(SU, "Alpine Ski House", "alpineskihouse.com", "alpine", 14000, "expiring"),
        DemoDeal(BH, "Alpine Ski Haus", "", "alpine", 16000, "submitted"),
        DemoDeal(LU, "Woodgrove Bank", "woodgrovebank.com", "woodgrove", 310000, "approved"),
        DemoDeal(HV, "Woodgrove Bancorp", "", "woodgrove", 290000, "submitted"),
        DemoDeal(NW, "Coho Winery", "cohowinery.com", "coho", 12000, "won"),
        DemoDeal(SU, "Coho Vineyard", "cohovineyard.com", "cohovineyard", 9000, "approved"),
        DemoDeal(BH, "Graphic Design Institute", "graphicdesigninstitute.com", "gdi", 33000, "approved"),
        DemoDeal(LU, "Graphic Design Institute", "gdi.edu", "gdi", 31000, "submitted"),
        DemoDeal(HV, "A. Datum Corporation", "adatum.com", "adatum", 77000, "approved"),
        DemoDeal(NW, "A Datum Corp", "", "adatum", 70000, "submitted"),
        DemoDeal(SU, "Datum Logistics", "datumlogistics.com", "datumlogistics", 26000, "submitted"),
        DemoDeal(BH, "Wingtip Toys", "wingtiptoys.com", "wingtip", 19000, "submitted"),
        DemoDeal(LU, "Wide World Importers", "", "wwi", 88000, "submitted"),
        DemoDeal(HV, "World Wide Importers", "wwimporters.com", "worldwide", 47000, "submitted"),
        DemoDeal(NW, "Margie's Travel", "margiestravel.com", "margies", 21000, "submitted"),
        DemoDeal(SU, "Margie Travel Agency", "margieagency.com", "margie-agency", 11000, "submitted"),
    ),
    "globex": (
        DemoDeal(RW, "Mueller Maschinenbau", "", "mueller", 180000, "approved"),
        DemoDeal(
            AB, "Müller Maschinenbau GmbH & Co. KG", "muellermaschinenbau.de", "mueller", 175000, "rejected"
        ),
        DemoDeal(HI, "Müller Medizintechnik", "mueller-medtech.de", "mueller-medtech", 64000, "approved"),
        DemoDeal(HC, "Stadtwerke Lindau", "stadtwerke-lindau.de", "sw-lindau", 92000, "won"),
        DemoDeal(PT, "Stadtwerke Landau", "stadtwerke-landau.de", "sw-landau", 85000, "submitted"),
        DemoDeal(RW, "Kronberg Logistik", "kronberg-logistik.de", "kronberg", 56000, "expiring"),
        DemoDeal(
            AB, "Kronberg Spedition GmbH", "kronberg-spedition.de", "kronberg-spedition", 43000, "submitted"
        ),
        DemoDeal(HI, "Bäckerei Schmidt", "", "schmidt-baeckerei", 8000, "submitted"),
        DemoDeal(HC, "Schmidt Bau GmbH", "schmidt-bau.de", "schmidt-bau", 37000, "approved"),
        DemoDeal(PT, "Nordsee Fisch AG", "nordseefisch.de", "nordseefisch", 29000, "approved"),
        DemoDeal(RW, "Nordsee-Fisch", "", "nordseefisch", 31000, "submitted"),
        DemoDeal(AB, "Alpen Energie AG", "alpenenergie.ch", "alpenenergie", 140000, "approved"),
        DemoDeal(HI, "AlpenEnergie", "alpen-energie.ch", "alpenenergie", 150000, "submitted"),
        DemoDeal(HC, "Alpen Elektro GmbH", "alpen-elektro.at", "alpenelektro", 23000, "submitted"),
    ),
}


def truth_key(name: str, domain: str) -> tuple[str, str]:
    """The key the truth is looked up by: the normalised name and domain."""
    from dealreg.conflicts import normalize_domain, normalize_name

    return normalize_name(name), normalize_domain(domain)


def company_of(tenant_slug: str) -> dict[tuple[str, str], str]:
    """(normalised name, normalised domain) -> the company it really is, for the tenant's demo records."""
    truth = {truth_key(a.name, a.domain): a.company for a in ACCOUNTS.get(tenant_slug, ())}
    truth.update({truth_key(d.customer, d.domain): d.company for d in DEALS.get(tenant_slug, ())})
    return truth

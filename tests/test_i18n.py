"""The portal in German and French: the tenant's default language, the visitor's language cookie, no language
carried from one request to the next, and catalogues (locale/) that are complete and compiled.

The catalogue tests read the .po and .mo files in pure Python, so they run on a machine without GNU gettext;
only the check that the catalogues still match the source needs gettext's xgettext, and skips without it.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from prm import emails, services
from prm.models import Role
from prm.tenancy import tenant_scope
from tests.factories import PASSWORD

TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
LOCALE_DIR = Path(settings.LOCALE_PATHS[0])


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # These tests sign in, and allauth's rate limits live in the Redis cache, which outlives a run.
    settings.ACCOUNT_RATE_LIMITS = False


@pytest.fixture
def german_globex(cast):
    """globex, speaking German by default; acme stays English."""
    cast.globex.tenant.default_language = "de"
    cast.globex.tenant.save()
    return cast


def signed_in(host: str, user, **client_kwargs) -> Client:
    """A client signed in through allauth's form, the way a person does."""
    client = Client(HTTP_HOST=host, **client_kwargs)
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def html_lang(content: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', content)
    assert match, "no <html lang>"
    return match.group(1)


# --- the portal's language ------------------------------------------------------------------------------


def test_the_sign_in_page_speaks_the_tenants_default_language(german_globex):
    response = Client().get("/accounts/login/", HTTP_HOST=german_globex.globex.host)
    content = page(response)

    assert html_lang(content) == "de"
    assert response["Content-Language"] == "de"
    # Our own strings: the page, the frame around it, the language switcher.
    assert "<h1>Anmelden</h1>" in content
    assert "Willkommen im Partnerportal von Globex." in content
    assert "Zum Hauptinhalt springen" in content
    assert "Partnerportal von Globex" in content
    assert "Anmeldecode senden" in content
    assert ">Sprache</label>" in content
    # allauth's own, from its catalogue.
    assert "Passwort vergessen?" in content
    assert "Welcome to the" not in content
    assert "Skip to main content" not in content


def test_the_home_page_speaks_the_tenants_default_language(german_globex):
    globex = german_globex.globex
    content = page(signed_in(globex.host, globex.manager).get("/"))

    assert html_lang(content) == "de"
    assert "Willkommen, Mia" in content
    # The navigation and the account menu.
    for label in ("Startseite", "Partner", "Verwaltung", "Passwort ändern", "Abmelden"):
        assert f">{label}</" in content, label
    assert '<nav class="site-nav" aria-label="Hauptnavigation">' in content
    # The dashboard, with the stage labels of partners/models.py and the role from prm/models.py.
    assert "Partner nach Lebenszyklusphase" in content
    assert '<span class="stage-card__label">Aktiv</span>' in content
    assert '<span class="stage-card__label">Ruhend</span>' in content
    assert "Channel-Manager" in content
    assert "Partnerverzeichnis öffnen" in content
    for english in ("Home", "Sign out", "Partners by lifecycle stage", "Channel manager", "Dormant"):
        assert english not in content, english


def test_a_partner_persons_pages_speak_the_tenants_default_language(german_globex):
    globex = german_globex.globex
    client = signed_in(globex.host, globex.partner_user)

    home = page(client.get("/"))
    assert ">Meine Organisation</" in home
    assert "Partnerstufe" in home
    assert "Ihre Organisation und Ihr Team" in home

    detail = page(client.get(f"/partners/{globex.partner.slug}/"))
    assert "Lebenszyklusphase" in detail
    assert "Europa, Naher Osten und Afrika" in detail
    assert "Partner-Benutzer" in detail
    assert "Personen von Northwind Globex mit Zugang zum Portal" in detail


def test_the_partner_list_counts_in_the_tenants_language(german_globex):
    globex = german_globex.globex
    client = signed_in(globex.host, globex.manager)

    everyone = page(client.get("/partners/"))
    assert "<caption>2 Partner</caption>" in everyone
    assert "Alle Phasen" in everyone and "Alle Partnerstufen" in everyone
    assert '<th scope="col"><a href="?sort=tier">Partnerstufe</a></th>' in everyone
    assert "Als CSV exportieren" in everyone

    active = page(client.get("/partners/?stage=active"))
    assert "<caption>1 Partner</caption>" in active
    assert '<option value="active" selected>Aktiv</option>' in active


def test_a_language_cookie_overrides_the_tenants_default(german_globex):
    globex = german_globex.globex
    client = Client(HTTP_HOST=globex.host)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    response = client.get("/accounts/login/")
    sign_in = page(response)
    assert html_lang(sign_in) == "fr"
    assert response["Content-Language"] == "fr"
    assert "<h1>Se connecter</h1>" in sign_in
    assert "Bienvenue sur le portail partenaires de Globex." in sign_in
    assert "Mot de passe oublié ?" in sign_in  # allauth's
    assert "Anmelden" not in sign_in

    response = client.post("/accounts/login/", {"login": globex.manager.email, "password": PASSWORD})
    assert response.status_code == 302
    home = page(client.get("/"))
    assert "Bienvenue, Mia" in home
    for label in ("Accueil", "Partenaires", "Administration", "Se déconnecter"):
        assert f">{label}</" in home, label
    assert "Partenaires par étape du cycle de vie" in home
    assert '<span class="stage-card__label">En sommeil</span>' in home
    assert "Startseite" not in home


def test_an_unsupported_language_cookie_falls_back_to_the_tenants_default(german_globex):
    client = Client(HTTP_HOST=german_globex.globex.host)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"

    assert "<h1>Anmelden</h1>" in page(client.get("/accounts/login/"))


def test_the_language_does_not_carry_over_to_the_next_request(german_globex):
    german = Client().get("/accounts/login/", HTTP_HOST=german_globex.globex.host)
    assert "<h1>Anmelden</h1>" in page(german)

    english = Client().get("/accounts/login/", HTTP_HOST=german_globex.acme.host)
    content = page(english)
    assert html_lang(content) == "en"
    assert english["Content-Language"] == "en"
    assert "<h1>Sign in</h1>" in content
    assert "Welcome to the Acme partner portal." in content
    assert "Forgot your password?" in content
    assert "Anmelden" not in content

    # The same for signed-in pages, one after the other on the same thread.
    page(signed_in(german_globex.globex.host, german_globex.globex.manager).get("/"))
    home = page(signed_in(german_globex.acme.host, german_globex.acme.manager).get("/"))
    assert "Partners by lifecycle stage" in home
    assert "Lebenszyklusphase" not in home


def test_the_invitation_speaks_the_tenants_default_language(german_globex, mailoutbox):
    globex = german_globex.globex.tenant
    with tenant_scope(globex):
        membership = services.membership_add(
            tenant=globex,
            email="neu@globex.test",
            role=Role.CHANNEL_MANAGER,
            send_invitation=False,
        )
    emails.invitation(membership_id=membership.pk, tenant=globex)

    [message] = mailoutbox
    assert message.subject == "[Globex] Einladung zum Partnerportal von Globex"
    assert "Sie haben jetzt Zugang zum Partnerportal von Globex als Channel-Manager." in message.body
    assert "Oder legen Sie ein Passwort fest:" in message.body


# --- the catalogues ----------------------------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None


def read_po(path: Path) -> tuple[Entry, list[Entry]]:
    """The header entry and the live entries of a .po file (obsolete `#~` entries are left out).

    A tiny parser for the subset of the format that makemessages writes: Django ships none, and polib is
    not a dependency.
    """
    entries: list[Entry] = []
    current: dict[str, str] = {}
    flags: set[str] = set()
    last = ""

    def flush() -> None:
        nonlocal current, flags
        if "msgid" in current:
            entries.append(
                Entry(
                    msgid=current["msgid"],
                    msgid_plural=current.get("msgid_plural"),
                    msgstr={
                        int(key[7:-1]) if key != "msgstr" else 0: value
                        for key, value in current.items()
                        if key.startswith("msgstr")
                    },
                    flags=flags,
                    msgctxt=current.get("msgctxt"),
                )
            )
        current, flags = {}, set()

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            flush()
        elif line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[last] += ast.literal_eval(line)
        else:
            keyword, _, value = line.partition(" ")
            last = keyword
            current[keyword] = ast.literal_eval(value)
    flush()

    header, *rest = entries
    assert header.msgid == "", f"{path}: the first entry must be the header"
    return header, rest


# blocktranslate turns {{ name }} into %(name)s, so one pattern covers templates and Python.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalogue_is_complete_and_has_no_fuzzy_entries(language):
    header_entry, entries = read_po(LOCALE_DIR / language / "LC_MESSAGES" / "django.po")
    # A fuzzy header would be left out of the .mo, and with it the charset and the plural rule.
    assert "fuzzy" not in header_entry.flags
    header = dict(line.split(": ", 1) for line in header_entry.msgstr[0].splitlines())

    assert header["Language"] == language
    assert header["Content-Type"] == "text/plain; charset=UTF-8"
    assert "nplurals=" in header["Plural-Forms"]
    nplurals = int(re.search(r"nplurals=(\d+)", header["Plural-Forms"]).group(1))
    assert len(entries) > 100, "makemessages found far fewer strings than the portal has"
    for entry in entries:
        assert "fuzzy" not in entry.flags, f"{language}: fuzzy entry {entry.msgid!r}"
        if entry.msgid_plural is None:
            assert entry.msgstr[0].strip(), f"{language}: no translation of {entry.msgid!r}"
            assert sorted(PLACEHOLDER.findall(entry.msgstr[0])) == sorted(PLACEHOLDER.findall(entry.msgid)), (
                f"{language}: placeholders of {entry.msgid!r} changed in {entry.msgstr[0]!r}"
            )
        else:
            assert sorted(entry.msgstr) == list(range(nplurals)), (
                f"{language}: plural forms of {entry.msgid!r}"
            )
            for form in entry.msgstr.values():
                assert form.strip(), f"{language}: an empty plural form of {entry.msgid!r}"
                assert set(PLACEHOLDER.findall(form)) == set(PLACEHOLDER.findall(entry.msgid_plural)), (
                    f"{language}: placeholders of {entry.msgid_plural!r} changed in {form!r}"
                )


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalogue_is_compiled_from_its_current_po_file(language):
    # The .mo files are committed: a deployment has no gettext tools to compile them.
    directory = LOCALE_DIR / language / "LC_MESSAGES"
    _header, entries = read_po(directory / "django.po")
    with (directory / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)

    for entry in entries:
        if entry.msgid_plural is None:
            assert catalogue.gettext(entry.msgid) == entry.msgstr[0], (
                f"{language}: recompile for {entry.msgid!r}"
            )
        else:
            for n in range(0, 1001):
                form = entry.msgstr[catalogue.plural(n)]
                assert catalogue.ngettext(entry.msgid, entry.msgid_plural, n) == form, (
                    f"{language}: recompile for {entry.msgid!r}"
                )


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="makemessages needs GNU gettext")
def test_the_catalogues_hold_every_string_the_source_marks(tmp_path):
    # makemessages writes into the project's locale/; run it on a copy of the source instead.
    source = Path(settings.BASE_DIR)
    skip = {"tests", "locale", "node_modules"}
    for item in source.iterdir():
        if item.name.startswith(".") or item.name in skip:
            continue
        if item.is_dir():
            shutil.copytree(item, tmp_path / item.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, tmp_path / item.name)
    (tmp_path / "locale").mkdir()
    run = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", TRANSLATED[0], "--keep-pot"],
        cwd=tmp_path,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "prm.settings"},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    _header, extracted = read_po(tmp_path / "locale" / "django.pot")

    for language in TRANSLATED:
        _header, entries = read_po(LOCALE_DIR / language / "LC_MESSAGES" / "django.po")
        known = {(entry.msgctxt, entry.msgid) for entry in entries}
        missing = [entry.msgid for entry in extracted if (entry.msgctxt, entry.msgid) not in known]
        assert not missing, f"locale/{language} lacks strings; run makemessages and translate: {missing}"

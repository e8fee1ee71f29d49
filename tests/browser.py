"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Use the `browser_page` fixture (a fresh page with its own cookies) and `portal_url(cast_tenant, path)` to
build a tenant host's address on the live server; `sign_in(page, url, email)` signs in through the form.
Tests that use them need `@pytest.mark.django_db(transaction=True)`: the live server runs in another thread,
so the data must be committed. Chromium comes from Debian (`apt-get install chromium`); Playwright's own
browser download is not used.
"""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlsplit

import pytest

from tests.factories import PASSWORD

CHROMIUM = os.environ.get("PRM_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Tenants live on <slug>.localhost; resolve every such name to the live server's loopback address.
    "--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1",
]


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, and Django refuses ORM calls
    # while a loop runs; the tests' own ORM calls are synchronous, so that guard does not apply to them.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def portal_url(live_server):
    """portal_url(tenant_cast_or_host, path) -> the address of `path` on that tenant's host."""
    port = urlsplit(live_server.url).port

    def build(where, path: str = "/") -> str:
        host = where if isinstance(where, str) else where.host
        return f"http://{host}:{port}{path}"

    return build


def sign_in(page, url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the portal's form at `url` (a tenant host's /accounts/login/)."""
    page.goto(url)
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(lambda address: "/accounts/login/" not in address)

"""The portal's pages in the tenant's branding: who may open which page, what the base frame carries, the
sign-in and account pages of allauth inside it, the error pages, the admin's look, and the query counts of
the list pages."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.files.base import ContentFile
from django.test import Client

from partners import services as partner_services
from partners.models import Partner, PartnerType, Region, Stage, Tier
from prm import services
from prm.models import Role, Tenant, User
from prm.tenancy import tenant_scope
from tests.factories import PASSWORD

BRAND = "#b91c1c"
PLATFORM = "localhost"
UNKNOWN_HOST = "nowhere.localhost"


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # These tests sign in often, and allauth's rate limits live in the Redis cache, which outlives a run.
    settings.ACCOUNT_RATE_LIMITS = False


@pytest.fixture
def acme(cast):
    """acme, in its own colour (the default colour would also be the model's default)."""
    Tenant.objects.filter(pk=cast.tenant.pk).update(primary_color=BRAND)
    cast.tenant.refresh_from_db()
    return cast


def get(client: Client, path: str, host: str, **extra):
    return client.get(path, HTTP_HOST=host, **extra)


def sign_in(client: Client, host: str, user: User) -> None:
    """Sign in through allauth's form, the way a person does (force_login skips allauth's records)."""
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}, HTTP_HOST=host)
    assert response.status_code == 302, response.content.decode()[:2000]


def reauthenticate(client: Client, host: str) -> None:
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD}, HTTP_HOST=host)
    assert response.status_code == 302


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "no <html lang>"
    return match.group(1)


def assert_branded(response, tenant_name: str = "Acme") -> None:
    """The page is 200, in the tenant's frame: its name, its colour, the landmarks, the skip link."""
    assert response.status_code == 200
    content = response.content.decode()
    assert tenant_name in content
    assert f"--prm-brand:{BRAND}" in content
    for landmark in ("<header", "<main", "<footer", 'class="skip-link" href="#main"', 'id="main"'):
        assert landmark in content
    assert 'hx-headers=\'{"X-CSRFToken":' in content
    assert "/static/vendor/htmx/htmx.min.js" in content
    assert "/static/vendor/pico/pico.min.css" in content


def a_member_without_partner(cast) -> User:
    with tenant_scope(cast.tenant):
        membership = services.membership_add(
            tenant=cast.tenant,
            email="dora@acme.test",
            full_name="Dora Drifter",
            role=Role.PARTNER_USER,
            send_invitation=False,
        )
    user = membership.user
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    user.emailaddress_set.update(verified=True)
    return user


# ---- The base frame ----------------------------------------------------------------------------------


def test_the_sign_in_page_wears_the_tenants_name_and_colour(acme, client):
    response = get(client, "/accounts/login/", acme.host)
    assert_branded(response)
    content = response.content.decode()
    assert 'class="brand__badge" aria-hidden="true">A<' in content  # no logo: the initial
    assert "sign up" not in content.lower()  # people join by application or invitation
    assert 'name="login"' in content and 'name="password"' in content
    assert 'href="/accounts/login/code/"' in content


def test_the_header_shows_the_tenants_logo_when_it_has_one(acme, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    acme.tenant.logo.save("logo.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=True)
    response = get(client, "/accounts/login/", acme.host)
    assert '<img src="/branding/logo" alt="">' in response.content.decode()
    assert "brand__badge" not in response.content.decode()
    assert get(client, "/branding/logo", acme.host).status_code == 200


@pytest.mark.parametrize("role", [Role.TENANT_ADMIN, Role.CHANNEL_MANAGER])
def test_staff_see_the_directory_and_the_admin_in_the_navigation(acme, client, role):
    client.force_login(acme.acme.by_role()[role])
    content = get(client, "/", acme.host).content.decode()
    assert '<a href="/partners/">Partners</a>' in content
    assert '<a href="/admin/">Admin</a>' in content
    assert '<a href="/" aria-current="page">Home</a>' in content
    assert "My organisation" not in content


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_USER])
def test_partner_people_see_their_organisation_and_no_admin_link(acme, client, role):
    client.force_login(acme.acme.by_role()[role])
    content = get(client, "/", acme.host).content.decode()
    assert '<a href="/partners/">My organisation</a>' in content
    assert "/admin/" not in content


def test_the_user_menu_names_the_person_and_role_and_signs_out_by_post(acme, client):
    client.force_login(acme.partner_admin)
    content = get(client, "/", acme.host).content.decode()
    assert "Alice Admin" in content and "Partner admin" in content
    assert 'href="/accounts/2fa/">Two-factor authentication' in content
    assert 'href="/accounts/password/change/">Change password' in content
    assert re.search(
        r'<form method="post" action="/accounts/logout/">\s*<input type="hidden" '
        r'name="csrfmiddlewaretoken"',
        content,
    )


def test_messages_are_announced(acme, client):
    sign_in(client, acme.host, acme.manager)
    content = get(client, "/", acme.host).content.decode()
    assert re.search(r'role="status">Successfully signed in', content)


def test_a_failed_sign_in_is_announced_as_an_alert(acme, client):
    response = client.post(
        "/accounts/login/", {"login": acme.manager.email, "password": "wrong-password"}, HTTP_HOST=acme.host
    )
    assert_branded(response)
    content = response.content.decode()
    assert re.search(r'class="form-errors" role="alert">\s*<ul class="errorlist nonfield">', content)


def test_the_language_switcher_changes_the_lang_attribute(acme, client):
    client.force_login(acme.manager)
    response = get(client, "/", acme.host)
    assert html_lang(response) == "en"
    assert 'action="/i18n/setlang/" method="post"' in response.content.decode()

    response = client.post("/i18n/setlang/", {"language": "de", "next": "/partners/"}, HTTP_HOST=acme.host)
    assert response.status_code == 302 and response["Location"] == "/partners/"
    response = get(client, "/partners/", acme.host)
    assert html_lang(response) == "de"
    assert '<option value="de" lang="de" selected>' in response.content.decode()


def test_the_platform_host_renders_neutral_branding(acme, client):
    response = get(client, "/accounts/login/", PLATFORM)
    assert response.status_code == 200
    content = response.content.decode()
    assert "PRM platform" in content
    assert "Acme" not in content and BRAND not in content
    assert "/i18n/setlang/" not in content  # no language switcher where the view does not exist


# ---- The portal's pages, by role --------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.TENANT_ADMIN, Role.CHANNEL_MANAGER])
def test_staff_home_counts_partners_by_stage_and_links_to_the_filtered_directory(acme, client, role):
    client.force_login(acme.acme.by_role()[role])
    response = get(client, "/", acme.host)
    assert_branded(response)
    content = response.content.decode()
    for stage in Stage:
        assert f'href="/partners/?stage={stage.value}"' in content
    assert re.search(
        r'stage=active">\s*<span class="stage-card__count">1</span>\s*'
        r'<span class="stage-card__label">Active</span>',
        content,
    )
    assert re.search(r'stage=onboarding">\s*<span class="stage-card__count">1</span>', content)


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_USER])
def test_partner_home_shows_their_organisation_card(acme, client, role):
    client.force_login(acme.acme.by_role()[role])
    response = get(client, "/", acme.host)
    assert_branded(response)
    content = response.content.decode()
    assert "Northwind Acme" in content and "Reseller" in content and "Gold" in content and "Active" in content
    assert f'href="/partners/{acme.acme.partner.slug}/"' in content
    assert "Contoso" not in content
    assert "stage-card" not in content


def test_a_partner_person_without_an_organisation_is_told_so(acme, client):
    client.force_login(a_member_without_partner(acme))
    for path in ("/", "/partners/"):
        response = get(client, path, acme.host)
        assert_branded(response)
        assert "not linked to a partner organisation" in response.content.decode()


@pytest.mark.parametrize("role", [Role.TENANT_ADMIN, Role.CHANNEL_MANAGER])
def test_staff_see_the_partner_directory(acme, client, role):
    client.force_login(acme.acme.by_role()[role])
    response = get(client, "/partners/", acme.host)
    assert_branded(response)
    content = response.content.decode()
    assert '<th scope="col" aria-sort="ascending"><a href="?sort=-name">Name</a></th>' in content
    assert '<th scope="col"><a href="?sort=country">Country</a></th>' in content
    assert "<caption>2 partners</caption>" in content
    assert re.search(r'<th scope="row"><a href="/partners/northwind-acme/">Northwind Acme</a></th>', content)
    assert "Contoso Acme" in content
    assert "Globex" not in content
    assert '<a href="/partners/" aria-current="page">Partners</a>' in content


def test_the_directory_filters_by_stage_and_ignores_unknown_stages(acme, client):
    client.force_login(acme.manager)
    content = get(client, "/partners/?stage=onboarding", acme.host).content.decode()
    assert "Contoso Acme" in content and "Northwind Acme" not in content
    assert '<option value="onboarding" selected>' in content

    content = get(client, "/partners/?stage=exited", acme.host).content.decode()
    assert 'class="empty-state"' in content and "Northwind Acme" not in content

    response = get(client, "/partners/?stage=nonsense", acme.host)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Contoso Acme" in content and "Northwind Acme" in content
    assert "Select a valid choice. nonsense is not one of the available choices." in content


def test_an_empty_directory_says_so(cast, client):
    with tenant_scope(cast.tenant):
        Partner.objects.all().delete()
    client.force_login(cast.manager)
    response = get(client, "/partners/", cast.host)
    assert response.status_code == 200
    assert "No partners yet" in response.content.decode()


@pytest.mark.parametrize("role", [Role.PARTNER_ADMIN, Role.PARTNER_USER])
def test_partner_people_go_from_the_directory_to_their_organisation(acme, client, role):
    client.force_login(acme.acme.by_role()[role])
    response = get(client, "/partners/", acme.host)
    assert response.status_code == 302
    assert response["Location"] == f"/partners/{acme.acme.partner.slug}/"


@pytest.mark.parametrize("role", list(Role))
def test_the_partner_page_shows_its_fields_and_people_with_roles(acme, client, role):
    client.force_login(acme.acme.by_role()[role])
    response = get(client, f"/partners/{acme.acme.partner.slug}/", acme.host)
    assert_branded(response)
    content = response.content.decode()
    for text in (
        "Northwind Acme",
        "Reseller",
        "Gold",
        "Active",
        "Europe, Middle East and Africa",
        "DE",
        "northwind-acme.example",
        "Alice Admin",
        "alice@acme.test",
        "Partner admin",
        "Bob User",
        "Partner user",
    ):
        assert text in content
    assert "Carol Admin" not in content


def test_partner_people_get_a_404_for_another_partner(acme, client):
    client.force_login(acme.partner_user)
    response = get(client, f"/partners/{acme.acme.other_partner.slug}/", acme.host)
    assert response.status_code == 404


# ---- allauth's pages in the frame -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["acme.localhost", PLATFORM])
@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/accounts/login/code/", "/accounts/password/reset/", "/accounts/confirm-email/"],
)
def test_the_anonymous_account_pages_render_in_the_frame(acme, client, host, path):
    response = get(client, path, host)
    assert response.status_code == 200
    content = response.content.decode()
    assert ('class="entrance"' in content) and ("<main" in content) and ('class="skip-link"' in content)
    assert ("Acme" in content) == (host == acme.host)
    assert ("PRM platform" in content) == (host == PLATFORM)


def test_an_invalid_email_confirmation_link_renders_in_the_frame(acme, client):
    response = get(client, "/accounts/confirm-email/not-a-key/", acme.host)
    assert_branded(response)


def test_the_login_code_form_shows_its_errors(acme, client):
    response = client.post("/accounts/login/code/", {"email": "not-an-email"}, HTTP_HOST=acme.host)
    assert_branded(response)
    assert re.search(r'aria-invalid="true" aria-describedby="id_email_error"', response.content.decode())


def test_the_password_reset_sent_page_renders(acme, client):
    response = client.post("/accounts/password/reset/", {"email": acme.manager.email}, HTTP_HOST=acme.host)
    assert response.status_code == 302
    assert_branded(get(client, response["Location"], acme.host))


@pytest.mark.parametrize(
    "path", ["/accounts/logout/", "/accounts/email/", "/accounts/2fa/", "/accounts/password/change/"]
)
def test_the_signed_in_account_pages_render_in_the_frame(acme, client, path):
    sign_in(client, acme.host, acme.partner_user)
    response = get(client, path, acme.host)
    assert_branded(response)
    assert "Bob User" in response.content.decode()


def test_activating_an_authenticator_asks_for_the_password_then_shows_the_qr_code(acme, client):
    sign_in(client, acme.host, acme.manager)
    response = get(client, "/accounts/2fa/totp/activate/", acme.host)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
    assert_branded(get(client, response["Location"], acme.host))

    reauthenticate(client, acme.host)
    response = get(client, "/accounts/2fa/totp/activate/", acme.host)
    assert_branded(response)
    content = response.content.decode()
    assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="[A-Z2-7]+" class="qr-code">', content)
    assert 'name="code"' in content
    assert '<a href="/accounts/2fa/" aria-current="page">Two-factor authentication</a>' in content

    response = client.post("/accounts/2fa/totp/activate/", {"code": "000000"}, HTTP_HOST=acme.host)
    assert_branded(response)
    assert 'aria-invalid="true"' in response.content.decode()


def test_the_recovery_code_pages_render(acme, client):
    TOTP.activate(acme.manager, generate_totp_secret())
    RecoveryCodes.activate(acme.manager)
    client.force_login(acme.manager)  # an authenticator now stands before a password sign-in
    response = get(client, "/accounts/2fa/recovery-codes/generate/", acme.host)
    assert response.status_code == 302  # confirm access first
    reauthenticate(client, acme.host)
    for path in ("/accounts/2fa/recovery-codes/generate/", "/accounts/2fa/recovery-codes/", "/accounts/2fa/"):
        assert_branded(get(client, path, acme.host))


def test_the_two_factor_step_of_signing_in_renders_in_the_frame(acme, client):
    TOTP.activate(acme.manager, generate_totp_secret())
    response = client.post(
        "/accounts/login/", {"login": acme.manager.email, "password": PASSWORD}, HTTP_HOST=acme.host
    )
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert_branded(get(client, "/accounts/2fa/authenticate/", acme.host))

    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"}, HTTP_HOST=acme.host)
    assert_branded(response)
    assert re.search(r'<ul class="errorlist" id="id_code_error">', response.content.decode())


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/logout/",
        "/accounts/email/",
        "/accounts/2fa/",
        "/accounts/2fa/totp/activate/",
        "/accounts/2fa/recovery-codes/generate/",
    ],
)
def test_the_platform_superuser_sees_the_account_pages_in_neutral_branding(db, client, path):
    superuser = User.objects.create_superuser("root@platform.test", PASSWORD)
    superuser.emailaddress_set.create(email=superuser.email, primary=True, verified=True)
    sign_in(client, PLATFORM, superuser)
    reauthenticate(client, PLATFORM)
    response = get(client, path, PLATFORM)
    assert response.status_code == 200
    content = response.content.decode()
    assert "PRM platform" in content and "Platform administrator" in content
    assert '<a href="/admin/">Admin</a>' in content


# ---- Error pages ------------------------------------------------------------------------------------


def test_an_unknown_host_gets_a_404_that_says_nothing_about_tenants(acme, client):
    response = get(client, "/", UNKNOWN_HOST)
    assert response.status_code == 404
    content = response.content.decode().lower()
    assert "page not found" in content
    for word in ("tenant", "portal", "acme", "globex", "platform", "sign in", BRAND):
        assert word not in content


def test_another_partners_page_looks_exactly_like_an_unknown_host(acme, client):
    unknown = get(client, "/", UNKNOWN_HOST)
    client.force_login(acme.partner_user)
    hidden = get(client, f"/partners/{acme.acme.other_partner.slug}/", acme.host)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.content == unknown.content


def test_a_form_sent_without_its_csrf_token_gets_the_plain_403_page(acme):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/i18n/setlang/", {"language": "de"}, HTTP_HOST=acme.host)
    assert response.status_code == 403
    content = response.content.decode()
    assert "Please try again" in content and "Acme" not in content


def test_the_500_page_renders_without_any_context():
    from django.template.loader import get_template

    content = get_template("500.html").render()
    assert "Something went wrong" in content and "/static/vendor/pico/pico.min.css" in content


# ---- The admin's look -------------------------------------------------------------------------------


def test_the_tenant_admin_wears_the_tenants_colour_and_has_no_recent_actions(acme, client):
    client.force_login(acme.manager)
    response = get(client, "/admin/", acme.host)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Acme · Program admin" in content
    assert f"--header-bg: {BRAND};" in content
    assert "Recent actions" not in content and "recent-actions-module" not in content


def test_the_platform_admin_keeps_the_stock_header(db, client):
    superuser = User.objects.create_superuser("root@platform.test", PASSWORD)
    client.force_login(superuser)
    response = get(client, "/admin/", PLATFORM)
    assert response.status_code == 200
    content = response.content.decode()
    assert "PRM platform" in content and "--header-bg:" not in content
    assert "Recent actions" not in content


# ---- Query counts -----------------------------------------------------------------------------------


def add_partners(tenant: Tenant, count: int) -> None:
    with tenant_scope(tenant):
        types = list(PartnerType.objects.all())
        tiers = list(Tier.objects.all())
        stages = list(Stage)
        for n in range(count):
            partner = partner_services.partner_create(
                name=f"Partner {n:02d}",
                partner_type=types[n % len(types)],
                country="FR",
                region=Region.EMEA,
                tier=tiers[n % len(tiers)] if n % 5 else None,
                stage=stages[n % len(stages)],
                acting_user=None,
            )
            partner_services.partner_member_add(
                partner=partner, email=f"person{n}@partner{n}.test", acting_user=None, send_invitation=False
            )


# Per request: the host's tenant, telling PostgreSQL the tenant (and clearing it after), the session, the
# user, their membership; then the page's own reads.
HOME_QUERIES = 7
# The partner page adds its CRM sync state for staff: the connection, the latest outbox row, the last sent.
PARTNER_PAGE_QUERIES = 11
# The directory's own: the filter form's type and tier choices, the count for the caption and the pages,
# one page of rows. A chosen type or tier is looked up by its slug when the form validates: one more each.
DIRECTORY_QUERIES = 10
# The export's own: every row the filters select, in one query (no choices to show, no pages to count).
DIRECTORY_EXPORT_QUERIES = 7


def test_the_partner_directory_reads_a_fixed_number_of_rows_however_many_partners(
    acme, client, django_assert_num_queries
):
    client.force_login(acme.manager)
    with django_assert_num_queries(DIRECTORY_QUERIES):
        small = get(client, "/partners/", acme.host)
    add_partners(acme.tenant, 30)
    with django_assert_num_queries(DIRECTORY_QUERIES):
        large = get(client, "/partners/", acme.host)
    assert small.status_code == large.status_code == 200
    assert large.content.decode().count('<th scope="row">') == 32
    with django_assert_num_queries(DIRECTORY_QUERIES):
        get(client, "/partners/?stage=active&region=EMEA&q=partner&sort=-stage", acme.host)
    with django_assert_num_queries(DIRECTORY_QUERIES + 2):
        response = get(client, "/partners/?partner_type=reseller&tier=gold&sort=tier", acme.host)
    assert "Northwind Acme" in response.content.decode()


def test_the_partner_directory_pages_by_50_and_every_page_reads_the_same(
    acme, client, django_assert_num_queries
):
    add_partners(acme.tenant, 60)
    client.force_login(acme.manager)
    with django_assert_num_queries(DIRECTORY_QUERIES):
        first = get(client, "/partners/", acme.host).content.decode()
    with django_assert_num_queries(DIRECTORY_QUERIES):
        second = get(client, "/partners/?page=2", acme.host).content.decode()

    row = re.compile(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>')
    first_rows, second_rows = row.findall(first), row.findall(second)
    assert len(first_rows) == 50 and len(second_rows) == 12
    assert set(first_rows).isdisjoint(second_rows)
    assert "<caption>62 partners</caption>" in first and "<caption>62 partners</caption>" in second

    assert '<nav class="pagination" aria-label="Pages">' in first
    assert '<a href="?page=2" rel="next">Next</a>' in first
    current = '<a href="?page={0}" aria-current="page"><span class="visually-hidden">Page </span>{0}</a>'
    assert current.format(1) in first
    assert '<a href="?page=1" rel="prev">Previous</a>' in second
    assert current.format(2) in second


def test_the_partner_export_reads_a_fixed_number_of_rows_however_many_partners(
    acme, client, django_assert_num_queries
):
    client.force_login(acme.manager)
    with django_assert_num_queries(DIRECTORY_EXPORT_QUERIES):
        small = get(client, "/partners/?_export=csv", acme.host)
    add_partners(acme.tenant, 60)
    with django_assert_num_queries(DIRECTORY_EXPORT_QUERIES):
        large = get(client, "/partners/?_export=csv&sort=-tier", acme.host)
    assert len(small.content.decode().splitlines()) == 1 + 2
    assert len(large.content.decode().splitlines()) == 1 + 62
    with django_assert_num_queries(DIRECTORY_EXPORT_QUERIES + 1):
        get(client, "/partners/?_export=csv&tier=gold&stage=active", acme.host)


def test_the_staff_home_reads_a_fixed_number_of_rows_however_many_partners(
    acme, client, django_assert_num_queries
):
    add_partners(acme.tenant, 30)
    client.force_login(acme.manager)
    with django_assert_num_queries(HOME_QUERIES):
        assert get(client, "/", acme.host).status_code == 200


def test_the_partner_page_reads_a_fixed_number_of_rows_however_many_people(
    acme, client, django_assert_num_queries
):
    client.force_login(acme.manager)
    slug = acme.acme.partner.slug
    with django_assert_num_queries(PARTNER_PAGE_QUERIES):
        get(client, f"/partners/{slug}/", acme.host)
    with tenant_scope(acme.tenant):
        partner = Partner.objects.get(slug=slug)
        for n in range(30):
            partner_services.partner_member_add(
                partner=partner, email=f"extra{n}@northwind.test", acting_user=None, send_invitation=False
            )
    with django_assert_num_queries(PARTNER_PAGE_QUERIES):
        response = get(client, f"/partners/{slug}/", acme.host)
    assert response.content.decode().count('<th scope="row">') == 32


# ---- The brand palette ------------------------------------------------------------------------------


@pytest.mark.parametrize("color", ["#1d4ed8", "#fde047", "#ffffff", "#000000", "#0f766e", "#84cc16"])
def test_every_brand_colour_yields_readable_text(color):
    from prm.templatetags.prm_ui import _rgb, brand_palette, contrast_ratio

    palette = brand_palette(color)
    assert palette["base"] == color
    assert contrast_ratio(_rgb(palette["inverse"]), _rgb(color)) >= 4.5
    assert contrast_ratio(_rgb(palette["text"]), (255, 255, 255)) >= 4.5
    assert contrast_ratio(_rgb(palette["text_dark"]), (19, 23, 31)) >= 4.5


def test_a_light_brand_colour_gets_dark_text_on_its_buttons(acme, client):
    Tenant.objects.filter(pk=acme.tenant.pk).update(primary_color="#fde047")
    content = get(client, "/accounts/login/", acme.host).content.decode()
    assert "--prm-brand:#fde047;--prm-brand-inverse:#000000;" in content

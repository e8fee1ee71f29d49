"""Tenant isolation, URL by URL: every pattern of the portal and every admin view, for every role.

For each URL the harness takes a sample object of acme (tests/isolation.py) and checks that
- acme's people with the right role open it (200), so a 404 elsewhere means isolation, not a broken URL;
- each of globex's people, on globex's host, gets a 404 for acme's object and sees none of acme's data;
- a globex person's session carried to acme's host is no session: they are sent to sign in;
- an anonymous visitor is sent to sign in.
"""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from prm.admin_sites import tenant_admin_site
from prm.models import Role
from prm.tenancy import tenant_scope
from tests import isolation

TENANT_URLCONF = "prm.urls"


def walk(patterns, namespace: str = "") -> list[tuple[str, object]]:
    """Every named pattern as (qualified name, callback), through includes and namespaces."""
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found += walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            found.append((namespace + pattern.name, pattern.callback))
    return found


def portal_patterns() -> list[tuple[str, object]]:
    return walk(get_resolver(TENANT_URLCONF).url_patterns)


def is_account_page(callback) -> bool:
    # allauth's own pages (sign-in, codes, passwords, MFA) touch the person's own rows only.
    return getattr(callback, "__module__", "").startswith("allauth.")


def admin_model_views() -> dict[str, tuple[str, str]]:
    """admin URL name -> (model label, view kind) for every model on the tenant admin."""
    names = {}
    for model in tenant_admin_site._registry:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        for kind in ("changelist", "add", "change", "delete", "history"):
            names[f"admin:{model._meta.app_label}_{model._meta.model_name}_{kind}"] = (label, kind)
    return names


def case_for(name: str, tc):
    """(path, query, roles that may open it) for URL `name` pointed at tenant cast `tc`'s objects."""
    admin_views = admin_model_views()
    if name in admin_views:
        label, kind = admin_views[name]
        staff = frozenset({Role.TENANT_ADMIN, Role.CHANNEL_MANAGER})
        if kind in ("changelist", "add"):
            return reverse(name, urlconf=TENANT_URLCONF), {}, staff if kind == "changelist" else frozenset()
        with tenant_scope(tc.tenant):
            obj = isolation.ADMIN_OBJECTS[label](tc)
        roles = frozenset() if kind == "delete" else staff
        return reverse(name, kwargs={"object_id": obj.pk}, urlconf=TENANT_URLCONF), {}, roles
    if name == isolation.VIEW_ON_SITE:
        content_type = ContentType.objects.get_for_model(tc.partner)
        path = reverse(
            name,
            kwargs={"content_type_id": content_type.pk, "object_id": tc.partner.pk},
            urlconf=TENANT_URLCONF,
        )
        return path, {}, frozenset()
    case = isolation.URLS[name]
    with tenant_scope(tc.tenant):
        kwargs = case.kwargs(tc)
    return reverse(name, kwargs=kwargs, urlconf=TENANT_URLCONF), case.query(tc), case.roles


def checked_names() -> list[str]:
    names = []
    for name, callback in portal_patterns():
        if name in isolation.PUBLIC or name in isolation.ADMIN_SELF or is_account_page(callback):
            continue
        names.append(name)
    return sorted(set(names))


def assert_sent_to_sign_in(client: Client, response, what: str) -> None:
    """The response sends the visitor to the portal's sign-in (the admin's login hops there too)."""
    assert response.status_code == 302, f"{what}: {response.status_code}"
    location = response["Location"]
    if location.startswith("/admin/login/"):
        response = client.get(location)
        assert response.status_code == 302, f"{what}, admin login: {response.status_code}"
        location = response["Location"]
    assert location.startswith("/accounts/login/"), f"{what}: sent to {location}"


def signed_in(user, host: str) -> Client:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client


def test_every_url_of_the_portal_has_a_sample_in_the_harness():
    admin_views = admin_model_views()
    missing = [
        name
        for name in checked_names()
        if name not in isolation.URLS and name not in admin_views and name != isolation.VIEW_ON_SITE
    ]
    assert missing == [], f"add these URL names to tests/isolation.py: {missing}"


def test_every_model_on_the_tenant_admin_has_a_sample_object():
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in tenant_admin_site._registry}
    assert registered - set(isolation.ADMIN_OBJECTS) == set(), "add them to isolation.ADMIN_OBJECTS"


@pytest.mark.parametrize("name", checked_names())
def test_each_url_is_open_to_its_roles_and_closed_to_everyone_else(cast, name):
    acme, globex = cast.acme, cast.globex
    path, query, roles = case_for(name, acme)
    acme_markers = isolation.tenant_markers(acme)

    # The tenant's own people with the right role get the page.
    for role, user in acme.by_role().items():
        response = signed_in(user, acme.host).get(path, query)
        if role in roles:
            assert response.status_code == 200, f"{name} as acme {role}: {response.status_code}"

    # Another tenant's people, on their own host, get a 404 for acme's object and none of acme's data.
    own_path = case_for(name, globex)[0]
    for role, user in globex.by_role().items():
        client = signed_in(user, globex.host)
        response = client.get(path, query)
        body = response.content.decode()
        leaked = [marker for marker in acme_markers if marker in body]
        assert leaked == [], f"{name} as globex {role} shows acme data: {leaked}"
        if path != own_path:
            assert response.status_code == 404, f"{name} as globex {role}: {response.status_code}"
        if response.status_code == 200 and path != own_path:
            pytest.fail(f"{name} as globex {role} opened acme's object")

        # Their session means nothing on acme's host: they are anonymous there.
        client = signed_in(user, acme.host)
        assert_sent_to_sign_in(
            client, client.get(path, query), f"{name} with a globex {role} session on acme"
        )

    # Anonymous visitors are sent to sign in.
    client = Client(HTTP_HOST=acme.host)
    assert_sent_to_sign_in(client, client.get(path, query), f"{name} anonymous")


@pytest.mark.parametrize(
    "name", sorted(n for n, (_, kind) in admin_model_views().items() if kind == "change")
)
def test_posting_to_another_tenants_admin_object_is_a_404_and_changes_nothing(cast, name):
    path, _, _ = case_for(name, cast.acme)
    label = admin_model_views()[name][0]
    with tenant_scope(cast.tenant):
        before = isolation.ADMIN_OBJECTS[label](cast.acme)
        before_values = {f.attname: getattr(before, f.attname) for f in before._meta.concrete_fields}
    client = signed_in(cast.globex.tenant_admin, cast.globex.host)
    assert client.post(path, {"name": "taken over"}).status_code == 404
    delete_path = path.replace("/change/", "/delete/")
    assert client.post(delete_path, {"post": "yes"}).status_code == 404
    with tenant_scope(cast.tenant):
        after = type(before)._base_manager.get(pk=before.pk)
    assert {f.attname: getattr(after, f.attname) for f in after._meta.concrete_fields} == before_values


def test_a_partner_user_cannot_open_another_partner_of_the_same_tenant(cast):
    path = reverse("partners:detail", kwargs={"slug": cast.acme.other_partner.slug}, urlconf=TENANT_URLCONF)
    response = signed_in(cast.partner_user, cast.host).get(path)
    assert response.status_code == 404
    assert cast.acme.other_partner.name not in response.content.decode()


def test_partner_people_cannot_enter_the_admin(cast):
    for user in (cast.partner_admin, cast.partner_user):
        response = signed_in(user, cast.host).get("/admin/")
        assert response.status_code in (302, 404)
        if response.status_code == 302:
            follow = signed_in(user, cast.host).get(response["Location"])
            assert follow.status_code == 404


# --- the platform admin on the base host ------------------------------------------------------------------

PLATFORM_URLCONF = "prm.urls_platform"


def platform_admin_paths(cast) -> list[str]:
    """The platform admin's pages: its index, and each model's changelist and one object's views."""
    from prm.admin_sites import platform_admin_site
    from tests.factories import ParkedTaskFactory

    samples = {"prm.tenant": cast.tenant, "prm.user": cast.manager, "prm.parkedtask": ParkedTaskFactory()}
    paths = [reverse("platform_admin:index", urlconf=PLATFORM_URLCONF)]
    for model in platform_admin_site._registry:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        prefix = f"platform_admin:{model._meta.app_label}_{model._meta.model_name}"
        paths.append(reverse(f"{prefix}_changelist", urlconf=PLATFORM_URLCONF))
        for kind in ("change", "history"):
            paths.append(reverse(f"{prefix}_{kind}", args=[samples[label].pk], urlconf=PLATFORM_URLCONF))
    return paths


def test_the_platform_admin_is_for_platform_superusers_only(cast):
    from tests.factories import UserFactory

    superuser = UserFactory(email="root@platform.test", is_superuser=True, is_staff=True)
    for path in platform_admin_paths(cast):
        assert signed_in(superuser, "localhost").get(path).status_code == 200, path
        for tenant_cast in (cast.acme, cast.globex):
            for role, user in tenant_cast.by_role().items():
                client = signed_in(user, "localhost")
                assert_sent_to_sign_in(client, client.get(path), f"{path} as {role} on the base host")
        client = Client(HTTP_HOST="localhost")
        assert_sent_to_sign_in(client, client.get(path), f"{path} anonymous on the base host")

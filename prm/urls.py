"""URLs of a tenant's portal host. The base host has its own (prm.urls_platform)."""

from django.contrib import admin  # noqa: F401 - loads admin registrations
from django.urls import include, path
from django.views.i18n import set_language

from prm import views
from prm.admin_sites import tenant_admin_site

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("branding/logo", views.tenant_logo, name="tenant_logo"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("partners/", include("partners.urls")),
    path("", include("partners.urls_recruitment")),
    path("crm/", include("crm_sync.urls")),
    path("onboarding/", include("onboarding.urls")),
    path("deals/", include("dealreg.urls")),
    path("enablement/", include("enablement.urls")),
    path("incentives/", include("incentives.urls")),
    path("admin/", tenant_admin_site.urls),
]

handler404 = "prm.errors.not_found"

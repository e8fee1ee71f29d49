"""URLs of the platform's base host: tenant management for platform superusers, and health."""

from django.urls import include, path
from django.views.generic import RedirectView

from prm import views
from prm.admin_sites import platform_admin_site

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", platform_admin_site.urls),
]

handler404 = "prm.errors.not_found"

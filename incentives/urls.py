from django.urls import path

from incentives import views

app_name = "incentives"
urlpatterns = [
    path("", views.tier_page, name="tier"),
    path("partners/<slug:slug>/", views.partner_tier_page, name="partner_tier"),
    path("mdf/new/", views.mdf_new, name="mdf_new"),
    path("mdf/<uuid:public_id>/", views.mdf_detail, name="mdf_detail"),
    path("mdf/<uuid:public_id>/claim/", views.mdf_claim, name="mdf_claim"),
    path("proofs/<uuid:public_id>/", views.proof_download, name="proof_download"),
]

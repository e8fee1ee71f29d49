"""Recruitment pages: the public application form, the review queue, the agreement, team and profile."""

from django.urls import path

from partners import views

app_name = "recruitment"
urlpatterns = [
    path("apply/", views.application_apply, name="apply"),
    path("apply/thanks/", views.application_thanks, name="apply_thanks"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/<uuid:public_id>/", views.application_detail, name="application_detail"),
    path("applications/<uuid:public_id>/decide/", views.application_decide, name="application_decide"),
    path("agreement/", views.agreement, name="agreement"),
    path("team/", views.team, name="team"),
    path("team/<uuid:public_id>/deactivate/", views.team_deactivate, name="team_deactivate"),
    path("organisation/profile/", views.profile, name="profile"),
]

"""Recruitment pages: the public application form, the review queue, the agreement, team and profile.

Each section has its own namespace, so the navigation marks the section being shown.
"""

from django.urls import include, path

from partners import views

applications = [
    path("", views.application_list, name="list"),
    path("<uuid:public_id>/", views.application_detail, name="detail"),
    path("<uuid:public_id>/decide/", views.application_decide, name="decide"),
]
team = [
    path("", views.team, name="list"),
    path("<uuid:public_id>/deactivate/", views.team_deactivate, name="deactivate"),
]
profile = [path("", views.profile, name="edit")]

app_name = "recruitment"
urlpatterns = [
    path("apply/", views.application_apply, name="apply"),
    path("apply/thanks/", views.application_thanks, name="apply_thanks"),
    path("applications/", include((applications, "applications"))),
    path("agreement/", views.agreement, name="agreement"),
    path("team/", include((team, "team"))),
    path("organisation/profile/", include((profile, "profile"))),
]

from django.urls import path

from enablement import views

app_name = "enablement"
urlpatterns = [
    path("", views.library, name="library"),
    path("assets/<uuid:public_id>/", views.asset_detail, name="asset"),
    path("assets/<uuid:public_id>/download", views.asset_download, name="asset_download"),
    path("courses/", views.course_list, name="courses"),
    path("courses/<uuid:public_id>/", views.course_detail, name="course"),
    path(
        "courses/<uuid:public_id>/modules/<uuid:module_id>/done",
        views.module_complete,
        name="module_complete",
    ),
    path("courses/<uuid:public_id>/quiz", views.quiz_start, name="quiz_start"),
    path("quiz/<uuid:public_id>/", views.quiz_attempt, name="attempt"),
    path("certifications/", views.certification_list, name="certifications"),
    path("certificates/<str:code>/", views.certificate, name="certificate"),
    path("reports/partners/", views.report_partners, name="report_partners"),
    path("reports/assets/", views.report_assets, name="report_assets"),
    path("reports/courses/", views.report_courses, name="report_courses"),
]

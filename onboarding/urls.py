from django.urls import path

from onboarding import views

app_name = "onboarding"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("metrics/", views.metrics, name="metrics"),
    path("tasks/<uuid:public_id>/tick/", views.task_tick, name="task_tick"),
    path("tasks/<uuid:public_id>/sign-off/", views.task_sign_off, name="task_sign_off"),
    path("tasks/<uuid:public_id>/send-back/", views.task_send_back, name="task_send_back"),
]

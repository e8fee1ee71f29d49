from django.urls import path

from crm_sync import views

app_name = "crm_sync"
urlpatterns = [
    path("", views.sync_status, name="status"),
]

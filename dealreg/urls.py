from django.urls import path

from dealreg import views

app_name = "dealreg"
urlpatterns = [
    path("", views.deal_list, name="list"),
    path("new/", views.deal_register, name="register"),
    path("new/check/", views.conflict_check, name="conflict_check"),
    path("queue/", views.approval_queue, name="queue"),
    path("pipeline/", views.pipeline, name="pipeline"),
    path("<uuid:public_id>/", views.deal_detail, name="detail"),
    path("<uuid:public_id>/decide/", views.deal_decide, name="decide"),
    path("<uuid:public_id>/close/", views.deal_close, name="close"),
    path("<uuid:public_id>/extend/", views.deal_extend, name="extend"),
    path("attachments/<uuid:public_id>/", views.attachment_download, name="attachment"),
    path("extensions/<uuid:public_id>/decide/", views.extension_decide, name="extension_decide"),
]

from django.urls import path

from . import views

app_name = "transfers"
urlpatterns = [
    path("", views.index, name="index"),
    path("export.xlsx", views.export, name="export"),
    path("arrive/", views.arrive, name="arrive"),
    path("bulk/", views.bulk, name="bulk"),
    path("bulk/jobs/<int:bulk_job_pk>/", views.bulk_job, name="bulk-job"),
    path("standing/", views.standing_list, name="standing"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/<slug:step>/", views.step, name="step"),
    path("member/<int:member_pk>/issue/", views.issue, name="issue"),
    path("member/<int:member_pk>/out/", views.issue_out, name="issue-out"),
    path("member/<int:member_pk>/standing/<slug:action>/", views.standing, name="standing-form"),
]

from django.urls import path

from . import views

app_name = "exchange"
urlpatterns = [
    path("import/", views.import_page, name="import"),
    path("jobs/<int:pk>/", views.job, name="job"),
    path("jobs/<int:pk>/file/", views.job_file, name="job-file"),
    path("template/<str:kind>.xlsx", views.template, name="template"),
    path("export/members.xlsx", views.export_members, name="export-members"),
    path("export/orgs.xlsx", views.export_orgs, name="export-orgs"),
]

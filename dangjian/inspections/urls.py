from django.urls import path

from . import views

app_name = "inspections"
urlpatterns = [
    path("", views.index, name="list"),
    path("new/", views.create, name="create"),
    path("findings.xlsx", views.export, name="export"),
    # the outside evaluators' page: no login, the code in the POST body
    path("evaluate/", views.evaluate, name="evaluate"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/targets/", views.add_targets, name="add-targets"),
    path("<int:pk>/checklist/", views.add_checklist, name="add-checklist"),
    path("<int:pk>/advance/", views.advance, name="advance"),
    path("<int:pk>/items/", views.open_items, name="open-items"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/codes/", views.codes, name="codes"),
    path("<int:pk>/results/", views.results, name="results"),
    path("<int:pk>/report.docx", views.report_docx, name="report"),
    path("targets/<int:pk>/", views.target, name="target"),
    path("targets/<int:pk>/delete-finding/", views.finding_delete, name="finding-delete"),
    path("targets/<int:pk>/attachment/", views.attachment, name="attachment"),
]

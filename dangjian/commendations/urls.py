from django.urls import path

from . import views

app_name = "commendations"
urlpatterns = [
    path("", views.index, name="index"),
    path("export.xlsx", views.export, name="export"),
    path("honours/", views.honours, name="honours"),
    path("decisions/", views.decisions, name="decisions"),
    path("decisions/new/", views.decision_new, name="decision-new"),
    path("decisions/<int:pk>/", views.decision, name="decision"),
    path("decisions/<int:pk>/edit/", views.decision_edit, name="decision-edit"),
    path("decisions/<int:pk>/add/", views.decision_add, name="decision-add"),
    path("decisions/<int:pk>/remove/", views.entry_remove, name="entry-remove"),
    path("decisions/<int:pk>/publish/", views.publish, name="publish"),
    path("decisions/<int:pk>/delete/", views.delete, name="delete"),
    path("decisions/<int:pk>/notice.docx", views.decision_docx, name="docx"),
]

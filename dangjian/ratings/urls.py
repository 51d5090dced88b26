from django.urls import path

from . import views

app_name = "ratings"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("export.xlsx", views.export, name="export"),
    path("run/", views.run_rating, name="run"),
    path("rules/", views.rules_page, name="rules"),
    path("org/<int:org_pk>/", views.org_history, name="org"),
    path("commendation/", views.commendation, name="commendation"),
    path("commendation/export.xlsx", views.commendation_export, name="commendation-export"),
    path("weak/", views.weak_list, name="weak-list"),
    path("weak/export.xlsx", views.weak_export, name="weak-export"),
    path("weak/new/", views.weak_new, name="weak-new"),
    path("weak/<int:pk>/", views.weak_detail, name="weak"),
    path("weak/<int:pk>/plan/", views.weak_plan, name="weak-plan"),
    path("weak/<int:pk>/note/", views.weak_note, name="weak-note"),
    path("weak/<int:pk>/request/", views.weak_request, name="weak-request"),
    path("weak/<int:pk>/close/", views.weak_close, name="weak-close"),
    path("weak/<int:pk>/withdraw/", views.weak_withdraw, name="weak-withdraw"),
]

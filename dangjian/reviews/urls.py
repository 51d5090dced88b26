from django.urls import path

from . import views

app_name = "reviews"
urlpatterns = [
    path("", views.review_list, name="list"),
    path("new/", views.review_create, name="create"),
    # the voters' page: no login, the ballot code in the POST body
    path("vote/", views.vote, name="vote"),
    path("<int:pk>/", views.review_detail, name="detail"),
    path("<int:pk>/edit/", views.review_edit, name="edit"),
    path("<int:pk>/status/", views.review_status, name="status"),
    path("<int:pk>/groups/", views.review_groups, name="groups"),
    path("<int:pk>/ballots/", views.ballots, name="ballots"),
    path("<int:pk>/check/", views.check_all, name="check-all"),
    path("<int:pk>/submit/", views.submit, name="submit"),
    path("<int:pk>/results/", views.results, name="results"),
    path("<int:pk>/results.xlsx", views.results_export, name="results-export"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/original/", views.report_original, name="report-original"),
    path("reports/<int:pk>/check/", views.report_check, name="report-check"),
    path("reports/<int:pk>/compare/", views.compare, name="compare"),
    path("reports/<int:pk>/items/", views.report_items, name="items"),
]

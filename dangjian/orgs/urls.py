from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("alerts/", views.alerts, name="alerts"),
    path("lookup/", views.lookup, name="lookup"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/children/", views.children, name="children"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/new/", views.create_child, name="create"),
    path("<int:pk>/dissolve/", views.dissolve, name="dissolve"),
    path("<int:pk>/term/", views.term, name="term"),
    path("<int:pk>/seats/fill/", views.fill_seat, name="fill-seat"),
    path("seats/<int:seat_pk>/vacate/", views.vacate_seat, name="vacate-seat"),
]

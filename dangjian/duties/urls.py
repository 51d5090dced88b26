from django.urls import path

from . import views

app_name = "duties"
urlpatterns = [
    path("", views.mine, name="mine"),
    path("member/<int:member_pk>/", views.person, name="person"),
    path("overview/", views.overview, name="overview"),
    path("org/<int:org_pk>/", views.overview, name="org"),
    path("items/", views.items, name="items"),
    path("items/edit/", views.item_edit, name="item-edit"),
    path("heads/", views.heads, name="heads"),
]

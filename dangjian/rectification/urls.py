from django.urls import path

from . import views

app_name = "rectification"
urlpatterns = [
    path("", views.item_list, name="list"),
    path("<int:pk>/", views.item_detail, name="detail"),
]

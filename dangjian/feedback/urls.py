from django.urls import path

from . import views

app_name = "feedback"
urlpatterns = [
    path("", views.handling, name="handling"),
    path("submit/", views.submit, name="submit"),
    path("mine/", views.mine, name="mine"),
    path("mine/<int:pk>/", views.mine_detail, name="mine-detail"),
    path("followup/", views.followup, name="followup"),
    path("figures/", views.figures_page, name="figures"),
    path("figures/export.xlsx", views.figures_export, name="figures-export"),
    path("visits/", views.visits, name="visits"),
    path("visits/new/", views.visit_new, name="visit-new"),
    path("visits/<int:pk>/", views.visit, name="visit"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit-edit"),
    path("<int:pk>/", views.feedback_detail, name="feedback"),
    path("<int:pk>/answer/", views.feedback_answer, name="answer"),
    path("<int:pk>/item/", views.feedback_item, name="item"),
]

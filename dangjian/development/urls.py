from django.urls import path

from . import views

app_name = "development"
urlpatterns = [
    path("", views.board, name="board"),
    path("export.xlsx", views.export, name="export"),
    path("new/", views.register, name="register"),
    path("mine/", views.mine, name="mine"),
    path("<int:pk>/", views.applicant, name="applicant"),
    path("<int:pk>/record/", views.record, name="record"),
    path("<int:pk>/stop/", views.stop, name="stop"),
    path("<int:pk>/steps/<int:step_id>/correct/", views.correct, name="correct"),
    path("<int:pk>/steps/<int:step_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/account/", views.account, name="account"),
    path("documents/<int:pk>/", views.document, name="document"),
]

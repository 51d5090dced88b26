from django.urls import path

from . import views

app_name = "rectification"
urlpatterns = [
    path("", views.item_list, name="list"),
    path("export/", views.export, name="export"),
    path("new/", views.item_new, name="new"),
    path("board/", views.board, name="board"),
    path("board/export/", views.board_export, name="board-export"),
    path("files/<int:pk>/", views.item_file, name="file"),
    path("<int:pk>/", views.item_detail, name="detail"),
    path("<int:pk>/<slug:kind>/", views.move, name="move"),
]

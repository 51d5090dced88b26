from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("roles/", views.roles, name="roles"),
    path("roles/grant/", views.grant, name="grant"),
    path("roles/revoke/", views.revoke, name="revoke"),
    path("lockouts/", views.lockouts, name="lockouts"),
]

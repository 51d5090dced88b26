from django.urls import path

from . import views

app_name = "activities"
urlpatterns = [
    path("", views.home, name="home"),
    path("org/<int:org_pk>/", views.org_activities, name="org-list"),
    path("org/<int:org_pk>/new/", views.create, name="create"),
    path("org/<int:org_pk>/compliance/", views.compliance, name="compliance"),
    path("org/<int:org_pk>/calendar/", views.month_calendar, name="calendar"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
]

from django.urls import path

from .views import compliance, records

app_name = "activities"
urlpatterns = [
    path("", records.home, name="home"),
    path("org/<int:org_pk>/", records.org_activities, name="org-list"),
    path("org/<int:org_pk>/new/", records.create, name="create"),
    path("org/<int:org_pk>/compliance/", compliance.compliance, name="compliance"),
    path("org/<int:org_pk>/calendar/", compliance.month_calendar, name="calendar"),
    path("<int:pk>/", records.detail, name="detail"),
    path("<int:pk>/edit/", records.edit, name="edit"),
    path("<int:pk>/withdraw/", records.withdraw, name="withdraw"),
]

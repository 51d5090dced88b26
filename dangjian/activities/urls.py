from django.urls import path

from .views import attachments, compliance, formalism, overview, records, rules

app_name = "activities"
urlpatterns = [
    path("", records.home, name="home"),
    path("mine/", records.mine, name="mine"),
    path("org/<int:org_pk>/", records.org_activities, name="org-list"),
    path("org/<int:org_pk>/new/", records.create, name="create"),
    path("org/<int:org_pk>/compliance/", compliance.compliance, name="compliance"),
    path("org/<int:org_pk>/calendar/", compliance.month_calendar, name="calendar"),
    path("<int:pk>/", records.detail, name="detail"),
    path("<int:pk>/edit/", records.edit, name="edit"),
    path("<int:pk>/withdraw/", records.withdraw, name="withdraw"),
    # the working committee's screens
    path("overview/", overview.overview, name="overview"),
    path("overview/export.xlsx", overview.export, name="overview-export"),
    path("formalism/", formalism.signals, name="formalism"),
    path("formalism/export.xlsx", formalism.export, name="formalism-export"),
    path("rules/", rules.rule_list, name="rules"),
    path("rules/<int:pk>/", rules.rule_detail, name="rule"),
    path("rules/<int:pk>/change/", rules.rule_change, name="rule-change"),
    # attachments are served through the scoping check, never from a public media URL
    path("attachments/<int:pk>/", attachments.download, name="attachment"),
    path("attachments/<int:pk>/remove/", attachments.remove, name="attachment-remove"),
]

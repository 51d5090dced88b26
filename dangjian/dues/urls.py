from django.urls import path

from . import views

app_name = "dues"
urlpatterns = [
    path("", views.index, name="index"),
    path("export.xlsx", views.export, name="export"),
    path("lapsing/", views.lapsing, name="lapsing"),
    path("mine/", views.mine, name="mine"),
    path("members/<int:member_pk>/", views.member, name="member"),
    path("members/<int:member_pk>/base/", views.base, name="base"),
    path("members/<int:member_pk>/pay/", views.pay, name="pay"),
    path("payments/<int:pk>/delete/", views.payment_delete, name="payment-delete"),
    path("orgs/<int:org_pk>/statement/", views.statement, name="statement"),
    path("orgs/<int:org_pk>/statement/publish/", views.statement_publish, name="statement-publish"),
    path("orgs/<int:org_pk>/statement.xlsx", views.statement_xlsx, name="statement-xlsx"),
    path("orgs/<int:org_pk>/statement.docx", views.statement_docx, name="statement-docx"),
    path("rules/", views.rules, name="rules"),
    path("rules/new/", views.rule_new, name="rule-new"),
]

from django.urls import path

from .views import bulletins, runs, schemes

app_name = "assessment"
urlpatterns = [
    path("", schemes.scheme_list, name="schemes"),
    path("schemes/new/", schemes.scheme_create, name="scheme-create"),
    path("schemes/<int:pk>/", schemes.scheme_detail, name="scheme"),
    path("schemes/<int:pk>/indicators/", schemes.indicators, name="indicators"),
    path("schemes/<int:pk>/copy/", schemes.copy, name="scheme-copy"),
    path("schemes/<int:pk>/run/", schemes.run, name="run-create"),
    path("schemes/<int:pk>/manual/", schemes.manual_scores, name="manual"),
    path("runs/<int:pk>/", runs.run_detail, name="run"),
    path("runs/<int:pk>/finalize/", runs.run_finalize, name="run-finalize"),
    path("runs/<int:pk>/export.xlsx", runs.run_export, name="run-export"),
    path("runs/<int:pk>/targets/<int:org_pk>/", runs.target_detail, name="target"),
    path("runs/<int:pk>/bulletin/", bulletins.bulletin, name="bulletin"),
    path("runs/<int:pk>/bulletin.docx", bulletins.bulletin_docx, name="bulletin-docx"),
    path("bulletins/", bulletins.bulletins, name="bulletins"),
    path("admonitions/", runs.admonition_list, name="admonitions"),
    path("admonitions/<int:pk>/", runs.admonition_record, name="admonition"),
]

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from dangjian.api import router
from dangjian.core.scoping import NOT_FOUND
from dangjian.views import home

# The split view serves Swagger UI's start-up script as a file of its own (?script): the
# Content-Security-Policy runs no inline script.
_swagger = SpectacularSwaggerSplitView.as_view(url_name="api-schema")


def api_docs(request):
    """Swagger UI (assets from the installed sidecar package, no CDN). A plain view, so the
    login middleware sends anonymous visitors to the login page like every other page."""
    return _swagger(request)


def not_found(request, exception):
    """A path under /api/ that no route matches (an id that is not a number) answers in the
    API's one error shape, as JSON, like every other API error; elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": NOT_FOUND}, status=404, json_dumps_params={"ensure_ascii": False})
    return page_not_found(request, exception)


handler404 = not_found

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("dangjian.accounts.urls")),
    path("orgs/", include("dangjian.orgs.urls")),
    path("members/", include("dangjian.members.urls")),
    path("exchange/", include("dangjian.exchange.urls")),
    path("activities/", include("dangjian.activities.urls")),
    path("assessment/", include("dangjian.assessment.urls")),
    path("reviews/", include("dangjian.reviews.urls")),
    path("ratings/", include("dangjian.ratings.urls")),
    path("duties/", include("dangjian.duties.urls")),
    path("inspections/", include("dangjian.inspections.urls")),
    path("commendations/", include("dangjian.commendations.urls")),
    path("dues/", include("dangjian.dues.urls")),
    path("development/", include("dangjian.development.urls")),
    path("items/", include("dangjian.rectification.urls")),
    path("feedback/", include("dangjian.feedback.urls")),
    path("transfers/", include("dangjian.transfers.urls")),
    path("calendar/", include("dangjian.core.urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/", include(router.urls)),
    path("admin/", admin.site.urls),
]

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated

from dangjian.api import router
from dangjian.views import home

_swagger = SpectacularSwaggerView.as_view(url_name="api-schema")


def api_docs(request):
    """Swagger UI (assets from the installed sidecar package, no CDN). A plain view, so the
    login middleware sends anonymous visitors to the login page like every other page."""
    return _swagger(request)


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
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/", include(router.urls)),
    path("admin/", admin.site.urls),
]

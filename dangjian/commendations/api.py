"""/api/commendations/: the decisions (表彰决定) the user may read, with their honours —
read-only; the same scope as the pages (those who view the issuer)."""
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets

from dangjian.core.api import PAGE_NOT_FOUND, Pagination, ScopedViewSetMixin, error_responses

from .models import Commendation, Decision
from .serializers import DecisionSerializer

YEAR = OpenApiParameter("year", int, description="表彰年度，如 2025")


@extend_schema_view(
    list=extend_schema(summary="表彰决定列表", description="您可查看的表彰决定（发文党组织在您的范围内），按成文日期倒序。",
                       parameters=[YEAR],
                       responses={200: DecisionSerializer(many=True),
                                  **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)}),
    retrieve=extend_schema(summary="表彰决定详情", responses={200: DecisionSerializer, **error_responses(401, 404)}),
)
class DecisionViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DecisionSerializer
    pagination_class = Pagination

    def base_queryset(self):
        entries = (Commendation.objects.select_related("honour", "org", "member")
                   .order_by("honour__position", "honour_id", "position", "id"))
        return Decision.objects.select_related("issuer").prefetch_related(Prefetch("commendations", queryset=entries))

    def get_queryset(self):
        qs = super().get_queryset().order_by("-decided_on", "-id")
        raw = (self.request.query_params.get("year") or "").strip()
        if raw:
            if not raw.isdigit() or len(raw) != 4:
                raise exceptions.ValidationError({"year": [f"表彰年度：“{raw[:20]}”不是有效的年份（如 2025）"]})
            qs = qs.filter(year=int(raw))
        return qs

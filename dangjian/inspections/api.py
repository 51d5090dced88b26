"""/api/inspections/: the inspection plans the user may read, with the targets and findings the
user may see — read-only; the same scope as the pages, the 四不两直 rule included."""
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets

from dangjian.core.api import PAGE_NOT_FOUND, Pagination, ScopedViewSetMixin, error_responses

from .models import Finding, Inspection, Kind, Target
from .serializers import InspectionSerializer

YEAR = OpenApiParameter("year", int, description="年度，如 2026")
KIND = OpenApiParameter("kind", str, description="督查方式：daily 日常、random 随机、concentrated 集中、special 专项")
STATUS = OpenApiParameter("status", str, description="状态：planned 计划中、in_progress 督查中、reported 已通报")


@extend_schema_view(
    list=extend_schema(summary="督查列表", description="您可查看的督查计划，按开始日期倒序；每项带您可查看的督查对象及其督查发现。",
                       parameters=[YEAR, KIND, STATUS],
                       responses={200: InspectionSerializer(many=True),
                                  **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)}),
    retrieve=extend_schema(summary="督查详情", responses={200: InspectionSerializer, **error_responses(401, 404)}),
)
class InspectionViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = InspectionSerializer
    pagination_class = Pagination

    def base_queryset(self):
        findings = Finding.objects.select_related("item").order_by("item__position", "id")
        targets = (Target.objects.visible_to(self.request.user).select_related("org")
                   .prefetch_related(Prefetch("findings", queryset=findings)).order_by("position", "id"))
        return Inspection.objects.select_related("issuer").prefetch_related(Prefetch("targets", queryset=targets))

    def get_queryset(self):
        qs = super().get_queryset().order_by("-starts_on", "-id")
        params = self.request.query_params
        raw = (params.get("year") or "").strip()
        if raw:
            if not raw.isdigit() or len(raw) != 4:
                raise exceptions.ValidationError({"year": [f"年度：“{raw[:20]}”不是有效的年份（如 2026）"]})
            qs = qs.filter(year=int(raw))
        for name, label, choices in (("kind", "督查方式", Kind.values), ("status", "状态", Inspection.Status.values)):
            raw = (params.get(name) or "").strip()
            if raw:
                if raw not in choices:
                    raise exceptions.ValidationError({name: [f"{label}：“{raw[:20]}”不是可选的值（{'、'.join(choices)}）"]})
                qs = qs.filter(**{name: raw})
        return qs

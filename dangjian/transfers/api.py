"""/api/transfers/: the introduction letters the user may read — from both ends, those over the
sending and those over the receiving organization — read-only; the same scope as the pages."""
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets

from dangjian.core.api import PAGE_NOT_FOUND, Pagination, ScopedViewSetMixin, error_responses
from dangjian.orgs.models import Organization

from . import queries
from .models import Transfer
from .serializers import LetterSerializer

STATUS = OpenApiParameter("status", str, enum=list(queries.STATUSES), description="open 在途、overdue 逾期未办结、"
                          "accepted 已接收、returned 已退回、withdrawn 已撤回、done 已办结")
ORG = OpenApiParameter("org", str, description="组织代码：转出或接收党组织在该组织及其下级的介绍信")


@extend_schema_view(
    list=extend_schema(summary="组织关系转接列表", description="您可查看的介绍信（转出或接收党组织在您的范围内），按开具日期倒序。",
                       parameters=[STATUS, ORG],
                       responses={200: LetterSerializer(many=True),
                                  **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)}),
    retrieve=extend_schema(summary="组织关系转接详情", responses={200: LetterSerializer, **error_responses(401, 404)}),
)
class TransferViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = LetterSerializer
    pagination_class = Pagination

    def base_queryset(self):
        return Transfer.objects.select_related(*queries.RELATED)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def get_queryset(self):
        qs = super().get_queryset().order_by("-issued_on", "-id")
        params = self.request.query_params
        status = (params.get("status") or "").strip()
        if status:
            if status not in queries.STATUSES:
                raise exceptions.ValidationError({"status": [f"状态：“{status[:20]}”无效，可选 {'、'.join(queries.STATUSES)}"]})
            qs = queries.with_status(qs, status, timezone.localdate())
        code = (params.get("org") or "").strip()
        if code:
            org = Organization.objects.visible_to(self.request.user).filter(code=code).first()
            if org is None:
                raise exceptions.ValidationError({"org": [f"组织代码：“{code[:20]}”不存在或不在您的权限范围内"]})
            qs = qs.filter(pk__in=queries.transfers(self.request.user, root=org).values("pk"))
        return qs

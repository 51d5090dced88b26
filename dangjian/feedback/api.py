"""/api/visits/ and /api/feedback/: the visits and the feedback the user may read, scoped like
the pages (those who view the organization); a visit is recorded through
feedback.services.record_visit with `edit` over its organization. An anonymous complaint
answers no sender, to anyone."""
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response

from dangjian.core.api import (
    PAGE_NOT_FOUND,
    Pagination,
    ScopedViewSetMixin,
    error_responses,
    field_errors,
    forbidden,
)
from dangjian.core.scoping import can_anywhere
from dangjian.members.models import Member

from . import services
from .checks import FeedbackError
from .models import Channel, Feedback, Visit
from .serializers import FeedbackSerializer, VisitSerializer, VisitWriteSerializer

CHANNEL = OpenApiParameter("channel", str, enum=Channel.values, description="来源渠道")
STATUS = OpenApiParameter("status", str, enum=Feedback.Status.values, description="办理状态")
OVERDUE = OpenApiParameter("overdue", bool, description="为 true 时只列待处理且已过答复期限的")


@extend_schema_view(
    list=extend_schema(summary="走访记录列表", description="您可查看的走访记录（组织走访的党组织在您的范围内），按日期倒序。",
                       responses={200: VisitSerializer(many=True),
                                  **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)}),
    retrieve=extend_schema(summary="走访记录详情", responses={200: VisitSerializer, **error_responses(401, 404)}),
)
class VisitViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = VisitSerializer
    pagination_class = Pagination
    http_method_names = ["get", "post", "head", "options"]

    def base_queryset(self):
        return Visit.objects.select_related("org").prefetch_related(
            Prefetch("participants", queryset=Member.objects.order_by("name", "id").only("id", "name")),
            Prefetch("feedback", queryset=Feedback.objects.order_by("id").only("id", "visit_id")))

    def get_queryset(self):
        return super().get_queryset().order_by("-visited_on", "-id")

    @extend_schema(summary="登记走访", request=VisitWriteSerializer,
                   description="校验规则与网页表单相同：参加党员须在走访当日属于该组织及其下级组织；每条问题登记为一件意见建议。",
                   responses={201: VisitSerializer, **error_responses(400, 401, 403)})
    def create(self, request, *args, **kwargs):
        if not can_anywhere(request.user, "edit"):
            raise forbidden("登记走访")
        s = VisitWriteSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        ids = set(d.pop("participants"))
        found = list(Member.objects.visible_to(request.user).filter(pk__in=ids))
        if len(found) != len(ids):
            missing = sorted(ids - {m.pk for m in found})
            raise field_errors([("participants", f"参加党员：编号 {missing[0]} 不存在，或不在您的范围内")])
        try:
            visit = services.record_visit(request.user, participants=found, **d)
        except FeedbackError as exc:
            raise field_errors([(exc.field, exc.message)]) from None
        fresh = self.base_queryset().get(pk=visit.pk)
        return Response(VisitSerializer(fresh, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="意见建议列表", parameters=[CHANNEL, STATUS, OVERDUE],
                       description="您可查看的意见建议（涉及的党组织在您的范围内）。匿名投诉的 submitter 一律为 null。",
                       responses={200: FeedbackSerializer(many=True),
                                  **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)}),
    retrieve=extend_schema(summary="意见建议详情", responses={200: FeedbackSerializer, **error_responses(401, 404)}),
)
class FeedbackViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = FeedbackSerializer
    pagination_class = Pagination

    def base_queryset(self):
        return Feedback.objects.select_related("org", "submitter__member")

    def get_queryset(self):
        qs = super().get_queryset().order_by("-received_on", "-id")
        params = self.request.query_params
        for name, values, label in (("channel", Channel.values, "来源渠道"), ("status", Feedback.Status.values, "办理状态")):
            raw = (params.get(name) or "").strip()
            if raw:
                if raw not in values:
                    raise exceptions.ValidationError({name: [f"{label}：“{raw[:20]}”不在可选范围内（可选：{'、'.join(values)}）"]})
                qs = qs.filter(**{name: raw})
        raw = (params.get("overdue") or "").strip().lower()
        if raw in ("1", "true"):
            qs = qs.overdue(timezone.localdate())
        elif raw not in ("", "0", "false"):
            raise exceptions.ValidationError({"overdue": ["overdue：应为 true 或 false"]})
        return qs

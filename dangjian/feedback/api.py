"""/api/visits/ and /api/feedback/: the visits and the feedback the user may read, scoped like
the pages (those who view the organization); a visit is recorded through
feedback.services.record_visit with `edit` over its organization. Anyone logged in sends a
feedback (POST /api/feedback/), as on the page; an anonymous complaint is written with no link
to its sender and answers no sender, to anyone — its follow-up code is returned once. Those who
edit the organization concerned answer a feedback or turn it into a rectification item (POST
…/answer/, …/item/), through the same services as the pages."""
from django.db.models import Prefetch, Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dangjian.core.api import (
    NON_FIELD,
    PAGE_NOT_FOUND,
    Pagination,
    ScopedViewSetMixin,
    error_responses,
    field_errors,
    forbidden,
    version_of,
)
from dangjian.core.scoping import can, can_anywhere
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from . import services
from .checks import FeedbackError
from .models import Channel, Feedback, Visit
from .serializers import (
    AnswerSerializer,
    FeedbackSerializer,
    FeedbackWriteSerializer,
    SubmittedSerializer,
    TurnIntoItemSerializer,
    VisitSerializer,
    VisitWriteSerializer,
)

ITEM_ANSWER = inline_serializer("FeedbackItem", fields={
    "item": serializers.IntegerField(help_text="整改事项 id（/api/items/）"),
    "feedback": FeedbackSerializer(help_text="意见建议，状态为已转为整改事项"),
})
ITEM_FIELDS = {"item_org": "org", "item_title": "title", "item_workdays": "workdays",
               "item_description": "description", "item_list": "list"}

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

    @extend_schema(summary="提出意见建议（投诉建议或党员提出）", request=FeedbackWriteSerializer,
                   description="以登录的账号提出，与网页相同的规则。匿名投诉不记录提出人，返回的 code 是凭以查看答复的查询码，"
                               "只返回这一次。",
                   responses={201: SubmittedSerializer, **error_responses(400, 401)})
    def create(self, request, *args, **kwargs):
        user = request.user
        s = FeedbackWriteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        code = d["org"].strip()
        reachable = Q(pk__in=services.addressable(user).values("pk")) | Q(
            pk__in=Organization.objects.visible_to(user).values("pk"))
        org = Organization.objects.active().filter(reachable, code=code).first()
        if org is None:
            raise field_errors([("org", f"涉及的党组织：找不到组织代码“{code[:32]}”，请填写您所在的党组织、上级党组织或机关工委")])
        try:
            fb, receipt = services.submit(user, channel=d["channel"], org=org, text=d["text"],
                                          anonymous=d["anonymous"])
        except FeedbackError as exc:
            raise field_errors([(exc.field if exc.field in s.fields else NON_FIELD, exc.message)]) from None
        fb = Feedback.objects.select_related("org", "submitter__member").get(pk=fb.pk)
        data = SubmittedSerializer(fb, context=self.get_serializer_context()).data
        data["code"] = receipt or None
        return Response(data, status=status.HTTP_201_CREATED)

    def _handled(self, doing: str) -> Feedback:
        """The feedback of the URL (404 when not seen), then 403 unless the user edits its organization."""
        fb = self.get_object()
        if not can(self.request.user, "edit", fb.org.path):
            raise forbidden(doing)
        return fb

    def _fresh(self, fb: Feedback) -> dict:
        return FeedbackSerializer(self.base_queryset().get(pk=fb.pk), context=self.get_serializer_context()).data

    @extend_schema(summary="答复意见建议", request=AnswerSerializer,
                   description="管理涉及的党组织的一方；带读取时的 version（或 If-Match）。答复后提出人可以看到答复内容。",
                   responses={200: FeedbackSerializer, **error_responses(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None, **kwargs):
        fb = self._handled("答复意见建议")
        s = AnswerSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        try:
            services.answer(request.user, fb, text=s.validated_data["answer"], version=version_of(request))
        except FeedbackError as exc:
            raise field_errors([(exc.field if exc.field in s.fields else NON_FIELD, exc.message)]) from None
        return Response(self._fresh(fb))

    @extend_schema(summary="转为整改事项", request=TurnIntoItemSerializer,
                   description="管理涉及的党组织的一方：交办一个整改事项（交办单位为您所管理的最上级党组织），"
                               "事项销号即答复提出人；两者同时写入或都不写入。",
                   responses={201: ITEM_ANSWER, **error_responses(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def item(self, request, pk=None, **kwargs):
        user = request.user
        fb = self._handled("转为整改事项")
        s = TurnIntoItemSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        org = None
        if d["org"].strip():
            org = Organization.objects.visible_to(user, "edit").active().filter(code=d["org"].strip()).first()
            if org is None:
                raise field_errors([("org", f"责任单位：找不到组织代码“{d['org'].strip()[:32]}”，或不在您的管理范围内")])
        try:
            made = services.turn_into_item(user, fb, org=org, list=d["list"], title=d["title"],
                                           description=d["description"], workdays=d["workdays"],
                                           version=version_of(request))
        except FeedbackError as exc:
            field = ITEM_FIELDS.get(exc.field or "", exc.field if exc.field in s.fields else NON_FIELD)
            raise field_errors([(field, exc.message)]) from None
        return Response({"item": made.pk, "feedback": self._fresh(fb)}, status=status.HTTP_201_CREATED)

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

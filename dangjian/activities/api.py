"""/api/activities/ and /api/compliance/: organizational-life records and the stored
compliance rows. Reads through visible_to(); a record is written through
activities.services.record_activity with capability "edit" over its organization."""
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response

from dangjian.core import periods
from dangjian.core.api import (
    NOT_FOUND,
    PAGE_NOT_FOUND,
    Pagination,
    ScopedViewSetMixin,
    error_responses,
    field_errors,
    forbidden,
)
from dangjian.core.scoping import can_anywhere
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from . import compliance, queries, services
from .models import Activity, Attachment, Attendance
from .serializers import (
    ActivityFilterSerializer,
    ActivitySerializer,
    ActivityWriteSerializer,
    ComplianceFilterSerializer,
    ComplianceRowSerializer,
    activity_list_data,
)

PEOPLE = ("host", "recorder", "lecturer")


@extend_schema_view(
    list=extend_schema(
        summary="组织生活记录列表",
        description="您可查看的有效记录，按日期倒序；可按组织（含下级）、类型和日期范围筛选。",
        parameters=[ActivityFilterSerializer],
        responses={200: ActivitySerializer(many=True), **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)},
    ),
    retrieve=extend_schema(summary="组织生活记录详情", responses={200: ActivitySerializer, **error_responses(401, 404)}),
)
class ActivityViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ActivitySerializer
    pagination_class = Pagination
    http_method_names = ["get", "post", "head", "options"]

    def base_queryset(self):
        # The attendance shows each member's id and name: a page holds a thousand of them, and
        # the whole record (ciphertext, pinyin, dates) was most of the page's time.
        attendances = (Attendance.objects.select_related("member").order_by("member_id")
                       .only("id", "activity_id", "member_id", "status", "reason", "member__id", "member__name"))
        attachments = Attachment.objects.filter(is_active=True).order_by("id")
        return Activity.objects.select_related("org", "host").prefetch_related(
            "kinds", Prefetch("attendances", queryset=attendances),
            Prefetch("attachments", queryset=attachments, to_attr="active_attachments"))

    def filter_queryset(self, qs):
        if self.action != "list":
            return qs
        params = ActivityFilterSerializer(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        p = params.validated_data
        qs = qs.filter(status=Activity.Status.ACTIVE)
        if p.get("org", "").strip():
            path = Organization.objects.filter(code=p["org"].strip()).values_list("path", flat=True).first()
            qs = qs.filter(org__path__startswith=path) if path else qs.none()
        if p.get("kind"):
            qs = qs.filter(kinds__kind=p["kind"])
        if p.get("start"):
            qs = qs.filter(held_on__gte=p["start"])
        if p.get("end"):
            qs = qs.filter(held_on__lte=p["end"])
        return qs.order_by("-held_on", "-id")

    def list(self, request, *args, **kwargs):
        # Plain rows rather than model instances through the serializer: the same answer
        # (activity_list_data) at a fraction of the cost.
        page = self.paginate_queryset(queries.api_list_rows(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response(
            activity_list_data(page, *queries.api_list_details([row["id"] for row in page])))

    def _members(self, data) -> dict:
        """Member ids of the request, each among the members the user can see."""
        ids = {data[k] for k in PEOPLE if data.get(k)} | set(data.get("talk_parties") or []) \
            | {a["member"] for a in data.get("attendance") or []}
        found = {m.pk: m for m in Member.objects.visible_to(self.request.user).filter(pk__in=ids)}
        problems = [(k, f"{label}：编号为 {data[k]} 的党员不存在，或不在您的管理范围内")
                    for k, label in (("host", "主持人"), ("recorder", "记录人"), ("lecturer", "授课人"))
                    if data.get(k) and data[k] not in found]
        problems += [("talk_parties", f"谈话双方：编号为 {i} 的党员不存在，或不在您的管理范围内")
                     for i in data.get("talk_parties") or [] if i not in found]
        problems += [("attendance", f"出席情况：编号为 {a['member']} 的党员不存在，或不在您的管理范围内")
                     for a in data.get("attendance") or [] if a["member"] not in found]
        if problems:
            raise field_errors(problems)
        return found

    @extend_schema(
        summary="登记组织生活记录",
        description="校验规则与网页表单相同：将来的日期、已撤销的组织、非本组织党员的出席情况、重复提交均不予登记。"
                    "recorded_at 由平台记录，不能填写。",
        request=ActivityWriteSerializer,
        responses={201: ActivitySerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request, *args, **kwargs):
        if not can_anywhere(request.user, "edit"):
            raise forbidden("登记组织生活记录")
        s = ActivityWriteSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        found = self._members(data)
        attendance = {}
        for a in data.pop("attendance"):
            if a["member"] in attendance:
                raise field_errors([("attendance", f"出席情况：编号为 {a['member']} 的党员重复出现")])
            attendance[a["member"]] = (a["status"], a.get("reason", ""))
        people = {k: found.get(data.pop(k)) for k in PEOPLE}
        parties = [found[i] for i in data.pop("talk_parties")] or None
        try:
            activity = services.record_activity(request.user, data.pop("org"), data.pop("kinds"), data.pop("held_on"),
                                                attendance=attendance, talk_parties=parties, **people, **data)
        except services.ActivityError as exc:
            raise field_errors([(exc.field, exc.message)]) from None
        fresh = self.base_queryset().get(pk=activity.pk)
        return Response(ActivitySerializer(fresh, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


class ComplianceViewSet(viewsets.GenericViewSet):
    """Stored compliance rows of a period, in the rows of `dangjian compliance --format json`."""

    pagination_class = Pagination
    serializer_class = ComplianceRowSerializer

    @extend_schema(
        summary="合规情况",
        description="某周期（2026-03、2026Q1、2026H1 或 2026）内您可查看的组织的合规结果，按规则自身周期列出；"
                    "行的格式与 dangjian compliance --format json 相同。",
        parameters=[OpenApiParameter("period", str, required=True, description="周期"),
                    OpenApiParameter("org", str, required=False, description="组织代码（含下级）")],
        responses={200: ComplianceRowSerializer(many=True), **error_responses(400, 401, 404)},
    )
    def list(self, request, *args, **kwargs):
        params = ComplianceFilterSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        p = params.validated_data
        try:
            period = periods.parse(p["period"])
        except periods.PeriodError as exc:
            raise field_errors([("period", str(exc))]) from None
        orgs = Organization.objects.visible_to(request.user)
        code = (p.get("org") or "").strip()
        if code:
            root = orgs.filter(code=code).first()
            if root is None:
                raise exceptions.NotFound(NOT_FOUND)
            orgs = orgs.filter(path__startswith=root.path)
        rows = compliance.stored_rows(period.start, period.end, orgs)
        page = self.paginate_queryset(rows)
        data = [{"org_code": r.org.code, "org_name": r.org.name, "period": r.period, "kind": r.code,
                 "required": r.required, "held": r.held, "status": compliance.current_status(r),
                 "evidence": r.evidence} for r in page]
        return self.get_paginated_response(data)

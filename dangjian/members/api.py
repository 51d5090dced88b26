"""/api/members/: member records. Reads through visible_to() and members.queries; writes
through members.services after members.checks (via the serializer), allowed with
capability "edit" over the member's organization."""
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dangjian.core import audit
from dangjian.core.api import (
    PAGE_NOT_FOUND,
    Pagination,
    ScopedViewSetMixin,
    error_responses,
    field_errors,
    forbidden,
    require,
    version_of,
)
from dangjian.core.models import AuditEntry
from dangjian.core.scoping import can_anywhere, get_visible_or_404

from . import queries, services
from .models import Member
from .serializers import MemberFilterSerializer, MemberSerializer, MemberWriteSerializer, TransferSerializer

REVEAL_NOTE = "通过 API 返回"


@extend_schema_view(
    list=extend_schema(
        summary="党员列表",
        description="您可查看的党员；默认只列在册党员（status=all 列出全部）。",
        parameters=[MemberFilterSerializer],
        responses={200: MemberSerializer(many=True), **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)},
    ),
    retrieve=extend_schema(summary="党员详情", responses={200: MemberSerializer, **error_responses(401, 404)}),
)
class MemberViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = MemberSerializer
    pagination_class = Pagination
    # Changes are partial (PATCH); a whole-record PUT would blank what the client left out.
    http_method_names = ["get", "post", "patch", "head", "options"]

    def base_queryset(self):
        return Member.objects.select_related("org")

    def filter_queryset(self, qs):
        if self.action != "list":
            return qs
        params = MemberFilterSerializer(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        return queries.filter_members(qs, params.as_params(), self.request.user).order_by("org__path", "name", "id")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        # Every full 身份证号 handed out is logged, as on the web page's "查看" button.
        context["revealed"] = self._revealed = []
        return context

    def _log_reveals(self) -> None:
        revealed = getattr(self, "_revealed", None)
        if revealed:
            user = self.request.user
            AuditEntry.objects.bulk_create(
                [audit.entry(user, m, audit.snapshot(m), action="reveal", note=REVEAL_NOTE) for m in revealed]
            )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        self._log_reveals()
        return response

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        self._log_reveals()
        return response

    def _member(self, pk) -> Member:
        """The member to act on, looked up among those the user can see (else 404)."""
        return get_visible_or_404(Member.objects.select_related("org"), self.request.user, pk)

    def _answer(self, member, code=status.HTTP_200_OK) -> Response:
        fresh = Member.objects.select_related("org").get(pk=member.pk)
        self._revealed = []
        data = MemberSerializer(fresh, context={"request": self.request, "revealed": self._revealed}).data
        self._log_reveals()
        return Response(data, status=code)

    @extend_schema(
        summary="新增党员",
        description="校验规则与网页表单、花名册导入相同（校验码、出生日期与身份证号一致、日期先后、入党年龄、人员类别……）。",
        request=MemberWriteSerializer,
        responses={201: MemberSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request, *args, **kwargs):
        if not can_anywhere(request.user, "edit"):
            raise forbidden("新增党员")
        s = MemberWriteSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        fields = dict(s.validated_data)
        fields.pop("status", None)
        try:
            member = services.create_member(request.user, reason="新增党员", **fields)
        except services.MemberError as exc:
            raise field_errors([("id_number", str(exc))]) from None
        return self._answer(member, status.HTTP_201_CREATED)

    @extend_schema(
        summary="修改党员信息",
        description=("只需提交要修改的字段；修改后的整条记录仍须通过全部校验。调整所在党组织请用 transfer。"
                     "提交读取时的 version（或 If-Match 请求头）可防止覆盖他人在此期间的修改：版本已过期时返回 409 "
                     "与当前版本，什么也不写；不提交版本时只写所提交的字段，以最后一次保存为准。"),
        request=MemberWriteSerializer,
        responses={200: MemberSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def partial_update(self, request, pk=None, **kwargs):
        member = self._member(pk)
        require(request.user, "edit", member.org.path, "修改该党员信息")
        version = version_of(request)
        s = MemberWriteSerializer(member, data=request.data, partial=True, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        fields = dict(s.validated_data)
        fields.pop("version", None)
        try:
            services.update_member(request.user, member, version=version, **fields)
        except services.MemberError as exc:
            raise field_errors([("id_number", str(exc))]) from None
        return self._answer(member)

    @extend_schema(
        summary="组织关系转接",
        description="当前组织关系于转接日期结束，新组织关系同日开始，党员不会“悬空”。",
        request=TransferSerializer,
        responses={200: MemberSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None, **kwargs):
        member = self._member(pk)
        require(request.user, "edit", member.org.path, "办理该党员的组织关系转接")
        s = TransferSerializer(data=request.data, context={"request": request, "member": member})
        s.is_valid(raise_exception=True)
        d = s.validated_data
        try:
            services.transfer_member(
                request.user, member, d["org"], d.get("on") or timezone.localdate(), d.get("reason") or "组织关系转接",
                version_of(request),
            )
        except services.MemberError as exc:
            raise field_errors([("org", str(exc))]) from None
        return self._answer(member)

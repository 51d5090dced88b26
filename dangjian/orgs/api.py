"""/api/orgs/: the organization tree. Reads through visible_to(); writes through
orgs.services, allowed with capability "edit" over the org (and over the new parent)."""
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
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
    require,
    version_of,
)
from dangjian.core.scoping import can_anywhere, get_visible_or_404

from . import queries, services
from .models import CommitteeSeat, Organization, Term
from .serializers import (
    CurrentTermSerializer,
    DissolveSerializer,
    OrgFilterSerializer,
    OrgSerializer,
    OrgWriteSerializer,
    SeatSerializer,
    TermSerializer,
)


@extend_schema_view(
    list=extend_schema(
        summary="组织列表",
        description="您可查看的组织；默认只列正常状态（status=all 列出全部）。",
        parameters=[OrgFilterSerializer],
        responses={200: OrgSerializer(many=True), **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)},
    ),
    retrieve=extend_schema(summary="组织详情", responses={200: OrgSerializer, **error_responses(401, 404)}),
)
class OrgViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrgSerializer
    pagination_class = Pagination
    # Changes are partial (PATCH); a whole-record PUT would blank what the client left out.
    http_method_names = ["get", "post", "patch", "head", "options"]

    def base_queryset(self):
        current = Prefetch("terms", queryset=Term.objects.filter(is_current=True), to_attr="current_terms")
        return Organization.objects.select_related("unit", "parent").prefetch_related(current)

    def get_object(self):
        return queries.attach_counts([super().get_object()], self.request.user)[0]

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return None if page is None else queries.attach_counts(page, self.request.user)

    def filter_queryset(self, qs):
        if self.action != "list":
            return qs
        params = OrgFilterSerializer(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        p = params.validated_data
        qs = queries.filter_orgs(qs, {k: p.get(k) for k in ("q", "kind", "status", "under")})
        if p.get("code"):
            qs = qs.filter(code=p["code"].strip())
        if p.get("parent"):
            qs = qs.filter(parent__code=p["parent"].strip())
        return qs

    def _org(self, pk) -> Organization:
        """The org to act on, looked up among those the user can see (else 404)."""
        return get_visible_or_404(Organization.objects.select_related("unit", "parent"), self.request.user, pk)

    def _answer(self, org, code=status.HTTP_200_OK) -> Response:
        fresh = queries.attach_counts([self.get_queryset().get(pk=org.pk)], self.request.user)[0]
        return Response(OrgSerializer(fresh).data, status=code)

    @extend_schema(
        summary="设立组织",
        request=OrgWriteSerializer,
        responses={201: OrgSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request, *args, **kwargs):
        if not can_anywhere(request.user, "edit"):
            raise forbidden("设立组织")
        s = OrgWriteSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        d = s.validated_data
        parent = d["parent"]
        unit = d["unit"] if "unit" in d else (parent.unit.name if parent.unit else "")
        try:
            org = services.create_org(
                request.user, code=d["code"], name=d["name"], kind=d["kind"], is_joint=d.get("is_joint", False),
                parent=parent, unit=services.unit_named(unit), established_on=d.get("established_on"),
            )
        except services.OrgError as exc:
            raise field_errors([(exc.field, str(exc))]) from None
        return self._answer(org, status.HTTP_201_CREATED)

    @extend_schema(
        summary="修改组织",
        description=("只需提交要修改的字段。提交新的 parent（须在您的管理范围内）即调整隶属关系，连同全部下级组织。"
                     "提交读取时的 version（或 If-Match 请求头）可防止覆盖他人在此期间的修改：版本已过期时返回 409 "
                     "与当前版本，什么也不写；不提交版本时只写所提交的字段，以最后一次保存为准。"),
        request=OrgWriteSerializer,
        responses={200: OrgSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def partial_update(self, request, pk=None, **kwargs):
        org = self._org(pk)
        require(request.user, "edit", org.path, "修改该组织")
        version = version_of(request)
        s = OrgWriteSerializer(org, data=request.data, partial=True, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        fields = dict(s.validated_data)
        fields.pop("version", None)
        if "unit" in fields:
            fields["unit"] = services.unit_named(fields["unit"])
        try:
            services.update_org(request.user, org, version, **fields)
        except services.OrgError as exc:
            raise field_errors([(exc.field, str(exc))]) from None
        return self._answer(org)

    @extend_schema(
        summary="撤销组织",
        description="组织不删除，状态改为已撤销。仍有在册党员或正常下级组织时不能撤销。",
        request=DissolveSerializer,
        responses={200: OrgSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def dissolve(self, request, pk=None, **kwargs):
        org = self._org(pk)
        require(request.user, "edit", org.path, "撤销该组织")
        s = DissolveSerializer(data=request.data, context={"org": org, "request": request})
        s.is_valid(raise_exception=True)
        if org.status != Organization.Status.ACTIVE:
            raise field_errors([(NON_FIELD, "该组织已撤销")])
        try:
            services.dissolve_org(request.user, org, s.validated_data.get("on") or timezone.localdate(),
                                  version_of(request))
        except services.OrgError as exc:
            raise field_errors([(NON_FIELD, str(exc))]) from None
        return self._answer(org)

    @extend_schema(
        summary="设置本届届次",
        description="开始日期与当前届次相同则更新当前届次；不同则视为换届，原届次结束。",
        request=TermSerializer,
        responses={200: CurrentTermSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def term(self, request, pk=None, **kwargs):
        org = self._org(pk)
        require(request.user, "edit", org.path, "设置该组织的届次")
        s = TermSerializer(data=request.data, context={"request": request, "org": org})
        s.is_valid(raise_exception=True)
        if org.status != Organization.Status.ACTIVE:
            raise field_errors([(NON_FIELD, "该组织已撤销，不能设置届次")])
        d = s.validated_data
        try:
            term = services.set_current_term(request.user, org, d["starts_on"], d["ends_on"], d.get("elected_on"),
                                             version_of(request))
        except services.OrgError as exc:
            raise field_errors([("ends_on", str(exc))]) from None
        return Response(CurrentTermSerializer(term).data)

    @extend_schema(
        summary="委员职位",
        description="该组织在设的委员会职位（书记、副书记、委员……），含空缺职位。",
        responses={200: SeatSerializer(many=True), **error_responses(401, 404)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def seats(self, request, pk=None, **kwargs):
        org = self._org(pk)
        seats = CommitteeSeat.objects.filter(org=org, is_active=True).select_related("holder")
        return Response(SeatSerializer(seats, many=True).data)

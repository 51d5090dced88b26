"""/api/dues/…: read-only, the same scope as the pages. Money is given as strings of exact
decimals ("5000.01", "0.015", "75.00"), never as floating-point numbers.

- /api/dues/bases/ — the bases (缴费基数) of the members the user sees, with their dates;
- /api/dues/payments/?month=2026-10 — the payments recorded;
- /api/dues/members/?period=2026-10&org=CODE — per member: base, rate, due, paid, owed over a
  period (a month 2026-10, a quarter 2026Q3, a half 2026H2 or a year 2026)."""
from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.response import Response

from dangjian.core import periods
from dangjian.core.api import PAGE_NOT_FOUND, Pagination, ScopedViewSetMixin, error_responses
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from . import collection
from .models import DuesBase, Payment
from .serializers import BaseSerializer, MemberDuesSerializer, PaymentSerializer

MONTH = OpenApiParameter("month", str, description="所属月份，如 2026-10")
PERIOD = OpenApiParameter("period", str, required=True, description="期间：2026-10（月）、2026Q3、2026H2 或 2026")
ORG = OpenApiParameter("org", str, description="组织代码：只列该组织及其下级组织的党员")
LIST_ERRORS = error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)


def _org_q(request, lookup: str) -> Q:
    code = (request.query_params.get("org") or "").strip()
    if not code:
        return Q()
    org = Organization.objects.visible_to(request.user).filter(code=code[:40]).first()
    if org is None:
        raise exceptions.ValidationError({"org": [f"组织代码：“{code[:40]}”不存在，或不在您的权限范围内"]})
    return Q(**{f"{lookup}__startswith": org.path})


def _period(raw: str | None, required: bool) -> periods.Period | None:
    raw = (raw or "").strip()
    if not raw:
        if required:
            raise exceptions.ValidationError({"period": ["期间：必填，如 2026-10"]})
        return None
    try:
        return periods.parse(raw[:20])
    except periods.PeriodError as exc:
        raise exceptions.ValidationError({"period": [f"期间：{exc}"]}) from None


@extend_schema_view(list=extend_schema(summary="缴费基数", parameters=[ORG],
                                       responses={200: BaseSerializer(many=True), **LIST_ERRORS}))
class BaseViewSet(ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = BaseSerializer
    pagination_class = Pagination

    def base_queryset(self):
        return DuesBase.objects.select_related("member__org")

    def get_queryset(self):
        return super().get_queryset().filter(_org_q(self.request, "member__org__path")).order_by("member_id", "start")


@extend_schema_view(list=extend_schema(summary="党费交纳记录", parameters=[MONTH, ORG],
                                       responses={200: PaymentSerializer(many=True), **LIST_ERRORS}))
class PaymentViewSet(ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = PaymentSerializer
    pagination_class = Pagination

    def base_queryset(self):
        return Payment.objects.select_related("member__org")

    def get_queryset(self):
        qs = super().get_queryset().filter(_org_q(self.request, "member__org__path"))
        p = _period(self.request.query_params.get("month"), False)
        if p is not None:
            if p.unit != "month":
                raise exceptions.ValidationError({"month": ["所属月份：应为一个月，如 2026-10"]})
            qs = qs.filter(month=p.months[0])
        return qs.order_by("member_id", "month")


@extend_schema_view(list=extend_schema(summary="党员党费情况（按期间）", parameters=[PERIOD, ORG],
                                       responses={200: MemberDuesSerializer(many=True), **LIST_ERRORS}))
class MemberDuesViewSet(ScopedViewSetMixin, viewsets.GenericViewSet):
    serializer_class = MemberDuesSerializer
    pagination_class = Pagination

    def base_queryset(self):
        return Member.objects.filter(status=Member.Status.ACTIVE)

    def get_queryset(self):
        return super().get_queryset().filter(_org_q(self.request, "org__path")).order_by("pk")

    def list(self, request, *args, **kwargs):
        p = _period(request.query_params.get("period"), True)
        page = self.paginate_queryset(self.get_queryset())
        ids = [m.pk for m in page]
        rows = collection.member_rows(Member.objects.filter(pk__in=ids), p.months[0], p.months[-1])
        data = [{"member": r.name, "member_id": r.member_id, "org_code": r.org_code,
                 "base": None if r.base is None else f"{r.base}", "rate": None if r.rate is None else f"{r.rate}",
                 "due": f"{r.due}", "paid": f"{r.paid}", "owed": f"{r.owed}"} for r in rows]
        return self.get_paginated_response(data) if page is not None else Response(data)

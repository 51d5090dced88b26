"""/api/dues/…: the same scope as the pages. Money is given as strings of exact decimals
("5000.01", "0.015", "75.00"), never as floating-point numbers.

- /api/dues/bases/ — the bases (缴费基数) of the members the user sees, with their dates;
  POST one (a member's base from a month on, as the page's 登记缴费基数);
- /api/dues/payments/?month=2026-10 — the payments recorded; POST one (as the page's 登记交纳:
  one month or a run of months, back-pay when paid after the month), DELETE one (撤销);
- /api/dues/members/?period=2026-10&org=CODE — per member: base, rate, due, paid, owed over a
  period (a month 2026-10, a quarter 2026Q3, a half 2026H2 or a year 2026).

The writes call the services the pages call and nothing else decides: a member outside the
user's scope is 404 like the page, a member the user sees but may not record dues for 403, bad
input 400 with the Chinese message of the field, and nothing is written then."""
from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response

from dangjian.core import periods
from dangjian.core.api import NON_FIELD, PAGE_NOT_FOUND, Pagination, ScopedViewSetMixin, error_responses, field_errors
from dangjian.core.api import require as require_api
from dangjian.core.scoping import get_visible_or_404
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from . import collection, services
from .checks import DuesError, parse_months
from .models import DuesBase, Payment
from .serializers import (
    BaseInSerializer,
    BaseSerializer,
    MemberDuesSerializer,
    PaymentInSerializer,
    PaymentSerializer,
)

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


WRITE_ERRORS = error_responses(400, 401, 403, 404)


def _member(request, member_id: int) -> Member:
    """The member named in the body: 404 outside the scope (as the page), 403 when seen but
    not the user's to record dues for."""
    member = get_visible_or_404(Member.objects.select_related("org"), request.user, member_id)
    require_api(request.user, "edit", member.org.path, "登记该党员党费")
    return member


def _refused(exc: DuesError, fields, renamed: dict | None = None) -> exceptions.ValidationError:
    name = (renamed or {}).get(exc.field, exc.field)
    return field_errors([(name if name in fields else NON_FIELD, exc.message)])


@extend_schema_view(
    list=extend_schema(summary="缴费基数", parameters=[ORG], responses={200: BaseSerializer(many=True), **LIST_ERRORS}),
    create=extend_schema(summary="登记缴费基数", description="党员自某月起的缴费基数和交纳类别（变更即新增一条，历史保留）；"
                                                       "已交纳月份的基数不能变更。",
                         request=BaseInSerializer, responses={201: BaseSerializer, **WRITE_ERRORS}),
)
class BaseViewSet(ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = BaseSerializer
    pagination_class = Pagination

    def base_queryset(self):
        return DuesBase.objects.select_related("member__org")

    def get_queryset(self):
        return super().get_queryset().filter(_org_q(self.request, "member__org__path")).order_by("member_id", "start")

    def create(self, request, *args, **kwargs):
        s = BaseInSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        member = _member(request, d["member"])
        try:
            months, _ = parse_months(d["effective_from"], timezone.localdate(), "起始月份")
            if len(months) != 1:
                raise DuesError("effective_from", "起始月份：请填写一个月份")
            month = months[0]
            row = services.set_base(request.user, member, base=d["base"], category=d["category"],
                                    effective_from=dt.date(month // 100, month % 100, 1), note=d["note"])
        except DuesError as exc:
            raise _refused(exc, s.fields, {"month": "effective_from"}) from None
        row = DuesBase.objects.select_related("member__org").get(pk=row.pk)
        return Response(BaseSerializer(row).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="党费交纳记录", parameters=[MONTH, ORG],
                       responses={200: PaymentSerializer(many=True), **LIST_ERRORS}),
    retrieve=extend_schema(summary="一条党费交纳记录", responses={200: PaymentSerializer, **error_responses(401, 404)}),
    create=extend_schema(summary="登记党费交纳",
                         description="一个月或连续几个月的党费：按月记为一条或几条交纳记录（应交金额按当月基数和标准），"
                                     "交纳日期晚于所属月份即为补交。答复所记各条。",
                         request=PaymentInSerializer, responses={201: PaymentSerializer(many=True), **WRITE_ERRORS}),
    destroy=extend_schema(summary="撤销党费交纳记录", description="撤销误登记的一条交纳记录（留有操作记录）。",
                          responses={204: None, **error_responses(401, 403, 404)}),
)
class PaymentViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     viewsets.GenericViewSet):
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
        return qs.order_by("member_id", "month", "pk")

    def create(self, request, *args, **kwargs):
        s = PaymentInSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        member = _member(request, d["member"])
        today = timezone.localdate()
        try:
            months, _ = parse_months(d["months"], today, "所属月份")
            saved = services.record_payment(request.user, member, months=months, amount=d["amount"],
                                            paid_on=d["paid_on"], today=today)
        except DuesError as exc:
            raise _refused(exc, s.fields, {"month": "months"}) from None
        rows = Payment.objects.select_related("member__org").filter(pk__in=[p.pk for p in saved]).order_by("month", "pk")
        return Response(PaymentSerializer(rows, many=True).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        payment = self.get_object()
        require_api(request.user, "edit", payment.member.org.path, "撤销该党员的交纳记录")
        services.delete_payment(request.user, payment)
        return Response(status=status.HTTP_204_NO_CONTENT)


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

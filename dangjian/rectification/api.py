"""/api/items/: the rectification items the user may see (the same scope and filters as the list
page), each with its timeline, and the moves as POST actions calling the same services as the
pages — sign, note, request-close, close, return, refer, deadline; POST /api/items/ is 工委交办,
as the new-item page. A move takes the item's
`version` (in the body or an If-Match header); a stale one is 409 with the version now stored.
Bad input is 400 in the one Chinese shape, a move the user's side may not make 403."""
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
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
from dangjian.core.scoping import can_anywhere
from dangjian.orgs.models import Organization

from . import queries, services
from .models import Item
from .serializers import (
    AssignSerializer,
    DeadlineSerializer,
    ItemDetailSerializer,
    ItemSerializer,
    MoveSerializer,
    ReferSerializer,
)

FILTERS = [
    OpenApiParameter("list", str, description="清单：problem 问题清单 / task 任务清单 / suggestion 建议清单"),
    OpenApiParameter("status", str, description="open 未销号 / overdue 已超期 / closed 已销号，或 pending、rectifying、"
                                                "closing、referred"),
    OpenApiParameter("org", str, description="组织代码：该组织及其下级组织负责的事项"),
    OpenApiParameter("source", str, description="来源：inspection、review、admonition、overhaul、compliance、feedback、manual"),
    OpenApiParameter("source_id", int, description="来源记录 id"),
    OpenApiParameter("q", str, description="事项、内容或单位名称中的文字"),
]

# The side that makes each move: the responsible side moves it forward, the issuing side closes.
MOVES = {
    "sign": ("签收", services.can_forward),
    "note": ("填写进展", lambda user, item: services.can_forward(user, item) or services.can_issue(user, item)),
    "request-close": ("申请销号", services.can_forward),
    "close": ("销号", services.can_issue),
    "return": ("退回", services.can_issue),
    "refer": ("转办", services.can_issue),
    "deadline": ("调整时限", services.can_issue),
}
MOVE_RESPONSES = {200: ItemDetailSerializer, **error_responses(400, 401, 403, 404, 409)}


@extend_schema_view(
    list=extend_schema(summary="整改事项列表", description="您可查看的整改事项（责任单位或交办单位在您的范围内），按整改时限排序。",
                       parameters=FILTERS,
                       responses={200: ItemSerializer(many=True),
                                  **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)}),
    retrieve=extend_schema(summary="整改事项详情（含办理过程）",
                           responses={200: ItemDetailSerializer, **error_responses(401, 404)}),
)
class ItemViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ItemSerializer
    pagination_class = Pagination

    def base_queryset(self):
        return Item.objects.select_related("org", "issuer", "responsible")

    def get_serializer_class(self):
        return ItemSerializer if self.action == "list" else ItemDetailSerializer

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action != "list":
            return qs
        params, problems = self.request.query_params, []

        def coded(name, allowed, label):
            raw = (params.get(name) or "").strip()
            if raw and raw not in allowed:
                problems.append((name, f"{label}：“{raw[:20]}”不在可选范围内（可选：{'、'.join(allowed)}）"))
                return None
            return raw or None

        list_ = coded("list", Item.List.values, "清单")
        status = coded("status", [*queries.STATUS_FILTERS, *Item.Status.values], "状态")
        source = coded("source", Item.Source.values, "来源")
        raw_id = (params.get("source_id") or "").strip()
        if raw_id and (not raw_id.isdigit() or len(raw_id) > 12):
            problems.append(("source_id", f"来源记录：“{raw_id[:20]}”应为正整数"))
        code = (params.get("org") or "").strip()
        root = None
        if code:
            root = Organization.objects.visible_to(self.request.user).filter(code=code[:32]).first()
            if root is None:
                problems.append(("org", f"组织：未找到组织代码“{code[:32]}”，或不在您的查看范围内"))
        if problems:
            raise field_errors(problems)
        return queries.filtered(qs, today=timezone.localdate(), list_=list_, status=status, org=root, source=source,
                                source_id=int(raw_id) if raw_id else None,
                                q=(params.get("q") or "").strip()[:50]).order_by("deadline", "id")

    def retrieve(self, request, *args, **kwargs):
        return self._answer(self.get_object())

    @extend_schema(summary="交办整改事项", request=AssignSerializer,
                   responses={201: ItemDetailSerializer, **error_responses(400, 401, 403)})
    def create(self, request, *args, **kwargs):
        user = request.user
        if not can_anywhere(user, "edit"):
            raise forbidden("交办整改事项")
        s = AssignSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        editable = Organization.objects.visible_to(user, "edit").active()
        issuer = editable.filter(code=d["issuer"].strip()).first()
        org = editable.filter(code=d["org"].strip()).first()
        problems = []
        if issuer is None:
            problems.append(("issuer", f"交办单位：找不到组织代码“{d['issuer'].strip()[:32]}”，或不在您的管理范围内"))
        if org is None:
            problems.append(("org", f"责任单位：找不到组织代码“{d['org'].strip()[:32]}”，或不在您的管理范围内"))
        if problems:
            raise field_errors(problems)
        try:
            item = services.assign(user, issuer=issuer, org=org, list=d["list"], title=d["title"],
                                   description=d["description"], deadline=d.get("deadline"),
                                   workdays=d.get("workdays"), source_label=d["source_label"])
        except services.ItemError as exc:
            raise field_errors([(exc.field if exc.field in s.fields else NON_FIELD, exc.message)]) from None
        response = self._answer(item)
        response.status_code = 201
        return response

    def _answer(self, item):
        item = queries.get(self.request.user, item.pk)
        return Response(ItemDetailSerializer(item, context={"events": queries.timeline(item)}).data)

    def _move(self, request, pk, name, serializer_class=MoveSerializer):
        item = self.get_object()
        doing, side = MOVES[name]
        if not side(request.user, item):
            raise forbidden(doing)
        s = serializer_class(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        version = version_of(request)
        try:
            result = self._apply(request.user, item, name, d, version)
        except services.ItemError as exc:
            field = exc.field if exc.field in s.fields else NON_FIELD
            raise field_errors([(field, exc.message)]) from None
        return self._answer(result)

    @staticmethod
    def _apply(user, item, name, d, version):
        text = d.get("text", "")
        if name == "sign":
            return services.sign(user, item, text=text, version=version)
        if name == "note":
            services.add_note(user, item, text=text)
            return item
        if name == "request-close":
            return services.request_close(user, item, evidence=text, version=version)
        if name == "close":
            return services.close(user, item, verification=text, version=version)
        if name == "return":
            return services.return_item(user, item, reason=text, version=version)
        if name == "refer":
            to = Organization.objects.visible_to(user).filter(code=d["to_org"].strip()).first()
            if to is None:
                raise services.ItemError("to_org", f"转办至：未找到组织代码“{d['to_org'].strip()[:32]}”，或不在您的查看范围内")
            return services.refer(user, item, to_org=to, reason=text, deadline=d.get("deadline"),
                                  workdays=d.get("workdays"), version=version)
        return services.change_deadline(user, item, deadline=d.get("deadline"), workdays=d.get("workdays"),
                                        reason=text, version=version)

    @extend_schema(summary="签收", request=MoveSerializer, responses=MOVE_RESPONSES)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None, **kwargs):
        return self._move(request, pk, "sign")

    @extend_schema(summary="填写整改进展", request=MoveSerializer, responses=MOVE_RESPONSES)
    @action(detail=True, methods=["post"])
    def note(self, request, pk=None, **kwargs):
        return self._move(request, pk, "note")

    @extend_schema(summary="申请销号（须写明整改情况及佐证）", request=MoveSerializer, responses=MOVE_RESPONSES)
    @action(detail=True, methods=["post"], url_path="request-close")
    def request_close(self, request, pk=None, **kwargs):
        return self._move(request, pk, "request-close")

    @extend_schema(summary="销号（须写明核查意见）", request=MoveSerializer, responses=MOVE_RESPONSES)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None, **kwargs):
        return self._move(request, pk, "close")

    @extend_schema(summary="退回（须写明原因）", request=MoveSerializer, responses=MOVE_RESPONSES)
    @action(detail=True, methods=["post"], url_path="return")
    def return_item(self, request, pk=None, **kwargs):
        return self._move(request, pk, "return")

    @extend_schema(summary="转办至其他党组织（答复转办后的事项）", request=ReferSerializer, responses=MOVE_RESPONSES)
    @action(detail=True, methods=["post"])
    def refer(self, request, pk=None, **kwargs):
        return self._move(request, pk, "refer", ReferSerializer)

    @extend_schema(summary="调整整改时限", request=DeadlineSerializer, responses=MOVE_RESPONSES)
    @action(detail=True, methods=["post"])
    def deadline(self, request, pk=None, **kwargs):
        return self._move(request, pk, "deadline", DeadlineSerializer)




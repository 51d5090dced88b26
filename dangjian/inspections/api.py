"""/api/inspections/: the inspection plans the user may read, with the targets and findings the
user may see — the same scope as the pages, the 四不两直 rule included — and the run of a plan
through the same services as the pages: create a plan (its targets chosen, or drawn with a seed),
add targets and checklist items, move its status, and on site record a target's visit and
findings and turn findings into rectification items.

Who may do what is the pages' rule: a plan is made by whoever edits an organization; targets,
checklist and status by the issuing side; visits, findings and items by the issuing side and the
plan's team. A plan the user does not see is 404, a move the user's side may not make 403, bad
input 400 in the one Chinese shape, a stale `version` (or If-Match) 409."""
from django import forms
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dangjian.assessment.models import Scheme
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

from . import services
from .checks import InspectionError
from .forms import parse_codes, team_candidates
from .models import ChecklistItem, Finding, Inspection, Kind, Target
from .serializers import (
    ChecklistWriteSerializer,
    FindingsWriteSerializer,
    InspectionSerializer,
    ItemsWriteSerializer,
    PlanWriteSerializer,
    TargetsWriteSerializer,
    TargetVisitSerializer,
    VersionSerializer,
)

YEAR = OpenApiParameter("year", int, description="年度，如 2026")
KIND = OpenApiParameter("kind", str, description="督查方式：daily 日常、random 随机、concentrated 集中、special 专项")
STATUS = OpenApiParameter("status", str, description="状态：planned 计划中、in_progress 督查中、reported 已通报")
WRITE_RESPONSES = {200: InspectionSerializer, **error_responses(400, 401, 403, 404, 409)}
ITEMS_ANSWER = inline_serializer("InspectionItems", fields={
    "items": serializers.ListField(child=serializers.IntegerField(), help_text="交办的整改事项 id（/api/items/），每条督查发现一项，按督查对象和发现的先后")})


def _refused(exc: InspectionError, fields) -> exceptions.ValidationError:
    return field_errors([(exc.field if exc.field in fields else NON_FIELD, exc.message)])


def _pick(qs, ref, code_field: str):
    """The one row of `qs` named by id (an integer) or by `code_field` (a text), or None."""
    return qs.filter(pk=ref).first() if isinstance(ref, int) else qs.filter(**{code_field: ref}).first()


def _orgs(user, refs, label: str) -> list[Organization]:
    try:
        return parse_codes(" ".join(str(r) for r in refs), user, label)
    except forms.ValidationError as exc:
        raise field_errors([("targets", exc.messages[0])]) from None


@extend_schema_view(
    list=extend_schema(summary="督查列表", description="您可查看的督查计划，按开始日期倒序；每项带检查清单、您可查看的督查对象及其督查发现。",
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
        return Inspection.objects.select_related("issuer").prefetch_related(
            Prefetch("targets", queryset=targets),
            Prefetch("checklist", queryset=ChecklistItem.objects.order_by("position", "id")))

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

    def _answer(self, inspection, code=status.HTTP_200_OK, **extra):
        fresh = self.base_queryset().get(pk=inspection.pk)
        return Response({**InspectionSerializer(fresh).data, **extra}, status=code)

    def _plan(self, side, doing: str) -> Inspection:
        """The plan of the URL (404 when not seen), then 403 unless the user's side may do this."""
        inspection = self.get_object()
        if not side(self.request.user, inspection):
            raise forbidden(doing)
        return inspection

    @staticmethod
    def _valid(serializer_class, request) -> dict:
        s = serializer_class(data=request.data)
        s.is_valid(raise_exception=True)
        return s.validated_data

    # ---- the plan ------------------------------------------------------------------------------

    @extend_schema(summary="制定督查计划", request=PlanWriteSerializer,
                   description="与网页表单相同的规则：组织单位须在您的管理范围内；日常、集中、专项督查列出督查对象，"
                               "随机督查按 draw_* 从抽取池中以种子抽取（种子与抽取池一并记录）。",
                   responses={201: InspectionSerializer, **error_responses(400, 401, 403, 409)})
    def create(self, request, *args, **kwargs):
        user = request.user
        if not can_anywhere(user, "edit"):
            raise forbidden("制定督查计划")
        d = self._valid(PlanWriteSerializer, request)
        problems = []
        issuer = _pick(Organization.objects.visible_to(user, "edit").active(), d["issuer"], "code")
        if issuer is None:
            problems.append(("issuer", f"组织单位：找不到“{str(d['issuer'])[:40]}”，或不在您的管理范围内"))
        candidates = team_candidates(user)
        team = []
        for ref in dict.fromkeys(d["team"]):
            found = _pick(candidates, ref, "username")
            if found is None:
                problems.append(("team", f"督查组成员：找不到账号“{str(ref)[:40]}”，或不是您范围内的督查考核员、党务工作人员"))
                break
            team.append(found)
        try:
            targets = parse_codes(" ".join(str(r) for r in d["targets"]), user)
        except forms.ValidationError as exc:
            problems.append(("targets", exc.messages[0]))
            targets = []
        under = None
        if d["draw_under"].strip():
            under = Organization.objects.visible_to(user).filter(code=d["draw_under"].strip()).first()
            if under is None:
                problems.append(("draw_under", f"随机抽取：抽取范围找不到组织代码“{d['draw_under'].strip()[:40]}”，或不在您的权限范围内"))
        if problems:
            raise field_errors(problems)
        try:
            inspection = services.create_inspection(
                user, title=d["title"], kind=d["kind"], unannounced=d["unannounced"], issuer=issuer,
                starts_on=d["starts_on"], ends_on=d["ends_on"], note=d["note"], team=team, targets=targets,
                draw_spec={"under": under, "kinds": sorted(d["draw_kinds"]), "count": d.get("draw_count"),
                           "seed": d.get("draw_seed")})
        except InspectionError as exc:
            raise _refused(exc, PlanWriteSerializer().fields) from None
        return self._answer(inspection, status.HTTP_201_CREATED)

    @extend_schema(summary="增加督查对象", request=TargetsWriteSerializer, responses=WRITE_RESPONSES,
                   description="组织单位一方；随机督查的对象由抽取确定，不能另行添加。")
    @action(detail=True, methods=["post"])
    def targets(self, request, pk=None, **kwargs):
        inspection = self._plan(services.is_issuing_side, "增加督查对象")
        d = self._valid(TargetsWriteSerializer, request)
        orgs = _orgs(request.user, d["targets"], "督查对象")
        try:
            services.add_targets(request.user, inspection, orgs)
        except InspectionError as exc:
            raise _refused(exc, {"targets"}) from None
        return self._answer(inspection)

    @extend_schema(summary="增加检查清单项", request=ChecklistWriteSerializer, responses=WRITE_RESPONSES,
                   description="组织单位一方：自定的检查内容，和/或复制一个考核方案的全部指标。")
    @action(detail=True, methods=["post"])
    def checklist(self, request, pk=None, **kwargs):
        inspection = self._plan(services.is_issuing_side, "增加检查清单项")
        d = self._valid(ChecklistWriteSerializer, request)
        indicators = ()
        if d.get("scheme") is not None:
            scheme = Scheme.objects.filter(pk=d["scheme"]).first()
            if scheme is None:
                raise field_errors([("scheme", f"考核方案：编号 {d['scheme']} 不存在")])
            indicators = services.indicators_of(scheme)
        try:
            services.add_checklist(request.user, inspection, texts=d["texts"], indicators=indicators)
        except InspectionError as exc:
            raise _refused(exc, {"texts"}) from None
        return self._answer(inspection)

    @extend_schema(summary="推进督查状态（计划中 → 督查中 → 已通报）", request=VersionSerializer,
                   responses=WRITE_RESPONSES, description="组织单位一方；带读取时的 version（或 If-Match）。")
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None, **kwargs):
        inspection = self._plan(services.is_issuing_side, "推进督查状态")
        self._valid(VersionSerializer, request)
        try:
            services.advance(request.user, inspection, version_of(request))
        except InspectionError as exc:
            raise _refused(exc, set()) from None
        return self._answer(inspection)

    # ---- on site -------------------------------------------------------------------------------

    def _target(self, inspection, ref) -> Target:
        found = _pick(Target.objects.filter(inspection=inspection).select_related("inspection__issuer", "org"),
                      ref, "org__code")
        if found is None:
            raise field_errors([("target", f"督查对象：“{str(ref)[:40]}”不是本次督查的对象")])
        return found

    @extend_schema(summary="记录督查走访", request=TargetVisitSerializer, responses=WRITE_RESPONSES,
                   description="督查组成员和组织单位一方；记录后，四不两直督查的督查对象一方才能看到本计划和本单位的督查发现。")
    @action(detail=True, methods=["post"])
    def visit(self, request, pk=None, **kwargs):
        inspection = self._plan(services.may_record, "记录督查走访")
        d = self._valid(TargetVisitSerializer, request)
        target = self._target(inspection, d["target"])
        try:
            services.record_visit(request.user, target, visited_on=d["visited_on"], note=d["note"])
        except InspectionError as exc:
            field = {"visited_on": "visited_on", "visit_note": "note"}.get(exc.field, NON_FIELD)
            raise field_errors([(field, exc.message)]) from None
        return self._answer(inspection)

    @extend_schema(summary="记录督查发现", request=FindingsWriteSerializer, responses=WRITE_RESPONSES,
                   description="督查组成员和组织单位一方；一次记录一个督查对象的若干条发现，全部记录或全部不记录。"
                               "附件和照片不是必须的（需要时在现场页面上传）。")
    @action(detail=True, methods=["post"])
    def findings(self, request, pk=None, **kwargs):
        inspection = self._plan(services.may_record, "记录督查发现")
        d = self._valid(FindingsWriteSerializer, request)
        target = self._target(inspection, d["target"])
        items = {i.pk: i for i in inspection.checklist.all()}
        entries = []
        for n, e in enumerate(d["findings"], start=1):
            if e["item"] is not None and e["item"] not in items:
                raise field_errors([("findings", f"督查发现第 {n} 条：检查清单项 {e['item']} 不属于本次督查")])
            entries.append({"item": items.get(e["item"]), "text": e["text"], "list": e["list"]})
        if any(not e["text"].strip() for e in entries):
            raise field_errors([("findings", "督查发现：发现情况必填，每条都要写明")])
        try:
            services.record_findings(request.user, target, entries)
        except InspectionError as exc:
            raise field_errors([("findings", exc.message)]) from None
        return self._answer(inspection, status.HTTP_201_CREATED)

    @extend_schema(summary="督查发现交办整改", request=ItemsWriteSerializer,
                   description="督查组成员和组织单位一方：所选督查发现各成为一个整改事项（责任单位为督查对象，交办单位为组织单位），"
                               "时限为日期或工作日天数；全部交办或全部不交办。之后在 /api/items/ 签收、申请销号、销号。",
                   responses={201: ITEMS_ANSWER, **error_responses(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def items(self, request, pk=None, **kwargs):
        inspection = self._plan(services.may_record, "交办整改")
        d = self._valid(ItemsWriteSerializer, request)
        wanted = list(dict.fromkeys(d["findings"]))
        found = {f.pk: f for f in Finding.objects.filter(inspection=inspection, pk__in=wanted)}
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise field_errors([("findings", f"督查发现：编号 {missing[0]} 不属于本次督查")])
        try:
            made = services.open_items(request.user, inspection, [found[pk] for pk in wanted],
                                       deadline=d.get("deadline"), workdays=d.get("workdays"))
        except InspectionError as exc:
            raise _refused(exc, {"findings", "deadline", "workdays"}) from None
        return Response({"items": [i.pk for i in made]}, status=status.HTTP_201_CREATED)

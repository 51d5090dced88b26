"""/api/transfers/ and /api/standing/: the introduction letters and the standing decisions the
user may read, and their writes as POST actions calling the same services as the pages.

Letters are read from both ends (those over the sending and over the receiving organization).
POST /api/transfers/ issues a letter (inside the platform or to outside); a letter's actions are
taken by the side whose step it is: accept and return by the receiving organization, withdraw and
receipt (回执) by the sending one; another side that sees the letter gets 403. A step takes the
letter's `version` (in the body or an If-Match header); a stale one is 409 with the version now
stored.

POST /api/transfers/arrivals/ registers a member arriving from outside the platform with their
letter (从系统外转入), as the page does. POST /api/transfers/bulk/ is 整建制转接, all or nothing
as on the page: up to 300 members move in the request (201 with the batch), more in a background
job (202 with the job, followed at GET /api/transfers/bulk/<job>/ by the one who started it).

POST /api/standing/<action>/ records one decision about a member (流动, 流动结束, 失联, 恢复联系,
停止党籍, 恢复党籍, 去世, 出党) with the member's `version`. The member must be one the user
edits: any other (outside the scope, or unknown) is a 400 naming the field, as is every broken
rule, in Chinese; the service writes all or nothing."""
from django.db import IntegrityError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from dangjian.core import jobs
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
from dangjian.core.models import Job
from dangjian.core.scoping import can, can_anywhere
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from . import queries, services, tasks
from .checks import TransferError
from .models import Standing, Transfer
from .serializers import (
    ArrivalSerializer,
    BulkDoneSerializer,
    BulkJobSerializer,
    BulkWriteSerializer,
    DeathRecordSerializer,
    LetterReturnSerializer,
    LetterSerializer,
    LetterStepSerializer,
    LetterWriteSerializer,
    LostContactSerializer,
    MobileRegistrationSerializer,
    RemovalDecisionSerializer,
    StandingDateSerializer,
    StandingDecisionSerializer,
    StandingSerializer,
)

STATUS = OpenApiParameter("status", str, enum=list(queries.STATUSES), description="open 在途、overdue 逾期未办结、"
                          "accepted 已接收、returned 已退回、withdrawn 已撤回、done 已办结")
ORG = OpenApiParameter("org", str, description="组织代码：转出或接收党组织在该组织及其下级的介绍信")
LETTER_RESPONSES = {200: LetterSerializer, **error_responses(400, 401, 403, 404, 409)}
STANDING_RESPONSES = {201: StandingSerializer, **error_responses(400, 401, 403, 409)}


def _validated(serializer_class, request):
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return s, s.validated_data


def _refused(exc: TransferError, s) -> exceptions.ValidationError:
    return field_errors([(exc.field if exc.field in s.fields else NON_FIELD, exc.message)])


def _member(user, pk: int) -> Member:
    """The member to act on, among those the user edits; any other is a 400 that says no more."""
    member = Member.objects.visible_to(user, "edit").select_related("org").filter(pk=pk).first()
    if member is None:
        raise field_errors([("member", f"党员：编号 {pk} 不存在，或不在您的管理范围内")])
    return member


def _org(code: str, field: str, label: str) -> Organization | None:
    """An organization of the tree by its code (a letter goes to any organization, as on the page)."""
    code = (code or "").strip()
    if not code:
        return None
    org = Organization.objects.filter(code=code).first()
    if org is None:
        raise field_errors([(field, f"{label}：没有组织代码为“{code[:32]}”的党组织")])
    return org


def _may_write(user, what: str) -> None:
    if not can_anywhere(user, "edit"):
        raise forbidden(what)


# The side that takes each step of a letter: None when the letter has no such side (the service
# then says why the step does not apply).
STEPS = {
    "accept": ("接收该介绍信", lambda t: t.to_org if t.kind == Transfer.Kind.INTERNAL else None, LetterStepSerializer,
               lambda u, t, d, v: services.accept(u, t, on=d["on"], version=v)),
    "return": ("退回该介绍信", lambda t: t.to_org if t.kind == Transfer.Kind.INTERNAL else None, LetterReturnSerializer,
               lambda u, t, d, v: services.return_letter(u, t, on=d["on"], reason=d["reason"], version=v)),
    "withdraw": ("撤回该介绍信", lambda t: t.from_org, LetterStepSerializer,
                 lambda u, t, d, v: services.withdraw(u, t, on=d["on"], version=v)),
    "receipt": ("登记该介绍信的回执", lambda t: t.from_org if t.kind == Transfer.Kind.OUT else None, LetterStepSerializer,
                lambda u, t, d, v: services.record_receipt(u, t, on=d["on"], version=v)),
}


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
    http_method_names = ["get", "post", "head", "options"]

    def base_queryset(self):
        return Transfer.objects.select_related(*queries.RELATED)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def get_queryset(self):
        qs = super().get_queryset().order_by("-issued_on", "-id")
        params = self.request.query_params
        status_ = (params.get("status") or "").strip()
        if status_:
            if status_ not in queries.STATUSES:
                raise exceptions.ValidationError({"status": [f"状态：“{status_[:20]}”无效，可选 {'、'.join(queries.STATUSES)}"]})
            qs = queries.with_status(qs, status_, timezone.localdate())
        code = (params.get("org") or "").strip()
        if code:
            org = Organization.objects.visible_to(self.request.user).filter(code=code).first()
            if org is None:
                raise exceptions.ValidationError({"org": [f"组织代码：“{code[:20]}”不存在或不在您的权限范围内"]})
            qs = qs.filter(pk__in=queries.transfers(self.request.user, root=org).values("pk"))
        return qs

    def _answer(self, transfer, code=status.HTTP_200_OK) -> Response:
        fresh = queries.transfer_or_404(self.request.user, transfer.pk)
        return Response(LetterSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(summary="开具组织关系介绍信",
                   description="系统内转接（kind=internal，填 to_org）或转出至系统外（kind=out，填 outside_org 与 "
                               "outside_region）。党员在接收（或回执返回）前仍在原党组织。",
                   request=LetterWriteSerializer,
                   responses={201: LetterSerializer, **error_responses(400, 401, 403, 409)})
    def create(self, request, *args, **kwargs):
        user = request.user
        _may_write(user, "开具介绍信")
        s, d = _validated(LetterWriteSerializer, request)
        member = _member(user, d["member"])
        common = dict(member=member, letter_number=d["letter_number"], issued_on=d["issued_on"],
                      valid_days=d.get("valid_days"), reason=d.get("reason") or "")
        try:
            if d["kind"] == Transfer.Kind.INTERNAL:
                if not (d.get("to_org") or "").strip():
                    raise TransferError("to_org", "接收党组织：系统内转接须填写接收党组织的代码")
                t = services.issue(user, to_org=_org(d["to_org"], "to_org", "接收党组织"), **common)
            else:
                t = services.issue_out(user, outside_org=d.get("outside_org") or "",
                                       outside_region=d.get("outside_region") or "", **common)
        except TransferError as exc:
            raise _refused(exc, s) from None
        return self._answer(t, status.HTTP_201_CREATED)

    def _step(self, request, name):
        t = self.get_object()
        doing, side, serializer_class, act = STEPS[name]
        org = side(t)
        if org is not None and not can(request.user, "edit", org.path):
            raise forbidden(doing)
        s, d = _validated(serializer_class, request)
        try:
            act(request.user, t, d, version_of(request))
        except TransferError as exc:
            raise _refused(exc, s) from None
        return self._answer(t)

    @extend_schema(summary="从系统外转入",
                   description="持介绍信从系统外转入的党员：登记为 org 的在册党员（字段同新增党员），介绍信记为已接收。"
                               "介绍信过有效期的不能办理。",
                   request=ArrivalSerializer, responses={201: LetterSerializer, **error_responses(400, 401, 403)})
    @action(detail=False, methods=["post"])
    def arrivals(self, request, **kwargs):
        user = request.user
        _may_write(user, "接收从系统外转入的党员")
        s = ArrivalSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        fields = dict(s.validated_data)
        letter = {name: fields.pop(name, None) for name in ArrivalSerializer.LETTER}
        for name in ("status", "version"):
            fields.pop(name, None)
        org = fields.pop("org")
        try:
            t = services.receive_from_outside(user, org=org, member_fields=fields, **letter)
        except TransferError as exc:
            raise _refused(exc, s) from None
        except IntegrityError:
            raise field_errors([("id_number", "身份证号：该身份证号无法使用，请联系机关工委核实")]) from None
        return self._answer(t, status.HTTP_201_CREATED)

    @extend_schema(summary="整建制转接",
                   description="转出党组织的全部在册党员（或 members 所列党员）于转接日期转入接收党组织，全部成功才生效，"
                               f"否则一人不转并列出每名不能转接的党员。不超过 {tasks.INLINE_MEMBERS} 人即时办理（201），"
                               "更多人转入后台任务（202），在 GET /api/transfers/bulk/{job}/ 查看进度和结果。",
                   request=BulkWriteSerializer,
                   responses={201: BulkDoneSerializer, 202: BulkJobSerializer, **error_responses(400, 401, 403)})
    @action(detail=False, methods=["post"])
    def bulk(self, request, **kwargs):
        user = request.user
        _may_write(user, "整建制转接")
        s, d = _validated(BulkWriteSerializer, request)
        editable = Organization.objects.visible_to(user, "edit")
        ends, problems = {}, []
        for field, label in (("from_org", "转出党组织"), ("to_org", "接收党组织")):
            ends[field] = editable.filter(code=d[field].strip()).first()
            if ends[field] is None:
                problems.append((field, f"{label}：找不到组织代码“{d[field].strip()[:32]}”，或不在您的管理范围内"))
        if problems:
            raise field_errors(problems)
        ids = list(dict.fromkeys(d["members"])) if "members" in d else None
        size = len(ids) if ids is not None else ends["from_org"].members.filter(status=Member.Status.ACTIVE).count()
        if size > tasks.INLINE_MEMBERS:
            job = jobs.start(tasks.KIND, user, tasks.run_bulk, user.pk, ends["from_org"].pk, ends["to_org"].pk,
                             d["moved_on"].isoformat(), d["reason"], ids,
                             known={"from": ends["from_org"].name, "to": ends["to_org"].name})
            return _job_answer(job, status.HTTP_202_ACCEPTED)
        try:
            batch = services.bulk_transfer(user, from_org=ends["from_org"], to_org=ends["to_org"], member_ids=ids,
                                           moved_on=d["moved_on"], reason=d["reason"])
        except services.BulkError as exc:
            raise field_errors([("members", f"{name}：{message}") for name, message in exc.problems]) from None
        except TransferError as exc:
            raise _refused(exc, s) from None
        return Response({"batch": batch.pk, "count": batch.count, "from_org": ends["from_org"].code,
                         "to_org": ends["to_org"].code, "moved_on": batch.moved_on}, status=status.HTTP_201_CREATED)

    @extend_schema(summary="整建制转接后台任务的进度和结果", description="只有发起者可查看。",
                   responses={200: BulkJobSerializer, **error_responses(401, 404)})
    @action(detail=False, methods=["get"], url_path=r"bulk/(?P<bulk_job_pk>[0-9]{1,12})")
    def bulk_job(self, request, bulk_job_pk=None, **kwargs):
        job = Job.objects.filter(pk=int(bulk_job_pk), kind=tasks.KIND, user=request.user).first()
        if job is None:
            raise exceptions.NotFound("该后台任务不存在，或不是您发起的")
        return _job_answer(job)

    @extend_schema(summary="接收（接收党组织）", description="党员于接收日期转入接收党组织；介绍信过有效期的不能接收。",
                   request=LetterStepSerializer, responses=LETTER_RESPONSES)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None, **kwargs):
        return self._step(request, "accept")

    @extend_schema(summary="退回（接收党组织，须写明原因）", description="党员仍在原党组织。",
                   request=LetterReturnSerializer, responses=LETTER_RESPONSES)
    @action(detail=True, methods=["post"], url_path="return")
    def return_letter(self, request, pk=None, **kwargs):
        return self._step(request, "return")

    @extend_schema(summary="撤回（转出党组织）", description="撤回尚未办结的介绍信，党员仍在原党组织。",
                   request=LetterStepSerializer, responses=LETTER_RESPONSES)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None, **kwargs):
        return self._step(request, "withdraw")

    @extend_schema(summary="登记回执（转出至系统外，转出党组织）", description="党员于回执所载报到日期转出。",
                   request=LetterStepSerializer, responses=LETTER_RESPONSES)
    @action(detail=True, methods=["post"])
    def receipt(self, request, pk=None, **kwargs):
        return self._step(request, "receipt")


def _job_answer(job: Job, code=status.HTTP_200_OK) -> Response:
    job = jobs.alive(job)
    return Response({"job": job.pk, "status": job.status, "done": job.done, "total": job.total,
                     "message": job.message, "result": job.result or {}}, status=code)


KIND = OpenApiParameter("kind", str, enum=list(Standing.Kind.values),
                        description="事项：" + "、".join(f"{k} {v}" for k, v in Standing.Kind.choices))
MEMBER = OpenApiParameter("member", int, description="党员 id")
STANDING_ORG = OpenApiParameter("org", str, description="组织代码：党员现在所在党组织为该组织及其下级")


def _approver(d):
    return _org(d.get("approver"), "approver", "批准党组织")


# Each action: its serializer and the service call.
ACTIONS = {
    "mobile": ("登记流动党员", MobileRegistrationSerializer, lambda u, m, d, v: services.register_mobile(
        u, m, away_since=d["away_since"], place=d["place"], contact=d["contact"], abroad=d.get("abroad", False),
        host_org=_org(d.get("host_org"), "host_org", "流入地党组织（系统内）"),
        host_org_name=d.get("host_org_name") or "", note=d.get("note") or "", version=v)),
    "mobile-end": ("结束流动", StandingDateSerializer, lambda u, m, d, v: services.end_mobile(
        u, m, on=d["on"], note=d.get("note") or "", version=v)),
    "lost": ("登记失联", LostContactSerializer, lambda u, m, d, v: services.register_lost(
        u, m, lost_since=d["lost_since"], efforts=d["efforts"], version=v)),
    "found": ("登记恢复联系", StandingDateSerializer, lambda u, m, d, v: services.register_found(
        u, m, on=d["on"], note=d.get("note") or "", version=v)),
    "suspend": ("停止党籍", StandingDecisionSerializer, lambda u, m, d, v: services.suspend(
        u, m, meeting_on=d["meeting_on"], approver=_approver(d), approved_on=d["approved_on"],
        document=d["document"], note=d.get("note") or "", version=v)),
    "restore": ("恢复党籍", StandingDecisionSerializer, lambda u, m, d, v: services.restore(
        u, m, meeting_on=d["meeting_on"], approver=_approver(d), approved_on=d["approved_on"],
        document=d["document"], note=d.get("note") or "", version=v)),
    "death": ("登记去世", DeathRecordSerializer, lambda u, m, d, v: services.record_death(
        u, m, died_on=d["died_on"], note=d.get("note") or "", version=v)),
    "removal": ("登记出党", RemovalDecisionSerializer, lambda u, m, d, v: services.remove(
        u, m, removal_kind=d["removal_kind"], meeting_on=d["meeting_on"], approver=_approver(d),
        approved_on=d["approved_on"], document=d["document"], note=d.get("note") or "", version=v)),
}


@extend_schema_view(
    list=extend_schema(summary="党员状态变动列表",
                       description="您可查看的党员（按其现在所在党组织）的状态变动记录：流动、失联、停止党籍、恢复党籍、去世、出党，"
                                   "按党员、登记先后排序。",
                       parameters=[MEMBER, KIND, STANDING_ORG],
                       responses={200: StandingSerializer(many=True),
                                  **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)}),
    retrieve=extend_schema(summary="党员状态变动详情", responses={200: StandingSerializer, **error_responses(401, 404)}),
)
class StandingViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = StandingSerializer
    pagination_class = Pagination
    http_method_names = ["get", "post", "head", "options"]

    def base_queryset(self):
        return Standing.objects.select_related("member", "org", "host_org", "approver")

    def get_queryset(self):
        qs = super().get_queryset().order_by("member__org__path", "member__name", "member_id", "id")
        if self.action != "list":
            return qs
        params, problems = self.request.query_params, []
        raw = (params.get("member") or "").strip()
        if raw and (not raw.isdigit() or len(raw) > 12):
            problems.append(("member", f"党员：“{raw[:20]}”应为党员 id（正整数）"))
        kind = (params.get("kind") or "").strip()
        if kind and kind not in Standing.Kind.values:
            problems.append(("kind", f"事项：“{kind[:20]}”无效，可选 {'、'.join(Standing.Kind.values)}"))
        code = (params.get("org") or "").strip()
        root = None
        if code:
            root = Organization.objects.visible_to(self.request.user).filter(code=code[:32]).first()
            if root is None:
                problems.append(("org", f"组织代码：“{code[:20]}”不存在或不在您的权限范围内"))
        if problems:
            raise field_errors(problems)
        if raw:
            qs = qs.filter(member_id=int(raw))
        if kind:
            qs = qs.filter(kind=kind)
        if root is not None:
            qs = qs.filter(member__org__path__startswith=root.path)
        return qs

    def _record(self, request, name):
        doing, serializer_class, act = ACTIONS[name]
        _may_write(request.user, doing)
        s, d = _validated(serializer_class, request)
        member = _member(request.user, d["member"])
        try:
            row = act(request.user, member, d, version_of(request))
        except TransferError as exc:
            raise _refused(exc, s) from None
        fresh = self.base_queryset().get(pk=row.pk)
        return Response(StandingSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="登记流动党员", description="外出地点、联系方式、参加组织生活的流入地党组织（系统内填代码，系统外填名称）。",
                   request=MobileRegistrationSerializer, responses=STANDING_RESPONSES)
    @action(detail=False, methods=["post"])
    def mobile(self, request, **kwargs):
        return self._record(request, "mobile")

    @extend_schema(summary="流动结束（返回）", request=StandingDateSerializer, responses=STANDING_RESPONSES)
    @action(detail=False, methods=["post"], url_path="mobile-end")
    def mobile_end(self, request, **kwargs):
        return self._record(request, "mobile-end")

    @extend_schema(summary="登记失联", description="党员仍在册；失联满规定月数的可提请支部党员大会讨论停止党籍，平台不自动处理。",
                   request=LostContactSerializer, responses=STANDING_RESPONSES)
    @action(detail=False, methods=["post"])
    def lost(self, request, **kwargs):
        return self._record(request, "lost")

    @extend_schema(summary="恢复联系", request=StandingDateSerializer, responses=STANDING_RESPONSES)
    @action(detail=False, methods=["post"])
    def found(self, request, **kwargs):
        return self._record(request, "found")

    @extend_schema(summary="停止党籍（支部党员大会决定、上级党组织批准）", request=StandingDecisionSerializer,
                   responses=STANDING_RESPONSES)
    @action(detail=False, methods=["post"])
    def suspend(self, request, **kwargs):
        return self._record(request, "suspend")

    @extend_schema(summary="恢复党籍（支部党员大会决定、上级党组织批准）", request=StandingDecisionSerializer,
                   responses=STANDING_RESPONSES)
    @action(detail=False, methods=["post"])
    def restore(self, request, **kwargs):
        return self._record(request, "restore")

    @extend_schema(summary="登记去世", request=DeathRecordSerializer, responses=STANDING_RESPONSES)
    @action(detail=False, methods=["post"])
    def death(self, request, **kwargs):
        return self._record(request, "death")

    @extend_schema(summary="登记出党（开除党籍、除名、退党、自行脱党）", request=RemovalDecisionSerializer,
                   responses=STANDING_RESPONSES)
    @action(detail=False, methods=["post"])
    def removal(self, request, **kwargs):
        return self._record(request, "removal")

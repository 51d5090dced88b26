"""/api/applicants/: the applicants (入党申请人 to 正式党员) the user may read, with their steps and
the corrections made to them; the same scope as the pages (those who view the branch). ?stage=
and ?org= narrow.

Writes go through the same services as the pages, with the same checks and the same Chinese
messages: POST /api/applicants/ registers an applicant (those who edit a branch), POST
…/{id}/steps/ records the next step, …/{id}/steps/{step_id}/correct/ and …/withdraw/ correct
or withdraw the latest one with a reason (those who edit the applicant's branch; one who only
views it gets 403). A refusal is 400 and writes nothing; a step sent with the applicant's
`version` (body or If-Match) that someone else has moved on since is 409."""
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
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
from dangjian.core.scoping import can_anywhere
from dangjian.orgs.models import Organization

from . import queries, services
from .catalog import Stage
from .checks import DevelopmentError, StepInput
from .models import Applicant, DevelopmentStep, StepCorrection
from .serializers import (
    ApplicantSerializer,
    ApplicantWriteSerializer,
    CorrectionSerializer,
    StepWriteSerializer,
    WithdrawSerializer,
)

STAGE = OpenApiParameter("stage", str, enum=Stage.ORDER, description="阶段：application 申请入党、activist 入党积极分子、"
                                                                    "candidate 发展对象、probationary 预备党员、full 正式党员")
ORG = OpenApiParameter("org", str, description="组织代码：该组织及其下级培养的申请人")
STEP_ID = OpenApiParameter("step_id", int, location=OpenApiParameter.PATH, description="步骤记录的 id（steps[].id）")
PEOPLE = (("talker", "谈话人"), ("first_sponsor", "第一联系人/介绍人"), ("second_sponsor", "第二联系人/介绍人"))
WRITE_RESPONSES = {201: ApplicantSerializer, **error_responses(400, 401, 403, 404, 409)}


def _refused(exc: DevelopmentError, serializer) -> exceptions.ValidationError:
    field = exc.field if exc.field in serializer.fields else NON_FIELD
    return field_errors([(field, exc.message)])


@extend_schema_view(
    list=extend_schema(summary="入党申请人列表", description="您可查看的入党申请人（培养党支部在您的范围内）及其发展步骤。",
                       parameters=[STAGE, ORG],
                       responses={200: ApplicantSerializer(many=True),
                                  **error_responses(400, 401, 404, not_found=PAGE_NOT_FOUND)}),
    retrieve=extend_schema(summary="入党申请人详情", responses={200: ApplicantSerializer, **error_responses(401, 404)}),
)
class ApplicantViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ApplicantSerializer
    pagination_class = Pagination

    def base_queryset(self):
        steps = (DevelopmentStep.objects.select_related("talker", "first_sponsor", "second_sponsor", "approver")
                 .order_by("done_on", "id"))
        corrections = StepCorrection.objects.select_related("by__member").order_by("at", "id")
        return Applicant.objects.select_related("org").prefetch_related(
            Prefetch("steps", queryset=steps), Prefetch("corrections", queryset=corrections))

    def get_queryset(self):
        qs = super().get_queryset().order_by("org__path", "name", "id")
        stage = (self.request.query_params.get("stage") or "").strip()
        if stage:
            if stage not in Stage.ORDER:
                raise exceptions.ValidationError({"stage": [f"阶段：“{stage[:20]}”不存在，可选 {'、'.join(Stage.ORDER)}"]})
            qs = qs.filter(stage=stage)
        code = (self.request.query_params.get("org") or "").strip()
        if code:
            root = Organization.objects.visible_to(self.request.user).filter(code=code).first()
            if root is None:
                raise exceptions.ValidationError({"org": [f"组织代码：没有您可查看的“{code[:20]}”"]})
            qs = qs.filter(org__path__startswith=root.path)
        return qs

    def _answer(self, applicant, code=status.HTTP_200_OK) -> Response:
        fresh = self.base_queryset().get(pk=applicant.pk)
        return Response(ApplicantSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def _editable(self, what: str, step_id=None) -> Applicant:
        applicant = self.get_object()
        if step_id is not None and not applicant.steps.filter(pk=step_id).exists():
            raise exceptions.NotFound("该步骤记录不存在（可能已被撤回），或不属于该申请人")
        require(self.request.user, "edit", applicant.org.path, what)
        return applicant

    @extend_schema(summary="登记入党申请人",
                   description="与网页相同的校验（身份证号、年满 18 周岁、培养党支部……）；出生日期和性别由身份证号读出。",
                   request=ApplicantWriteSerializer, responses={201: ApplicantSerializer,
                                                                **error_responses(400, 401, 403)})
    def create(self, request, *args, **kwargs):
        if not can_anywhere(request.user, "edit"):
            raise forbidden("登记入党申请人")
        s = ApplicantWriteSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        d = s.validated_data
        try:
            applicant = services.register_applicant(
                request.user, org=d["org"], name=d["name"], id_number=d["id_number"], workplace=d["workplace"],
                applied_on=d["applied_on"], education=d["education"], phone=d["phone"], ethnicity=d["ethnicity"],
                gender=d.get("gender"), document_received=d["document_received"])
        except DevelopmentError as exc:
            raise _refused(exc, s) from None
        return self._answer(applicant, status.HTTP_201_CREATED)

    def _step_input(self, applicant: Applicant, d: dict, code: str) -> StepInput:
        """The member ids and the approver's code of `d` as the page's choices give them: the
        members a secretary may name, the party committees above the branch."""
        ids = {d[f] for f, _ in PEOPLE if d.get(f)}
        found = queries.full_members(self.request.user, applicant.org).filter(pk__in=ids).in_bulk()
        problems = [(f, f"{label}：党员 id {d[f]} 不存在，或不是本单位在册党员") for f, label in PEOPLE
                    if d.get(f) and d[f] not in found]
        approver = None
        raw = (d.get("approver") or "").strip()
        if raw:
            approver = next((o for o in queries.approvers(applicant.org) if o.code == raw), None)
            if approver is None:
                problems.append(("approver", f"审批党委：“{raw[:32]}”不是培养党支部的上级党委，"
                                             "应由具有审批权限的基层党委（机关党委、党委）或机关工委审批"))
        if problems:
            raise field_errors(problems)
        return StepInput(
            code=code, done_on=d["done_on"], talker=found.get(d.get("talker")),
            first_sponsor=found.get(d.get("first_sponsor")), second_sponsor=found.get(d.get("second_sponsor")),
            decision=d.get("decision") or "", vote_expected=d.get("vote_expected"), vote_present=d.get("vote_present"),
            vote_for=d.get("vote_for"), training_days=d.get("training_days"), training_hours=d.get("training_hours"),
            extension_months=d.get("extension_months"), approver=approver,
            party_group_consulted=d["party_group_consulted"], document_received=d["document_received"],
            note=d.get("note") or "")

    @extend_schema(summary="记录下一个发展步骤",
                   description="与网页相同的步骤顺序、日期和时限校验（谈话人、培养联系人、入党介绍人为本单位党员 id，"
                               "审批党委为上级党委代码）；不符合时返回 400 与中文原因，什么也不写。材料文件请在网页上传。",
                   request=StepWriteSerializer, responses=WRITE_RESPONSES)
    @action(detail=True, methods=["post"], url_path="steps")
    def steps(self, request, pk=None, **kwargs):
        applicant = self._editable("记录发展步骤")
        s = StepWriteSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        step = self._step_input(applicant, s.validated_data, s.validated_data["code"])
        try:
            services.record_step(request.user, applicant, step, version=version_of(request))
        except DevelopmentError as exc:
            raise _refused(exc, s) from None
        return self._answer(applicant, status.HTTP_201_CREATED)

    @extend_schema(summary="更正最后记录的步骤",
                   description="提交该步骤更正后的全部内容与更正原因；按记录新步骤的全部规则重新校验，原值留存在 corrections 中。"
                               "已据以列入党员名册或办理转正的审批，不能更正日期和审批意见。",
                   parameters=[STEP_ID], request=CorrectionSerializer,
                   responses={200: ApplicantSerializer, **error_responses(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"], url_path=r"steps/(?P<step_id>[0-9]+)/correct")
    def correct(self, request, pk=None, step_id=None, **kwargs):
        applicant = self._editable("更正发展步骤", step_id)
        s = CorrectionSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        step = self._step_input(applicant, s.validated_data, "")
        try:
            services.correct_step(request.user, applicant, int(step_id), step, reason=s.validated_data["reason"],
                                  version=version_of(request))
        except DevelopmentError as exc:
            raise _refused(exc, s) from None
        return self._answer(applicant)

    @extend_schema(summary="撤回最后记录的步骤", description="误记录的最后一个步骤撤回（须写明原因），原值留存在 corrections 中。",
                   parameters=[STEP_ID], request=WithdrawSerializer,
                   responses={200: ApplicantSerializer, **error_responses(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"], url_path=r"steps/(?P<step_id>[0-9]+)/withdraw")
    def withdraw(self, request, pk=None, step_id=None, **kwargs):
        applicant = self._editable("撤回发展步骤", step_id)
        s = WithdrawSerializer(data=request.data, context=self.get_serializer_context())
        s.is_valid(raise_exception=True)
        try:
            services.withdraw_step(request.user, applicant, int(step_id), reason=s.validated_data["reason"],
                                   version=version_of(request))
        except DevelopmentError as exc:
            raise _refused(exc, s) from None
        return self._answer(applicant)

"""/api/applicants/: the applicants (入党申请人 to 正式党员) the user may read, with their steps —
read-only; the same scope as the pages (those who view the branch). ?stage= and ?org= narrow."""
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets

from dangjian.core.api import PAGE_NOT_FOUND, Pagination, ScopedViewSetMixin, error_responses
from dangjian.orgs.models import Organization

from .catalog import Stage
from .models import Applicant, DevelopmentStep
from .serializers import ApplicantSerializer

STAGE = OpenApiParameter("stage", str, enum=Stage.ORDER, description="阶段：application 申请入党、activist 入党积极分子、"
                                                                    "candidate 发展对象、probationary 预备党员、full 正式党员")
ORG = OpenApiParameter("org", str, description="组织代码：该组织及其下级培养的申请人")


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
        return Applicant.objects.select_related("org").prefetch_related(Prefetch("steps", queryset=steps))

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

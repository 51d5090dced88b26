from rest_framework import serializers

from dangjian.core.api import ChineseSerializerMixin, CodeOrLabelChoiceField, LabelField
from dangjian.core.people import display_name
from dangjian.core.versioning import VERSION_HELP
from dangjian.members.models import Education, Gender
from dangjian.orgs.serializers import ScopedOrgCodeField

from . import catalog
from .catalog import DECISION_LABELS
from .models import Applicant, DevelopmentStep, StepCorrection


class StepSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text="步骤名称")
    decision_label = LabelField(source="get_decision_display", read_only=True)
    talker = serializers.CharField(source="talker.name", read_only=True, allow_null=True, default=None,
                                   help_text="谈话人")
    first_sponsor = serializers.CharField(source="first_sponsor.name", read_only=True, allow_null=True, default=None,
                                          help_text="第一培养联系人或入党介绍人")
    second_sponsor = serializers.CharField(source="second_sponsor.name", read_only=True, allow_null=True,
                                           default=None, help_text="第二培养联系人或入党介绍人")
    approver = serializers.CharField(source="approver.code", read_only=True, allow_null=True, default=None,
                                     help_text="审批党委的组织代码")
    has_document = serializers.BooleanField(read_only=True, help_text="材料已上传或已登记收到")

    class Meta:
        model = DevelopmentStep
        fields = ["id", "code", "name", "done_on", "decision", "decision_label", "talker", "first_sponsor",
                  "second_sponsor", "vote_expected", "vote_present", "vote_for", "training_days", "training_hours",
                  "extension_months", "approver", "party_group_consulted", "has_document", "note"]
        read_only_fields = fields


class CorrectionRecordSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text="步骤名称")
    kind_label = LabelField(source="get_kind_display", read_only=True)
    by = serializers.SerializerMethodField(help_text="更正人")
    changes = serializers.ListField(child=serializers.ListField(child=serializers.CharField()), read_only=True,
                                    help_text="[[项目, 原值, 新值], …]；撤回时新值为空")

    class Meta:
        model = StepCorrection
        fields = ["id", "step_ref", "code", "name", "kind", "kind_label", "changes", "reason", "by", "at"]
        read_only_fields = fields

    def get_by(self, c) -> str:
        return display_name(c.by)


class ApplicantSerializer(serializers.ModelSerializer):
    org_code = serializers.CharField(source="org.code", read_only=True, help_text="培养党支部代码")
    org_name = serializers.CharField(source="org.name", read_only=True, help_text="培养党支部名称")
    stage_label = LabelField(source="get_stage_display", read_only=True)
    status_label = LabelField(source="get_status_display", read_only=True)
    member_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="接收为预备党员后的党员 id")
    steps = StepSerializer(many=True, read_only=True, help_text="已记录的发展步骤，按日期")
    corrections = CorrectionRecordSerializer(many=True, read_only=True, help_text="步骤的更正和撤回记录，按时间")

    class Meta:
        model = Applicant
        fields = ["id", "name", "gender", "id_mask", "workplace", "org_code", "org_name", "stage", "stage_label",
                  "stage_since", "applied_on", "status", "status_label", "member_id", "version", "steps",
                  "corrections"]
        read_only_fields = fields


class ApplicantWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    """登记入党申请人, as the page does: birth date and gender are read from the 身份证号; the
    application form is recorded as received (uploads are made on the page)."""

    org = ScopedOrgCodeField(label="培养党支部", help_text="培养党支部（或党总支）的组织代码，须在您的管理范围内")
    name = serializers.CharField(label="姓名", max_length=50)
    id_number = serializers.CharField(label="身份证号", max_length=30, write_only=True, help_text="18位，含校验码；只加密保存")
    gender = CodeOrLabelChoiceField(label="性别", choices=Gender.choices, required=False,
                                    help_text="可不填：由身份证号读出；填写时须与身份证号一致")
    education = CodeOrLabelChoiceField(label="学历", choices=Education.choices, help_text="代码或中文名称")
    ethnicity = serializers.CharField(label="民族", max_length=20, required=False, default="汉族")
    phone = serializers.CharField(label="手机号码", max_length=20, required=False, allow_blank=True, default="")
    workplace = serializers.CharField(label="工作单位", max_length=100)
    applied_on = serializers.DateField(label="递交入党申请书日期")
    document_received = serializers.BooleanField(label="入党申请书已收到", required=False, default=False)


class StepWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    """One step as the page records it: only the fields the step records (catalog.py), the
    people as member ids, the approving committee as its code."""

    code = serializers.ChoiceField(label="步骤", choices=[(s.code, s.name) for s in catalog.STEPS],
                                   help_text="步骤代码（见 catalog：talk、recommend、contacts、activist_review …）")
    done_on = serializers.DateField(label="日期")
    talker = serializers.IntegerField(label="谈话人", required=False, allow_null=True, min_value=1,
                                      help_text="谈话人的党员 id")
    first_sponsor = serializers.IntegerField(label="第一联系人/介绍人", required=False, allow_null=True, min_value=1,
                                             help_text="第一培养联系人或入党介绍人的党员 id（正式党员）")
    second_sponsor = serializers.IntegerField(label="第二联系人/介绍人", required=False, allow_null=True, min_value=1,
                                              help_text="第二培养联系人或入党介绍人的党员 id（正式党员）")
    decision = serializers.ChoiceField(label="决定", choices=list(DECISION_LABELS.items()), required=False,
                                       allow_blank=True, default="")
    vote_expected = serializers.IntegerField(label="应到会有表决权党员", required=False, allow_null=True, min_value=0,
                                             max_value=100000)
    vote_present = serializers.IntegerField(label="实到会有表决权党员", required=False, allow_null=True, min_value=0,
                                            max_value=100000)
    vote_for = serializers.IntegerField(label="赞成票", required=False, allow_null=True, min_value=0, max_value=100000)
    training_days = serializers.IntegerField(label="培训天数", required=False, allow_null=True, min_value=0,
                                             max_value=366)
    training_hours = serializers.IntegerField(label="培训学时", required=False, allow_null=True, min_value=0,
                                              max_value=2000)
    extension_months = serializers.IntegerField(label="延长预备期（月）", required=False, allow_null=True, min_value=0,
                                                max_value=24)
    approver = serializers.CharField(label="审批党委", max_length=32, required=False, allow_blank=True, default="",
                                     help_text="审批党委的组织代码（培养党支部的上级党委）")
    party_group_consulted = serializers.BooleanField(label="已报党组讨论", required=False, default=False)
    document_received = serializers.BooleanField(label="材料已收到", required=False, default=False)
    note = serializers.CharField(label="说明", max_length=300, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(label="版本", required=False, min_value=1, write_only=True,
                                       help_text=VERSION_HELP)


class CorrectionSerializer(StepWriteSerializer):
    """The corrected values of the latest step (all of them, as recorded anew), with the reason."""

    code = None
    reason = serializers.CharField(label="更正原因", max_length=200, help_text="如：日期录入有误")


class WithdrawSerializer(ChineseSerializerMixin, serializers.Serializer):
    reason = serializers.CharField(label="撤回原因", max_length=200, help_text="如：误记录了该步骤")
    version = serializers.IntegerField(label="版本", required=False, min_value=1, write_only=True,
                                       help_text=VERSION_HELP)

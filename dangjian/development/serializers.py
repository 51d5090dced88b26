from rest_framework import serializers

from dangjian.core.api import LabelField

from .models import Applicant, DevelopmentStep


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


class ApplicantSerializer(serializers.ModelSerializer):
    org_code = serializers.CharField(source="org.code", read_only=True, help_text="培养党支部代码")
    org_name = serializers.CharField(source="org.name", read_only=True, help_text="培养党支部名称")
    stage_label = LabelField(source="get_stage_display", read_only=True)
    status_label = LabelField(source="get_status_display", read_only=True)
    member_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="接收为预备党员后的党员 id")
    steps = StepSerializer(many=True, read_only=True, help_text="已记录的发展步骤，按日期")

    class Meta:
        model = Applicant
        fields = ["id", "name", "gender", "id_mask", "workplace", "org_code", "org_name", "stage", "stage_label",
                  "stage_since", "applied_on", "status", "status_label", "member_id", "version", "steps"]
        read_only_fields = fields

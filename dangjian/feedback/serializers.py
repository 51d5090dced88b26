from django.utils import timezone
from rest_framework import serializers

from dangjian.core.api import ChineseSerializerMixin, CodeOrLabelChoiceField, LabelField
from dangjian.core.people import display_name
from dangjian.orgs.serializers import ScopedOrgCodeField

from .checks import ISSUES_MAX, PLACE_MAX, TEXT_MAX
from .models import Feedback, Visit, VisitKind


class VisitSerializer(serializers.ModelSerializer):
    org_code = serializers.CharField(source="org.code", read_only=True, help_text="组织走访的党组织代码")
    org_name = serializers.CharField(source="org.name", read_only=True, help_text="党组织名称")
    kind_label = LabelField(source="get_kind_display", read_only=True)
    participants = serializers.SerializerMethodField(help_text="参加党员 [{id, name}]")
    feedback = serializers.SerializerMethodField(help_text="本次走访登记的问题（意见建议 id）")

    class Meta:
        model = Visit
        fields = ["id", "org_code", "org_name", "visited_on", "kind", "kind_label", "place", "households", "people",
                  "participants", "note", "feedback", "version"]
        read_only_fields = fields

    def get_participants(self, obj) -> list[dict]:
        return [{"id": m.pk, "name": m.name} for m in obj.participants.all()]

    def get_feedback(self, obj) -> list[int]:
        return [f.pk for f in obj.feedback.all()]


class VisitWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    org = ScopedOrgCodeField(label="组织走访的党组织", capability="edit", help_text="组织代码，须在您的管理范围内")
    visited_on = serializers.DateField(label="走访日期")
    kind = CodeOrLabelChoiceField(label="走访类型", choices=VisitKind.choices)
    place = serializers.CharField(label="走访地点", max_length=PLACE_MAX)
    households = serializers.IntegerField(label="走访户数", min_value=0, max_value=100_000, default=0)
    people = serializers.IntegerField(label="走访人数", min_value=0, max_value=100_000, default=0)
    participants = serializers.ListField(label="参加党员", child=serializers.IntegerField(min_value=1), allow_empty=False,
                                         max_length=500, help_text="党员编号")
    issues = serializers.ListField(label="群众反映的问题", child=serializers.CharField(max_length=TEXT_MAX),
                                   required=False, default=list, max_length=ISSUES_MAX,
                                   help_text="每条登记为一件“走访收集”的意见建议")
    note = serializers.CharField(label="走访情况", required=False, allow_blank=True, max_length=2000, default="")


class FeedbackSerializer(serializers.ModelSerializer):
    """An anonymous complaint answers `submitter` null, like every feedback: the record keeps
    no sender to tell."""

    channel_label = LabelField(source="get_channel_display", read_only=True)
    status_label = LabelField(source="get_status_display", read_only=True)
    org_code = serializers.CharField(source="org.code", read_only=True, help_text="涉及的党组织代码")
    org_name = serializers.CharField(source="org.name", read_only=True, help_text="涉及的党组织名称")
    submitter = serializers.SerializerMethodField(help_text="提出人姓名；匿名投诉为 null")
    overdue = serializers.SerializerMethodField(help_text="待处理且已过答复期限")

    class Meta:
        model = Feedback
        fields = ["id", "channel", "channel_label", "org_code", "org_name", "visit", "text", "anonymous", "submitter",
                  "received_on", "deadline", "status", "status_label", "answer", "answered_on", "overdue", "version"]
        read_only_fields = fields

    def get_submitter(self, obj) -> str | None:
        if obj.anonymous or obj.submitter_id is None:
            return None
        return display_name(obj.submitter)

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue(timezone.localdate())

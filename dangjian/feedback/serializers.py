from django.utils import timezone
from rest_framework import serializers

from dangjian.core.api import ChineseSerializerMixin, CodeOrLabelChoiceField, LabelField
from dangjian.core.people import display_name
from dangjian.orgs.serializers import ScopedOrgCodeField
from dangjian.rectification.models import Item

from .checks import ISSUES_MAX, PLACE_MAX, TEXT_MAX
from .models import Channel, Feedback, Visit, VisitKind


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


class FeedbackWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    channel = CodeOrLabelChoiceField(label="来源渠道", choices=[(Channel.COMPLAINT.value, "投诉建议"),
                                                                (Channel.MEMBER.value, "党员提出")],
                                     default=Channel.COMPLAINT.value,
                                     help_text="complaint 投诉建议（可匿名）或 member 党员提出（党员本人）")
    org = serializers.CharField(label="涉及的党组织", max_length=32,
                                help_text="组织代码：您所在的党组织、其上级党组织、机关工委，或您可查看的党组织")
    text = serializers.CharField(label="内容", max_length=TEXT_MAX)
    anonymous = serializers.BooleanField(label="匿名", default=False,
                                         help_text="仅投诉建议：不记录您的任何信息，答复凭返回的查询码查看")


class SubmittedSerializer(FeedbackSerializer):
    code = serializers.CharField(read_only=True, allow_null=True, default=None,
                                 help_text="匿名投诉的查询码：只在这一次返回，请提出人妥善保存；其他为 null")

    class Meta(FeedbackSerializer.Meta):
        fields = [*FeedbackSerializer.Meta.fields, "code"]
        read_only_fields = fields


class AnswerSerializer(ChineseSerializerMixin, serializers.Serializer):
    answer = serializers.CharField(label="答复内容", max_length=TEXT_MAX)
    version = serializers.IntegerField(label="版本", required=False, min_value=1, help_text="读取意见建议时得到的 version")


class TurnIntoItemSerializer(ChineseSerializerMixin, serializers.Serializer):
    list = CodeOrLabelChoiceField(label="清单", choices=Item.List.choices, default=Item.List.PROBLEM.value)
    title = serializers.CharField(label="事项", max_length=200, required=False, allow_blank=True, default="",
                                  help_text="不填则取意见建议的第一句")
    org = serializers.CharField(label="责任单位", max_length=32, required=False, allow_blank=True, default="",
                                help_text="组织代码，须在您的管理范围内；不填则为涉及的党组织")
    workdays = serializers.IntegerField(label="整改时限（工作日）", min_value=1, max_value=250, default=20)
    description = serializers.CharField(label="具体内容及整改要求", max_length=10_000, required=False, allow_blank=True,
                                        default="", help_text="不填则为意见建议的内容")
    version = serializers.IntegerField(label="版本", required=False, min_value=1, help_text="读取意见建议时得到的 version")

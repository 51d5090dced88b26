from django.utils import timezone
from rest_framework import serializers

from dangjian.core.api import ChineseSerializerMixin, LabelField

from .models import Item, ItemEvent


class ItemSerializer(serializers.ModelSerializer):
    list_label = LabelField(source="get_list_display", read_only=True)
    source_label_text = LabelField(source="get_source_display", read_only=True)
    status_label = LabelField(source="get_status_display", read_only=True)
    org_code = serializers.CharField(source="org.code", read_only=True, help_text="责任单位代码")
    org_name = serializers.CharField(source="org.name", read_only=True, help_text="责任单位名称")
    issuer_code = serializers.CharField(source="issuer.code", read_only=True, help_text="交办单位代码")
    issuer_name = serializers.CharField(source="issuer.name", read_only=True, help_text="交办单位名称")
    overdue_days = serializers.SerializerMethodField(help_text="超期天数：未销号时到今天，已销号时到销号日期；按期为 0")

    class Meta:
        model = Item
        fields = ["id", "list", "list_label", "source", "source_label_text", "source_id", "source_label", "title",
                  "description", "org_code", "org_name", "issuer_code", "issuer_name", "opened_on", "deadline",
                  "workdays", "status", "status_label", "closed_on", "returned_count", "referred_from",
                  "overdue_days", "version"]
        read_only_fields = fields

    def get_overdue_days(self, item) -> int:
        return item.overdue_days(timezone.localdate())


class EventSerializer(serializers.ModelSerializer):
    kind_label = LabelField(source="get_kind_display", read_only=True)

    class Meta:
        model = ItemEvent
        fields = ["kind", "kind_label", "on", "text"]
        read_only_fields = fields


class ItemDetailSerializer(ItemSerializer):
    timeline = serializers.SerializerMethodField(help_text="办理过程，按时间先后")

    class Meta(ItemSerializer.Meta):
        fields = [*ItemSerializer.Meta.fields, "timeline"]
        read_only_fields = fields

    def get_timeline(self, item) -> list[dict]:
        return EventSerializer(self.context.get("events", []), many=True).data


class AssignSerializer(ChineseSerializerMixin, serializers.Serializer):
    """工委交办: what the new-item page asks, organizations by their codes."""

    issuer = serializers.CharField(label="交办单位", max_length=32, help_text="交办党组织的代码，须在您的管理范围内")
    org = serializers.CharField(label="责任单位", max_length=32, help_text="责任党组织的代码，须是交办单位的下级组织")
    list = serializers.ChoiceField(label="清单", choices=Item.List.choices, default=Item.List.TASK)
    title = serializers.CharField(label="事项", max_length=200)
    description = serializers.CharField(label="具体内容及整改要求", max_length=10_000, required=False, allow_blank=True,
                                        default="")
    deadline = serializers.DateField(label="整改时限", required=False, help_text="日期，或填写 workdays")
    workdays = serializers.IntegerField(label="时限（工作日）", required=False, min_value=1, max_value=250,
                                        help_text="自交办之日起的工作日天数")
    source_label = serializers.CharField(label="来源说明", max_length=200, required=False, allow_blank=True, default="")


class MoveSerializer(ChineseSerializerMixin, serializers.Serializer):
    text = serializers.CharField(label="内容", max_length=4000, required=False, allow_blank=True,
                                 help_text="签收意见、整改进展、整改情况及佐证、核查意见、退回原因或转办说明")
    version = serializers.IntegerField(label="版本", required=False, min_value=1, help_text="读取事项时得到的 version")


class ReferSerializer(MoveSerializer):
    to_org = serializers.CharField(label="转办至", max_length=32, help_text="接办党组织的代码")
    deadline = serializers.DateField(label="新的整改时限", required=False, help_text="不填沿用原时限")
    workdays = serializers.IntegerField(label="时限（工作日）", required=False, help_text="自今天起的工作日天数")


class DeadlineSerializer(MoveSerializer):
    deadline = serializers.DateField(label="新的整改时限", required=False)
    workdays = serializers.IntegerField(label="时限（工作日）", required=False, help_text="自交办之日起的工作日天数")

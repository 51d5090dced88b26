from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dangjian.core.api import ChineseSerializerMixin, CodeOrLabelChoiceField, LabelField
from dangjian.core.text import unsafe_characters_problem

from .models import ChecklistItem, Finding, FindingList, Inspection, Kind, Target
from .services import DRAW_KINDS


class FindingSerializer(serializers.ModelSerializer):
    list_label = LabelField(source="get_list_display", read_only=True)
    item = serializers.CharField(source="item.text", read_only=True, allow_null=True, default=None,
                                 help_text="检查清单项；不针对某一项时为 null")

    rectification_item = serializers.IntegerField(source="rectification_item_id", read_only=True, allow_null=True,
                                                  help_text="交办的整改事项 id（/items/ 页面及其接口）；未交办为 null")

    class Meta:
        model = Finding
        fields = ["id", "list", "list_label", "item", "text", "recorded_at", "rectification_item"]
        read_only_fields = fields


class TargetSerializer(serializers.ModelSerializer):
    org_code = serializers.CharField(source="org.code", read_only=True, help_text="督查对象代码")
    org_name = serializers.CharField(source="org.name", read_only=True, help_text="督查对象名称")
    findings = FindingSerializer(many=True, read_only=True, help_text="督查发现")

    class Meta:
        model = Target
        fields = ["id", "org_code", "org_name", "visited_on", "visit_note", "findings"]
        read_only_fields = fields


class ChecklistItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistItem
        fields = ["id", "category", "text"]
        read_only_fields = fields


class InspectionSerializer(serializers.ModelSerializer):
    kind_label = LabelField(source="get_kind_display", read_only=True)
    status_label = LabelField(source="get_status_display", read_only=True)
    issuer = serializers.CharField(source="issuer.code", read_only=True, help_text="组织单位代码")
    issuer_name = serializers.CharField(source="issuer.name", read_only=True, help_text="组织单位名称")
    targets = TargetSerializer(many=True, read_only=True,
                               help_text="您可查看的督查对象（四不两直的督查，督查对象一方只在走访记录后看到本单位）")
    checklist = ChecklistItemSerializer(many=True, read_only=True, help_text="检查清单（记录督查发现时以 id 指明清单项）")

    class Meta:
        model = Inspection
        fields = ["id", "title", "kind", "kind_label", "unannounced", "issuer", "issuer_name", "year", "starts_on",
                  "ends_on", "status", "status_label", "draw_seed", "draw_count", "draw_rule", "version", "checklist", "targets"]
        read_only_fields = fields


# ---- writes --------------------------------------------------------------------------------------

BIGGEST_ID = 2**63 - 1
REF_SCHEMA = {"oneOf": [{"type": "integer", "minimum": 1, "maximum": BIGGEST_ID},
                        {"type": "string", "minLength": 1, "maxLength": 150}]}


def _ref(value, label: str):
    """An id (a positive integer) or a code or login name (one line of text), else a Chinese message."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= BIGGEST_ID:
            raise serializers.ValidationError(f"{label}：编号 {str(value)[:20]} 不存在")
        return value
    if not isinstance(value, str):
        raise serializers.ValidationError(f"{label}：应为编号（整数）或代码（文字）")
    value = value.strip()
    if not value:
        raise serializers.ValidationError(f"{label}：不能为空")
    if len(value) > 150:
        raise serializers.ValidationError(f"{label}：过长（最多 150 个字）")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise serializers.ValidationError(f"{label}含有无效字符")
    if problem := unsafe_characters_problem(value, label):
        raise serializers.ValidationError(problem)
    return value


@extend_schema_field(REF_SCHEMA)
class RefField(serializers.Field):
    """One record named by its id or by its code (an organization's code, an account's login)."""

    def to_internal_value(self, data):
        return _ref(data, str(self.label))

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "array", "items": REF_SCHEMA, "maxItems": 500})
class RefListField(serializers.Field):
    """Several records, each by id or code; at most `max_items`."""

    def __init__(self, *, max_items: int = 500, **kwargs):
        self.max_items = max_items
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        label = str(self.label)
        if not isinstance(data, list):
            raise serializers.ValidationError(f"{label}：应为列表，如 [\"CZ01\", \"JY01\"]")
        if len(data) > self.max_items:
            raise serializers.ValidationError(f"{label}：一次最多 {self.max_items} 个")
        return [_ref(v, label) for v in data]

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "array", "items": {"type": "string", "maxLength": 2000}, "maxItems": 200})
class TextListField(serializers.Field):
    """Lines of text, each checked by the service."""

    def to_internal_value(self, data):
        label = str(self.label)
        if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
            raise serializers.ValidationError(f"{label}：应为文字的列表，每项一条")
        if len(data) > 200:
            raise serializers.ValidationError(f"{label}：一次最多 200 条")
        return data

    def to_representation(self, value):
        return value


FINDING_ENTRY = {"type": "object", "required": ["text"], "properties": {
    "text": {"type": "string", "maxLength": 2000, "description": "发现情况"},
    "list": {"type": "string", "enum": FindingList.values, "description": "清单，默认 problem 问题清单"},
    "item": {"type": "integer", "nullable": True, "minimum": 1, "description": "检查清单项 id；不针对某一项时不填"}}}


@extend_schema_field({"type": "array", "items": FINDING_ENTRY, "minItems": 1, "maxItems": 50})
class FindingEntriesField(serializers.Field):
    """Findings as [{"text", "list", "item"}]: their shape here, their rules in the service."""

    def to_internal_value(self, data):
        label = str(self.label)
        if not isinstance(data, list) or not data:
            raise serializers.ValidationError(f"{label}：应为至少一条的列表，如 [{{\"text\": \"…\", \"list\": \"problem\"}}]")
        if len(data) > 50:
            raise serializers.ValidationError(f"{label}：一次最多 50 条")
        out = []
        for n, e in enumerate(data, start=1):
            if not isinstance(e, dict):
                raise serializers.ValidationError(f"{label}第 {n} 条：应为对象（text、list、item）")
            text, list_, item = e.get("text"), e.get("list", FindingList.PROBLEM), e.get("item")
            if not isinstance(text, str):
                raise serializers.ValidationError(f"{label}第 {n} 条：发现情况应为文字")
            if not isinstance(list_, str):
                raise serializers.ValidationError(f"{label}第 {n} 条：清单应为 problem、task 或 suggestion")
            if item is not None and (isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= BIGGEST_ID):
                raise serializers.ValidationError(f"{label}第 {n} 条：检查清单项应为编号（整数）")
            out.append({"text": text, "list": list_, "item": item})
        return out

    def to_representation(self, value):
        return value


class PlanWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    title = serializers.CharField(label="名称", max_length=120)
    kind = CodeOrLabelChoiceField(label="督查方式", choices=Kind.choices)
    unannounced = serializers.BooleanField(label="四不两直", default=False,
                                           help_text="为 true 时督查对象在走访记录之前看不到本计划")
    issuer = RefField(label="组织单位", help_text="组织代码或 id：机关工委，或在本单位范围内督查的单位党组织")
    starts_on = serializers.DateField(label="计划开始日期")
    ends_on = serializers.DateField(label="计划结束日期")
    note = serializers.CharField(label="督查内容", max_length=2000, required=False, allow_blank=True, default="")
    team = RefListField(label="督查组成员", max_items=100, required=False, default=list,
                        help_text="账号 id 或登录名：督查考核员或党务工作人员")
    targets = RefListField(label="督查对象", required=False, default=list,
                           help_text="党组织代码；日常、集中、专项督查填写")
    draw_under = serializers.CharField(label="随机抽取：抽取范围", max_length=32, required=False, allow_blank=True,
                                       default="", help_text="党组织代码；不填为组织单位本身")
    draw_kinds = serializers.MultipleChoiceField(label="随机抽取：组织类别", choices=list(DRAW_KINDS.items()),
                                                 required=False, default=list)
    draw_count = serializers.IntegerField(label="随机抽取：抽取数量", min_value=1, max_value=100, required=False)
    draw_seed = serializers.IntegerField(label="随机抽取：种子", min_value=1, max_value=999_999_999, required=False,
                                         help_text="不填则随机生成")


class TargetsWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    targets = RefListField(label="督查对象", help_text="党组织代码")


class ChecklistWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    texts = TextListField(label="检查内容", required=False, default=list, help_text="每项一条；“类别：内容”可注明类别")
    scheme = serializers.IntegerField(label="考核方案", required=False, min_value=1, max_value=BIGGEST_ID,
                                      help_text="复制其指标为检查清单项的考核方案 id")


class TargetVisitSerializer(ChineseSerializerMixin, serializers.Serializer):
    target = RefField(label="督查对象", help_text="督查对象 id（targets[].id）或其党组织代码")
    visited_on = serializers.DateField(label="督查日期")
    note = serializers.CharField(label="现场情况", max_length=2000, required=False, allow_blank=True, default="")


class FindingsWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    target = RefField(label="督查对象", help_text="督查对象 id（targets[].id）或其党组织代码")
    findings = FindingEntriesField(label="督查发现")


class ItemsWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    findings = serializers.ListField(label="督查发现", child=serializers.IntegerField(min_value=1, max_value=BIGGEST_ID),
                                     allow_empty=False, max_length=500, help_text="督查发现 id")
    deadline = serializers.DateField(label="整改时限（日期）", required=False)
    workdays = serializers.IntegerField(label="整改时限（工作日）", required=False, min_value=1, max_value=250,
                                        help_text="从今天起算的工作日天数；与 deadline 填写其中一项")


class VersionSerializer(ChineseSerializerMixin, serializers.Serializer):
    version = serializers.IntegerField(label="版本", required=False, min_value=1, help_text="读取督查时得到的 version")

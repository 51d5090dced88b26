"""API shapes of organizational-life records and compliance rows.

The rules are activities.services (record_activity), the same as for the web form and the
import; these serializers only type the input. Kinds and attendance statuses are taken as
codes ("theme_day", "absent") or Chinese labels ("主题党日", "缺席").
"""
from rest_framework import serializers

from dangjian.core.api import ChineseSerializerMixin, CodeOrLabelChoiceField
from dangjian.orgs.serializers import ScopedOrgCodeField

from .checks import TEXT_LIMITS
from .models import KIND_LABELS, Activity, ActivityKindChoice, Attachment, Attendance

_KIND_CODES = {label: code for code, label in KIND_LABELS.items()}


class AttendanceSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name", read_only=True)

    class Meta:
        model = Attendance
        fields = ["member", "member_name", "status", "reason"]


class AttachmentSerializer(serializers.ModelSerializer):
    """Name and size only: the file itself is served by the web page of the record, through
    the same scoping."""

    class Meta:
        model = Attachment
        fields = ["id", "name", "size", "content_type"]


class ActivitySerializer(serializers.ModelSerializer):
    org = serializers.CharField(source="org.code", read_only=True, help_text="组织代码")
    org_name = serializers.CharField(source="org.name", read_only=True)
    kinds = serializers.SerializerMethodField(help_text="类型代码")
    kind_labels = serializers.SerializerMethodField(help_text="类型名称")
    host_name = serializers.CharField(source="host.name", read_only=True, default="")
    attendance = AttendanceSerializer(source="attendances", many=True, read_only=True)
    attachments = AttachmentSerializer(source="active_attachments", many=True, read_only=True,
                                       help_text="附件（可选）：文件名、大小（字节）和类型")

    class Meta:
        model = Activity
        fields = ["id", "org", "org_name", "kinds", "kind_labels", "held_on", "starts_at", "place", "topic", "host",
                  "host_name", "recorder", "lecturer", "lecturer_name", "talk_party_a", "talk_party_b", "minutes",
                  "decisions", "expected_count", "present_count", "voting_expected", "voting_present",
                  "committee_expected", "committee_present", "status", "source", "recorded_at", "attendance",
                  "attachments"]
        read_only_fields = fields

    def get_kinds(self, obj) -> list[str]:
        return sorted(k.kind for k in obj.kinds.all())

    def get_kind_labels(self, obj) -> list[str]:
        return [KIND_LABELS[k] for k in self.get_kinds(obj)]


def _list_converters() -> list[tuple[str, object]]:
    """Each plain field of ActivitySerializer with the function that answers it, taken from the
    serializer's own fields so that a date, a time or a moment is written exactly as it writes it."""
    out = []
    for name, field in ActivitySerializer().fields.items():
        if name in _LIST_SPECIAL:
            continue
        if isinstance(field, serializers.RelatedField):
            out.append((name, None))  # a member by its id, as values() gives it
        else:
            out.append((name, field.to_representation))
    return out


# Fields of the list answered from the page's other queries rather than from the record's row.
_LIST_SPECIAL = {"org", "org_name", "kinds", "kind_labels", "host_name", "attendance", "attachments"}
_converters: list | None = None


def activity_list_data(rows, kinds: dict, attendance: dict, attachments: dict) -> list[dict]:
    """The list's records as ActivitySerializer answers them, byte for byte, built from plain rows
    (activities.queries.api_list_rows and api_list_details): a page holds a thousand attendance
    entries, and building each through a serializer and a model instance was most of its time.
    tests/test_activity_api.py compares the two on every field."""
    global _converters
    if _converters is None:
        _converters = _list_converters()
    converters = _converters
    data = []
    for row in rows:
        pk = row["id"]
        codes = sorted(kinds.get(pk, ()))
        out = {}
        for name, convert in converters:
            value = row[name]
            out[name] = value if convert is None or value is None else convert(value)
        out["org"] = row["org__code"]
        out["org_name"] = row["org__name"]
        out["kinds"] = codes
        out["kind_labels"] = [KIND_LABELS[k] for k in codes]
        out["host_name"] = row["host__name"] if row["host__name"] is not None else ""
        out["attendance"] = [{"member": member, "member_name": name, "status": status, "reason": reason}
                             for member, name, status, reason in attendance.get(pk, ())]
        out["attachments"] = [{"id": i, "name": name, "size": size, "content_type": content_type}
                              for i, name, size, content_type in attachments.get(pk, ())]
        data.append({name: out[name] for name in ActivitySerializer.Meta.fields})
    return data


class AttendanceWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    member = serializers.IntegerField(label="党员编号", min_value=1)
    status = CodeOrLabelChoiceField(label="出席情况", choices=Attendance.Status.choices)
    reason = serializers.CharField(label="请假事由", required=False, allow_blank=True, max_length=200, default="")


class ActivityWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    org = ScopedOrgCodeField(label="党组织", capability="edit", help_text="组织代码，须在您的管理范围内")
    kinds = serializers.ListField(label="类型", child=serializers.JSONField(), allow_empty=False, max_length=13,
                                  help_text="类型代码或名称；一次活动计为几种的，列出全部")
    held_on = serializers.DateField(label="日期")
    starts_at = serializers.TimeField(label="开始时间", required=False, allow_null=True, default=None)
    place = serializers.CharField(label="地点", required=False, allow_blank=True, max_length=TEXT_LIMITS["place"],
                                  default="")
    topic = serializers.CharField(label="主题", required=False, allow_blank=True, max_length=TEXT_LIMITS["topic"],
                                  default="")
    host = serializers.IntegerField(label="主持人", required=False, allow_null=True, default=None, help_text="党员编号")
    recorder = serializers.IntegerField(label="记录人", required=False, allow_null=True, default=None)
    lecturer = serializers.IntegerField(label="授课人", required=False, allow_null=True, default=None)
    lecturer_name = serializers.CharField(label="授课人（非本组织）", required=False, allow_blank=True,
                                          max_length=TEXT_LIMITS["lecturer_name"],
                                          default="")
    talk_parties = serializers.ListField(label="谈话双方", child=serializers.IntegerField(min_value=1), required=False,
                                         default=list, max_length=2)
    minutes = serializers.CharField(label="会议记录", required=False, allow_blank=True, max_length=TEXT_LIMITS["minutes"],
                                    default="")
    decisions = serializers.CharField(label="决定事项", required=False, allow_blank=True,
                                      max_length=TEXT_LIMITS["decisions"],
                                      default="")
    attendance = serializers.ListField(label="出席情况", child=serializers.JSONField(), required=False, default=list,
                                       help_text='[{"member": 党员编号, "status": "present|absent|excused|observer"'
                                                 '（或 出席、缺席、请假、列席）, "reason": "请假事由"}]')

    def validate_kinds(self, value):
        out = []
        for item in value:
            code = _KIND_CODES.get(item.strip(), item.strip()) if isinstance(item, str) else None
            if code not in KIND_LABELS:
                raise serializers.ValidationError(
                    f"类型“{item}”不是组织生活类型（可选：{'、'.join(KIND_LABELS.values())}）")
            out.append(code)
        return out

    def validate_attendance(self, value):
        out = []
        for i, item in enumerate(value, start=1):
            if not isinstance(item, dict):
                raise serializers.ValidationError(f"出席情况第 {i} 项应为对象（含 member、status）")
            s = AttendanceWriteSerializer(data=item)
            if not s.is_valid():
                message = next(m for ms in s.errors.values() for m in ms)
                raise serializers.ValidationError(f"出席情况第 {i} 项：{message}")
            out.append(s.validated_data)
        return out


class ActivityFilterSerializer(ChineseSerializerMixin, serializers.Serializer):
    org = serializers.CharField(label="组织代码", required=False, allow_blank=True, max_length=32,
                                help_text="含全部下级组织")
    kind = CodeOrLabelChoiceField(label="类型", choices=ActivityKindChoice.choices, required=False)
    start = serializers.DateField(label="开始日期", required=False)
    end = serializers.DateField(label="结束日期", required=False)

    def validate(self, data):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise serializers.ValidationError({"end": ["结束日期不能早于开始日期"]})
        return data


class ComplianceFilterSerializer(ChineseSerializerMixin, serializers.Serializer):
    period = serializers.CharField(label="周期", max_length=8, help_text="2026-03、2026Q1、2026H1 或 2026")
    org = serializers.CharField(label="组织代码", required=False, allow_blank=True, max_length=32,
                                help_text="只列该组织及其下级")


class ComplianceRowSerializer(serializers.Serializer):
    """The row of `dangjian compliance --format json`."""

    org_code = serializers.CharField()
    org_name = serializers.CharField()
    period = serializers.CharField()
    kind = serializers.CharField(help_text="规则代码")
    required = serializers.IntegerField()
    held = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["met", "missing", "due", "not_applicable"])
    evidence = serializers.ListField(child=serializers.IntegerField(), help_text="计入的记录编号")

from rest_framework import serializers

from dangjian.core.api import LabelField

from .models import Finding, Inspection, Target


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


class InspectionSerializer(serializers.ModelSerializer):
    kind_label = LabelField(source="get_kind_display", read_only=True)
    status_label = LabelField(source="get_status_display", read_only=True)
    issuer = serializers.CharField(source="issuer.code", read_only=True, help_text="组织单位代码")
    issuer_name = serializers.CharField(source="issuer.name", read_only=True, help_text="组织单位名称")
    targets = TargetSerializer(many=True, read_only=True,
                               help_text="您可查看的督查对象（四不两直的督查，督查对象一方只在走访记录后看到本单位）")

    class Meta:
        model = Inspection
        fields = ["id", "title", "kind", "kind_label", "unannounced", "issuer", "issuer_name", "year", "starts_on",
                  "ends_on", "status", "status_label", "draw_seed", "draw_count", "draw_rule", "version", "targets"]
        read_only_fields = fields

from rest_framework import serializers

from dangjian.core.api import LabelField

from .models import Commendation, Decision


class CommendationSerializer(serializers.ModelSerializer):
    honour = serializers.CharField(source="honour.name", read_only=True, help_text="荣誉称号")
    org_code = serializers.CharField(source="org.code", read_only=True, help_text="受表彰党组织（个人为其当时所在党组织）的代码")
    org_name = serializers.CharField(source="org.name", read_only=True, help_text="党组织名称")
    member_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="受表彰党员 id；表彰党组织时为 null")
    member_name = serializers.CharField(source="member.name", read_only=True, allow_null=True, default=None,
                                        help_text="受表彰党员姓名；表彰党组织时为 null")

    class Meta:
        model = Commendation
        fields = ["id", "honour", "org_code", "org_name", "member_id", "member_name"]


class DecisionSerializer(serializers.ModelSerializer):
    date = serializers.DateField(source="decided_on", read_only=True, help_text="成文日期")
    issuer = serializers.CharField(source="issuer.code", read_only=True, help_text="发文党组织代码")
    issuer_name = serializers.CharField(source="issuer.name", read_only=True, help_text="发文党组织名称")
    status_label = LabelField(source="get_status_display", read_only=True)
    honours = CommendationSerializer(source="commendations", many=True, read_only=True, help_text="表彰对象")

    class Meta:
        model = Decision
        fields = ["id", "number", "date", "title", "year", "issuer", "issuer_name", "status", "status_label",
                  "published_at", "version", "honours"]
        read_only_fields = fields

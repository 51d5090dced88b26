from rest_framework import serializers

from dangjian.core.api import LabelField

from .models import Transfer


class LetterSerializer(serializers.ModelSerializer):
    kind_label = LabelField(source="get_kind_display", read_only=True)
    status_label = serializers.CharField(read_only=True, help_text="状态（系统内：待接收/已接收/已退回/已撤回；系统外转出：待回执/回执已返回）")
    member_id = serializers.IntegerField(read_only=True, help_text="党员 id")
    member_name = serializers.CharField(source="member.name", read_only=True, help_text="党员姓名")
    from_code = serializers.CharField(source="from_org.code", read_only=True, allow_null=True, default=None,
                                      help_text="转出党组织代码；从系统外转入时为 null")
    from_name = serializers.CharField(source="from_org.name", read_only=True, allow_null=True, default=None,
                                      help_text="转出党组织名称")
    to_code = serializers.CharField(source="to_org.code", read_only=True, allow_null=True, default=None,
                                    help_text="接收党组织代码；转出至系统外时为 null")
    to_name = serializers.CharField(source="to_org.name", read_only=True, allow_null=True, default=None,
                                    help_text="接收党组织名称")
    overdue = serializers.SerializerMethodField(help_text="在途且已过有效期")

    class Meta:
        model = Transfer
        fields = ["id", "kind", "kind_label", "member_id", "member_name", "from_code", "from_name", "to_code",
                  "to_name", "outside_org", "outside_region", "letter_number", "issued_on", "valid_until",
                  "reason", "status", "status_label", "closed_on", "return_reason", "overdue", "version"]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        return obj.is_open and obj.valid_until < self.context["today"]

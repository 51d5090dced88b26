from rest_framework import serializers

from dangjian.core.api import ChineseSerializerMixin, CodeOrLabelChoiceField, LabelField

from .models import Category, DuesBase, Payment


class BaseSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name", read_only=True, help_text="党员姓名")
    org_code = serializers.CharField(source="member.org.code", read_only=True, help_text="党员所在党组织代码")
    base = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, coerce_to_string=True,
                                    help_text="缴费基数（元/月），精确小数的字符串，如 \"5000.01\"")
    category_label = LabelField(source="get_category_display", read_only=True)
    effective_from = serializers.DateField(read_only=True, help_text="自该月 1 日起适用")

    class Meta:
        model = DuesBase
        fields = ["id", "member", "member_name", "org_code", "base", "category", "category_label", "effective_from"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name", read_only=True, help_text="党员姓名")
    org_code = serializers.CharField(source="member.org.code", read_only=True, help_text="党员所在党组织代码")
    month = serializers.SerializerMethodField(help_text="所属月份，如 \"2026-10\"")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, coerce_to_string=True,
                                      help_text="交纳金额（元），字符串，如 \"75.00\"")
    due = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, coerce_to_string=True,
                                   help_text="该月应交金额（元），字符串")
    credited = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, coerce_to_string=True,
                                        help_text="计入该月应交的部分（元），字符串；少于 due 为分次交纳的一部分，"
                                                  "amount 超出它的是自愿多交")
    to_centre = serializers.BooleanField(read_only=True,
                                         help_text="自愿一次多交纳 1000 元以上：多交部分全部上缴中央")
    backpay = serializers.BooleanField(source="is_backpay", read_only=True, help_text="是否补交（晚于所属月份交纳）")

    class Meta:
        model = Payment
        fields = ["id", "member", "member_name", "org_code", "month", "amount", "due", "credited", "to_centre",
                  "paid_on", "backpay", "months_late", "source"]
        read_only_fields = fields

    def get_month(self, obj) -> str:
        return f"{obj.month // 100}-{obj.month % 100:02d}"


class MemberDuesSerializer(serializers.Serializer):
    member = serializers.CharField(help_text="党员姓名")
    member_id = serializers.IntegerField()
    org_code = serializers.CharField()
    base = serializers.CharField(allow_null=True, help_text="缴费基数（元），精确小数的字符串；未登记为 null")
    rate = serializers.CharField(allow_null=True, help_text="费率，如 \"0.015\"；按固定金额交纳或未登记为 null")
    due = serializers.CharField(help_text="期间应交（元），字符串")
    paid = serializers.CharField(help_text="期间已交（元），字符串")
    owed = serializers.CharField(help_text="期间欠交（元），字符串")


class PaymentInSerializer(ChineseSerializerMixin, serializers.Serializer):
    """POST /api/dues/payments/: the fields of the page's 登记交纳 form."""

    member = serializers.IntegerField(label="党员", min_value=1, help_text="党员 id")
    months = serializers.CharField(label="所属月份", max_length=40,
                                   help_text="一个月（\"2026-10\"）或连续几个月（\"2026-08至2026-10\"）")
    amount = serializers.CharField(label="金额", max_length=20,
                                   help_text="所交月份的合计金额（元），精确小数的字符串，如 \"75.00\"")
    paid_on = serializers.DateField(label="交纳日期", help_text="如 2026-10-15；晚于所属月份即为补交")


class BaseInSerializer(ChineseSerializerMixin, serializers.Serializer):
    """POST /api/dues/bases/: the fields of the page's 登记缴费基数 form."""

    member = serializers.IntegerField(label="党员", min_value=1, help_text="党员 id")
    category = CodeOrLabelChoiceField(label="交纳类别", choices=Category.choices, default=Category.EMPLOYED,
                                      help_text="在职 employed、离退休 retired、学生 student、下岗失业 unemployed、"
                                                "享受最低生活保障 on_relief、农民 farmer（代码或中文名）")
    base = serializers.CharField(label="缴费基数", max_length=20, required=False, allow_blank=True, default="",
                                 help_text="每月工资收入（税后，元），字符串，如 \"5000.01\"；农民党员填本人选定的每月"
                                           "交纳金额（0.2—1 元）；按固定金额交纳的类别不填")
    effective_from = serializers.CharField(label="起始月份", max_length=20,
                                           help_text="自该月起按此基数计算，如 \"2026-07\"")
    note = serializers.CharField(label="说明", max_length=200, required=False, allow_blank=True, default="")

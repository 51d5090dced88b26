from rest_framework import serializers

from dangjian.core.api import ChineseSerializerMixin, LabelField
from dangjian.members.serializers import MemberWriteSerializer

from .models import Standing, Transfer


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


VERSION_HELP = "读取时得到的 version（或 If-Match 请求头）：他人已在此期间修改时返回 409，什么也不写"


class _Write(ChineseSerializerMixin, serializers.Serializer):
    version = serializers.IntegerField(label="版本", required=False, min_value=1, write_only=True,
                                       help_text=VERSION_HELP)


class LetterWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    """开具介绍信: to an organization of the tree (`to_org`) or outside the platform
    (`outside_org` and `outside_region`)."""

    kind = serializers.ChoiceField(label="转接类型", choices=[(Transfer.Kind.INTERNAL, "系统内转接"),
                                                           (Transfer.Kind.OUT, "转出至系统外")],
                                   help_text="internal 系统内转接、out 转出至系统外")
    member = serializers.IntegerField(label="党员", min_value=1, help_text="党员 id（须在您的管理范围内）")
    to_org = serializers.CharField(label="接收党组织", max_length=32, required=False, allow_blank=True,
                                   help_text="系统内转接：接收党组织的代码（系统内任一党组织）")
    outside_org = serializers.CharField(label="接收党组织名称", max_length=100, required=False, allow_blank=True,
                                        help_text="转出至系统外：介绍信抬头所写的党组织全称")
    outside_region = serializers.CharField(label="所在地区", max_length=60, required=False, allow_blank=True,
                                           help_text="转出至系统外：如 江苏省南京市")
    letter_number = serializers.CharField(label="介绍信编号", max_length=40)
    issued_on = serializers.DateField(label="开具日期")
    valid_days = serializers.IntegerField(label="有效期（天）", required=False, allow_null=True,
                                          help_text="不填按规定的月数计")
    reason = serializers.CharField(label="转接原因", max_length=200, required=False, allow_blank=True)


class ArrivalSerializer(MemberWriteSerializer):
    """从系统外转入: the member as a new member of the roll (the fields of POST /api/members/),
    and the letter they bring."""

    LETTER = ("outside_org", "outside_region", "letter_number", "issued_on", "valid_until", "arrived_on")

    outside_org = serializers.CharField(label="原所在党组织", max_length=100, help_text="介绍信所写的原党组织全称")
    outside_region = serializers.CharField(label="所在地区", max_length=60, help_text="如 江苏省南京市")
    letter_number = serializers.CharField(label="介绍信编号", max_length=40)
    issued_on = serializers.DateField(label="开具日期")
    valid_until = serializers.DateField(label="有效期至", required=False, allow_null=True,
                                        help_text="按介绍信填写；不填按开具日期起算的规定期限")
    arrived_on = serializers.DateField(label="报到日期", help_text="党员自此日起在接收党组织（org）")


class BulkWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    """整建制转接: the members on one organization's roll (or those named) to another."""

    from_org = serializers.CharField(label="转出党组织", max_length=32, help_text="组织代码，须在您的管理范围内")
    to_org = serializers.CharField(label="接收党组织", max_length=32, help_text="组织代码，须在您的管理范围内")
    moved_on = serializers.DateField(label="转接日期")
    reason = serializers.CharField(label="转接原因", max_length=200, help_text="如 机构改革，处室合并")
    members = serializers.ListField(label="党员", child=serializers.IntegerField(min_value=1), required=False,
                                    max_length=20_000, help_text="只转接其中这些党员（id）；不填为转出党组织全部在册党员")


class BulkDoneSerializer(serializers.Serializer):
    batch = serializers.IntegerField(label="整建制转接批次")
    count = serializers.IntegerField(label="转接人数")
    from_org = serializers.CharField(label="转出党组织代码")
    to_org = serializers.CharField(label="接收党组织代码")
    moved_on = serializers.DateField(label="转接日期")


class BulkJobSerializer(serializers.Serializer):
    job = serializers.IntegerField(label="后台任务")
    status = serializers.CharField(label="状态", help_text="queued 排队、running 进行中、done 完成、failed 失败")
    done = serializers.IntegerField(label="已处理人数")
    total = serializers.IntegerField(label="总人数")
    message = serializers.CharField(label="进度说明")
    result = serializers.DictField(label="结果", help_text="完成后：ok、summary，成功时 count，失败时 problems（党员、原因）")


class LetterStepSerializer(_Write):
    """接收, 撤回, 登记回执: the day it happened."""

    on = serializers.DateField(label="日期", help_text="接收、撤回的日期，或回执所载报到日期")


class LetterReturnSerializer(LetterStepSerializer):
    reason = serializers.CharField(label="退回原因", max_length=200)


class StandingSerializer(serializers.ModelSerializer):
    kind_label = LabelField(source="get_kind_display", read_only=True)
    member_id = serializers.IntegerField(read_only=True, help_text="党员 id")
    member_name = serializers.CharField(source="member.name", read_only=True, help_text="党员姓名")
    org_code = serializers.CharField(source="org.code", read_only=True, help_text="决定时党员所在党组织代码")
    org_name = serializers.CharField(source="org.name", read_only=True, help_text="决定时党员所在党组织名称")
    host_org_code = serializers.CharField(source="host_org.code", read_only=True, allow_null=True, default=None,
                                          help_text="流入地党组织（系统内）代码")
    approver_code = serializers.CharField(source="approver.code", read_only=True, allow_null=True, default=None,
                                          help_text="批准党组织代码")
    approver_name = serializers.CharField(source="approver.name", read_only=True, allow_null=True, default=None,
                                          help_text="批准党组织名称")

    class Meta:
        model = Standing
        fields = ["id", "member_id", "member_name", "org_code", "org_name", "kind", "kind_label", "decided_on",
                  "away_since", "place", "contact", "abroad", "host_org_code", "host_org_name", "lost_since",
                  "efforts", "meeting_on", "approver_code", "approver_name", "approved_on", "document",
                  "removal_kind", "note", "closed_on"]
        read_only_fields = fields


class _MemberWrite(_Write):
    member = serializers.IntegerField(label="党员", min_value=1, help_text="党员 id（须在您的管理范围内）")


class MobileRegistrationSerializer(_MemberWrite):
    away_since = serializers.DateField(label="外出日期")
    place = serializers.CharField(label="外出地点", max_length=100, help_text="如 广东省深圳市南山区")
    contact = serializers.CharField(label="联系方式", max_length=60)
    abroad = serializers.BooleanField(label="出国（境）", required=False, default=False,
                                      help_text="出国（境）学习研究或定居")
    host_org = serializers.CharField(label="流入地党组织（系统内）", max_length=32, required=False, allow_blank=True,
                                     help_text="参加组织生活的党组织代码；不在本系统的填 host_org_name")
    host_org_name = serializers.CharField(label="流入地党组织（系统外）", max_length=100, required=False,
                                          allow_blank=True)
    note = serializers.CharField(label="说明", max_length=1000, required=False, allow_blank=True)


class StandingDateSerializer(_MemberWrite):
    on = serializers.DateField(label="日期", help_text="返回或恢复联系的日期")
    note = serializers.CharField(label="说明", max_length=1000, required=False, allow_blank=True)


class LostContactSerializer(_MemberWrite):
    lost_since = serializers.DateField(label="失联日期", help_text="最后一次联系上的次日")
    efforts = serializers.CharField(label="寻找情况", max_length=2000, help_text="何时、通过何种方式寻找，结果如何")


class StandingDecisionSerializer(_MemberWrite):
    meeting_on = serializers.DateField(label="支部党员大会日期")
    approver = serializers.CharField(label="批准党组织", max_length=32, help_text="党员所在党组织的上级党组织代码")
    approved_on = serializers.DateField(label="批准日期")
    document = serializers.CharField(label="决定文号", max_length=60)
    note = serializers.CharField(label="说明", max_length=1000, required=False, allow_blank=True)


class RemovalDecisionSerializer(StandingDecisionSerializer):
    removal_kind = serializers.ChoiceField(label="出党方式", choices=Standing._meta.get_field("removal_kind").choices,
                                           help_text="expelled 开除党籍、struck_off 除名、withdrew 退党、lapsed 自行脱党")


class DeathRecordSerializer(_MemberWrite):
    died_on = serializers.DateField(label="去世日期")
    note = serializers.CharField(label="说明", max_length=1000, required=False, allow_blank=True)

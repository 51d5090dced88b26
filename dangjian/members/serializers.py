"""API shapes of member records.

The business rules are members.checks.check_member, the same function the web form and the
roster import call; these serializers only type the input. 身份证号 goes in as `id_number`
(write-only) and comes out as `id_mask` (the last four digits); the full `id_number` and the
full `birth_date` are in the answer only for users with capability "see_id" over the member's
organization, the others get `birth_year` alone — as on the pages (core.idcard.birth_shown).
"""
import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dangjian.core import idcard
from dangjian.core.api import ChineseSerializerMixin, CodeOrLabelChoiceField, LabelField, field_errors
from dangjian.core.scoping import can
from dangjian.core.text import normalize_phone
from dangjian.core.versioning import VERSION_HELP
from dangjian.orgs import checks as org_checks
from dangjian.orgs.models import Organization
from dangjian.orgs.serializers import ScopedOrgCodeField

from .checks import check_member, id_number_clash, normalize_ethnicity
from .models import Category, Education, Gender, Member, Membership, Rank

RANK_LABELS = {str(label): value for value, label in Rank.choices}


def _today() -> dt.date:
    return timezone.localdate()


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "enum": list(Rank.values)},
            {"type": "string", "enum": list(RANK_LABELS)},
        ],
        "nullable": True,
        "description": "职级：数值（如 50）或名称（如 正科级）",
    }
)
class RankField(serializers.Field):
    """职级 by its value on the one scale (50) or by its name (正科级, 二级主任科员)."""

    default_error_messages = {"invalid": "职级不在可选范围内（填写职级名称，如“正科级”“二级主任科员”）"}

    def to_internal_value(self, data):
        if isinstance(data, str):
            text = data.strip()
            if not text and self.allow_null:
                return None
            if text in RANK_LABELS:
                return RANK_LABELS[text]
            if text.isdigit():
                data = int(text)
        if isinstance(data, int) and not isinstance(data, bool) and data in Rank.values:
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


class MemberSerializer(serializers.ModelSerializer):
    """A member as the API answers it."""

    gender_label = LabelField(source="get_gender_display", read_only=True)
    education_label = LabelField(source="get_education_display", read_only=True)
    category_label = LabelField(source="get_category_display", read_only=True)
    status_label = LabelField(source="get_status_display", read_only=True)
    rank_label = LabelField(source="get_rank_display", read_only=True, allow_null=True)
    org = serializers.CharField(source="org.code", read_only=True, help_text="所在党组织代码")
    org_id = serializers.IntegerField(read_only=True, help_text="所在党组织 id")
    org_name = serializers.CharField(source="org.name", read_only=True)
    id_mask = serializers.CharField(read_only=True, help_text="身份证号（遮蔽，只显示后四位，如 **************1234）")
    birth_year = serializers.IntegerField(source="birth_date.year", read_only=True, help_text="出生年份")
    # Like id_number: present only for users who may see the full number (it holds six of its digits).
    birth_date = serializers.DateField(
        required=False, help_text="出生日期；仅对有权查看完整身份证号的用户返回，否则只有 birth_year"
    )
    # Not read-only on purpose: this serializer only answers, and a read-only field would
    # be listed as always present, while it is absent for users who may not see it.
    id_number = serializers.CharField(
        required=False, help_text="完整身份证号；仅对有权查看的用户（所在组织范围内的 see_id 权限）返回，否则无此字段"
    )

    class Meta:
        model = Member
        fields = [
            "id", "name", "gender", "gender_label", "ethnicity", "birth_year", "birth_date", "id_mask", "id_number",
            "education", "education_label", "phone", "org", "org_id", "org_name", "category", "category_label",
            "joined_on", "confirmed_on", "workplace", "post", "rank", "rank_label", "is_leader", "is_mobile",
            "is_exempt", "is_party_staff", "status", "status_label", "version",
        ]
        read_only_fields = [f for f in fields if f not in ("id_number", "birth_date")]

    def to_representation(self, member):
        data = super().to_representation(member)
        request = self.context.get("request")
        if request is not None and can(request.user, "see_id", member.org.path):
            revealed = self.context.get("revealed")
            if revealed is not None:
                revealed.append(member)
        else:
            data.pop("id_number", None)
            data.pop("birth_date", None)
        return data


class MemberWriteSerializer(ChineseSerializerMixin, serializers.Serializer):
    """Create (all required fields) and PATCH (only what changes). A move to another
    organization is a transfer (POST …/transfer/), never a PATCH of `org`."""

    name = serializers.CharField(label="姓名", max_length=50)
    gender = CodeOrLabelChoiceField(label="性别", choices=Gender.choices, help_text="male/female 或 男/女")
    ethnicity = serializers.CharField(label="民族", max_length=20)
    birth_date = serializers.DateField(label="出生日期")
    id_number = serializers.CharField(label="身份证号", max_length=30, write_only=True, help_text="18位，含校验码")
    education = CodeOrLabelChoiceField(label="学历", choices=Education.choices, help_text="代码或中文名称")
    phone = serializers.CharField(label="手机号码", max_length=20)
    org = ScopedOrgCodeField(label="所在党组织", help_text="所在党组织代码（须在您的管理范围内）；只在新增时填写")
    category = CodeOrLabelChoiceField(label="人员类别", choices=Category.choices, help_text="full/probationary 或 正式党员/预备党员")
    joined_on = serializers.DateField(label="入党日期")
    confirmed_on = serializers.DateField(label="转正日期", required=False, allow_null=True, help_text="预备党员不填")
    workplace = serializers.CharField(label="工作单位", max_length=100)
    post = serializers.CharField(label="职务", max_length=60, required=False, allow_blank=True)
    rank = RankField(label="职级", required=False, allow_null=True)
    rank_label = RankField(label="职级名称", required=False, allow_null=True, help_text="可代替 rank 填写职级名称")
    is_leader = serializers.BooleanField(label="领导干部", required=False, help_text="过双重组织生活")
    is_mobile = serializers.BooleanField(label="流动党员", required=False,
                                         help_text="只在新增时填写；此后登记或结束流动通过 /api/standing/ 办理")
    is_exempt = serializers.BooleanField(label="免于硬性要求", required=False)
    is_party_staff = serializers.BooleanField(label="党务干部", required=False)
    status = CodeOrLabelChoiceField(
        label="状态", choices=Member.Status.choices, required=False, help_text="新增的党员总是在册；此后状态通过组织关系转接或 /api/standing/ 办理，修改时只能提交原值"
    )
    version = serializers.IntegerField(label="版本", required=False, min_value=1, write_only=True,
                                       help_text=VERSION_HELP)

    # The fields check_member looks at, apart from id_number.
    FACTS = (
        "name", "gender", "ethnicity", "birth_date", "education", "phone", "category", "joined_on",
        "confirmed_on", "workplace", "post",
    )

    def validate_id_number(self, value):
        try:
            number = idcard.validate(value)
        except idcard.IdNumberError as exc:
            raise serializers.ValidationError(str(exc)) from None
        # Unique over the whole roll; said plainly only within the user's scope.
        request = self.context.get("request")
        problem = id_number_clash(number, request.user if request is not None else None,
                                  self.instance.pk if self.instance is not None else None)
        if problem:
            raise serializers.ValidationError(problem)
        return number

    def validate_phone(self, value):
        return normalize_phone(value)

    def validate_ethnicity(self, value):
        return normalize_ethnicity(value)

    def validate_org(self, org):
        if self.instance is not None:
            raise serializers.ValidationError("调整所在党组织请办理组织关系转接（POST /api/members/{id}/transfer/）")
        if org.status != Organization.Status.ACTIVE:
            raise serializers.ValidationError(f"“{org.name}”已撤销，不能在其中新增党员")
        problem = org_checks.member_org_problem(org.kind, org.name)
        if problem:
            raise serializers.ValidationError(problem)
        return org

    STANDING_VIA = ("请通过组织关系转接（/api/transfers/）或党员状态变动（/api/standing/）办理，"
                    "留下日期和决定记录")

    def validate_status(self, value):
        if self.instance is None and value != Member.Status.ACTIVE:
            raise serializers.ValidationError("新增的党员状态应为在册")
        if self.instance is not None and value != self.instance.status:
            raise serializers.ValidationError(f"不能直接修改（现为“{self.instance.get_status_display()}”），"
                                              + self.STANDING_VIA)
        return value

    def validate_is_mobile(self, value):
        if self.instance is not None and value != self.instance.is_mobile:
            raise serializers.ValidationError("不能直接修改，登记或结束流动请通过 /api/standing/mobile/ 或 "
                                              "/api/standing/mobile-end/ 办理，留下外出地点、联系方式和日期")
        return value

    def validate(self, data):
        request = self.context.get("request")
        if (self.instance is not None and "birth_date" in data and "id_number" not in data and request is not None
                and not can(request.user, "see_id", self.instance.org.path)):
            # Checked against the kept number, a changed date would answer whether a guess is right.
            raise serializers.ValidationError({"birth_date": ["修改出生日期须同时填写完整的身份证号（出生日期以身份证号为准）"]})
        if "rank_label" in data:
            label_rank = data.pop("rank_label")
            if "rank" in data and data["rank"] != label_rank:
                raise serializers.ValidationError({"rank_label": ["职级名称与职级不一致，只填写其中一个即可"]})
            data["rank"] = label_rank
        facts = {f: getattr(self.instance, f) for f in self.FACTS} if self.instance is not None else {}
        facts.update({f: data[f] for f in self.FACTS if f in data})
        if "id_number" in data:
            facts["id_number"] = data["id_number"]
        elif self.instance is not None:
            # The kept number still has to agree with the birth date and gender being saved.
            facts["id_number"] = self.instance.id_number
        problems = check_member(facts, _today())
        if problems:
            raise field_errors(problems)
        return data


class TransferSerializer(ChineseSerializerMixin, serializers.Serializer):
    """组织关系转接: the open membership ends on `on` and the next one starts that day."""

    org = ScopedOrgCodeField(label="转入组织", help_text="转入组织代码（须在您的管理范围内）")
    on = serializers.DateField(label="转接日期", required=False, help_text="默认今天")
    reason = serializers.CharField(label="转接原因", max_length=100, required=False, help_text="默认“组织关系转接”")
    version = serializers.IntegerField(label="版本", required=False, min_value=1, write_only=True,
                                       help_text=VERSION_HELP)

    def validate_org(self, org):
        member = self.context["member"]
        if org.status != Organization.Status.ACTIVE:
            raise serializers.ValidationError(f"“{org.name}”已撤销，不能转入")
        if org.pk == member.org_id:
            raise serializers.ValidationError("转入组织与当前所在党组织相同")
        return org

    def validate_on(self, on):
        member = self.context["member"]
        if on > _today():
            raise serializers.ValidationError("转接日期不能晚于今天")
        started = (
            Membership.objects.filter(member=member, ended_on__isnull=True).values_list("started_on", flat=True).first()
        )
        if started and on < started:
            raise serializers.ValidationError(f"转接日期不能早于在当前组织的起始日期（{started:%Y-%m-%d}）")
        return on

    def validate_reason(self, reason):
        reason = reason.strip()
        if not reason:
            raise serializers.ValidationError("请填写转接原因")
        return reason


STATUS_FILTER_CHOICES = [*Member.Status.choices, ("all", "全部")]


class MemberFilterSerializer(ChineseSerializerMixin, serializers.Serializer):
    """Query parameters of the member list: the same filters as the web list."""

    q = serializers.CharField(
        label="关键词", required=False, allow_blank=True, max_length=50,
        help_text="姓名、拼音或首字母（zs）、身份证号后几位",
    )
    org = serializers.CharField(label="所在党组织代码", required=False, allow_blank=True, max_length=32, help_text="含全部下级组织")
    category = CodeOrLabelChoiceField(label="人员类别", choices=Category.choices, required=False)
    status = CodeOrLabelChoiceField(
        label="状态", choices=STATUS_FILTER_CHOICES, required=False, help_text="默认 active（在册）；all 为全部"
    )
    is_leader = serializers.BooleanField(
        label="领导干部", required=False, allow_null=True, default=None, help_text="true 只列领导干部"
    )

    def as_params(self) -> dict:
        """The validated values as members.queries.filter_members reads them."""
        d = self.validated_data
        return {
            "q": d.get("q") or "",
            "org": d.get("org") or "",
            "category": d.get("category") or "",
            "status": d.get("status") or "",
            "is_leader": "true" if d.get("is_leader") else "",
        }

"""API shapes of the organization tree. Orgs are referred to by `code` on the way in and
on the way out; codes given on input are looked up only among the orgs the user can see,
so an unknown code and one outside the user's scope get the same answer."""
import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dangjian.core.api import ChineseSerializerMixin, CodeOrLabelChoiceField, LabelField, field_errors
from dangjian.core.versioning import VERSION_HELP

from . import checks
from .models import CommitteeSeat, Organization, OrgKind, SeatRole

JOINT_BRANCH_LABEL = "联合党支部"


class ScopedOrgCodeField(serializers.SlugRelatedField):
    """An org named by its code, among those over which the requesting user holds
    `capability` (default "edit": the org is where something will be written)."""

    def __init__(self, capability: str = "edit", **kwargs):
        self.capability = capability
        kwargs.setdefault("slug_field", "code")
        kwargs.setdefault("queryset", Organization.objects.all())
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        qs = Organization.objects.all()
        return qs.visible_to(request.user, self.capability) if request is not None else qs.none()

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if "\x00" in data:
            # No code holds NUL, and PostgreSQL would refuse the look-up itself (a 500).
            self.fail("does_not_exist", slug_name=self.slug_field, value=data.replace("\x00", ""))
        return super().to_internal_value(data.strip())


class CurrentTermSerializer(serializers.Serializer):
    starts_on = serializers.DateField(help_text="本届开始日期")
    ends_on = serializers.DateField(help_text="本届届满日期")
    elected_on = serializers.DateField(allow_null=True, help_text="选举日期")
    version = serializers.IntegerField(read_only=True, help_text=VERSION_HELP)
    days_left = serializers.SerializerMethodField(help_text="距届满的天数（已到期为负数）")

    def get_days_left(self, term) -> int:
        return term.days_left(timezone.localdate())


class OrgSerializer(serializers.ModelSerializer):
    """An organization as the API answers it."""

    kind_label = serializers.CharField(read_only=True, help_text="组织类别（中文，含联合党支部）")
    status_label = LabelField(source="get_status_display", read_only=True)
    parent = serializers.CharField(
        source="parent.code", read_only=True, allow_null=True, default=None, help_text="上级组织代码；根组织为 null"
    )
    parent_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="上级组织 id")
    unit = serializers.CharField(source="unit.name", read_only=True, allow_null=True, default=None, help_text="所属单位")
    depth = serializers.IntegerField(read_only=True, help_text="层级，根组织为 1")
    current_term = serializers.SerializerMethodField(help_text="本届届次；未设置时为 null")
    member_count = serializers.IntegerField(read_only=True, help_text="本组织及全部下级组织的在册党员数")
    child_count = serializers.IntegerField(read_only=True, help_text="您可查看的正常状态下级组织数")

    class Meta:
        model = Organization
        fields = [
            "id", "code", "name", "kind", "kind_label", "is_joint", "parent", "parent_id", "unit", "depth",
            "established_on", "status", "status_label", "dissolved_on", "current_term",
            "member_count", "child_count", "version",
        ]
        read_only_fields = fields

    @extend_schema_field(CurrentTermSerializer(allow_null=True))
    def get_current_term(self, org):
        # Lists prefetch the current terms (`current_terms`); a single org may not have.
        terms = getattr(org, "current_terms", None)
        if terms is None:
            terms = list(org.terms.filter(is_current=True)[:1])
        if not terms:
            return None
        # One term serializer for the whole list: a new one per org built its fields again.
        if self._term_serializer is None:
            self._term_serializer = CurrentTermSerializer()
        return self._term_serializer.to_representation(terms[0])

    _term_serializer = None


def _today() -> dt.date:
    return timezone.localdate()


class OrgWriteSerializer(ChineseSerializerMixin, serializers.ModelSerializer):
    """Create (parent required) and PATCH. Status changes go through `dissolve`, terms
    through `term`; a new `parent` moves the org with its whole subtree."""

    parent = ScopedOrgCodeField(label="上级组织", required=True, help_text="上级组织代码；须在您的管理范围内")
    unit = serializers.CharField(
        label="所属单位", max_length=100, required=False, allow_blank=True, help_text="单位名称；不存在时自动登记"
    )
    kind = CodeOrLabelChoiceField(
        label="组织类别", choices=OrgKind.choices, help_text="代码或中文名称；“联合党支部”即党支部并设联合党支部标记"
    )
    version = serializers.IntegerField(label="版本", required=False, min_value=1, write_only=True,
                                       help_text=VERSION_HELP)

    class Meta:
        model = Organization
        fields = ["code", "name", "kind", "is_joint", "parent", "unit", "established_on", "version"]
        extra_kwargs = {"code": {"validators": []}}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = dict(data.items())
            if isinstance(data.get("kind"), str) and data["kind"].strip() == JOINT_BRANCH_LABEL:
                data.update(kind=OrgKind.BRANCH, is_joint=data.get("is_joint", True))
            parent = self.instance.parent if self.instance is not None else None
            if parent is not None and isinstance(data.get("parent"), str) and data["parent"].strip() == parent.code:
                # Naming the current parent is no move, even when that parent is outside
                # what the user may manage (a department admin's top org).
                del data["parent"]
        return super().to_internal_value(data)

    def validate_code(self, value):
        code = checks.normalize_code(value)
        problem = checks.code_problem(code)
        if problem:
            raise serializers.ValidationError(problem)
        # Unique over the whole tree, not only what the user can see.
        clash = Organization.objects.filter(code=code)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError("组织代码已被使用，请换一个")
        return code

    def validate_name(self, value):
        return value.strip()

    def validate(self, data):
        given = {k: data[k] for k in ("name", "established_on") if k in data}
        given["kind"] = data.get("kind", self.instance.kind if self.instance else None)
        given["is_joint"] = data.get("is_joint", self.instance.is_joint if self.instance else False)
        problems = checks.check_org(given, _today())
        if problems:
            raise field_errors(problems)
        return data


class DissolveSerializer(ChineseSerializerMixin, serializers.Serializer):
    on = serializers.DateField(label="撤销日期", required=False, help_text="默认今天")

    def validate_on(self, value):
        org = self.context.get("org")
        if value > _today():
            raise serializers.ValidationError("撤销日期不能晚于今天")
        if org is not None and org.established_on and value < org.established_on:
            raise serializers.ValidationError(f"撤销日期不能早于成立日期（{org.established_on:%Y-%m-%d}）")
        return value


class TermSerializer(ChineseSerializerMixin, serializers.Serializer):
    """The current term (届) to record; a different start date from the current one means
    a re-election (换届) and the old term is closed."""

    starts_on = serializers.DateField(label="本届开始日期")
    ends_on = serializers.DateField(label="本届届满日期")
    elected_on = serializers.DateField(label="选举日期", required=False, allow_null=True, help_text="默认同本届开始日期")
    version = serializers.IntegerField(label="版本", required=False, min_value=1, write_only=True,
                                       help_text="当前届次的版本（读取 current_term 时得到）；" + VERSION_HELP)

    def validate(self, data):
        org = self.context.get("org")
        problems = checks.check_term(org.kind if org is not None else None, data["starts_on"], data["ends_on"])
        if problems:
            raise serializers.ValidationError({field: [message] for field, message in problems})
        return data


class SeatHolderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SeatSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=SeatRole.choices, read_only=True)
    role_label = LabelField(source="get_role_display", read_only=True)
    holder = SeatHolderSerializer(read_only=True, allow_null=True, help_text="任职人；空缺时为 null")
    vacant_days = serializers.SerializerMethodField(help_text="空缺天数；有任职人时为 null")

    class Meta:
        model = CommitteeSeat
        fields = ["id", "role", "role_label", "holder", "held_since", "vacant_since", "vacant_days", "is_active",
                  "version"]
        read_only_fields = fields

    def get_vacant_days(self, seat) -> int | None:
        return seat.vacant_days(_today())


STATUS_FILTER_CHOICES = [*Organization.Status.choices, ("all", "全部")]


class OrgFilterSerializer(ChineseSerializerMixin, serializers.Serializer):
    """Query parameters of the org list; bad values answer 400 instead of an empty list."""

    q = serializers.CharField(label="关键词", required=False, allow_blank=True, max_length=100, help_text="名称或代码的一部分，或名称的拼音、拼音首字母（如 czj）")
    code = serializers.CharField(label="组织代码", required=False, allow_blank=True, max_length=32)
    kind = CodeOrLabelChoiceField(label="组织类别", choices=OrgKind.choices, required=False)
    parent = serializers.CharField(label="上级组织代码", required=False, allow_blank=True, max_length=32, help_text="直接下级")
    under = serializers.CharField(
        label="所属组织代码", required=False, allow_blank=True, max_length=32, help_text="该组织及其全部下级"
    )
    status = CodeOrLabelChoiceField(
        label="状态", choices=STATUS_FILTER_CHOICES, required=False, help_text="默认 active；all 为全部"
    )

"""API shapes of the organization tree. Reads give id and code of every referenced org;
writes name orgs by `code`, looked up only among the orgs the user can see."""
from rest_framework import serializers

from dangjian.core.api import ChineseSerializerMixin

from .models import CommitteeSeat, Organization, OrgKind, Term


class OrgRefSerializer(serializers.ModelSerializer):
    """A reference to an organization in a read: {id, code, name}."""

    class Meta:
        model = Organization
        fields = ["id", "code", "name"]
        read_only_fields = fields


class ScopedOrgCodeField(serializers.SlugRelatedField):
    """An org named by its code, among those visible to the requesting user: an unknown
    code and one outside the user's scope get the same answer, so nothing leaks."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "code")
        kwargs.setdefault("queryset", Organization.objects.all())
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        qs = Organization.objects.all()
        return qs.visible_to(request.user, "view") if request is not None else qs.none()

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data.strip())


class OrgSerializer(serializers.ModelSerializer):
    parent = OrgRefSerializer(read_only=True, allow_null=True)
    kind_label = serializers.CharField(read_only=True, help_text="组织类别（中文，含联合党支部）")
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    unit = serializers.CharField(source="unit.name", read_only=True, allow_null=True, default=None)
    depth = serializers.IntegerField(read_only=True, help_text="层级，根组织为 1")

    class Meta:
        model = Organization
        fields = [
            "id", "code", "name", "kind", "kind_label", "is_joint", "parent", "unit", "depth",
            "established_on", "status", "status_label", "dissolved_on",
        ]
        read_only_fields = fields


class OrgWriteSerializer(ChineseSerializerMixin, serializers.ModelSerializer):
    """Create (parent required) and update. Status changes go through dissolve, not here."""

    parent = ScopedOrgCodeField(label="上级组织", required=True, help_text="上级组织代码")
    unit = serializers.CharField(label="所属单位", max_length=100, required=False, allow_blank=True)
    kind = serializers.ChoiceField(label="组织类别", choices=OrgKind.choices)

    class Meta:
        model = Organization
        fields = ["code", "name", "kind", "is_joint", "parent", "unit", "established_on"]
        extra_kwargs = {"code": {"validators": []}}

    def validate_code(self, value):
        code = value.strip()
        if not code:
            raise serializers.ValidationError("请填写组织代码")
        # Unique over the whole tree, not only what the user can see.
        clash = Organization.objects.filter(code=code)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError("组织代码已被使用，请换一个")
        return code

    def validate_name(self, value):
        name = value.strip()
        if not name:
            raise serializers.ValidationError("请填写组织名称")
        return name

    def validate(self, data):
        kind = data.get("kind", self.instance.kind if self.instance else None)
        is_joint = data.get("is_joint", self.instance.is_joint if self.instance else False)
        if is_joint and kind != OrgKind.BRANCH:
            raise serializers.ValidationError({"is_joint": ["只有党支部可以设为联合党支部"]})
        return data


class DissolveSerializer(ChineseSerializerMixin, serializers.Serializer):
    date = serializers.DateField(label="撤销日期")


class TermSerializer(ChineseSerializerMixin, serializers.ModelSerializer):
    class Meta:
        model = Term
        fields = ["id", "elected_on", "starts_on", "ends_on", "is_current"]
        read_only_fields = ["id", "is_current"]

    def validate(self, data):
        if data["ends_on"] <= data["starts_on"]:
            raise serializers.ValidationError({"ends_on": ["本届届满日期应晚于本届开始日期"]})
        return data


class SeatSerializer(serializers.ModelSerializer):
    role_label = serializers.CharField(source="get_role_display", read_only=True)
    holder = serializers.SerializerMethodField()

    class Meta:
        model = CommitteeSeat
        fields = ["id", "role", "role_label", "holder", "held_since", "vacant_since", "is_active"]
        read_only_fields = fields

    def get_holder(self, seat) -> dict | None:
        if seat.holder_id is None:
            return None
        return {"id": seat.holder_id, "name": seat.holder.name}

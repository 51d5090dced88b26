from django import forms
from django.utils import timezone

from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField

from . import checks
from .fields import OrgField
from .models import Organization, OrgKind, SeatRole


class OrgForm(ChineseFormMixin, forms.Form):
    code = forms.CharField(label="组织代码", max_length=32)
    name = forms.CharField(label="组织名称", max_length=100)
    kind = forms.ChoiceField(label="组织类别", choices=OrgKind.choices)
    is_joint = forms.BooleanField(label="联合党支部", required=False)
    unit = forms.CharField(label="所属单位", max_length=100, required=False)
    established_on = forms.DateField(label="成立日期", required=False, widget=DateInput())

    def __init__(self, *args, instance: Organization | None = None, **kwargs):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "code": instance.code,
                "name": instance.name,
                "kind": instance.kind,
                "is_joint": instance.is_joint,
                "unit": instance.unit.name if instance.unit else "",
                "established_on": instance.established_on,
                "version": instance.version,
            }
        super().__init__(*args, **kwargs)

    def clean_code(self):
        code = checks.normalize_code(self.cleaned_data["code"])
        problem = checks.code_problem(code)
        if problem:
            raise forms.ValidationError(problem)
        # Uniqueness holds over the whole tree, not only over what the user can see.
        clash = Organization.objects.filter(code=code)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("组织代码已被使用，请换一个")
        return code

    def clean(self):
        data = super().clean()
        given = {k: data[k] for k in ("name", "kind", "is_joint", "established_on") if k in data}
        for field, message in checks.check_org(given, timezone.localdate()):
            if field not in self.errors:
                self.add_error(field, message)
        return data


class EditOrgForm(OrgForm):
    version = VersionField()
    parent_code = OrgField(
        label="上级组织", required=False, to_field_name="code", capability="edit",
        help_text="调整隶属关系时输入名称、代码或拼音首字母后选择；须为您有权管理的组织",
    )

    def __init__(self, *args, editable_orgs=None, **kwargs):
        super().__init__(*args, **kwargs)
        orgs = editable_orgs if editable_orgs is not None else Organization.objects.none()
        parent_id = self.instance.parent_id if self.instance is not None else None
        if parent_id is not None:
            # Keeping the current parent is no move, even when it lies outside the user's edit scope.
            orgs = orgs | Organization.objects.filter(pk=parent_id)
            self.initial.setdefault("parent_code", self.instance.parent.code)
        self.fields["parent_code"].queryset = orgs

    def clean_parent_code(self):
        parent = self.cleaned_data.get("parent_code")
        if parent is None and self.instance is not None and self.instance.parent_id is not None:
            raise forms.ValidationError("请选择上级组织")
        return parent


class DissolveForm(ChineseFormMixin, forms.Form):
    on = forms.DateField(label="撤销日期", widget=DateInput())
    version = VersionField()


class TermForm(ChineseFormMixin, forms.Form):
    version = VersionField()  # the current term's
    elected_on = forms.DateField(label="选举日期", required=False, widget=DateInput())
    starts_on = forms.DateField(label="本届开始日期", widget=DateInput())
    ends_on = forms.DateField(label="本届届满日期", widget=DateInput())

    def __init__(self, *args, kind: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        rule = checks.term_rule(kind)
        if rule is not None:
            self.fields["ends_on"].help_text = (f"{OrgKind(kind).label}每届任期 {rule['years']} 年"
                                                + (f"；经批准延期的一般不超过 {rule['change']} 年" if rule["change"] else ""))

    def clean(self):
        data = super().clean()
        for field, message in checks.check_term(self.kind, data.get("starts_on"), data.get("ends_on")):
            self.add_error(field, message)
        return data


def not_in_future(form, name: str):
    value = form.cleaned_data[name]
    if value > timezone.localdate():
        raise forms.ValidationError(f"{form.fields[name].label}不能晚于今天")
    return value


class FillSeatForm(ChineseFormMixin, forms.Form):
    role = forms.ChoiceField(label="职务", choices=SeatRole.choices)
    member = forms.ModelChoiceField(label="任职人", queryset=None)  # the view gives the org's members
    since = forms.DateField(label="任职日期", widget=DateInput())

    def __init__(self, *args, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
        self.fields["member"].empty_label = "请选择"

    def clean_since(self):
        return not_in_future(self, "since")


class VacateSeatForm(ChineseFormMixin, forms.Form):
    version = VersionField()
    since = forms.DateField(label="空缺起始日期", widget=DateInput())

    def clean_since(self):
        return not_in_future(self, "since")

"""Web forms for member records. The business rules are members.checks.check_member, the
same function the API and the roster import call; the form only types the input."""
import datetime as dt

from django import forms
from django.utils import timezone

from dangjian.core import idcard
from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField
from dangjian.core.scoping import can
from dangjian.core.text import normalize_phone
from dangjian.orgs import checks as org_checks
from dangjian.orgs.fields import OrgField
from dangjian.orgs.models import Organization

from .checks import check_member, id_number_clash, normalize_ethnicity
from .models import Category, Education, Gender, Member, Rank

BLANK = [("", "请选择")]


class MemberForm(ChineseFormMixin, forms.Form):
    name = forms.CharField(label="姓名", max_length=50)
    gender = forms.ChoiceField(label="性别", choices=BLANK + Gender.choices)
    ethnicity = forms.CharField(label="民族", max_length=20, initial="汉族")
    birth_date = forms.DateField(label="出生日期", widget=DateInput())
    id_number = forms.CharField(label="身份证号", max_length=30)
    education = forms.ChoiceField(label="学历", choices=BLANK + Education.choices)
    phone = forms.CharField(label="手机号码", max_length=20)
    org = OrgField(label="所在党组织", capability="edit")  # the view gives the orgs the user may edit
    category = forms.ChoiceField(label="人员类别", choices=BLANK + Category.choices)
    joined_on = forms.DateField(label="入党日期", widget=DateInput())
    confirmed_on = forms.DateField(label="转正日期", required=False, widget=DateInput(), help_text="预备党员不填")
    workplace = forms.CharField(label="工作单位", max_length=100)
    post = forms.CharField(label="职务", max_length=60, required=False)
    rank = forms.TypedChoiceField(
        label="职级", choices=[("", "（无）")] + Rank.choices, coerce=int, empty_value=None, required=False
    )
    status = forms.ChoiceField(label="状态", choices=Member.Status.choices)
    is_leader = forms.BooleanField(label="领导干部", required=False, help_text="过双重组织生活")
    is_mobile = forms.BooleanField(label="流动党员", required=False)
    is_exempt = forms.BooleanField(
        label="免于硬性要求", required=False, help_text="年老体弱、行动不便等，组织生活不作硬性要求"
    )
    is_party_staff = forms.BooleanField(label="党务干部", required=False)
    version = VersionField()

    PLAIN_FIELDS = (
        "name", "gender", "ethnicity", "birth_date", "education", "phone", "category", "joined_on",
        "confirmed_on", "workplace", "post", "rank", "status", "is_leader", "is_mobile", "is_exempt",
        "is_party_staff",
    )

    def __init__(self, *args, instance: Member | None = None, orgs=None, today: dt.date | None = None, user=None,
                 **kwargs):
        self.instance = instance
        self.user = user
        self.today = today or timezone.localdate()
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {f: getattr(instance, f) for f in self.PLAIN_FIELDS}
            kwargs["initial"]["version"] = instance.version
        super().__init__(*args, **kwargs)
        if instance is None:
            # A new member is always on the roll; leaving it is an edit (or a transfer).
            del self.fields["status"]
            self.fields["org"].queryset = orgs if orgs is not None else Organization.objects.none()
        else:
            # Moving to another organization is a transfer, and the standing (状态, 流动党员) a
            # dated decision on the member's page: neither is edited here.
            del self.fields["org"]
            del self.fields["status"]
            del self.fields["is_mobile"]
            number = self.fields["id_number"]
            number.required = False
            number.help_text = f"当前：{instance.id_mask}。不修改请留空"
            if user is not None and not can(user, "see_id", instance.org.path):
                # Without see_id the birth date is not shown, nor guessable through the form's
                # check against the kept number: it follows a newly entered number instead.
                del self.fields["birth_date"]
                number.help_text += "；填写新号码时，出生日期按新号码更新"
        self.fields["id_number"].widget.attrs.update(autocomplete="off", spellcheck="false")

    def clean_id_number(self):
        raw = (self.cleaned_data.get("id_number") or "").strip()
        if not raw:
            return None
        try:
            value = idcard.validate(raw)
        except idcard.IdNumberError as exc:
            raise forms.ValidationError(str(exc)) from None
        # Unique over the whole roll; said plainly only within the user's scope.
        problem = id_number_clash(value, self.user, self.instance.pk if self.instance is not None else None)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_org(self):
        org = self.cleaned_data["org"]
        problem = org_checks.member_org_problem(org.kind, org.name)
        if problem:
            raise forms.ValidationError(problem)
        return org

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def clean_ethnicity(self):
        return normalize_ethnicity(self.cleaned_data["ethnicity"])

    def clean(self):
        data = super().clean()
        facts = {f: data.get(f) for f in self.PLAIN_FIELDS}
        if "birth_date" not in self.fields:
            facts["birth_date"] = self._birth_from_number(data.get("id_number"))
        for f in ("gender", "education", "category"):
            facts[f] = facts[f] or None
        number = data.get("id_number")
        if number is None and self.instance is not None and "id_number" not in self.errors:
            # Kept number: still checked against the birth date and gender being saved.
            number = self.instance.id_number
        facts["id_number"] = number
        for field, message in check_member(facts, self.today):
            # A field that did not even parse already carries its own message.
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
            elif field not in self.fields:
                self.add_error(None, message)
        return data

    def _birth_from_number(self, number):
        if number:
            try:
                return idcard.birth_date(number)
            except ValueError:
                pass
        return self.instance.birth_date

    def member_fields(self) -> dict:
        """Keyword arguments for members.services.create_member / update_member."""
        d = self.cleaned_data
        fields = {f: d[f] for f in self.PLAIN_FIELDS if f in self.fields}
        if d.get("id_number"):
            fields["id_number"] = d["id_number"]
            if "birth_date" not in self.fields:
                fields["birth_date"] = self._birth_from_number(d["id_number"])
        if "org" in self.fields:
            fields["org"] = d["org"]
        return fields


class TransferForm(ChineseFormMixin, forms.Form):
    to_code = OrgField(label="转入组织", to_field_name="code", capability="edit",
                       help_text="输入组织名称、代码或拼音首字母后从列表中选择；须为您有权管理的党组织")
    on = forms.DateField(label="转接日期", widget=DateInput())
    reason = forms.CharField(label="转接原因", max_length=100, initial="组织关系转接")
    version = VersionField()

    def __init__(self, *args, member: Member, editable_orgs, today: dt.date | None = None, **kwargs):
        self.member = member
        self.editable_orgs = editable_orgs
        self.today = today or timezone.localdate()
        super().__init__(*args, **kwargs)
        # Dissolved orgs stay in the field's queryset so the form can say why they are refused.
        self.fields["to_code"].queryset = editable_orgs

    def clean_to_code(self):
        org = self.cleaned_data["to_code"]
        if org.status != Organization.Status.ACTIVE:
            raise forms.ValidationError(f"“{org.name}”已撤销，不能转入")
        if org.pk == self.member.org_id:
            raise forms.ValidationError("转入组织与当前所在党组织相同")
        return org

    def clean_on(self):
        on = self.cleaned_data["on"]
        if on > self.today:
            raise forms.ValidationError("转接日期不能晚于今天")
        return on

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("请填写转接原因")
        return reason

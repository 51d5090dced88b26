from django import forms

from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField
from dangjian.members.models import Member
from dangjian.orgs.fields import OrgAutocomplete, OrgField
from dangjian.orgs.models import Organization

from .checks import ISSUER_KINDS
from .models import Honour, Recipient


class DecisionForm(ChineseFormMixin, forms.Form):
    issuer = OrgField(label="发文党组织", capability="edit", kinds=ISSUER_KINDS, to_field_name="code",
                      help_text="机关工委，或在本单位范围内表彰的单位党组织")
    number = forms.CharField(label="文号", max_length=60, help_text="如 市直机关工委〔2026〕12号")
    decided_on = forms.DateField(label="成文日期", widget=DateInput())
    title = forms.CharField(label="标题", max_length=120)
    year = forms.IntegerField(label="表彰年度", min_value=2000, max_value=2100)
    version = VersionField()

    def __init__(self, *args, user, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["issuer"].queryset = Organization.objects.visible_to(user, "edit").active()
        if editing:
            del self.fields["issuer"]


class CommendationForm(ChineseFormMixin, forms.Form):
    """One honour by free choice: an organization, or a member found by name in an organization."""

    honour = forms.ModelChoiceField(label="荣誉称号", queryset=Honour.objects.all(), empty_label="请选择")
    org = OrgField(label="党组织（个人表彰填党员所在党组织）", capability="edit", to_field_name="code",
                   widget=OrgAutocomplete(attrs={"class": "form-control"}))
    member_name = forms.CharField(label="党员姓名（表彰个人时填写）", max_length=60, required=False,
                                  help_text="同名时在姓名后加空格和身份证号后四位，如 王芳 1234")

    def __init__(self, *args, user, decision, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["org"].queryset = (Organization.objects.visible_to(user, "edit")
                                       .filter(path__startswith=decision.issuer.path))

    def clean(self):
        data = super().clean()
        honour, org, name = data.get("honour"), data.get("org"), (data.get("member_name") or "").strip()
        data["member"] = None
        if honour is None or org is None:
            return data
        if honour.recipient == Recipient.ORG:
            if name:
                self.add_error("member_name", f"“{honour.name}”表彰党组织，不能授予个人（{name}）")
            return data
        if not name:
            self.add_error("member_name", f"“{honour.name}”表彰党员个人，请填写党员姓名")
            return data
        parts = name.split()
        found = (Member.objects.visible_to(self.user, "edit").active().filter(org=org, name=parts[0])
                 .select_related("org"))
        if len(parts) > 1:
            found = found.filter(id_mask__endswith=parts[-1])
        found = list(found[:2])
        if not found:
            self.add_error("member_name", f"“{org.name}”没有名为“{name}”的在册党员")
        elif len(found) > 1:
            self.add_error("member_name", f"“{org.name}”有不止一名党员叫“{parts[0]}”，请在姓名后加空格和身份证号后四位")
        else:
            data["member"] = found[0]
        return data


class HonourForm(ChineseFormMixin, forms.Form):
    name = forms.CharField(label="荣誉称号", max_length=60)
    recipient = forms.ChoiceField(label="表彰对象", choices=Recipient.choices)

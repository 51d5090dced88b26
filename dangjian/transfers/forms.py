from django import forms

from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField
from dangjian.orgs.fields import OrgField
from dangjian.orgs.models import Organization

from . import checks
from .models import Standing

VALID_HELP = "不填按 {months} 个月计（{source}）"
CODE_HELP = "系统内任一党组织：输入名称查找，或直接填写接收方告知的组织代码"


def _valid_days():
    r = checks.rules()
    return forms.IntegerField(label="有效期（天）", required=False, min_value=1, max_value=checks.MAX_VALID_DAYS,
                              help_text=VALID_HELP.format(months=r.letter_valid_months,
                                                          source="党员教育管理工作条例"))


class IssueForm(ChineseFormMixin, forms.Form):
    """开具介绍信 to an organization of the tree."""

    to_org = OrgField(label="接收党组织", to_field_name="code", capability="view", help_text=CODE_HELP)
    letter_number = forms.CharField(label="介绍信编号", max_length=40)
    issued_on = forms.DateField(label="开具日期", widget=DateInput())
    valid_days = _valid_days()
    reason = forms.CharField(label="转接原因", max_length=200, required=False, help_text="如 工作调动")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any organization of the tree (dissolved ones too, so the service says why it refuses).
        self.fields["to_org"].queryset = Organization.objects.all()


class OutForm(ChineseFormMixin, forms.Form):
    """开具介绍信 to an organization outside the platform."""

    outside_org = forms.CharField(label="接收党组织名称", max_length=100, help_text="介绍信抬头所写的党组织全称")
    outside_region = forms.CharField(label="所在地区", max_length=60, help_text="如 江苏省南京市")
    letter_number = forms.CharField(label="介绍信编号", max_length=40)
    issued_on = forms.DateField(label="开具日期", widget=DateInput())
    valid_days = _valid_days()
    reason = forms.CharField(label="转接原因", max_length=200, required=False)


class DecideForm(ChineseFormMixin, forms.Form):
    """接收, 撤回, 登记回执: the date, and the version of the letter as shown."""

    on = forms.DateField(label="日期", widget=DateInput())
    version = VersionField()


class ReturnForm(DecideForm):
    reason = forms.CharField(label="退回原因", max_length=200)


class ArriveLetterForm(ChineseFormMixin, forms.Form):
    """The letter a member arriving from outside the platform brings."""

    outside_org = forms.CharField(label="原所在党组织", max_length=100)
    outside_region = forms.CharField(label="所在地区", max_length=60)
    letter_number = forms.CharField(label="介绍信编号", max_length=40)
    issued_on = forms.DateField(label="开具日期", widget=DateInput())
    valid_until = forms.DateField(label="有效期至", required=False, widget=DateInput(),
                                  help_text="按介绍信填写；不填按开具日期起算的规定期限")
    arrived_on = forms.DateField(label="报到日期", widget=DateInput())


class BulkForm(ChineseFormMixin, forms.Form):
    from_org = OrgField(label="转出党组织", to_field_name="code", capability="edit",
                        help_text="该组织全部在册党员一并转接")
    to_org = OrgField(label="接收党组织", to_field_name="code", capability="edit")
    moved_on = forms.DateField(label="转接日期", widget=DateInput())
    reason = forms.CharField(label="转接原因", max_length=200, help_text="如 机构改革，处室合并")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        orgs = Organization.objects.visible_to(user, "edit")
        self.fields["from_org"].queryset = orgs
        self.fields["to_org"].queryset = orgs


ACTIONS = {
    "mobile": "登记为流动党员",
    "mobile_end": "流动结束",
    "lost": "登记失联",
    "found": "恢复联系",
    "suspend": "停止党籍",
    "restore": "恢复党籍",
    "death": "登记去世",
    "removal": "登记出党",
}


def actions_for(member, history=None) -> list[str]:
    """The decisions that can be recorded for the member as they stand now."""
    status = member.status
    if status == "active":
        open_lost = history is not None and any(s.kind == Standing.Kind.LOST and s.closed_on is None for s in history)
        out = ["mobile_end" if member.is_mobile else "mobile"]
        out += ["found", "suspend"] if open_lost else ["lost"]
        return out + ["death", "removal"]
    if status == "suspended":
        return ["restore", "death", "removal"]
    return []


class _StandingForm(ChineseFormMixin, forms.Form):
    version = VersionField()


class MobileForm(_StandingForm):
    away_since = forms.DateField(label="外出日期", widget=DateInput())
    place = forms.CharField(label="外出地点", max_length=100, help_text="如 广东省深圳市南山区")
    contact = forms.CharField(label="联系方式", max_length=60)
    abroad = forms.BooleanField(label="出国（境）", required=False, help_text="出国（境）学习研究或定居")
    host_org = OrgField(label="流入地党组织（系统内）", to_field_name="code", capability="view", required=False,
                        help_text="参加组织生活的党组织；不在本系统的填下一项")
    host_org_name = forms.CharField(label="流入地党组织（系统外）", max_length=100, required=False)
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host_org"].queryset = Organization.objects.all()


class OnForm(_StandingForm):
    on = forms.DateField(label="日期", widget=DateInput())
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class LostForm(_StandingForm):
    lost_since = forms.DateField(label="失联日期", widget=DateInput(), help_text="最后一次联系上的次日")
    efforts = forms.CharField(label="寻找情况", widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="何时、通过何种方式寻找，结果如何")


class DecisionForm(_StandingForm):
    meeting_on = forms.DateField(label="支部党员大会日期", widget=DateInput())
    approver = OrgField(label="批准党组织", to_field_name="code", capability="view",
                        help_text="党员所在党组织的上级党组织")
    approved_on = forms.DateField(label="批准日期", widget=DateInput())
    document = forms.CharField(label="决定文号", max_length=60)
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, member, **kwargs):
        super().__init__(*args, **kwargs)
        # The member's higher organizations, whoever may see them.
        ancestors = [member.org.path[:i] for i in range(9, len(member.org.path), 9)]
        self.fields["approver"].queryset = Organization.objects.filter(path__in=ancestors)


class RemovalForm(DecisionForm):
    removal_kind = forms.ChoiceField(label="出党方式", choices=[("", "请选择")] + [
        ("expelled", "开除党籍"), ("struck_off", "除名"), ("withdrew", "退党"), ("lapsed", "自行脱党")])

    field_order = ["removal_kind"]


class DeathForm(_StandingForm):
    died_on = forms.DateField(label="去世日期", widget=DateInput())
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))


STANDING_FORMS = {
    "mobile": MobileForm, "mobile_end": OnForm, "lost": LostForm, "found": OnForm, "suspend": DecisionForm,
    "restore": DecisionForm, "death": DeathForm, "removal": RemovalForm,
}

import re

from django import forms
from django.db.models import Q

from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField
from dangjian.core.scoping import scope_of
from dangjian.members.models import Member, Membership
from dangjian.orgs.fields import OrgField
from dangjian.orgs.models import Organization
from dangjian.rectification.models import Item

from .checks import TEXT_MAX
from .models import Channel, VisitKind
from .services import addressable

NAME_SPLIT = re.compile(r"[\s,，、;；]+")


class VisitForm(ChineseFormMixin, forms.Form):
    org = OrgField(label="组织走访的党组织", capability="edit", to_field_name="code")
    visited_on = forms.DateField(label="走访日期", widget=DateInput())
    kind = forms.ChoiceField(label="走访类型", choices=VisitKind.choices)
    place = forms.CharField(label="走访地点", max_length=100, help_text="如 XX社区、XX公司、XX村")
    households = forms.IntegerField(label="走访户数", min_value=0, max_value=100_000, initial=0,
                                    widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    people = forms.IntegerField(label="走访人数", min_value=0, max_value=100_000, initial=0,
                                help_text="走访时面对面交流的群众、企业或服务对象人数",
                                widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    participant_names = forms.CharField(
        label="参加党员", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="填写姓名，用空格、逗号或顿号分隔；同名党员在姓名后加“#”和身份证号后四位，如 王芳#1234")
    issues = forms.CharField(label="群众反映的问题", required=False, max_length=50 * (TEXT_MAX + 1),
                             widget=forms.Textarea(attrs={"rows": 4}),
                             help_text="每行一条；每条登记为一件“走访收集”的意见建议，限期答复")
    note = forms.CharField(label="走访情况", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    version = VersionField()

    def __init__(self, *args, user, visit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.visit = user, visit
        self.fields["org"].queryset = Organization.objects.visible_to(user, "edit").active()
        if visit is not None:
            del self.fields["org"]
            self.fields["issues"].label = "新增群众反映的问题"
            self.fields["issues"].help_text = "每行一条；已登记的问题不在此列出，新增的每条登记为一件意见建议"

    def clean(self):
        data = super().clean()
        org = self.visit.org if self.visit is not None else data.get("org")
        day, raw = data.get("visited_on"), data.get("participant_names") or ""
        data["participants"] = []
        if org is None or day is None or not raw.strip():
            return data
        names = [n for n in NAME_SPLIT.split(raw.strip()) if n]
        wanted = {n.partition("#")[0] for n in names}
        # Members of the subtree on that day with those names: one query.
        rows = (Member.objects.filter(name__in=wanted).filter(
            pk__in=Membership.objects.filter(org__path__startswith=org.path, started_on__lte=day)
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=day)).values("member_id"))
            .order_by("name", "id"))
        by_name: dict[str, list[Member]] = {}
        for m in rows:
            by_name.setdefault(m.name, []).append(m)
        found, problems = [], []
        for raw_name in names:
            name, _, tail = raw_name.partition("#")
            hits = by_name.get(name, [])
            if tail:
                hits = [m for m in hits if m.id_mask.endswith(tail)]
            if not hits:
                problems.append(f"“{raw_name}”在 {day:%Y-%m-%d} 不是“{org.name}”及其下级组织的党员")
            elif len(hits) > 1:
                problems.append(f"“{org.name}”有不止一名党员叫“{name}”，请在姓名后加“#”和身份证号后四位")
            else:
                found.append(hits[0])
        for p in problems[:3]:
            self.add_error("participant_names", p)
        data["participants"] = found
        return data


class FeedbackForm(ChineseFormMixin, forms.Form):
    """党员提出 or 投诉建议, by any logged-in user."""

    channel = forms.ChoiceField(label="类别", choices=[(Channel.COMPLAINT, "投诉建议"), (Channel.MEMBER, "党员意见建议")],
                                widget=forms.RadioSelect)
    org = forms.ModelChoiceField(label="涉及的党组织", queryset=Organization.objects.none(), empty_label="请选择",
                                 help_text="您所在的党组织、上级党组织，或机关工委")
    text = forms.CharField(label="内容", max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 6}),
                           help_text=f"写明具体事项、时间、地点和您的建议，5 到 {TEXT_MAX} 个字")
    anonymous = forms.BooleanField(label="匿名提出（仅投诉建议）", required=False,
                                   help_text="匿名时不记录您的任何信息；提交后会给您一个查询码，凭码查看答复，请妥善保存")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        scope = scope_of(user)
        roots = Q(path__in=scope.prefixes("view"))
        self.fields["org"].queryset = (addressable(user) | Organization.objects.active().filter(roots)).distinct()
        if scope.member_id is None:
            self.fields["channel"].choices = [(Channel.COMPLAINT, "投诉建议")]
        self.fields["channel"].initial = Channel.COMPLAINT
        self.fields["channel"].widget.attrs["class"] = "form-check-input"


class AnswerForm(ChineseFormMixin, forms.Form):
    answer = forms.CharField(label="答复内容", max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 5}))
    version = VersionField()


class ItemForm(ChineseFormMixin, forms.Form):
    """转为整改事项: the list, the responsible organization and the time allowed."""

    list = forms.ChoiceField(label="清单", choices=Item.List.choices, initial=Item.List.PROBLEM)
    title = forms.CharField(label="事项", max_length=200, required=False, help_text="不填则取意见建议的第一句")
    org = OrgField(label="责任单位", capability="edit", to_field_name="code", help_text="不填则为涉及的党组织",
                   required=False)
    workdays = forms.IntegerField(label="整改时限（工作日）", min_value=1, max_value=250, initial=20)
    description = forms.CharField(label="具体内容及整改要求", required=False, max_length=10_000,
                                  widget=forms.Textarea(attrs={"rows": 3}), help_text="不填则为意见建议的内容")
    version = VersionField()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = Organization.objects.visible_to(user, "edit").active()


class CodeForm(ChineseFormMixin, forms.Form):
    code = forms.CharField(label="查询码", max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"}))

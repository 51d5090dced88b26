import re

from django import forms
from django.db.models import Q

from dangjian.accounts.models import User
from dangjian.assessment.models import Scheme
from dangjian.core import people
from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField
from dangjian.core.scoping import scope_of
from dangjian.orgs.fields import OrgField
from dangjian.orgs.models import Organization

from .checks import ISSUER_KINDS, MAX_TARGETS
from .models import EvaluatorGroup, Kind
from .services import DRAW_KINDS, MAX_CODES_PER_ISSUE

TEAM_ROLES = ("inspector", "wc_admin", "unit_admin")


class TeamChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return people.display_name(obj)


def team_candidates(user):
    """Accounts that inspect or keep records in the user's view scope (one query)."""
    q = Q(pk__in=[])
    for prefix in scope_of(user).prefixes("view"):
        q |= Q(roles__org__path__startswith=prefix)
    return (User.objects.filter(q, is_active=True, roles__role__in=TEAM_ROLES).select_related("member")
            .distinct().order_by("id"))


def parse_codes(raw: str, user, field_label: str = "督查对象") -> list[Organization]:
    """Organizations by code, separated by spaces, commas or lines, each in the user's view scope."""
    codes = [c for c in re.split(r"[\s,，、;；]+", raw or "") if c]
    if len(codes) > MAX_TARGETS:
        raise forms.ValidationError(f"{field_label}：一次最多 {MAX_TARGETS} 个")
    found = {o.code: o for o in Organization.objects.visible_to(user).filter(code__in=codes)}
    missing = [c for c in codes if c not in found]
    if missing:
        raise forms.ValidationError(f"{field_label}：找不到组织代码“{'、'.join(missing[:5])[:60]}”，或不在您的权限范围内")
    seen, out = set(), []
    for c in codes:
        if c not in seen:
            seen.add(c)
            out.append(found[c])
    return out


class PlanForm(ChineseFormMixin, forms.Form):
    title = forms.CharField(label="名称", max_length=120, help_text="如 2026年第二季度基层党组织建设随机督查")
    kind = forms.ChoiceField(label="督查方式", choices=Kind.choices)
    unannounced = forms.BooleanField(label="四不两直（不发通知、不打招呼、不听汇报、不用陪同接待，直奔基层、直插现场）",
                                     required=False,
                                     help_text="督查对象在走访记录之前看不到本计划")
    issuer = OrgField(label="组织单位", capability="edit", kinds=ISSUER_KINDS, to_field_name="code",
                      help_text="机关工委，或在本单位范围内督查的单位党组织")
    starts_on = forms.DateField(label="计划开始日期", widget=DateInput())
    ends_on = forms.DateField(label="计划结束日期", widget=DateInput())
    note = forms.CharField(label="督查内容", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    team = TeamChoiceField(label="督查组成员", queryset=User.objects.none(), required=False,
                           widget=forms.CheckboxSelectMultiple)
    targets = forms.CharField(label="督查对象（党组织代码）", required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="日常、集中、专项督查填写；每行一个，或以空格、逗号分隔")
    draw_under = forms.CharField(label="随机抽取：抽取范围（党组织代码）", max_length=40, required=False,
                                 help_text="随机督查填写；不填为组织单位本身")
    draw_kinds = forms.MultipleChoiceField(label="随机抽取：组织类别", choices=list(DRAW_KINDS.items()), required=False,
                                           widget=forms.CheckboxSelectMultiple)
    draw_count = forms.IntegerField(label="随机抽取：抽取数量", min_value=1, max_value=100, required=False)
    draw_seed = forms.IntegerField(label="随机抽取：种子", min_value=1, max_value=999_999_999, required=False,
                                   help_text="不填则随机生成；种子与抽取池一并记录，任何人可复核抽取结果")
    version = VersionField()

    def __init__(self, *args, user, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["team"].queryset = team_candidates(user)
        self.fields["issuer"].queryset = Organization.objects.visible_to(user, "edit").active()
        if editing:
            for name in ("issuer", "kind", "targets", "draw_under", "draw_kinds", "draw_count", "draw_seed"):
                del self.fields[name]

    def clean_targets(self):
        return parse_codes(self.cleaned_data.get("targets", ""), self.user)

    def clean_draw_under(self):
        raw = (self.cleaned_data.get("draw_under") or "").strip()
        if not raw:
            return None
        org = Organization.objects.visible_to(self.user).filter(code=raw).first()
        if org is None:
            raise forms.ValidationError(f"随机抽取：找不到组织代码“{raw[:40]}”，或不在您的权限范围内")
        return org


class TargetsForm(ChineseFormMixin, forms.Form):
    targets = forms.CharField(label="增加督查对象（党组织代码）", widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="每行一个，或以空格、逗号分隔")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_targets(self):
        return parse_codes(self.cleaned_data.get("targets", ""), self.user)


class ChecklistForm(ChineseFormMixin, forms.Form):
    scheme = forms.ModelChoiceField(label="从考核方案复制指标", queryset=Scheme.objects.none(), required=False,
                                    empty_label="（不复制）")
    texts = forms.CharField(label="自定检查内容", required=False, max_length=20000,
                            widget=forms.Textarea(attrs={"rows": 3}),
                            help_text="每行一项；“类别：内容”可注明类别")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheme"].queryset = Scheme.objects.order_by("-year", "code")


class VisitForm(ChineseFormMixin, forms.Form):
    visited_on = forms.DateField(label="督查日期", widget=DateInput())
    visit_note = forms.CharField(label="现场情况", max_length=2000, required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))


class ItemsForm(ChineseFormMixin, forms.Form):
    deadline = forms.DateField(label="整改时限（日期）", required=False, widget=DateInput())
    workdays = forms.IntegerField(label="或：整改时限（工作日）", min_value=1, max_value=250, required=False,
                                  help_text="从今天起算，节假日和调休按国务院通知计算")

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("deadline") is None and data.get("workdays") is None:
            self.add_error("deadline", "整改时限：请填写日期或工作日天数")
        return data


class CodesForm(ChineseFormMixin, forms.Form):
    group = forms.ChoiceField(label="评价群体", choices=EvaluatorGroup.choices)
    count = forms.IntegerField(label="张数", min_value=1, max_value=MAX_CODES_PER_ISSUE)


class CodeForm(forms.Form):
    code = forms.CharField(label="评价码", required=False,
                           widget=forms.TextInput(attrs={"class": "form-control form-control-lg text-center",
                                                         "autocomplete": "off", "autocapitalize": "characters",
                                                         "spellcheck": "false", "maxlength": 40,
                                                         "placeholder": "XXXX-XXXX-XXXX"}))

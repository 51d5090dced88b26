"""Forms of the ratings pages. They only shape input; every rule is checked by the service
(`rules.check`, `services.*`), the same for the page, the command and the demo."""
from decimal import Decimal

from django import forms

from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField
from dangjian.orgs.alerts import ALERT_KINDS
from dangjian.orgs.fields import OrgField

from .models import LEVEL_ORDER, STAR_LEVELS, Basis, Level
from .rules import CAP_LEVELS, CYCLE_LABELS, MAX_MISSING_CAPS, QUOTA_LEVELS
from .services import WEAK_KINDS

NO_CAP = ("", "不封顶")
CAP_CHOICES = [NO_CAP] + [(lv.value, f"最高{lv.label}") for lv in CAP_LEVELS]
PERCENT = {"min_value": Decimal(0), "max_value": Decimal(100), "decimal_places": 1, "required": False}


def _percent(value) -> str:
    if value in (None, ""):
        return ""
    return f"{(Decimal(str(value)) * 100).normalize():f}"


class SchemeForm(ChineseFormMixin, forms.Form):
    basis = forms.ChoiceField(label="评定依据", choices=Basis.choices, widget=forms.RadioSelect)
    version = VersionField()
    assessment_scheme = forms.ModelChoiceField(label="党支部考核方案", queryset=None, required=False,
                                               empty_label="—（按组织生活落实率评定时不需要）")
    cycles = forms.MultipleChoiceField(label="计入的考评", choices=list(CYCLE_LABELS.items()), required=False,
                                       widget=forms.CheckboxSelectMultiple,
                                       help_text="所选类别的本年度考评得分（折合百分制）取平均")
    line_model = forms.DecimalField(label="示范线", min_value=Decimal(0), max_value=Decimal(100), decimal_places=2,
                                    required=False, help_text="留空则五星且无封顶情形即可参评示范")
    commendation_levels = forms.MultipleChoiceField(
        label="推荐评先的等级", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(lv.value, lv.label) for lv in LEVEL_ORDER[:-1]])
    commendation_no_alerts = forms.BooleanField(label="推荐评先须无任何结构预警", required=False)
    weak_levels = forms.MultipleChoiceField(
        label="提示认定软弱涣散的等级", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(lv.value, lv.label) for lv in LEVEL_ORDER[3:]],
        help_text="仅在名单中提示工委研究认定，不自动认定")
    lagging_share = forms.DecimalField(label="后进最低比例（%）", help_text="留空为不设：只按分数线评后进", **PERCENT)
    weak_cap = forms.ChoiceField(label="软弱涣散党组织", choices=CAP_CHOICES, required=False)
    source = forms.CharField(label="依据", max_length=300, required=False)
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, schemes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assessment_scheme"].queryset = schemes
        self.fields["assessment_scheme"].label_from_instance = lambda s: f"{s.name}（{s.code}）"
        for lv in STAR_LEVELS:
            self.fields[f"line_{lv.value}"] = forms.DecimalField(
                label=f"{lv.label}线", min_value=Decimal(0), max_value=Decimal(100), decimal_places=2)
        for lv in QUOTA_LEVELS:
            label = "示范比例上限（%）" if lv == Level.MODEL else f"{lv.label}及以上比例上限（%）"
            self.fields[f"quota_{lv.value}"] = forms.DecimalField(label=label, **PERCENT)
        for kind, label in ALERT_KINDS.items():
            self.fields[f"alert_{kind}"] = forms.ChoiceField(label=label, choices=CAP_CHOICES, required=False)
        for i in range(1, MAX_MISSING_CAPS + 1):
            self.fields[f"missing_above_{i}"] = forms.IntegerField(
                label=f"应开未开超过（项）·第 {i} 档", min_value=0, max_value=999, required=False)
            self.fields[f"missing_level_{i}"] = forms.ChoiceField(label=f"第 {i} 档最高等级", choices=CAP_CHOICES,
                                                                  required=False)
        # The fields added above get the same Chinese messages and classes as the declared ones.
        for field in self.fields.values():
            field.error_messages["required"] = f"请填写{field.label}"
            if isinstance(field, forms.DecimalField):
                field.error_messages["invalid"] = f"{field.label}：应为数字"
                field.error_messages["max_value"] = f"{field.label}：不能大于 %(limit_value)s"
                field.error_messages["min_value"] = f"{field.label}：不能小于 %(limit_value)s"
                field.error_messages["max_decimal_places"] = f"{field.label}：最多 %(max)s 位小数"
                field.error_messages["max_digits"] = f"{field.label}：数字过长"
            elif isinstance(field, forms.IntegerField):
                field.error_messages["invalid"] = f"{field.label}：应为整数"
                field.error_messages["max_value"] = f"{field.label}：不能大于 %(limit_value)s"
                field.error_messages["min_value"] = f"{field.label}：不能小于 %(limit_value)s"
            elif isinstance(field, forms.ChoiceField):
                field.error_messages["invalid_choice"] = f"{field.label}：“%(value)s”不在可选范围内"
            widget = field.widget
            if isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
                widget.attrs["class"] = "form-check-input"
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            elif not isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-control form-control-sm")

    @classmethod
    def initial_from(cls, fields: dict) -> dict:
        """Form values from RatingScheme field values (a stored scheme or a proposal)."""
        t, q = fields.get("thresholds") or {}, fields.get("quotas") or {}
        init = {
            "basis": fields.get("basis"), "assessment_scheme": fields.get("assessment_scheme"),
            "cycles": fields.get("cycles") or [], "line_model": t.get("model"),
            "lagging_share": _percent(fields.get("lagging_share")),
            "commendation_levels": (fields.get("commendation") or {}).get("levels") or [],
            "commendation_no_alerts": (fields.get("commendation") or {}).get("no_alerts", True),
            "weak_levels": (fields.get("weak_candidates") or {}).get("levels") or [],
            "source": fields.get("source", ""), "note": fields.get("note", ""),
        }
        for lv in STAR_LEVELS:
            init[f"line_{lv.value}"] = t.get(lv.value)
        for lv in QUOTA_LEVELS:
            init[f"quota_{lv.value}"] = _percent(q.get(lv.value))
        missing = 0
        for cap in fields.get("caps") or []:
            if cap.get("alert"):
                init[f"alert_{cap['alert']}"] = cap["max_level"]
            elif cap.get("missing_above") is not None and missing < MAX_MISSING_CAPS:
                missing += 1
                init[f"missing_above_{missing}"] = cap["missing_above"]
                init[f"missing_level_{missing}"] = cap["max_level"]
            elif cap.get("weak"):
                init["weak_cap"] = cap["max_level"]
        return init

    def alert_fields(self):
        return [self[f"alert_{k}"] for k in ALERT_KINDS]

    def missing_rows(self):
        return [(self[f"missing_above_{i}"], self[f"missing_level_{i}"]) for i in range(1, MAX_MISSING_CAPS + 1)]

    def line_fields(self):
        return [self[f"line_{lv.value}"] for lv in STAR_LEVELS]

    def quota_fields(self):
        return [self[f"quota_{lv.value}"] for lv in QUOTA_LEVELS]

    def clean(self):
        data = super().clean()
        for i in range(1, MAX_MISSING_CAPS + 1):
            above, level = data.get(f"missing_above_{i}"), data.get(f"missing_level_{i}")
            if (above is None) != (not level) and not self.has_error(f"missing_above_{i}"):
                self.add_error(f"missing_above_{i}", f"应开未开封顶第 {i} 档：项数和最高等级应同时填写或同时留空")
        return data

    def to_data(self) -> dict:
        d = self.cleaned_data
        caps = [{"alert": k, "max_level": d[f"alert_{k}"]} for k in ALERT_KINDS if d.get(f"alert_{k}")]
        for i in range(1, MAX_MISSING_CAPS + 1):
            if d.get(f"missing_above_{i}") is not None and d.get(f"missing_level_{i}"):
                caps.append({"missing_above": d[f"missing_above_{i}"], "max_level": d[f"missing_level_{i}"]})
        if d.get("weak_cap"):
            caps.append({"weak": True, "max_level": d["weak_cap"]})
        thresholds = {lv.value: d[f"line_{lv.value}"] for lv in STAR_LEVELS}
        if d.get("line_model") is not None:
            thresholds["model"] = d["line_model"]
        quotas = {lv.value: d[f"quota_{lv.value}"] / 100 for lv in QUOTA_LEVELS
                  if d.get(f"quota_{lv.value}") is not None}
        share = d.get("lagging_share")
        return {
            "basis": d["basis"], "assessment_scheme": d.get("assessment_scheme"), "cycles": d.get("cycles") or [],
            "thresholds": thresholds, "quotas": quotas, "lagging_share": share / 100 if share is not None else None,
            "caps": caps,
            "commendation": {"levels": d.get("commendation_levels") or [],
                             "no_alerts": d.get("commendation_no_alerts")},
            "weak_candidates": {"levels": d.get("weak_levels") or []},
            "source": d.get("source", ""), "note": d.get("note", ""),
        }


class IdentifyForm(ChineseFormMixin, forms.Form):
    # Offered: the active grassroots orgs the user may identify. Any org of the user's rating
    # scope validates, so the service can say why a dissolved org or a 党组 is refused.
    org_code = OrgField(label="党组织", to_field_name="code", capability="inspect", kinds=WEAK_KINDS,
                        help_text="输入名称、代码或拼音首字母后从列表中选择")
    identified_on = forms.DateField(label="认定日期", widget=DateInput)
    reasons = forms.CharField(label="认定原因", max_length=2000, widget=forms.Textarea(attrs={"rows": 6}),
                              help_text="写明软弱涣散的具体表现和依据（如书记长期空缺、组织生活不正常、超期未换届）")
    rating_year = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, orgs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org_code"].queryset = orgs

    def clean_rating_year(self):
        """Carried from the candidates list: a year that is not one is just not carried."""
        raw = (self.cleaned_data.get("rating_year") or "").strip()
        return int(raw) if raw.isdigit() and len(raw) == 4 else None


class PlanForm(ChineseFormMixin, forms.Form):
    version = VersionField()
    measures = forms.CharField(label="整顿措施", max_length=4000, widget=forms.Textarea(attrs={"rows": 5}))
    responsible = forms.CharField(label="整顿责任人", max_length=100,
                                  help_text="承担整顿责任的领导或联系人，如“机关党委专职副书记 张某”")
    deadline = forms.DateField(label="整顿时限", widget=DateInput)


class NoteForm(ChineseFormMixin, forms.Form):
    noted_on = forms.DateField(label="日期", widget=DateInput)
    text = forms.CharField(label="整顿进展", max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class RequestForm(ChineseFormMixin, forms.Form):
    evidence = forms.CharField(label="整顿情况及佐证", max_length=4000, widget=forms.Textarea(attrs={"rows": 4}),
                               help_text="写明整顿措施的落实情况、成效和佐证材料，由机关工委核查验收")


class CloseForm(ChineseFormMixin, forms.Form):
    version = VersionField()
    closed_on = forms.DateField(label="销号日期", widget=DateInput)
    verification = forms.CharField(label="验收意见", max_length=4000, widget=forms.Textarea(attrs={"rows": 4}),
                                   help_text="写明核查验收的方式和整顿成效；没有验收意见不能销号")


class WithdrawForm(ChineseFormMixin, forms.Form):
    version = VersionField()
    reason = forms.CharField(label="撤销认定原因", max_length=300)


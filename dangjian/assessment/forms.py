"""Forms of assessment. The indicator editor is not a Django formset: its rows are read from
the POST (ind-<n>-<field>) and checked as a whole by `services.save_indicators`, which is
what a formset would have to defer to anyway (the weights must add up across rows)."""
from django import forms

from dangjian.core import periods
from dangjian.core.forms import ChineseFormMixin, DateInput, VersionField

from .models import Indicator, Level

INDICATOR_FIELDS = ("id", "category", "name", "weight", "method", "metric", "rule", "max_score", "note")


class SchemeForm(ChineseFormMixin, forms.Form):
    code = forms.CharField(label="方案代码", max_length=40, help_text="如 2026-DW（各单位）、2026-ZB（党支部）")
    name = forms.CharField(label="方案名称", max_length=100)
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    level = forms.ChoiceField(label="考核对象", choices=Level.choices)
    total = forms.DecimalField(label="总分", max_digits=6, decimal_places=2, initial=100)
    excellent = forms.DecimalField(label="“好”分数线（%）", max_digits=5, decimal_places=2, initial=90)
    good = forms.DecimalField(label="“较好”分数线（%）", max_digits=5, decimal_places=2, initial=80)
    fair = forms.DecimalField(label="“一般”分数线（%）", max_digits=5, decimal_places=2, initial=60)
    quota_excellent = forms.DecimalField(label="“好”的比例上限", required=False, max_digits=4, decimal_places=2,
                                         help_text="如 0.3 表示不超过 30%，不限则留空")
    quota_good = forms.DecimalField(label="“较好”的比例上限", required=False, max_digits=4, decimal_places=2)
    admonish_below = forms.DecimalField(label="约谈分数线", max_digits=6, decimal_places=2, initial=60,
                                        help_text="得分低于此分数的列入约谈名单")
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        quotas = {k: d[f"quota_{k}"] for k in ("excellent", "good") if d.get(f"quota_{k}") is not None}
        return dict(code=d["code"], name=d["name"], year=d["year"], level=d["level"], total=d["total"],
                    thresholds={k: d[k] for k in ("excellent", "good", "fair")}, quotas=quotas,
                    admonish_below=d["admonish_below"], note=d["note"])


class CopyForm(ChineseFormMixin, forms.Form):
    code = forms.CharField(label="新方案代码", max_length=40)
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)


class RunForm(ChineseFormMixin, forms.Form):
    """The period to assess, picked from the scheme's year by its Chinese name (月度、季度、年度);
    periods that have begun are offered: one not yet ended gives a draft (暂定, 阶段性)."""

    period = forms.ChoiceField(label="考评周期")

    def __init__(self, *args, scheme, today, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["period"]
        field.choices = period_choices(scheme.year, today)
        field.error_messages["required"] = "请选择考评周期"
        field.error_messages["invalid_choice"] = "请从列表中选择已经开始的考评周期"
        field.help_text = ("周期尚未结束或考核组评分未录入齐全时，结果为暂定：不评等次、不列入约谈、不能印发通报"
                           if field.choices else f"{scheme.year} 年还没有已经开始的周期")


# What each cycle of assessment is called in the picker (core.periods units).
CYCLE_GROUPS = {"month": "月度", "quarter": "季度", "year": "年度"}


def period_choices(year: int, today, ended: bool = False) -> list:
    """Grouped choices (月度 / 季度 / 年度) of the periods of `year` that have begun by `today`
    (with `ended`, that have ended before it): the stored code as the value, the Chinese name
    as the label."""
    groups = []
    for unit, label in CYCLE_GROUPS.items():
        begun = [(p.label, p.chinese) for p in periods.of_year(year, unit)
                 if (p.end < today if ended else p.start <= today)]
        if begun:
            groups.append((label, begun))
    return groups


class AdmonitionForm(ChineseFormMixin, forms.Form):
    version = VersionField()
    talked_on = forms.DateField(label="约谈日期", widget=DateInput())
    talked_with = forms.CharField(label="约谈对象（人员）", max_length=100, help_text="如 党组书记、机关党委书记")
    talked_by = forms.CharField(label="约谈人", max_length=100)
    outcome = forms.CharField(label="约谈情况及整改要求", widget=forms.Textarea(attrs={"rows": 5}))
    deadline = forms.DateField(label="整改时限", required=False, widget=DateInput(),
                               help_text="整改要求列入任务清单，由被约谈单位签收整改；填写日期或下面的工作日天数其中一项")
    workdays = forms.IntegerField(label="时限（工作日）", required=False, min_value=1, max_value=250,
                                  help_text="自约谈之日起的工作日天数，节假日和调休按工作日历计算")


def indicator_rows(post, count: int) -> list[dict]:
    """The editor's rows from the POST, blank rows and rows marked for removal left out."""
    rows = []
    for n in range(count):
        values = {f: (post.get(f"ind-{n}-{f}") or "").strip() for f in INDICATOR_FIELDS}
        if post.get(f"ind-{n}-remove") or not any(values[f] for f in ("category", "name", "weight")):
            continue
        spec = {k: values[k] for k in ("category", "name", "weight", "method", "metric", "note")}
        spec["id"] = int(values["id"]) if values["id"].isdigit() else None
        spec["params"] = {"rule": values["rule"]} if values["rule"] else {}
        spec["max_score"] = values["max_score"] or None
        if spec["method"] != Indicator.Method.METRIC:
            spec["metric"], spec["params"] = "", {}
        rows.append(spec)
    return rows

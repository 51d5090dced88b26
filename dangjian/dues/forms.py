"""The dues forms: a member's base, a payment, a new version of the rules. Field rules are
`checks`' (the services ask them again); the forms only turn text into values."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django import forms

from .checks import DuesError, parse_months
from .models import Category


class MonthField(forms.Field):
    """A month typed as 2026-07 or 2026年7月, as the first day of that month."""

    def __init__(self, *, max_length=20, **kwargs):
        kwargs.setdefault("widget", forms.TextInput())
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("maxlength", str(max_length))

    def to_python(self, value):
        value = (value or "").strip() if isinstance(value, str) else value
        if not value:
            return None
        try:
            months, _ = parse_months(value, dt.date.today(), self.label)
        except DuesError as exc:
            raise forms.ValidationError(exc.message) from None
        if len(months) != 1:
            raise forms.ValidationError(f"{self.label}：请填写一个月份")
        return dt.date(months[0] // 100, months[0] % 100, 1)


class BaseForm(forms.Form):
    category = forms.ChoiceField(label="交纳类别", choices=Category.choices, initial=Category.EMPLOYED)
    base = forms.CharField(label="缴费基数（元/月）", required=False, max_length=20,
                           help_text="每月工资收入（税后）；农民党员填本人选定的每月交纳金额（0.2—1 元）；"
                                     "学生、下岗失业、享受最低生活保障的党员不填",
                           widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "如 5000.01"}))
    effective_from = MonthField(label="起始月份", max_length=20, help_text="如 2026-07：自该月起按此基数计算",
                                widget=forms.TextInput(attrs={"placeholder": "2026-07"}))
    note = forms.CharField(label="说明", required=False, max_length=200)

    def clean(self):
        d = super().clean()
        if d.get("category") not in ("student", "unemployed", "on_relief") and not (d.get("base") or "").strip():
            self.add_error("base", "缴费基数：必填（元，如 5000.01）")
        return d


class PaymentForm(forms.Form):
    months = forms.CharField(label="所属月份", max_length=40,
                             help_text="一个月（2026-10）或连续几个月（2026-08至2026-10）",
                             widget=forms.TextInput(attrs={"placeholder": "2026-10"}))
    amount = forms.CharField(label="金额（元）", max_length=20,
                             help_text="所交月份的合计金额；一个月可分次交纳（少于应交的计为部分交纳），连续几个月应足额",
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    paid_on = forms.DateField(label="交纳日期", widget=forms.DateInput(attrs={"type": "date"}),
                              error_messages={"invalid": "交纳日期：格式应为 2026-10-15", "required": "交纳日期：必填"})

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or dt.date.today()

    def clean_months(self):
        try:
            months, _ = parse_months(self.cleaned_data["months"], self.today, "所属月份")
        except DuesError as exc:
            raise forms.ValidationError(exc.message) from None
        return months


def _bands(text: str, label: str) -> list[tuple[Decimal | None, Decimal]]:
    """Lines “上限 费率” (“3000 0.005”; the last line the rate alone)."""
    out = []
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    if len(lines) > 10:
        raise forms.ValidationError(f"{label}：最多 10 档")
    for i, line in enumerate(lines, 1):
        parts = line.replace("，", " ").replace(",", " ").replace("：", " ").replace(":", " ").split()
        try:
            if len(parts) == 1:
                out.append((None, Decimal(parts[0])))
            elif len(parts) == 2:
                out.append((Decimal(parts[0]), Decimal(parts[1])))
            else:
                raise InvalidOperation
        except InvalidOperation:
            raise forms.ValidationError(f"{label}：第 {i} 行应为“上限 费率”（如 3000 0.005），最后一行只填费率") from None
    if any(not (r.is_finite() and (u is None or u.is_finite())) for u, r in out):
        raise forms.ValidationError(f"{label}：请填写数字")
    return out


class RuleForm(forms.Form):
    effective_from = MonthField(label="生效月份", max_length=20, help_text="自该月起按新标准计算，已过去的月份不变")
    employed = forms.CharField(label="在职党员费率", widget=forms.Textarea(attrs={"rows": 4}),
                               help_text="每行“上限（含） 费率”，最后一行只填费率；按基数全额乘以所在档费率")
    retired = forms.CharField(label="离退休党员费率", widget=forms.Textarea(attrs={"rows": 2}))
    student = forms.DecimalField(label="学生党员每月（元）", max_digits=8, decimal_places=2)
    unemployed = forms.DecimalField(label="下岗失业党员每月（元）", max_digits=8, decimal_places=2)
    on_relief = forms.DecimalField(label="享受最低生活保障的党员每月（元）", max_digits=8, decimal_places=2)
    backpay_max_months = forms.IntegerField(label="补交最多月数", min_value=1, max_value=60)
    source = forms.CharField(label="依据", max_length=300, help_text="文件名称和条款")
    note = forms.CharField(label="说明", max_length=200, required=False)

    def clean_employed(self):
        return _bands(self.cleaned_data["employed"], "在职党员费率")

    def clean_retired(self):
        return _bands(self.cleaned_data["retired"], "离退休党员费率")


def bands_text(bands) -> str:
    return "\n".join(f"{b.up_to} {b.rate}" if b.up_to is not None else str(b.rate) for b in bands)

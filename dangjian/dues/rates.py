"""The monthly amount of dues from a base, by the rule in force on a day, in exact decimals.

`rate_for(base, retired=False, fixed_kind=None, on=None)` answers (rate, amount): the whole base
times the one rate of its band (upper bounds inclusive: 3000.00 is in the first band, 3000.01 in
the second), rounded to 0.01 half up. A fixed kind (student, unemployed, on_relief) answers
(None, the fixed amount). A farmer (农民党员, 第六条: 0.2—1 元 a month) pays the amount chosen
within the range, kept as the base row's `base`; the rate is None too. The rules are the dated
`DuesRule` rows; without any (a database before its first migrate), the file's defaults.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import timezone

from dangjian.core import defaults

CENT = Decimal("0.01")
SEED_EFFECTIVE_FROM = dt.date(2000, 1, 1)  # the seeded version covers every month before a change
MAX_BASE = Decimal("1000000")
FIXED_KINDS = ("student", "unemployed", "on_relief")
FARMER = "farmer"
NOT_BANDED = (*FIXED_KINDS, FARMER)  # no base income asked: a fixed or a chosen amount
DEFAULT_FARMER = (Decimal("0.20"), Decimal("1.00"))
DEFAULT_LARGE_ONE_OFF = Decimal("1000.00")


class RateError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Band:
    up_to: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class Rules:
    effective_from: dt.date
    employed: tuple[Band, ...]
    retired: tuple[Band, ...]
    fixed: dict
    backpay_max_months: int = 6
    arrears_months: int = 6
    source: str = ""
    farmer: tuple[Decimal, Decimal] = DEFAULT_FARMER  # the monthly range a farmer chooses in, inclusive
    large_one_off: Decimal = DEFAULT_LARGE_ONE_OFF  # paid over the due at once from this on: to the centre

    def bands(self, retired: bool) -> tuple[Band, ...]:
        return self.retired if retired else self.employed

    def fixed_amount(self, kind: str) -> Decimal:
        if kind not in self.fixed:
            raise RateError("category", f"交纳类别：“{kind}”没有规定固定金额")
        return self.fixed[kind]


def _bands(raw) -> tuple[Band, ...]:
    out = []
    for item in raw:
        up_to, rate = (item["up_to"], item["rate"]) if isinstance(item, dict) else item
        out.append(Band(None if up_to in (None, "") else Decimal(str(up_to)), Decimal(str(rate))))
    return tuple(out)


def _fixed(raw: dict) -> dict:
    # A range (farmers: 0.2–1.0 a month, chosen by the member) has no single amount: not a kind here.
    return {k: Decimal(str(v)).quantize(CENT) for k, v in raw.items() if not isinstance(v, (list, tuple))}


def _farmer(raw: dict) -> tuple[Decimal, Decimal]:
    value = raw.get(FARMER)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(Decimal(str(v)).quantize(CENT) for v in value)
    return DEFAULT_FARMER


def from_row(row) -> Rules:
    return Rules(row.effective_from, _bands(row.employed_bands), _bands(row.retired_bands), _fixed(row.fixed_monthly),
                 row.backpay_max_months, row.arrears_months, row.source, _farmer(row.fixed_monthly),
                 Decimal(row.large_one_off).quantize(CENT))


def from_file() -> Rules:
    s = defaults.section("dues")
    return Rules(SEED_EFFECTIVE_FROM, _bands(s["employed_bands"]), _bands(s["retired_bands"]),
                 _fixed(s["fixed_monthly"]), int(s.get("backpay_max_months", 6)),
                 int(s.get("arrears_months_for_lapse", 6)), s.get("sources", ""), _farmer(s["fixed_monthly"]),
                 Decimal(str(s.get("one_off_large_payment", DEFAULT_LARGE_ONE_OFF))).quantize(CENT))


def versions() -> list[Rules]:
    """Every version, oldest first (one query)."""
    from .models import DuesRule

    rows = [from_row(r) for r in DuesRule.objects.order_by("effective_from")]
    return rows or [from_file()]


def in_force(on: dt.date | None = None, rules: list[Rules] | None = None) -> Rules:
    """The version in force on `on` (today by default); the oldest before any."""
    on = on or timezone.localdate()
    rules = rules if rules is not None else versions()
    found = rules[0]
    for r in rules:
        if r.effective_from <= on:
            found = r
    return found


def check_base(base) -> Decimal:
    """The base as an exact Decimal of cents, or RateError naming the field."""
    if isinstance(base, bool):
        raise RateError("base", "缴费基数：应为金额（元），如 5000.01")
    try:
        value = Decimal(str(base).strip().replace(",", "").replace("，", ""))
    except InvalidOperation:  # not a number: said in Chinese, naming the field
        raise RateError("base", f"缴费基数：“{str(base)[:20]}”不是有效的金额（元），如 5000.01") from None
    if not value.is_finite():
        raise RateError("base", f"缴费基数：“{str(base)[:20]}”不是有效的金额（元），如 5000.01")
    if value < 0:
        raise RateError("base", f"缴费基数：{value} 元为负数，基数应不小于 0")
    if value > MAX_BASE:
        raise RateError("base", f"缴费基数：{value} 元超过 {MAX_BASE:,} 元，不是月收入，请核对")
    if value != value.quantize(CENT):
        raise RateError("base", f"缴费基数：{value} 元最多保留两位小数（到分）")
    return value.quantize(CENT)


def amount_of(base: Decimal, rate: Decimal) -> Decimal:
    return (base * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def band_rate(bands, base: Decimal) -> Decimal:
    for band in bands:
        if band.up_to is None or base <= band.up_to:
            return band.rate
    return bands[-1].rate


def compute(rules: Rules, base, category: str = "employed") -> tuple[Decimal | None, Decimal]:
    """(rate, amount) of one month under `rules`; rate None for a fixed or a chosen amount. A
    farmer's chosen amount outside the range of a later version is brought to its nearer end."""
    if category in FIXED_KINDS:
        return None, rules.fixed_amount(category)
    if category == FARMER:
        low, high = rules.farmer
        return None, min(max(check_base(base), low), high)
    value = check_base(base)
    rate = band_rate(rules.bands(category == "retired"), value)
    return rate, amount_of(value, rate)


def rate_for(base, retired: bool = False, fixed_kind: str | None = None, on: dt.date | None = None,
             rules: list[Rules] | None = None) -> tuple[Decimal | None, Decimal]:
    """(rate, amount) for one month: see the module docstring."""
    if fixed_kind is not None:
        if fixed_kind not in FIXED_KINDS:
            raise RateError("category", f"交纳类别：“{fixed_kind}”不是学生、下岗失业或享受最低生活保障")
        return compute(in_force(on, rules), base, fixed_kind)
    return compute(in_force(on, rules), base, "retired" if retired else "employed")


def percent(rate: Decimal) -> str:
    """0.015 → "1.5%"."""
    text = format((rate * 100).normalize(), "f")
    return f"{text}%"


def rules_farmer_text(rules: Rules | None = None) -> str:
    low, high = (rules or in_force()).farmer
    return f"{low}—{high} 元"


def check_farmer(amount, rules: Rules) -> Decimal:
    """A farmer's chosen monthly amount: within the range, both ends included (第六条)."""
    low, high = rules.farmer
    try:
        value = check_base(amount)
    except RateError as exc:
        raise RateError("base", exc.message.replace("缴费基数", "每月交纳金额")) from None
    if not low <= value <= high:
        raise RateError("base", f"每月交纳金额：农民党员每月交纳 {low}—{high} 元，{value} 元不在此范围内")
    return value


def calculation(base, category: str, rate: Decimal | None, amount: Decimal, rules: Rules | None = None) -> str:
    """What the member reads: “基数 5,000.01 元 × 1.5% = 75.00 元”."""
    from .models import Category

    if category == FARMER:
        return f"农民党员每月交纳 {rules_farmer_text(rules)}，本人选定每月 {amount} 元"
    if rate is None:
        return f"{Category(category).label}党员每月交纳 {amount} 元"
    return f"基数 {Decimal(base):,.2f} 元 × {percent(rate)} = {amount} 元"

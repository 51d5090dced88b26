"""The rules of a base, a payment and a rule version, as Chinese messages naming the field: the
forms, the API, the import and the services all ask these (services raise the first as
`DuesError`)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from .models import Category, month_key, month_number
from .rates import CENT, FIXED_KINDS, MAX_BASE, RateError, check_base

FIRST_YEAR = 2000
MAX_MONTHS_AT_ONCE = 24  # one payment covers at most two years
MAX_ADVANCE_MONTHS = 12  # paid ahead (预交) at most a year
MAX_PAYMENT = Decimal("1000000")

_MONTH_FULL = re.compile(r"^(\d{4})\s*(?:年|[-/.])\s*(\d{1,2})\s*月?$")
_MONTH_COMPACT = re.compile(r"^(\d{4})(\d{2})$")
_MONTH_SHORT = re.compile(r"^(\d{1,2})\s*月$")
_SEPARATORS = "-—–~～至到"


class DuesError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def first(problems: list[tuple[str | None, str]]) -> None:
    if problems:
        raise DuesError(*problems[0])


def month_label(key: int) -> str:
    return f"{key // 100}年{key % 100}月"


def _one_month(text: str, reference: dt.date, label: str, year_hint: int | None = None) -> tuple[int, bool]:
    """(YYYYMM, whether the year was supplied from `reference`)."""
    text = text.strip()
    m = _MONTH_FULL.match(text) or _MONTH_COMPACT.match(text)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
        guessed = False
    else:
        m = _MONTH_SHORT.match(text) or (re.match(r"^(\d{1,2})$", text) if year_hint else None)
        if not m:
            raise DuesError("month", f"{label}：“{text[:20]}”不是月份，可填 2026年10月、2026-10 或 10月")
        month = int(m.group(1))
        if year_hint is not None:
            year = year_hint
        else:
            # “10月” is the latest October not after the reference month (a clerk's list of the year).
            year = reference.year if month <= reference.month else reference.year - 1
        guessed = True
    if not 1 <= month <= 12:
        raise DuesError("month", f"{label}：“{text[:20]}”的月份应在 1—12 之间")
    if not FIRST_YEAR <= year <= reference.year + 1:
        raise DuesError("month", f"{label}：{year} 年不在 {FIRST_YEAR}—{reference.year + 1} 年之间")
    return year * 100 + month, guessed


def _range(text: str, reference: dt.date, label: str) -> tuple[int, int, bool] | None:
    """(first, last, year supplied) of a range such as 2026年1-3月, 1-3月, 2025-11至2026-01; None
    when `text` is no range (2026-10 has a dash but is one month)."""
    for at in (i for i, ch in enumerate(text) if ch in _SEPARATORS):
        left, right = text[:at].strip(), text[at + 1:].strip()
        if not left or not right:
            continue
        try:
            if not left.endswith("月") and not _MONTH_FULL.match(left) and not _MONTH_COMPACT.match(left):
                left += "月"  # 1-3月: the month word only after the last
            start, guessed = _one_month(left, reference, label)
            full = _MONTH_FULL.match(right) or _MONTH_COMPACT.match(right)
            end, _ = _one_month(right, reference, label, None if full else start // 100)
        except DuesError:
            continue
        return start, end, guessed
    return None


def parse_months(value, reference: dt.date, label: str = "月份") -> tuple[list[int], bool]:
    """The months a cell or a field names: one month (2026年10月, 2026-10, 202610, 10月, an Excel
    date) or a range (2026年1月-3月, 1-3月, 2026-01至2026-03). Returns (YYYYMM keys, whether a year
    was supplied from `reference`)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return [value.year * 100 + value.month], False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(int(value)) if float(value).is_integer() else str(value)
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise DuesError("month", f"{label}：必填（如 2026年10月、2026-10 或 10月）")
    if len(text) > 40:
        raise DuesError("month", f"{label}：过长，应为一个月份或月份范围")
    found = _range(text, reference, label)
    if found is not None:
        start, end, g1 = found
        if end < start:
            raise DuesError("month", f"{label}：“{text}”的结束月份早于开始月份")
        months = []
        n = month_number(start)
        while month_key(n) <= end:
            months.append(month_key(n))
            n += 1
        if len(months) > MAX_MONTHS_AT_ONCE:
            raise DuesError("month", f"{label}：一次最多登记 {MAX_MONTHS_AT_ONCE} 个月")
        return months, g1
    key, guessed = _one_month(text, reference, label)
    return [key], guessed


def parse_amount(value, label: str = "金额") -> Decimal:
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise DuesError("amount", f"{label}：必填（元，如 75.00）")
    text = str(value).strip().removesuffix("元").replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:  # not a number: said in Chinese, naming the field
        raise DuesError("amount", f"{label}：“{str(value)[:20]}”不是有效的金额（元，如 75.00）") from None
    if not amount.is_finite():
        raise DuesError("amount", f"{label}：“{str(value)[:20]}”不是有效的金额（元，如 75.00）")
    if isinstance(value, float):
        amount = amount.quantize(CENT)
    if amount <= 0:
        raise DuesError("amount", f"{label}：{amount} 元应大于 0")
    if amount > MAX_PAYMENT:
        raise DuesError("amount", f"{label}：{amount} 元超过 {MAX_PAYMENT:,} 元，请核对")
    if amount != amount.quantize(CENT):
        raise DuesError("amount", f"{label}：{amount} 元最多保留两位小数（到分）")
    return amount.quantize(CENT)


def base_problems(*, base, category, effective_from, today: dt.date) -> list[tuple[str, str]]:
    out = []
    if category not in Category.values:
        out.append(("category", "交纳类别：请选择在职、离退休、学生、下岗失业、享受最低生活保障或农民"))
    if category == "farmer":
        if base is None or (isinstance(base, str) and not base.strip()):
            out.append(("base", "每月交纳金额：农民党员填写本人选定的每月金额（如 0.50）"))
    elif category not in FIXED_KINDS:
        try:
            check_base(base)
        except RateError as exc:
            out.append((exc.field, exc.message))
    if not isinstance(effective_from, dt.date):
        out.append(("effective_from", "起始月份：必填（如 2026-07）"))
    elif effective_from.day != 1:
        out.append(("effective_from", "起始月份：基数按月起算，应为某月 1 日"))
    elif effective_from.year < FIRST_YEAR:
        out.append(("effective_from", f"起始月份：不能早于 {FIRST_YEAR} 年"))
    elif effective_from > dt.date(today.year + 1, today.month, 1):
        out.append(("effective_from", f"起始月份：{effective_from:%Y年%m月} 晚于一年以后，请核对"))
    return out


def payment_problems(*, months: list[int], paid_on, today: dt.date) -> list[tuple[str, str]]:
    out = []
    if not months:
        out.append(("month", "月份：必填"))
    elif len(months) > MAX_MONTHS_AT_ONCE:
        out.append(("month", f"月份：一次最多登记 {MAX_MONTHS_AT_ONCE} 个月"))
    if not isinstance(paid_on, dt.date):
        out.append(("paid_on", "交纳日期：必填（格式：2026-10-15）"))
    elif paid_on > today:
        out.append(("paid_on", f"交纳日期：{paid_on:%Y-%m-%d} 晚于今天，不能填写将来的日期"))
    elif paid_on.year < FIRST_YEAR:
        out.append(("paid_on", f"交纳日期：不能早于 {FIRST_YEAR} 年"))
    elif months:
        paid_no = month_number(paid_on.year * 100 + paid_on.month)
        ahead = [m for m in months if month_number(m) - paid_no > MAX_ADVANCE_MONTHS]
        if ahead:
            out.append(("month", f"月份：{month_label(ahead[0])} 比交纳日期晚一年以上，预交最多 {MAX_ADVANCE_MONTHS} 个月"))
    return out


def allot(total: Decimal, owed: list[Decimal], months: list[int]) -> list[tuple[Decimal, Decimal]]:
    """(amount, credited) of each month of a payment of `total` for `months`, whose amounts
    still owed are `owed`. One month may be paid in part (分次交纳): the payment settles what it
    covers. Several months at once are each settled in full, and less than their sum is
    refused, so no month of the run is left half-paid by a payment naming it. Anything over
    what is owed is paid over the due (自愿多交), on the last month."""
    remaining = sum(owed, Decimal("0"))
    if len(months) == 1:
        credited = min(total, owed[0])
        return [(total, credited)]
    if total < remaining:
        names = month_label(months[0]) + f"—{month_label(months[-1])}"
        raise DuesError("amount", f"金额：{total} 元少于{names}应交的 {remaining} 元；连续几个月应足额交纳，"
                                  "某月分次交纳的请按月分别登记")
    out = [(o, o) for o in owed]
    out[-1] = (out[-1][0] + total - remaining, out[-1][1])
    return out


def rule_problems(*, effective_from, employed, retired, fixed, backpay_max_months, today: dt.date,
                  existing: list[dt.date]) -> list[tuple[str, str]]:
    """A new version of the rules: bands increasing, rates between 0 and 10% with at most four
    decimals, from the first day of a month not before this month."""
    out = []
    if not isinstance(effective_from, dt.date):
        out.append(("effective_from", "生效月份：必填（如 2027-01）"))
    elif effective_from.day != 1:
        out.append(("effective_from", "生效月份：应为某月 1 日"))
    elif effective_from < dt.date(today.year, today.month, 1):
        out.append(("effective_from", "生效月份：不能早于本月，已过去的月份按当时的标准计算"))
    elif effective_from in existing:
        out.append(("effective_from", f"生效月份：{effective_from:%Y年%m月} 已有一版标准"))
    for field, label, bands in (("employed", "在职党员费率", employed), ("retired", "离退休党员费率", retired)):
        if not bands:
            out.append((field, f"{label}：至少一档"))
            continue
        last = Decimal("-1")
        for i, (up_to, rate) in enumerate(bands, 1):
            if rate is None or not (Decimal("0") < rate <= Decimal("0.1")) or rate != rate.quantize(Decimal("0.0001")):
                out.append((field, f"{label}：第 {i} 档费率应大于 0、不超过 10%，最多四位小数（如 0.015）"))
                break
            if i < len(bands):
                if up_to is None or up_to <= last or up_to > MAX_BASE:
                    out.append((field, f"{label}：第 {i} 档上限应大于上一档、不超过 {MAX_BASE:,} 元"))
                    break
                last = up_to
            elif up_to is not None:
                out.append((field, f"{label}：最后一档不设上限"))
    for kind, amount in fixed.items():
        if amount is None or not (Decimal("0") < amount <= Decimal("1000")) or amount != amount.quantize(CENT):
            out.append(("fixed", f"{Category(kind).label}党员每月金额：应大于 0、不超过 1000 元，到分"))
    if not isinstance(backpay_max_months, int) or not 1 <= backpay_max_months <= 60:
        out.append(("backpay_max_months", "补交最多月数：1—60"))
    return out

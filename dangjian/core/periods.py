"""Calendar periods: months, quarters, halves and years, with their codes (2026-03, 2026Q1,
2026H1, 2026) and their Chinese names (2026年3月, 2026年第一季度, 2026年上半年, 2026年), and the
month arithmetic every app uses. Shared by the rules, the assessment cycles, the duty lists and
the structure alerts, so a period reads the same everywhere."""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

# No party organization, membership or meeting can be older than the Party itself: the
# earliest date a founding, a joining, a term or a record of organizational life may carry.
PARTY_FOUNDED = dt.date(1921, 7, 1)
# The earliest birth date of a member on a roster (the oldest living members were born in the 1910s-20s).
EARLIEST_BIRTH = dt.date(1900, 1, 1)


def history_problem(day: dt.date | None, label: str, earliest: dt.date = PARTY_FOUNDED) -> str:
    """"" or why `day` cannot be a date of the Party's history (an 1800-01-01 typed by mistake)."""
    if day is None or day >= earliest:
        return ""
    if earliest == PARTY_FOUNDED:
        return f"{label}不能早于中国共产党成立的 1921-07-01（现为 {day:%Y-%m-%d}），请核对"
    return f"{label}不能早于 {earliest:%Y-%m-%d}（现为 {day:%Y-%m-%d}），请核对"


UNITS = ("month", "quarter", "half", "year")
_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}
_PATTERNS = [
    (re.compile(r"^(\d{4})-(\d{1,2})$"), "month"),
    (re.compile(r"^(\d{4})[Qq]([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})[Hh]([12])$"), "half"),
    (re.compile(r"^(\d{4})$"), "year"),
]


CN_NUMERALS = "〇一二三四五六七八九十"
UNIT_NAMES = {"month": "月", "quarter": "季度", "half": "半年", "year": "年"}


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Period:
    unit: str
    year: int
    index: int  # month 1–12, quarter 1–4, half 1–2, 1 for a year

    @property
    def first_month(self) -> int:
        return (self.index - 1) * _MONTHS[self.unit] + 1

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.first_month, 1)

    @property
    def end(self) -> dt.date:
        last = self.first_month + _MONTHS[self.unit] - 1
        return dt.date(self.year, last, calendar.monthrange(self.year, last)[1])

    @property
    def months(self) -> range:
        """YYYYMM keys of the months in this period."""
        base = self.year * 100
        return range(base + self.first_month, base + self.first_month + _MONTHS[self.unit])

    @property
    def label(self) -> str:
        if self.unit == "month":
            return f"{self.year}-{self.index:02d}"
        if self.unit == "quarter":
            return f"{self.year}Q{self.index}"
        if self.unit == "half":
            return f"{self.year}H{self.index}"
        return str(self.year)

    @property
    def short_name(self) -> str:
        """The period within its year: 3月, 第一季度, 上半年, 全年."""
        if self.unit == "month":
            return f"{self.index}月"
        if self.unit == "quarter":
            return f"第{CN_NUMERALS[self.index]}季度"
        if self.unit == "half":
            return "上半年" if self.index == 1 else "下半年"
        return "全年"

    @property
    def chinese(self) -> str:
        """The period as a document names it: 2026年3月, 2026年第一季度, 2026年上半年, 2026年."""
        return f"{self.year}年" if self.unit == "year" else f"{self.year}年{self.short_name}"

    def __str__(self):
        return self.label


def containing(unit: str, day: dt.date) -> Period:
    return Period(unit, day.year, (day.month - 1) // _MONTHS[unit] + 1)


def parse(text: str) -> Period:
    text = (text or "").strip()
    for pattern, unit in _PATTERNS:
        m = pattern.match(text)
        if m:
            year = int(m.group(1))
            index = int(m.group(2)) if unit != "year" else 1
            if not 1900 <= year <= 9999 or (unit == "month" and not 1 <= index <= 12):
                break
            return Period(unit, year, index)
    raise PeriodError(
        f"周期“{text}”格式不正确，应为 2026-03（月）、2026Q1（季度）、2026H1（半年）或 2026（年）"
    )


def name_of(period) -> str:
    """A period as a person reads it, from a `Period` or a stored code: "2026Q1" → "2026年第一季度".
    A code is never shown to a user; text that is no period code comes back as it is."""
    if isinstance(period, Period):
        return period.chinese
    try:
        return parse(str(period)).chinese
    except PeriodError:
        return "" if period is None else str(period)


def of_year(year: int, unit: str) -> list[Period]:
    """The periods of `unit` in `year`, in order: the twelve months, four quarters, two halves, or
    the year itself."""
    return [Period(unit, year, i) for i in range(1, 12 // _MONTHS[unit] + 1)]


def overlapping(unit: str, start: dt.date, end: dt.date) -> list[Period]:
    """The periods of `unit` that share at least one day with [start, end]."""
    out = []
    p = containing(unit, start)
    while p.start <= end:
        out.append(p)
        nxt = p.end + dt.timedelta(days=1)
        p = containing(unit, nxt)
    return out


def month_key(day: dt.date) -> int:
    return day.year * 100 + day.month


def add_months(key: int, n: int) -> int:
    y, m = divmod(key // 100 * 12 + key % 100 - 1 + n, 12)
    return y * 100 + m + 1


def months_between(first: int, last: int) -> list[int]:
    """YYYYMM keys from `first` to `last` inclusive."""
    out = []
    key = first
    while key <= last:
        out.append(key)
        key = add_months(key, 1)
    return out


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` months earlier (negative: later), clipped to the month's end:
    months_before(2026-05-31, 3) = 2026-02-28."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    return dt.date(y, m, min(day.day, calendar.monthrange(y, m)[1]))

"""Working days (工作日): deadlines given in working days count China's public holidays and the
make-up working days (调休) the State Council sets each year.

A year is known when it has a `CalendarYear`: the years the bundled holiday data (the
`chinesecalendar` package, maintained from the State Council's notices) covers are seeded
after every migrate, never overwriting a year the working committee entered; a later year is
entered from the notice (`enter_year`) before it can be counted in. Only the days that differ
from their weekday are stored (`CalendarDay`). A computation that reaches a year not known is
refused with a message saying so — never computed as if every weekday were a working day.

`add(day, n)` is the n-th working day after `day`; `between(a, b)` the working days after `a`
up to and including `b`, so that `between(a, add(a, n)) == n`.
"""
from __future__ import annotations

import datetime as dt
import re

from django.db import transaction

from .models import CalendarDay, CalendarYear

# The bundled data names holidays in English; the platform shows them in Chinese.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
# No deadline runs further than this many working days (about four years): a typo is refused,
# not counted through years.
MAX_DAYS = 1000


class WorkdayError(ValueError):
    """A working-day computation that cannot be done; the message is in Chinese, for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _unknown(year: int) -> WorkdayError:
    return WorkdayError(f"{year} 年的节假日和调休安排尚未录入，不能按工作日计算。请机关工委按国务院办公厅"
                        f"关于 {year} 年部分节假日安排的通知录入 {year} 年的安排")


class Calendar:
    """The known years and their differing days between two years, read in two queries."""

    def __init__(self, first: int, last: int):
        self.known = set(CalendarYear.objects.filter(year__gte=first, year__lte=last).values_list("year", flat=True))
        self.days = dict(CalendarDay.objects.filter(day__year__gte=first, day__year__lte=last)
                         .values_list("day", "is_workday"))

    def is_workday(self, day: dt.date) -> bool:
        if day.year not in self.known:
            raise _unknown(day.year)
        return self.days.get(day, day.weekday() < 5)


def is_workday(day: dt.date) -> bool:
    return Calendar(day.year, day.year).is_workday(day)


def add(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day` (n ≥ 0; 0 is `day` itself)."""
    if not 0 <= n <= MAX_DAYS:
        raise WorkdayError(f"工作日天数应为 0 到 {MAX_DAYS} 之间的整数，收到 {n}")
    # Years are read as the count reaches them: n working days span at most n // 200 + 2 years.
    cal = Calendar(day.year, day.year + n // 200 + 2)
    current, left = day, n
    while left:
        current += dt.timedelta(days=1)
        if cal.is_workday(current):
            left -= 1
    return current


def between(a: dt.date, b: dt.date) -> int:
    """The working days after `a` up to and including `b` (b not before a)."""
    if b < a:
        raise WorkdayError(f"结束日期 {b:%Y-%m-%d} 早于开始日期 {a:%Y-%m-%d}")
    cal = Calendar(a.year, b.year)
    count, current = 0, a
    while current < b:
        current += dt.timedelta(days=1)
        count += cal.is_workday(current)
    return count


# ---- the years' data ------------------------------------------------------------------------------

def seed_from_library() -> int:
    """Add every year the bundled holiday data covers and the platform does not have yet (a year
    the working committee entered is never replaced). Returns the number of years added."""
    from chinese_calendar.constants import holidays, workdays

    have = set(CalendarYear.objects.values_list("year", flat=True))
    years = sorted({d.year for d in holidays} - have)
    if not years:
        return 0
    wanted = set(years)
    rows = [CalendarDay(day=d, is_workday=False, name=HOLIDAY_NAMES.get(str(n), ""))
            for d, n in holidays.items() if d.year in wanted and d.weekday() < 5]
    rows += [CalendarDay(day=d, is_workday=True, name=f"{HOLIDAY_NAMES.get(str(n), '')}调休上班")
             for d, n in workdays.items() if d.year in wanted and d.weekday() >= 5]
    with transaction.atomic():
        CalendarDay.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        CalendarYear.objects.bulk_create([CalendarYear(year=y, source=CalendarYear.Source.LIBRARY) for y in years],
                                         ignore_conflicts=True)
    return len(years)


_RANGE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:\s*(?:至|到|~|-{2}|—)\s*(\d{4}-\d{2}-\d{2}))?\s*(\S*)\s*$")


def parse_lines(year: int, text: str, *, label: str) -> list[tuple[dt.date, str]]:
    """Days of `year` from lines (or parts separated by “;”) like “2027-10-01 至 2027-10-07 国庆节”
    or “2027-09-26 国庆节”: every day of each range with its name. Raises WorkdayError naming the
    line."""
    out: list[tuple[dt.date, str]] = []
    for number, line in enumerate(re.split(r"[;；\n]", text or ""), start=1):
        if not line.strip():
            continue
        m = _RANGE.match(line)
        if not m:
            raise WorkdayError(f"{label}第 {number} 行“{line.strip()[:30]}”格式不正确，应为“2027-10-01 至 2027-10-07 国庆节”"
                               "或“2027-09-26 国庆节”")
        try:
            first = dt.date.fromisoformat(m.group(1))
            last = dt.date.fromisoformat(m.group(2)) if m.group(2) else first
        except ValueError:
            raise WorkdayError(f"{label}第 {number} 行的日期不存在") from None
        if first.year != year or last.year != year or last < first:
            raise WorkdayError(f"{label}第 {number} 行：日期应在 {year} 年内，且结束日期不早于开始日期")
        day = first
        while day <= last:
            out.append((day, m.group(3)[:40]))
            day += dt.timedelta(days=1)
    return out


def enter_year(user, year: int, *, holidays: str, workdays: str, notice: str) -> CalendarYear:
    """The working committee enters a year from the State Council's notice: its holidays (ranges,
    weekends included as the notice writes them) and its make-up working days. Replaces what the
    year had; all or nothing, audited."""
    from . import audit

    if not 2000 <= year <= 2100:
        raise WorkdayError(f"年度应在 2000 到 2100 之间，收到 {year}")
    notice = (notice or "").strip()
    if not notice:
        raise WorkdayError("依据：必填，请写明国务院办公厅通知的名称或文号")
    off = parse_lines(year, holidays, label="放假安排")
    on = parse_lines(year, workdays, label="调休上班")
    if not off:
        raise WorkdayError("放假安排：至少填写一行（如“2027-10-01 至 2027-10-07 国庆节”）")
    both = {d for d, _ in off} & {d for d, _ in on}
    if both:
        raise WorkdayError(f"{min(both):%Y-%m-%d} 既填为放假又填为调休上班，请核对")
    weekday_on = [d for d, _ in on if d.weekday() < 5]
    if weekday_on:
        raise WorkdayError(f"调休上班：{weekday_on[0]:%Y-%m-%d} 是工作日，调休上班日应为周六或周日")
    with transaction.atomic():
        row = CalendarYear.objects.select_for_update().filter(year=year).first()
        before = audit.snapshot(row) if row else None
        CalendarDay.objects.filter(day__year=year).delete()
        CalendarDay.objects.bulk_create(
            [CalendarDay(day=d, is_workday=False, name=n) for d, n in off if d.weekday() < 5]
            + [CalendarDay(day=d, is_workday=True, name=n or "调休上班") for d, n in on])
        if row is None:
            row = CalendarYear(year=year)
        row.source, row.notice, row.entered_by = CalendarYear.Source.ENTERED, notice[:200], user
        row.save()
        audit.record(user, row, before, note=f"录入 {year} 年节假日安排：放假 {len(off)} 天，调休上班 {len(on)} 天")
    return row

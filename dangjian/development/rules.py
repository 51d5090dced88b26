"""The timeline rules as the checks read them: every `TimelineRule` row in one query, and for a
code and a day the row in force that day (the latest `effective_from` not after it). A code
with no row falls back to the seeded defaults, so a check never fails for a missing row."""
from __future__ import annotations

import bisect
import calendar
import datetime as dt
from dataclasses import dataclass

from .models import TimelineRule
from .seed import PUBLISHED, rule_specs


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    value: int
    value_max: int | None
    unit: str
    source: str
    effective_from: dt.date


class Rules:
    def __init__(self, rows: list[Rule]):
        self._by_code: dict[str, list[Rule]] = {}
        for r in sorted(rows, key=lambda r: (r.code, r.effective_from)):
            self._by_code.setdefault(r.code, []).append(r)
        for s in rule_specs():
            self._by_code.setdefault(s["code"], [Rule(effective_from=PUBLISHED, **s)])
        self._days = {c: [r.effective_from for r in rows] for c, rows in self._by_code.items()}

    def on(self, code: str, day: dt.date | None) -> Rule:
        rows = self._by_code[code]
        if day is None:
            return rows[-1]
        i = bisect.bisect_right(self._days[code], day) - 1
        return rows[max(i, 0)]

    def current(self) -> list[Rule]:
        return [rows[-1] for _, rows in sorted(self._by_code.items())]


def load() -> Rules:
    return Rules([Rule(r.code, r.name, r.value, r.value_max, r.unit, r.source, r.effective_from)
                  for r in TimelineRule.objects.all()])


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

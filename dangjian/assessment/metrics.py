"""The registry of automatic metrics (自动计算指标).

Each metric scores every target of a run at once: a few aggregate queries over the whole tree,
rolled up to the targets through the materialized path, never a query per organization. A
metric returns, per target, a ratio between 0 and 1 with the figures behind it; `None` means
there was nothing to measure in the period (no requirement fell due), which costs nothing.

No metric rewards volume: the compliance ratio counts requirements met, capped by what the
rule requires, so a branch holding more meetings than required scores no higher (减负:
"more_meetings_or_documents_scored_higher"). Rectification items count by their
deadline (closed on time, none left overdue); capabilities built later (development steps on
time, dues collection) register their metric here.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Count

from dangjian.activities import compliance
from dangjian.activities.models import ActivityRule, Attendance, ComplianceRow
from dangjian.orgs.alerts import structure_alerts
from dangjian.orgs.models import Organization
from dangjian.rectification import queries as item_queries

SEGMENT = 9  # one path segment: 8 digits and a slash (see docs/architecture.md)


@dataclass(frozen=True, slots=True)
class Target:
    org_id: int
    code: str
    name: str
    path: str
    # Further subtrees the target answers for: at unit level, the unit's 党组 (or 党委) beside its
    # organ party organization — the 党组书记 is the 第一责任人 of the unit's party building.
    also: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Value:
    ratio: float | None
    numerator: int = 0
    denominator: int = 0
    detail: str = ""


@dataclass(frozen=True)
class Metric:
    code: str
    label: str
    measures: str  # what is counted, shown in the scheme editor
    compute: Callable[..., dict[int, Value]]
    params: tuple[str, ...] = field(default=())


REGISTRY: dict[str, Metric] = {}


def register(code: str, label: str, measures: str, params: tuple[str, ...] = ()):
    def wrap(fn):
        REGISTRY[code] = Metric(code, label, measures, fn, params)
        return fn
    return wrap


class Rollup:
    """Adds figures of any org to the target whose subtree holds it, or one of the subtrees it
    also answers for (`Target.also`); targets may nest: a figure then counts for every
    enclosing target."""

    def __init__(self, targets: Iterable[Target]):
        self.by_path = {path: t.org_id for t in targets for path in (t.path, *t.also)}

    def owners(self, path: str) -> list[int]:
        return [self.by_path[path[:end]] for end in range(SEGMENT, len(path) + 1, SEGMENT)
                if path[:end] in self.by_path]

    def sums(self, rows: Iterable[tuple[str, str, int]]) -> dict[int, dict[str, int]]:
        """rows: (org path, key, count) → {target id: {key: total}}."""
        out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for path, key, n in rows:
            for target in self.owners(path):
                out[target][key] += n
        return out


def compute(code: str, targets: list[Target], start: dt.date, end: dt.date, params: dict,
            today: dt.date) -> dict[int, Value]:
    metric = REGISTRY[code]
    return metric.compute(targets, start, end, params or {}, today)


@register("compliance_rate", "组织生活按规定落实率",
          "考核期内到期的组织生活频次要求中已完成的比例（可限定某一项要求；多开不加分）", params=("rule",))
def compliance_rate(targets, start, end, params, today):
    rows = (ComplianceRow.objects.filter(period_end__gte=start, period_end__lte=end)
            .exclude(status=compliance.NOT_APPLICABLE))
    if params.get("rule"):
        rows = rows.filter(code=params["rule"])
    # A requirement still running (`due` today) is neither met nor missed yet.
    grouped = rows.with_status_on(today).values_list("org__path", "status_now").annotate(n=Count("id")).order_by()
    sums = Rollup(targets).sums((path, status, n) for path, status, n in grouped if status != compliance.DUE)
    out = {}
    for t in targets:
        s = sums.get(t.org_id, {})
        met, missing = s.get(compliance.MET, 0), s.get(compliance.MISSING, 0)
        due = met + missing
        out[t.org_id] = Value(met / due if due else None, met, due,
                              f"应完成 {due} 项，已完成 {met} 项" if due else "考核期内没有到期的要求")
    return out


@register("attendance_rate", "组织生活到会率",
          "考核期内组织生活记录的实到人次占应到人次的比例（列席不计）")
def attendance_rate(targets, start, end, params, today):
    grouped = (Attendance.objects.filter(activity__status="active", activity__held_on__gte=start,
                                         activity__held_on__lte=end)
               .exclude(status=Attendance.Status.OBSERVER)
               .values_list("activity__org__path", "status").annotate(n=Count("id")).order_by())
    sums = Rollup(targets).sums(grouped)
    out = {}
    for t in targets:
        s = sums.get(t.org_id, {})
        present = s.get(Attendance.Status.PRESENT, 0)
        expected = sum(s.values())
        out[t.org_id] = Value(present / expected if expected else None, present, expected,
                              f"应到 {expected} 人次，实到 {present} 人次，无故缺席 {s.get('absent', 0)} 人次"
                              if expected else "考核期内没有记录出席情况的组织生活")
    return out


@register("alerts_clear", "组织设置规范率",
          "没有结构预警（超期未换届、委员空缺、应设未设支委会等）的党组织所占比例，按考核期末的组织状况")
def alerts_clear(targets, start, end, params, today):
    day = min(end, today)
    alerted = {a.org_id for a in structure_alerts(today=day)}
    orgs = (Organization.objects.filter(status=Organization.Status.ACTIVE)
            .exclude(kind="working_committee").values_list("pk", "path"))
    rows = [(path, "alerted" if pk in alerted else "clear", 1) for pk, path in orgs]
    sums = Rollup(targets).sums(rows)
    out = {}
    for t in targets:
        s = sums.get(t.org_id, {})
        clear, total = s.get("clear", 0), s.get("clear", 0) + s.get("alerted", 0)
        out[t.org_id] = Value(clear / total if total else None, clear, total,
                              f"{total} 个党组织中 {total - clear} 个有结构预警" if total else "没有下属党组织")
    return out


def _items_due(start: dt.date, end: dt.date):
    """The rectification items whose deadline falls in the period; a referred item is counted
    once, by the item it was referred to."""
    return item_queries.due_between(start, end)


@register("items_on_time", "整改按期销号率",
          "考核期内到期的整改事项中按期（不晚于整改时限）销号的比例；转办的事项按接办单位计")
def items_on_time(targets, start, end, params, today):
    day = min(end, today)
    rows = item_queries.on_time_rows(_items_due(start, end), day)
    sums = Rollup(targets).sums(rows)
    out = {}
    for t in targets:
        s = sums.get(t.org_id, {})
        on_time, due = s.get("on_time", 0), s.get("on_time", 0) + s.get("other", 0)
        out[t.org_id] = Value(on_time / due if due else None, on_time, due,
                              f"到期 {due} 项，按期销号 {on_time} 项" if due else "考核期内没有到期的整改事项")
    return out


@register("items_overdue_clear", "整改无超期率",
          "考核期内到期的整改事项中，到考核期末没有超期未销号的比例（逾期后已销号的不算超期未销号）")
def items_overdue_clear(targets, start, end, params, today):
    day = min(end, today)
    rows = item_queries.overdue_rows(_items_due(start, end), day)
    sums = Rollup(targets).sums(rows)
    out = {}
    for t in targets:
        s = sums.get(t.org_id, {})
        overdue, due = s.get("overdue", 0), s.get("overdue", 0) + s.get("clear", 0)
        out[t.org_id] = Value((due - overdue) / due if due else None, due - overdue, due,
                              f"到期 {due} 项，超期未销号 {overdue} 项" if due else "考核期内没有到期的整改事项")
    return out


def rule_codes() -> set[str]:
    return set(ActivityRule.objects.values_list("code", flat=True).distinct())

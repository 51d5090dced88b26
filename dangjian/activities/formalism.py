"""Formalism signals (形式主义提示): where records look kept for the file rather than for the work.

Shown to the working committee (and to unit party officers for their own subtree) with the
evidence, as questions to check — never a penalty, a score or a ranking. Four kinds, each over
the active records *held* in the date range (thresholds: `formalism_signals` in defaults.yaml):

  late             a record entered (`recorded_at`, kept by the platform) more than
                   `late_entry_days` days after the meeting. Records imported as history are
                   left out: they are entered late by definition.
  burst            in the last `burst_window_days` days of a month (quarter and year ends are
                   month ends), one org entered at least `burst_min_records` records of meetings
                   held before those days, in two months or more — a period's records typed in
                   at its end. Imports are left out here too.
  copied_minutes   minutes sharing a copied passage with another record's minutes, in this or
                   another org (core.similarity: passage level, standard formulations
                   discounted — those in the background list and those found in many of the
                   range's minutes). The signal belongs to the record entered later (it cannot
                   have been copied by the earlier one); the evidence is both records and the
                   passages' offsets in each text.
  same_attendance  at least `same_attendance_min_meetings` meetings of one org, on different days,
                   with exactly the same attendance list (every member with the same status),
                   the list naming at least `same_attendance_min_members` members, of whom at
                   least `same_attendance_min_away` were absent or excused. A list where
                   everybody came repeats by nature, like a standard formulation, and says nothing.

Set-based: whatever the size of the tree, a computation runs at most four queries — the
records, the minutes, the attendance rows of large meetings, the orgs named — and groups them
in Python. Nothing is queried per org or per record.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, fields, replace

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from dangjian.core import defaults
from dangjian.core.similarity import find_copies
from dangjian.orgs.models import Organization

from .models import Activity, Attendance

KINDS = {
    "late": "录入滞后",
    "burst": "期末集中录入",
    "copied_minutes": "会议记录雷同",
    "same_attendance": "出席名单雷同",
}


@dataclass(frozen=True)
class Thresholds:
    late_entry_days: int = 30
    burst_window_days: int = 5
    burst_min_records: int = 3
    same_attendance_min_members: int = 15
    same_attendance_min_meetings: int = 3
    same_attendance_min_away: int = 2

    @classmethod
    def from_defaults(cls, **overrides) -> Thresholds:
        """The `formalism_signals` section of defaults.yaml, then any overrides."""
        known = {f.name for f in fields(cls)}
        section = defaults.section("formalism_signals")
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"未知的阈值：{'、'.join(sorted(unknown))}")
        return replace(cls(**{k: int(v) for k, v in section.items() if k in known}), **overrides)


@dataclass(frozen=True, slots=True)
class Record:
    """One record named as evidence."""

    id: int
    org_id: int
    held_on: dt.date
    recorded_on: dt.date
    topic: str

    @property
    def days_late(self) -> int:
        return (self.recorded_on - self.held_on).days


@dataclass(frozen=True, slots=True)
class Signal:
    kind: str
    org_id: int
    org_code: str
    org_name: str
    org_path: str
    records: tuple[Record, ...]
    message: str
    figures: dict = field(default_factory=dict)  # kind-specific, JSON-ready

    @property
    def activity_ids(self) -> list[int]:
        return [r.id for r in self.records]

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    def as_json(self) -> dict:
        return {"kind": self.kind, "org_code": self.org_code, "org_name": self.org_name,
                "activity_ids": self.activity_ids, "message": self.message, **self.figures}


def _topic(r: Record) -> str:
    return f"“{r.topic}”" if r.topic else "组织生活记录"


def _d(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def compute(start: dt.date, end: dt.date, *, org: Organization | None = None, kinds=None,
            thresholds: Thresholds | None = None) -> list[Signal]:
    """Signals about the records held in [start, end] by the subtree of `org` (or the whole
    tree), ordered by org path, kind and date. Copies are looked for across the whole tree:
    a branch copying another unit's minutes is the main case."""
    t = thresholds or Thresholds.from_defaults()
    wanted = [k for k in KINDS if kinds is None or k in kinds]
    base = Activity.objects.filter(status=Activity.Status.ACTIVE, held_on__gte=start, held_on__lte=end).order_by()
    scoped = base.filter(org__path__startswith=org.path) if org is not None else base
    records: dict[int, Record] = {}
    found: list[tuple[str, int, tuple[Record, ...], dict]] = []  # kind, org id, records, figures

    def record(pk, org_id, held_on, recorded_at, topic) -> Record:
        r = records.get(pk)
        if r is None:
            r = records[pk] = Record(pk, org_id, held_on, timezone.localtime(recorded_at).date(), topic)
        return r

    if "late" in wanted or "burst" in wanted or "same_attendance" in wanted:
        entered = set()
        for pk, org_id, held_on, recorded_at, topic, source in scoped.values_list(
                "pk", "org_id", "held_on", "recorded_at", "topic", "source"):
            record(pk, org_id, held_on, recorded_at, topic)
            if source == Activity.Source.ENTERED:
                entered.add(pk)
        if "late" in wanted:
            found += _late(records, entered, t)
        if "burst" in wanted:
            found += _bursts(records, entered, t)
    if "same_attendance" in wanted:
        found += _same_attendance(scoped, records, t)
    if "copied_minutes" in wanted:
        found += _copies(base, org, record, t)

    org_ids = {f[1] for f in found} | {f[3]["_other_org_id"] for f in found if "_other_org_id" in f[3]}
    orgs = {pk: (code, name, path) for pk, code, name, path in
            Organization.objects.filter(pk__in=org_ids).values_list("pk", "code", "name", "path")}
    out = []
    for kind, org_id, recs, figures in found:
        code, name, path = orgs[org_id]
        if org is not None and not path.startswith(org.path):
            continue  # a copy whose later record lies outside the subtree asked for
        figures = dict(figures)
        other = figures.pop("_other_org_id", None)
        if other is not None:
            figures["other_org_code"], figures["other_org_name"] = orgs[other][0], orgs[other][1]
        out.append(Signal(kind, org_id, code, name, path, recs, _message(kind, recs, figures, org_id == other, t),
                          figures))
    order = {k: i for i, k in enumerate(KINDS)}
    out.sort(key=lambda s: (s.org_path, order[s.kind], s.records[0].held_on, s.records[0].id))
    return out


def _late(records: dict[int, Record], entered: set[int], t: Thresholds):
    for pk in entered:
        r = records[pk]
        if r.days_late > t.late_entry_days:
            yield "late", r.org_id, (r,), {"held_on": r.held_on.isoformat(), "recorded_on": r.recorded_on.isoformat(),
                                           "days_late": r.days_late}


def _bursts(records: dict[int, Record], entered: set[int], t: Thresholds):
    windows: dict[tuple[int, int, int], list[Record]] = defaultdict(list)
    for pk in entered:
        r = records[pk]
        day = r.recorded_on
        window_start = dt.date(day.year, day.month, calendar.monthrange(day.year, day.month)[1]) \
            - dt.timedelta(days=t.burst_window_days - 1)
        if day >= window_start and r.held_on < window_start:
            windows[(r.org_id, day.year, day.month)].append(r)
    for (org_id, year, month), recs in windows.items():
        months = sorted({(r.held_on.year, r.held_on.month) for r in recs})
        if len(recs) < t.burst_min_records or len(months) < 2:
            continue
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        recs.sort(key=lambda r: (r.held_on, r.id))
        yield "burst", org_id, tuple(recs), {
            "period": f"{year}-{month:02d}", "quarter_end": month % 3 == 0,
            "window_start": (last - dt.timedelta(days=t.burst_window_days - 1)).isoformat(),
            "window_end": last.isoformat(), "records_count": len(recs),
            "months": [f"{y}-{m:02d}" for y, m in months],
        }


def _same_attendance(scoped, records: dict[int, Record], t: Thresholds):
    # Only meetings whose list is long enough are read: 应到 (expected_count) is the number of
    # members listed, observers aside, taken when the record was written.
    lists: dict[int, list[tuple[int, str]]] = defaultdict(list)
    owner: dict[int, int] = {}
    for activity_id, org_id, member_id, status in Attendance.objects.filter(
        activity__in=scoped.filter(expected_count__gte=t.same_attendance_min_members).values("pk")
    ).order_by().values_list("activity_id", "activity__org_id", "member_id", "status"):
        lists[activity_id].append((member_id, status))
        owner[activity_id] = org_id
    groups: dict[tuple[int, tuple], list[int]] = defaultdict(list)
    for activity_id, rows in lists.items():
        rows.sort()
        groups[(owner[activity_id], tuple(rows))].append(activity_id)
    for (org_id, rows), ids in groups.items():
        listed = sum(1 for _, s in rows if s != Attendance.Status.OBSERVER)
        away = sum(1 for _, s in rows if s in (Attendance.Status.ABSENT, Attendance.Status.EXCUSED))
        recs = sorted((records[i] for i in ids), key=lambda r: (r.held_on, r.id))
        days = sorted({r.held_on for r in recs})
        if listed < t.same_attendance_min_members or away < t.same_attendance_min_away or \
                len(days) < t.same_attendance_min_meetings:
            continue
        yield "same_attendance", org_id, tuple(recs), {
            "meetings": len(recs), "listed": listed, "away": away,
            "present": sum(1 for _, s in rows if s == Attendance.Status.PRESENT),
            "dates": [d.isoformat() for d in days],
        }


def _copies(base, org: Organization | None, record, t: Thresholds):
    # The whole range's minutes are the collection, whatever the subtree asked for: which
    # formulations are standard is learned from all of them, and the other side of a copy may
    # be anywhere in the tree. A subtree only narrows which records are compared (`only`).
    docs: dict[str, str] = {}
    by_id: dict[str, Record] = {}
    subtree = []
    for pk, org_id, held_on, recorded_at, topic, minutes, path in base.exclude(minutes="").values_list(
            "pk", "org_id", "held_on", "recorded_at", "topic", "minutes", "org__path"):
        by_id[str(pk)] = record(pk, org_id, held_on, recorded_at, topic)
        docs[str(pk)] = minutes
        if org is not None and path.startswith(org.path):
            subtree.append(str(pk))
    if len(docs) < 2 or (org is not None and not subtree):
        return
    for pair in find_copies(docs, only=subtree if org is not None else None):
        a, b = by_id[pair.a], by_id[pair.b]
        later, earlier = (a, b) if (a.recorded_on, a.id) >= (b.recorded_on, b.id) else (b, a)
        swap = later is b
        spans = sorted((p.b_start, p.b_end, p.a_start, p.a_end) if swap else tuple(p) for p in pair.passages)
        yield "copied_minutes", later.org_id, (later, earlier), {
            "_other_org_id": earlier.org_id, "score": pair.score, "copied_chars": pair.copied,
            "passages": [{"a_start": s[0], "a_end": s[1], "b_start": s[2], "b_end": s[3]} for s in spans],
        }


def _message(kind: str, recs: tuple[Record, ...], f: dict, same_org: bool, t: Thresholds) -> str:
    if kind == "late":
        r = recs[0]
        return (f"{_d(r.held_on)}的{_topic(r)}于{_d(r.recorded_on)}录入，晚于活动日期 {r.days_late} 天"
                f"（超过 {t.late_entry_days} 天），请核实是否为事后补记")
    if kind == "burst":
        months = "、".join(f"{int(m[:4])}年{int(m[5:])}月" for m in f["months"])
        end = dt.date.fromisoformat(f["window_end"])
        when = f"{end.year}年{end.month}月最后 {t.burst_window_days} 天" + ("（季度末）" if f["quarter_end"] else "")
        return (f"{when}集中录入 {f['records_count']} 条此前活动的记录，活动日期分布在 {months}，"
                "请核实是否为期末集中补录")
    if kind == "copied_minutes":
        where = "本组织" if same_org else f"{f['other_org_name']}"
        return (f"{_d(recs[0].held_on)}的会议记录与{where}{_d(recs[1].held_on)}的会议记录有 {len(f['passages'])} 处段落雷同"
                f"（扣除通用表述后约 {f['copied_chars']} 字），请核实是否照搬")
    dates = "、".join(_d(dt.date.fromisoformat(d)) for d in f["dates"])
    return (f"{f['meetings']} 次会议（{dates}）的出席名单完全相同：列入 {f['listed']} 人，出席 {f['present']} 人，"
            f"缺席或请假 {f['away']} 人，请核实是否沿用同一份签到名单")


# ---- the page's copy --------------------------------------------------------------------------

CACHE_SECONDS = 24 * 3600


def year_signals(year: int) -> list[Signal]:
    """The whole tree's signals for a year, for the page.

    Cached rather than stored: twelve months of the demo city take about two seconds of CPU
    (nearly all of it the copy check over ~14,000 minutes; docs/similarity.md), too long for every
    page view, and a stored table would need its own model and a recomputation job after every
    change batch. The cache key carries
    the number of the year's records and their latest change (`updated_at` moves with every edit,
    attendance change and withdrawal), so the first view after a change recomputes and no view
    ever shows stale signals; one aggregate query decides. Org names and paths are not trusted
    from the cache: the page looks them up again when it filters by the user's scope."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    stamp = Activity.objects.filter(held_on__gte=start, held_on__lte=end).aggregate(
        n=Count("pk"), last=Max("updated_at"))
    t = Thresholds.from_defaults()
    last = stamp["last"].isoformat() if stamp["last"] else "-"
    limits = "-".join(str(getattr(t, f.name)) for f in fields(t))
    key = f"formalism:v1:{year}:{stamp['n']}:{last}:{limits}"
    signals = cache.get(key)
    if signals is None:
        signals = compute(start, end, thresholds=t)
        cache.set(key, signals, CACHE_SECONDS)
    return signals

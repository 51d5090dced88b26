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

Stored, not computed per view: the page reads the year's signals from `FormalismSignal` rows
and never computes the year itself. `FormalismYear.stamp` names the data they were computed from
(the number of the year's records, their latest `updated_at`, the thresholds). The first
computation of a year computes it whole and builds its copy index: each record's state
(`FormalismRecord`), its minutes' fingerprints (`MinutesFingerprint`) and how many minutes hold
each fingerprint (`MinutesFingerprintCount`). After a record is saved (services, on commit) a
background job:

  1. recomputes the per-org kinds (late, burst, same_attendance) of the orgs the change touched,
     for those orgs only — exact, since each of these signals belongs to one org and is judged on
     that org's records alone;
  2. catches the copy index up (`sync_year`): the records changed since its last catch-up leave
     it with their old fingerprints and enter it with their new ones; they, and the holders of any
     fingerprint whose count crossed the cut-off (at most the cut-off plus one records each), have
     their copies looked for again through the index — the records sharing rare fingerprints with
     them — and verified as the whole-year check verifies them. What is stored is exactly what
     `compute` finds (tests/test_formalism.py checks it over a random sequence of saves).

The cut-off is capped (`copy_max_docs`): a fingerprint held by more minutes is a standard
formulation at any size, so the pairs each one proposes are bounded and candidates grow linearly
with records. One refresh holds a year at a time (`refreshing_since`); changes made meanwhile are
picked up by its next round. A year whose index cannot catch up (built under other thresholds, a
record deleted outright) is computed whole again.

`dangjian formalism` prints the stored signals: it brings the year up to date in its own process
(`bring_current`, as the job does) and streams them in the computation's order (`stored_rows`),
byte for byte what it printed when it computed the year, without holding the year's minutes.
`compute` stays the reference the stored signals are checked against.
"""
from __future__ import annotations

import calendar
import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, Exists, F, IntegerField, Max, OuterRef, Q, Value, When
from django.db.models.functions import Substr
from django.utils import timezone

from dangjian.core import defaults, jobs, similarity
from dangjian.core.scoping import scope_of
from dangjian.orgs.models import SEGMENT, Organization

from .models import (
    Activity,
    Attendance,
    FormalismRecord,
    FormalismSignal,
    FormalismYear,
    MinutesFingerprint,
    MinutesFingerprintCount,
)

KINDS = {
    "late": "录入滞后",
    "burst": "期末集中录入",
    "copied_minutes": "会议记录雷同",
    "same_attendance": "出席名单雷同",
}
# Each of these belongs to one org and is judged on that org's records alone: after a change
# they are recomputed for the orgs it touched. Copies compare every record with every other.
LOCAL_KINDS = ("late", "burst", "same_attendance")


@dataclass(frozen=True)
class Thresholds:
    late_entry_days: int = 30
    burst_window_days: int = 5
    burst_min_records: int = 3
    same_attendance_min_members: int = 15
    same_attendance_min_meetings: int = 3
    same_attendance_min_away: int = 2
    copy_max_docs: int = similarity.MAX_DOCS

    @classmethod
    def from_defaults(cls, **overrides) -> Thresholds:
        """The `formalism_signals` section of defaults.yaml, then any overrides."""
        return defaults.settings_of(cls, "formalism_signals", **overrides)


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
            thresholds: Thresholds | None = None, org_ids: Iterable[int] | None = None,
            stats: dict | None = None) -> list[Signal]:
    """Signals about the records held in [start, end] by the subtree of `org` (or the whole
    tree), ordered by org path, kind and date. Copies are looked for across the whole tree:
    a branch copying another unit's minutes is the main case. `org_ids` limits the per-org
    kinds (LOCAL_KINDS) to exactly these orgs, for a refresh after a change. `stats`: what the
    copy check looked at (core.similarity.find_copies), for the benchmark."""
    t = thresholds or Thresholds.from_defaults()
    wanted = [k for k in KINDS if kinds is None or k in kinds]
    base = Activity.objects.filter(status=Activity.Status.ACTIVE, held_on__gte=start, held_on__lte=end).order_by()
    scoped = base.filter(org__path__startswith=org.path) if org is not None else base
    if org_ids is not None:
        if "copied_minutes" in wanted:
            raise ValueError("copied_minutes is judged on the whole collection, not per org")
        scoped = scoped.filter(org_id__in=sorted(set(org_ids)))
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
        found += _copies(base, org, record, t, stats)

    return _signals(found, org, t)


def _signals(found, org: Organization | None, t: Thresholds) -> list[Signal]:
    """What the kinds found, as signals: one query for the orgs they name."""
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
    out.sort(key=_order)
    return out


_KIND_INDEX = {k: i for i, k in enumerate(KINDS)}


def _order(s: Signal) -> tuple:
    """The order of the list: org, kind, the first record's date and id. Only copies can tie on
    these (one later record copying several earlier ones): they follow by score, highest first,
    then by the earlier record, so the order is total and the stored signals can be read in it
    (`stored_rows`)."""
    first = s.records[0]
    if s.kind == "copied_minutes":
        return s.org_path, _KIND_INDEX[s.kind], first.held_on, first.id, -s.figures["score"], s.records[1].id
    return s.org_path, _KIND_INDEX[s.kind], first.held_on, first.id, 0.0, 0


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


def _copies(base, org: Organization | None, record, t: Thresholds, stats: dict | None = None):
    # The whole range's minutes are the collection, whatever the subtree asked for: which
    # formulations are standard is learned from all of them, and the other side of a copy may
    # be anywhere in the tree. A subtree only narrows which records are compared (`only`).
    # In the order of ids: of a pair, the earlier id plays the engine's first document, as the
    # copy index (sync_year) has it.
    docs: dict[str, str] = {}
    by_id: dict[str, Record] = {}
    subtree = []
    for pk, org_id, held_on, recorded_at, topic, minutes, path in base.exclude(minutes="").order_by("pk").values_list(
            "pk", "org_id", "held_on", "recorded_at", "topic", "minutes", "org__path"):
        by_id[str(pk)] = record(pk, org_id, held_on, recorded_at, topic)
        docs[str(pk)] = minutes
        if org is not None and path.startswith(org.path):
            subtree.append(str(pk))
    if len(docs) < 2 or (org is not None and not subtree):
        return
    for pair in similarity.find_copies(docs, only=subtree if org is not None else None, max_docs=t.copy_max_docs,
                                       stats=stats):
        yield _copy_found(pair, by_id[pair.a], by_id[pair.b])


def _copy_found(pair: similarity.Pair, a: Record, b: Record):
    later, earlier = (a, b) if (a.recorded_on, a.id) >= (b.recorded_on, b.id) else (b, a)
    swap = later is b
    spans = sorted((p.b_start, p.b_end, p.a_start, p.a_end) if swap else tuple(p) for p in pair.passages)
    return "copied_minutes", later.org_id, (later, earlier), {
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


# ---- stored signals: the page's copy of each year ------------------------------------------------

VERSION = 2  # of the computation: a change to it makes every stored year out of date (and its index)
# A refresh that has held its year this long is taken to have died with its process.
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
# The copy index takes in the records changed since its last catch-up less this margin: a record
# saved (updated_at set) before a catch-up began but committed after it read is still seen, as
# long as its transaction lasted less than this. Records seen again unchanged cost a look-up.
SYNC_MARGIN = dt.timedelta(minutes=10)
CHUNK = 500  # ids or hashes per IN (…): far below SQLite's and MariaDB's limits on parameters


def _year_range(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def stamp(year: int, thresholds: Thresholds | None = None) -> str:
    """What the year's signals depend on, in one aggregate query: the number of the records held
    in the year and their latest change (`updated_at` moves with every edit, attendance change
    and withdrawal; a record moved to another year changes both years' counts), the thresholds
    and the computation's version."""
    t = thresholds or Thresholds.from_defaults()
    start, end = _year_range(year)
    agg = Activity.objects.filter(held_on__gte=start, held_on__lte=end).order_by().aggregate(
        n=Count("pk"), last=Max("updated_at"))
    last = agg["last"].isoformat() if agg["last"] else "-"
    limits = "-".join(str(getattr(t, f.name)) for f in fields(t))
    return f"v{VERSION}:{agg['n']}:{last}:{limits}"


def _row(year: int, s: Signal) -> FormalismSignal:
    first = s.records[0]
    return FormalismSignal(
        year=year, kind=s.kind, org_id=s.org_id, held_on=first.held_on, first_id=first.id,
        second_id=s.records[1].id if s.kind == "copied_minutes" else None,
        score=s.figures["score"] if s.kind == "copied_minutes" else None,
        records=[[r.id, r.org_id, r.held_on.isoformat(), r.recorded_on.isoformat(), r.topic] for r in s.records],
        figures=s.figures, message=s.message)


def _records(row: FormalismSignal) -> tuple[Record, ...]:
    return tuple(Record(pk, org_id, dt.date.fromisoformat(held), dt.date.fromisoformat(recorded), topic)
                 for pk, org_id, held, recorded, topic in row.records)


def _lock(year: int, **changes) -> None:
    """The first statement of every transaction that writes a year's signals: an update of the
    year's row, which PostgreSQL and MariaDB lock until commit and for which SQLite takes its
    write lock. Two writers of one year (the whole year, the orgs of a change) therefore never
    interleave, and each one's deletes see the rows the other committed — never a signal twice."""
    FormalismYear.objects.filter(year=year).update(**(changes or {"year": F("year")}))


@transaction.atomic
def _store_year(year: int, signals: list[Signal], current: str, seconds: float) -> None:
    _lock(year, stamp=current, computed_at=timezone.now(), seconds=seconds)
    FormalismSignal.objects.filter(year=year).delete()
    FormalismSignal.objects.bulk_create([_row(year, s) for s in signals], batch_size=500)


@transaction.atomic
def _store_orgs(year: int, org_ids: list[int], signals: list[Signal], began: dt.datetime | None = None) -> None:
    _lock(year)
    if began is not None and FormalismYear.objects.filter(year=year, computed_at__gt=began).exists():
        # The whole year was stored after these signals began to be computed: it read the
        # records later, so these would overwrite newer ones. (Were it missing this change,
        # its stamp differs and the year's refresh that follows recomputes it.)
        return
    FormalismSignal.objects.filter(year=year, org_id__in=org_ids, kind__in=LOCAL_KINDS).delete()
    FormalismSignal.objects.bulk_create([_row(year, s) for s in signals], batch_size=500)


def _claim(year: int) -> bool:
    """Take the year for one refresh; False while another refresh holds it."""
    FormalismYear.objects.get_or_create(year=year)
    now = timezone.now()
    return FormalismYear.objects.filter(year=year).filter(
        Q(refreshing_since__isnull=True) | Q(refreshing_since__lt=now - CLAIM_TIMEOUT)
    ).update(refreshing_since=now) == 1


def _release(year: int) -> None:
    FormalismYear.objects.filter(year=year).update(refreshing_since=None)


def _stored_stamp(year: int) -> str | None:
    return FormalismYear.objects.filter(year=year).values_list("stamp", flat=True).first()


def refresh_orgs(year: int, org_ids) -> int | None:
    """Recompute and store the per-org kinds of these orgs for the year (step 1 after a change).
    Nothing is done for a year never computed as a whole (its first refresh does everything).
    Returns the number of signals stored, or None."""
    org_ids = sorted(set(org_ids))
    if not org_ids or not FormalismYear.objects.filter(year=year, computed_at__isnull=False).exists():
        return None
    start, end = _year_range(year)
    began = timezone.now()
    found = compute(start, end, kinds=LOCAL_KINDS, org_ids=org_ids)
    _store_orgs(year, org_ids, found, began)
    return len(found)


def refresh_year(year: int, *, claimed: bool = False) -> dict:
    """Bring the year's stored signals up to date, unless they are current or another refresh
    holds the year (that one looks again before it lets go, so a change it has not seen is never
    left behind). With the year's copy index built under the same thresholds, only the records
    changed since its last catch-up are taken in (`sync_year`); otherwise the year is computed
    and its index built (`rebuild_year`). Returns what it did."""
    runs, seconds, count, mode, revisited = 0, None, None, None, 0
    while claimed or _claim(year):
        claimed = False
        try:
            idle = False
            while True:
                t = Thresholds.from_defaults()
                read_at = timezone.now()
                current = stamp(year, t)  # read before the records: a change made meanwhile shows next time
                if _stored_stamp(year) == current:
                    # Nothing of this year changed since it was stored (the page found a change
                    # elsewhere): the index holds every change made before the stamp was read.
                    FormalismYear.objects.filter(year=year, basis=_basis(t), synced_to__lt=read_at).update(
                        synced_to=read_at)
                    break
                began = time.perf_counter()
                synced = None if idle else sync_year(year, t, current)
                if synced is None:
                    rebuild_year(year, t, current)
                    mode = "full"
                else:
                    mode, revisited = "incremental", revisited + synced["revisited"]
                    # Nothing changed, yet the records do not add up: records deleted outright
                    # or written around updated_at. The index cannot see those; the next round
                    # rebuilds. (Changes made while it read show as a mismatch too: one more round.)
                    idle = synced["changed"] == 0 and not synced["matches"]
                seconds = time.perf_counter() - began
                runs += 1
                count = FormalismSignal.objects.filter(year=year).count()
        finally:
            _release(year)
        # A change committed while the year was held found it taken and left it to this refresh.
        if _stored_stamp(year) == stamp(year):
            break
    return {"year": year, "runs": runs, "seconds": seconds, "signals": count, "mode": mode, "revisited": revisited}


def bring_current(year: int, *, say=None, poll: float = 2.0) -> dict | None:
    """Make the year's stored signals current in this process, as the page's job does
    (`refresh_year`): the records changed since the last catch-up taken in through the copy
    index, or the whole year computed when it never was (or its thresholds or the computation's
    version changed). While another process's refresh holds the year, wait for it and look
    again (one that died is taken over after CLAIM_TIMEOUT). `say` is told in Chinese what is
    done. Returns the report of the refresh that ran, or None when the signals were current."""
    say = say or (lambda text: None)
    waiting = False
    while True:
        t = Thresholds.from_defaults()
        if _stored_stamp(year) == stamp(year, t):
            return None
        state = FormalismYear.objects.filter(year=year).values("basis", "synced_to").first()
        whole = state is None or state["synced_to"] is None or state["basis"] != _basis(t)
        if whole:
            say(f"{year} 年的形式主义问题提示尚未按现行规则计算，正在计算全年记录，请稍候……")
        else:
            say(f"{year} 年有记录在上次计算后变更，正在更新形式主义问题提示……")
        result = refresh_year(year)
        if result["runs"]:
            how = "全年重新计算" if result["mode"] == "full" else f"增量更新，复核 {result['revisited']} 条记录"
            say(f"已更新 {year} 年形式主义问题提示（{how}，用时 {result['seconds']:.1f} 秒，"
                f"共 {result['signals']} 条提示）")
            return result
        # Another process holds the year: it looks once more before letting go, so once it has
        # the stored signals are current, or the year is free for this one.
        if not waiting:
            say(f"另一更新正在计算 {year} 年的形式主义问题提示，等待其完成……")
            waiting = True
        time.sleep(poll)


def _basis(t: Thresholds) -> str:
    return f"v{VERSION}:" + "-".join(str(getattr(t, f.name)) for f in fields(t))


def _chunks(items, size: int = CHUNK):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def rebuild_year(year: int, t: Thresholds, current: str) -> None:
    """The whole year computed (`compute`, as `dangjian formalism` does) and stored, and its copy
    index built from scratch. The index is read first: a record changed before `compute` reads it
    is then newer than its index row, and the next catch-up takes it in again (never the other
    way round, which would leave signals older than the index)."""
    start, end = _year_range(year)
    began_at = timezone.now()
    began = time.perf_counter()
    records, documents = _build_index(year, start, end)
    found = compute(start, end, thresholds=t)
    _store_year(year, found, current, time.perf_counter() - began)
    FormalismYear.objects.filter(year=year).update(basis=_basis(t), records=records, documents=documents,
                                                   synced_to=began_at)


@transaction.atomic
def _build_index(year: int, start: dt.date, end: dt.date) -> tuple[int, int]:
    """The year's records, fingerprints of their minutes and the fingerprints' counts, written
    afresh in one transaction: records streamed in chunks, the counts by one INSERT … SELECT …
    GROUP BY, so memory does not grow with the year."""
    _lock(year, basis="", synced_to=None)
    FormalismRecord.objects.filter(year=year).delete()
    MinutesFingerprint.objects.filter(year=year).delete()
    MinutesFingerprintCount.objects.filter(year=year).delete()
    records = documents = 0
    batch_r, batch_f = [], []
    # Plain tuples through executemany: a year holds a few hundred thousand fingerprints per
    # 10,000 members, and model instances would cost more than the writing.
    fields = {f.attname: f for f in FormalismRecord._meta.concrete_fields}
    insert_r = _insert_sql(FormalismRecord, ("year", "activity_id", "updated_at", "document"))
    insert_f = _insert_sql(MinutesFingerprint, ("year", "hash", "activity_id"))
    rows = Activity.objects.filter(held_on__gte=start, held_on__lte=end).order_by().values_list(
        "pk", "updated_at", "status", "minutes")
    with connection.cursor() as cur:
        for pk, updated_at, status, minutes in rows.iterator(chunk_size=2000):
            document = status == Activity.Status.ACTIVE and minutes != ""
            records += 1
            batch_r.append((year, pk, fields["updated_at"].get_db_prep_value(updated_at, connection), document))
            if document:
                documents += 1
                batch_f.extend((year, h, pk) for h in similarity.fingerprints(minutes))
            if len(batch_f) >= 5000 or len(batch_r) >= 2000:
                cur.executemany(insert_r, batch_r)
                cur.executemany(insert_f, batch_f)
                batch_r, batch_f = [], []
        if batch_r:
            cur.executemany(insert_r, batch_r)
        if batch_f:
            cur.executemany(insert_f, batch_f)
    counts, fps = MinutesFingerprintCount._meta.db_table, MinutesFingerprint._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {counts} (year, hash, docs) SELECT year, hash, COUNT(*) FROM {fps} "
                    "WHERE year = %s GROUP BY year, hash", [year])
    return records, documents


def _insert_sql(model, columns) -> str:
    quote = connection.ops.quote_name
    return (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})")


def sync_year(year: int, t: Thresholds, current: str) -> dict | None:
    """Take the records changed since the index's last catch-up into the year's copy index and
    stored signals, without reading the year. None when the index cannot be caught up (never
    built, built under other thresholds or another version of the computation): rebuild.

    For the changed records: their old fingerprints leave the index, their new ones enter it,
    the counts move. A fingerprint whose count crosses the limit (or the limit itself, which
    grows with the number of minutes up to `copy_max_docs`) changes status: the records holding
    it — at most the limit plus one, by definition of the limit — are revisited with the changed
    ones. A revisited record's copies are dropped and looked for again through the index: the
    records sharing at least `MIN_SHARED` of its rare fingerprints (an indexed look-up, at most
    the limit per fingerprint), each pair verified as `find_copies` verifies it. The per-org
    kinds of the changed records' orgs are recomputed for those orgs."""
    state = FormalismYear.objects.filter(year=year).values(
        "basis", "synced_to", "records", "documents").first()
    if state is None or state["synced_to"] is None or state["basis"] != _basis(t):
        return None
    start, end = _year_range(year)
    began_at = timezone.now()
    # In the database, through the indexes: the records changed since whose index row is missing
    # or older (held in the year), and the index rows of records that left the year.
    recent = Activity.objects.filter(updated_at__gte=state["synced_to"] - SYNC_MARGIN).order_by()
    in_year = Q(held_on__gte=start, held_on__lte=end)
    indexed = FormalismRecord.objects.filter(year=year, activity_id=OuterRef("pk"))
    columns = ("pk", "held_on", "status", "updated_at", "org_id")
    changed = {pk: v for pk, *v in recent.filter(in_year).exclude(
        Exists(indexed.filter(updated_at=OuterRef("updated_at")))).values_list(*columns)}
    changed.update({pk: v for pk, *v in recent.exclude(in_year).filter(Exists(indexed)).values_list(*columns)})
    old = {}
    for ids in _chunks(changed):
        old.update({a: (u, d) for a, u, d in FormalismRecord.objects.filter(year=year, activity_id__in=ids)
                    .values_list("activity_id", "updated_at", "document")})
    out = {"changed": len(changed), "revisited": 0, "pairs": 0}
    with transaction.atomic():
        _lock(year)
        texts = dict(Activity.objects.filter(pk__in=[pk for pk, v in changed.items() if start <= v[0] <= end
                                                     and v[1] == Activity.Status.ACTIVE])
                     .exclude(minutes="").values_list("pk", "minutes")) if changed else {}
        before = _index_fingerprints(year, [pk for pk in changed if pk in old and old[pk][1]])
        after = {pk: similarity.fingerprints(text) for pk, text in texts.items()}
        delta: dict[int, int] = defaultdict(int)
        for pk in changed:
            for h in before.get(pk, set()) - after.get(pk, set()):
                delta[h] -= 1
            for h in after.get(pk, set()) - before.get(pk, set()):
                delta[h] += 1
        counts = _counts(year, [h for h, d in delta.items() if d])
        n_old, n_new = state["documents"], state["documents"] - len(before) + len(after)
        _write_index(year, changed, old, texts, after, delta, counts)
        limit_old = similarity.common_limit(n_old, max_docs=t.copy_max_docs)
        limit = similarity.common_limit(n_new, max_docs=t.copy_max_docs)
        flipped = {h for h, d in delta.items() if d and (counts.get(h, 0) > limit_old) != (counts.get(h, 0) + d > limit)}
        if limit != limit_old:
            flipped.update(MinutesFingerprintCount.objects.filter(
                year=year, docs__gt=min(limit, limit_old), docs__lte=max(limit, limit_old)).values_list("hash", flat=True))
        revisit = {pk for pk in changed if pk in before or pk in after}
        for hs in _chunks(flipped):
            revisit.update(MinutesFingerprint.objects.filter(year=year, hash__in=hs).values_list("activity_id", flat=True))
        records = state["records"] + sum(1 for pk, v in changed.items() if start <= v[0] <= end) - sum(
            1 for pk in changed if pk in old)
        for ids in _chunks(revisit):
            FormalismSignal.objects.filter(Q(first_id__in=ids) | Q(second_id__in=ids), year=year,
                                           kind="copied_minutes").delete()
        pairs = _copies_of(year, revisit, limit, t)
        FormalismSignal.objects.bulk_create([_row(year, s) for s in pairs], batch_size=500)
        org_ids = sorted({v[3] for v in changed.values()})
        if org_ids:
            _store_orgs(year, org_ids, compute(start, end, kinds=LOCAL_KINDS, org_ids=org_ids, thresholds=t))
        # A count that does not add up (a record deleted outright, one written around updated_at)
        # leaves the stamp unmatched, and the next round rebuilds.
        matches = current.split(":")[1] == str(records)
        FormalismYear.objects.filter(year=year).update(
            records=records, documents=n_new, synced_to=began_at, computed_at=timezone.now(),
            **({"stamp": current} if matches else {"stamp": ""}))
    out.update(revisited=len(revisit), pairs=len(pairs), records=records, documents=n_new, limit=limit,
               matches=matches)
    return out


def _index_fingerprints(year: int, ids) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {pk: set() for pk in ids}
    for chunk in _chunks(ids):
        for pk, h in MinutesFingerprint.objects.filter(year=year, activity_id__in=chunk).values_list(
                "activity_id", "hash"):
            out[pk].add(h)
    return out


def _counts(year: int, hashes) -> dict[int, int]:
    out = {}
    for chunk in _chunks(hashes):
        out.update(MinutesFingerprintCount.objects.filter(year=year, hash__in=chunk).values_list("hash", "docs"))
    return out


def _write_index(year, changed, old, texts, after, delta, counts) -> None:
    """The changed records' rows, fingerprints and counts, as they are now."""
    ids = list(changed)
    for chunk in _chunks(ids):
        FormalismRecord.objects.filter(year=year, activity_id__in=chunk).delete()
        MinutesFingerprint.objects.filter(year=year, activity_id__in=chunk).delete()
    start, end = _year_range(year)
    FormalismRecord.objects.bulk_create([
        FormalismRecord(year=year, activity_id=pk, updated_at=v[2], document=pk in texts)
        for pk, v in changed.items() if start <= v[0] <= end], batch_size=500)
    MinutesFingerprint.objects.bulk_create([MinutesFingerprint(year=year, hash=h, activity_id=pk)
                                            for pk, hs in after.items() for h in hs], batch_size=1000)
    gone = [h for h, d in delta.items() if d and counts.get(h, 0) + d <= 0]
    for chunk in _chunks(gone):
        MinutesFingerprintCount.objects.filter(year=year, hash__in=chunk).delete()
    by_delta: dict[int, list[int]] = defaultdict(list)  # one UPDATE per step (+1, −1 for one record)
    for h, d in delta.items():
        if d and h in counts and counts[h] + d > 0:
            by_delta[d].append(h)
    for d, hs in by_delta.items():
        for chunk in _chunks(hs):
            MinutesFingerprintCount.objects.filter(year=year, hash__in=chunk).update(docs=F("docs") + d)
    MinutesFingerprintCount.objects.bulk_create([MinutesFingerprintCount(year=year, hash=h, docs=d)
                                                 for h, d in delta.items() if d > 0 and h not in counts],
                                                batch_size=1000)


def _copies_of(year: int, ids, limit: int, t: Thresholds) -> list[Signal]:
    """Every copy a record of `ids` takes part in, found through the index: the same pairs,
    passages and credit as `find_copies` over the year (tests/test_formalism.py checks it)."""
    ids = set(ids)
    bg = similarity.background_hashes()
    fps = _index_fingerprints(year, ids)
    df = _counts(year, {h for hs in fps.values() for h in hs})
    rare_of = {pk: {h for h in hs if 2 <= df[h] <= limit and h not in bg} for pk, hs in fps.items()}
    holders: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks({h for hs in rare_of.values() for h in hs}):
        for h, pk in MinutesFingerprint.objects.filter(year=year, hash__in=chunk).values_list("hash", "activity_id"):
            holders[h].append(pk)
    pairs = set()
    for pk, rare in rare_of.items():
        shared = Counter(other for h in rare for other in holders[h] if other != pk)
        pairs.update((min(pk, o), max(pk, o)) for o, m in shared.items() if m >= similarity.MIN_SHARED)
    if not pairs:
        return []
    others = {o for p in pairs for o in p} - set(fps)
    fps.update(_index_fingerprints(year, others))
    df.update(_counts(year, {h for pk in others for h in fps[pk]} - set(df)))
    rare = {h for h, n in df.items() if 2 <= n <= limit and h not in bg}
    common = {h for h, n in df.items() if n > limit}
    rows: dict[int, tuple] = {}
    for chunk in _chunks({o for p in pairs for o in p}):
        rows.update((r[0], r) for r in Activity.objects.filter(pk__in=chunk).values_list(
            "pk", "org_id", "held_on", "recorded_at", "topic", "minutes"))
    recs = {pk: Record(pk, org_id, held_on, timezone.localtime(recorded_at).date(), topic)
            for pk, org_id, held_on, recorded_at, topic, _ in rows.values()}
    found = []
    for a, b in sorted(pairs):
        pair = similarity.compare_pair(str(a), rows[a][5], str(b), rows[b][5], rare=rare, common=common)
        if pair is not None:
            found.append(_copy_found(pair, recs[a], recs[b]))
    return _signals(found, None, t)


def _refresh_job(progress, org_ids: list[int], years: list[int]) -> dict:
    local = {}
    for year in years:  # step 1 for every year first (a record moved from one year to another)
        began = time.perf_counter()
        local[year] = {"local_signals": refresh_orgs(year, org_ids), "local_seconds": time.perf_counter() - began}
    out = []
    for i, year in enumerate(years):
        progress(i, len(years), f"更新 {year} 年形式主义问题提示")
        out.append({**refresh_year(year), **local[year]})
    progress(len(years), len(years), "已更新形式主义问题提示")
    return {"years": out}


def _year_job(progress, year: int) -> dict:
    result = refresh_year(year, claimed=True)
    progress(1, 1, f"已更新 {year} 年形式主义问题提示")
    return {"years": [result]}


def schedule(user, org_ids, days):
    """After a change batch commits: refresh the years of these days in the background (inline
    in sync mode) — first the per-org kinds of these orgs, then the whole year."""
    years = sorted({d.year for d in days})
    if not org_ids or not years:
        return None
    return jobs.start("formalism", user, _refresh_job, sorted(set(org_ids)), years)


@dataclass(frozen=True)
class YearState:
    """What the page says about the stored signals of a year."""

    year: int
    computed_at: dt.datetime | None  # None: never computed
    current: bool  # the stored signals match the records as they are now

    @property
    def updating(self) -> bool:
        return not self.current


def year_state(year: int, user=None) -> YearState:
    """The stored state of a year, two queries that read no more than they return; when it is
    out of date and no refresh holds the year, a background refresh is started (inline in sync
    mode, then read again). The request itself never computes the year.

    With the year's copy index caught up (`synced_to`, under the current thresholds) the signals
    are current unless a record changed since (an indexed look-up on `updated_at`: a record of
    any year starts a refresh, which for another year's record finds the stamp unchanged and
    moves `synced_to` on). Otherwise the stamp is compared (an aggregate over the year)."""
    t = Thresholds.from_defaults()

    def read():
        return FormalismYear.objects.filter(year=year).values_list("stamp", "computed_at", "basis", "synced_to").first()

    def is_current(row) -> bool:
        if row is None or not row[0]:
            return False
        if row[2] == _basis(t) and row[3] is not None:
            return not Activity.objects.filter(updated_at__gte=row[3]).exists()
        return row[0] == stamp(year, t)

    row = read()
    current = is_current(row)
    if not current and _claim(year):
        jobs.start("formalism", user, _year_job, year)
        row = read()
        current = is_current(row)
    return YearState(year, row[1] if row else None, current)


# ---- the page's reads -------------------------------------------------------------------------

BRANCH_KINDS = ("branch", "cell")  # a branch's page lists its signals; it has no units to compare


class Org(NamedTuple):
    pk: int
    code: str
    name: str
    path: str
    kind: str
    active: bool
    parent_id: int | None
    unit_id: int | None


@dataclass
class Unit:
    """One row of the summary: an org's whole subtree, or (`own`) the org's own records only."""

    org: Org
    own: bool
    drill: bool  # has units of its own to compare
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def label(self) -> str:
        return f"{self.org.name}（本级）" if self.own else self.org.name

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def cells(self) -> list[tuple[str, int]]:
        return [(k, self.counts[k]) for k in KINDS]


class Frame:
    """What one viewer looks at: the orgs under their supervising roots (the page belongs to
    those who oversee others, core.scoping.oversees), the org asked for or else the roots, and
    the rows of the summary. Nothing outside these orgs is ever named.

    Only what the page draws is read — the roots, the node asked for with its ancestors, its
    children (and whether each has children of its own) — in a few queries whatever the size of
    the tree; the orgs of the signals shown are read with them (`load`). A province has ~60,000
    orgs; a page names a few dozen."""

    def __init__(self, user, code: str = "", own: bool = False):
        roots = scope_of(user).supervising_roots
        self._visible = Organization.objects.visible_to(user)
        self._in_roots = Q(pk__in=[])
        for r in roots:
            self._in_roots |= Q(path__startswith=r)
        self._root_paths = set(roots)
        self.orgs: dict[int, Org] = {}
        self.roots = self._read(self._visible.filter(path__in=roots)) if roots else []
        self.children: dict[int, list[Org]] = defaultdict(list)
        self._parents: set[int] = set()  # orgs read with children of their own
        self.unknown = ""
        self.node: Org | None = None
        if code and roots:
            found = self._read(self._visible.filter(self._in_roots, code=code))
            self.node = found[0] if found else None
        if code and self.node is None:
            self.unknown = code
        if self.node is None and len(self.roots) == 1:
            self.node = self.roots[0]
        self.own = bool(own and self.node is not None)
        if self.node is not None:
            p = self.node.path
            self._read(self._visible.filter(self._in_roots, path__in=[p[:i] for i in range(SEGMENT, len(p), SEGMENT)]))
            kids = self._read(self._visible.filter(self._in_roots, parent_id=self.node.pk).exclude(path__in=roots),
                              with_children=True)
            kids.sort(key=lambda o: (o.unit_id is None, o.unit_id or 0, o.path))  # a department's 党组 beside its 机关党委
            self.children[self.node.pk] = kids
            if kids:
                self._parents.add(self.node.pk)

    def _read(self, qs, with_children: bool = False) -> list[Org]:
        columns = ["pk", "code", "name", "path", "kind", "status", "parent_id", "unit_id"]
        if with_children:
            qs = qs.annotate(has_children=Exists(self._visible.filter(parent_id=OuterRef("pk"))))
            columns.append("has_children")
        out = []
        for r in qs.order_by("path").values_list(*columns):
            o = Org(r[0], r[1], r[2], r[3], r[4], r[5] == Organization.Status.ACTIVE, r[6], r[7])
            self.orgs[o.pk] = o
            if with_children and r[8]:
                self._parents.add(o.pk)
            out.append(o)
        self.__dict__.pop("_paths", None)
        return out

    def load(self, ids) -> None:
        """Read these orgs too, those of them the viewer may see (one query)."""
        missing = sorted(set(ids) - set(self.orgs))
        if missing and self._root_paths:
            self._read(self._visible.filter(self._in_roots, pk__in=missing))

    def has_children(self, o: Org) -> bool:
        return o.pk in self._parents

    @property
    def allowed(self) -> bool:
        return bool(self.roots)

    @property
    def is_bottom(self) -> bool:
        """The signals themselves are shown here: an org's own records, a branch, an org
        without sub-organizations."""
        n = self.node
        return n is not None and (self.own or n.kind in BRANCH_KINDS or not self.has_children(n))

    def q(self, lookup: str = "org__path") -> Q:
        if self.own:
            return Q(**{lookup: self.node.path})
        q = Q(pk__in=[])
        for p in ([self.node.path] if self.node else [r.path for r in self.roots]):
            q |= Q(**{f"{lookup}__startswith": p})
        return q

    def crumbs(self) -> list[Org]:
        """The node's ancestors within the roots, top first, then the node."""
        if self.node is None:
            return []
        by_path = self._by_path()
        p = self.node.path
        return [by_path[p[:i]] for i in range(SEGMENT, len(p) + 1, SEGMENT) if p[:i] in by_path]

    def units(self) -> list[Unit]:
        """The summary's rows before counting: the node's own records, then each sub-organization
        (its whole subtree); or, for a viewer with several roots and none chosen, the roots."""
        if self.node is None:
            return [Unit(r, own=False, drill=True) for r in self.roots]
        rows = [Unit(self.node, own=True, drill=False)]
        for o in self.children.get(self.node.pk, []):
            rows.append(Unit(o, own=False, drill=o.kind not in BRANCH_KINDS and self.has_children(o)))
        return rows

    def unit_of(self, org_id: int) -> Org | None:
        """The org whose summary row counts this org's signals: the node for its own, else the
        node's child (or the root) above it."""
        o = self.orgs.get(org_id)
        if o is None:
            return None
        if self.node is None:
            return next((r for r in self.roots if o.path.startswith(r.path)), None)
        if o.path == self.node.path:
            return self.node
        if not o.path.startswith(self.node.path):
            return None
        return self._by_path().get(o.path[:len(self.node.path) + SEGMENT])

    def _by_path(self) -> dict[str, Org]:
        if not hasattr(self, "_paths"):
            self._paths = {o.path: o for o in self.orgs.values()}
        return self._paths


def summary(frame: Frame, year: int) -> tuple[list[Unit], dict[str, int]]:
    """The summary rows with their counts by kind, and the totals by kind, from one GROUP BY
    over the stored signals (rows are orgs × kinds, never records). A row with nothing to show
    (the node's own records, a dissolved unit) is left out."""
    units = frame.units()
    if frame.own:
        units = units[:1]
    by_org = {(u.org.pk, u.own): u for u in units}
    # Grouped in SQL by the row's path (the path's prefix one level below the node, or the
    # root it lies under): as many groups as rows × kinds, whatever the number of orgs.
    if frame.node is not None:
        unit_path = Substr("org__path", 1, len(frame.node.path) + SEGMENT)
    elif frame.roots:
        unit_path = Case(*[When(org__path__startswith=r.path, then=Value(r.path)) for r in frame.roots],
                         default=Value(""), output_field=CharField())
    else:
        unit_path = Value("", output_field=CharField())
    grouped = (FormalismSignal.objects.filter(frame.q(), year=year).annotate(unit_path=unit_path)
               .values_list("unit_path", "kind").annotate(n=Count("pk")).order_by())
    paths = frame._by_path()
    totals = dict.fromkeys(KINDS, 0)
    for path, kind, n in grouped:
        unit_org = paths.get(path)
        if unit_org is None or kind not in totals:
            continue
        totals[kind] += n
        own = frame.node is not None and unit_org.pk == frame.node.pk
        unit = by_org.get((unit_org.pk, own))
        if unit is not None:
            unit.counts[kind] += n
    units = [u for u in units if u.total or (not u.own and u.org.active)]
    return units, totals


def chart(units: list[Unit], limit: int = 20) -> dict:
    """What the bar chart draws (through json_script): the units with the most signals, counts
    by kind. Names are passed as data and drawn as text."""
    top = sorted((u for u in units if u.total), key=lambda u: -u.total)[:limit]
    return {"units": [u.label for u in top], "codes": [u.org.code for u in top], "own": [u.own for u in top],
            "kinds": list(KINDS.values()), "series": [[u.counts[k] for u in top] for k in KINDS]}


_KIND_ORDER = Case(*[When(kind=k, then=Value(i)) for i, k in enumerate(KINDS)], output_field=IntegerField())


# The computation's order (`_order`) in SQL. Only copies tie on the first four (one later record
# copying several earlier ones), and they have a score and an earlier record; other signals have
# neither, so where NULLs sort does not matter.
SIGNAL_ORDER = ("org__path", _KIND_ORDER, "held_on", "first_id", F("score").desc(nulls_last=True), "second_id", "pk")


def stored_signals(frame: Frame, year: int, kind: str = ""):
    """The stored signals of the frame's orgs, in the computation's order (org, kind, date)."""
    qs = FormalismSignal.objects.filter(frame.q(), year=year)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by(*SIGNAL_ORDER)


# The computation's keys of each kind's figures, in its order: PostgreSQL's jsonb keeps an object's
# keys in an order of its own, and the command's JSON is a contract down to the key order.
_FIGURE_KEYS = {
    "late": ("held_on", "recorded_on", "days_late"),
    "burst": ("period", "quarter_end", "window_start", "window_end", "records_count", "months"),
    "copied_minutes": ("score", "copied_chars", "passages", "other_org_code", "other_org_name"),
    "same_attendance": ("meetings", "listed", "away", "present", "dates"),
}
_PASSAGE_KEYS = ("a_start", "a_end", "b_start", "b_end")


def _figures(kind: str, stored: dict) -> dict:
    """Stored figures with their keys in the computation's order, whatever the database kept."""
    out = {k: stored[k] for k in _FIGURE_KEYS.get(kind, ()) if k in stored}
    out.update((k, v) for k, v in stored.items() if k not in out)
    if isinstance(out.get("passages"), list):
        out["passages"] = [{**{k: p[k] for k in _PASSAGE_KEYS if k in p}, **p} for p in out["passages"]]
    return out


def stored_rows(year: int, *, org: Organization | None = None, kind: str | None = None,
                chunk_size: int = 2000):
    """The year's stored signals of the subtree of `org` (or the whole tree), of one kind or all,
    as Signals in the computation's order: what `compute` gives for the same arguments once the
    year is current (`bring_current`). Streamed through a server-side cursor, so memory does not
    grow with the year; a copy belongs to its later record's org, as `compute(org=…)` keeps it."""
    qs = FormalismSignal.objects.filter(year=year)
    if org is not None:
        qs = qs.filter(org__path__startswith=org.path)
    if kind:
        qs = qs.filter(kind=kind)
    rows = qs.order_by(*SIGNAL_ORDER).values_list(
        "kind", "org_id", "org__code", "org__name", "org__path", "records", "figures", "message")
    t = Thresholds.from_defaults()
    chunk: list[Signal] = []
    for k, org_id, code, name, path, records, figures, message in rows.iterator(chunk_size=chunk_size):
        recs = tuple(Record(pk, o, dt.date.fromisoformat(held), dt.date.fromisoformat(recorded), topic)
                     for pk, o, held, recorded, topic in records)
        chunk.append(Signal(k, org_id, code, name, path, recs, message, _figures(k, figures)))
        if len(chunk) >= chunk_size:
            yield from _named_now(chunk, t)
            chunk = []
    yield from _named_now(chunk, t)


def _named_now(chunk: list[Signal], t: Thresholds) -> list[Signal]:
    """A copy names the other record's org in its figures and message, as it was named when the
    copy was stored; renaming an org moves no record, so no refresh follows. Named again from the
    orgs as they are now (one query per chunk), as `compute` would name them."""
    other_ids = {s.records[1].org_id for s in chunk if s.kind == "copied_minutes"}
    if not other_ids:
        return chunk
    orgs: dict[int, tuple[str, str]] = {}
    for ids in _chunks(other_ids):
        orgs.update((pk, (code, name)) for pk, code, name in
                    Organization.objects.filter(pk__in=ids).values_list("pk", "code", "name"))
    out = []
    for s in chunk:
        other = s.records[1].org_id if s.kind == "copied_minutes" else None
        if other in orgs and (s.figures.get("other_org_code"), s.figures.get("other_org_name")) != orgs[other]:
            figures = {**s.figures, "other_org_code": orgs[other][0], "other_org_name": orgs[other][1]}
            s = Signal(s.kind, s.org_id, s.org_code, s.org_name, s.org_path, s.records,
                       _message(s.kind, s.records, figures, s.org_id == other, t), figures)
        out.append(s)
    return out


def as_signal(row: FormalismSignal, orgs: dict[int, Org]) -> Signal:
    o = orgs[row.org_id]
    return Signal(row.kind, row.org_id, o.code, o.name, o.path, _records(row), row.message, row.figures)


def describe(rows, frame: Frame, user, *, page: bool = True) -> list[dict]:
    """Stored signals as the page (`page`: with the records' kinds and the copies' minutes, two
    queries whatever their number) and the export show them. Nothing of a record outside the
    viewer's orgs: a copy whose other side lies outside is said to be so, never what or whose
    it is."""
    from .models import KIND_LABELS, ActivityKind

    rows = list(rows)
    frame.load({r.org_id for r in rows} | {rec[1] for r in rows for rec in r.records})
    orgs = frame.orgs
    signals = [as_signal(r, orgs) for r in rows if r.org_id in orgs]
    ids = {r.id for s in signals for r in s.records if r.org_id in orgs}
    kinds: dict[int, list[str]] = {}
    if page and ids:
        for activity_id, kind in ActivityKind.objects.filter(activity_id__in=ids).order_by("id").values_list(
                "activity_id", "kind"):
            kinds.setdefault(activity_id, []).append(KIND_LABELS.get(kind, kind))
    copy_ids = {r.id for s in signals if s.kind == "copied_minutes" for r in s.records if r.org_id in orgs}
    texts = dict(Activity.objects.visible_to(user).filter(pk__in=copy_ids).values_list("pk", "minutes")) \
        if page and copy_ids else {}
    items = []
    for s in signals:
        records = [{"id": r.id, "held_on": r.held_on, "recorded_on": r.recorded_on, "topic": r.topic,
                    "days_late": r.days_late, "kinds": "、".join(kinds.get(r.id, [])),
                    "visible": r.org_id in orgs, "org_name": orgs[r.org_id].name if r.org_id in orgs else ""}
                   for r in s.records]
        item = {"signal": s, "org_code": s.org_code, "org_name": s.org_name, "org_id": s.org_id,
                "records": records, "message": s.message, "figures": s.figures}
        if s.kind == "copied_minutes":
            mine, other = records
            passages = s.figures["passages"]
            if other["visible"]:
                where = "本组织" if s.records[1].org_id == s.org_id else other["org_name"]
                what = f"与{where} {other['held_on']:%Y-%m-%d} 的会议记录"
            else:
                what = "与您查看范围以外的一条会议记录"
            item["message"] = (f"{mine['held_on']:%Y-%m-%d} 的会议记录{what}有 {len(passages)} 处段落雷同"
                               f"（扣除通用表述后约 {s.figures['copied_chars']} 字），请核实是否照搬")
            if page:
                mine["pieces"] = _marked(texts.get(mine["id"], ""), [(p["a_start"], p["a_end"]) for p in passages])
                if other["visible"]:
                    other["pieces"] = _marked(texts.get(other["id"], ""),
                                              [(p["b_start"], p["b_end"]) for p in passages])
        items.append(item)
    return items


def _marked(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, int | None]]:
    """The text cut into (piece, passage number or None) so the template can highlight copies."""
    out, pos = [], 0
    for number, (start, end) in sorted(enumerate(spans, 1), key=lambda x: x[1]):
        start = max(start, pos)
        if end <= start:
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], number))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out

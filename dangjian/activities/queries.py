"""Reads of organizational life for the pages: an org's records, one record, the org's
compliance for a year and its month calendar, the working committee's overview. Every read
is a fixed number of queries whatever the number of records or organizations."""
from __future__ import annotations

import calendar as pycalendar
import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q
from django.db.models.functions import Substr
from django.utils import timezone

from dangjian.core import periods
from dangjian.core.models import Lock
from dangjian.core.scoping import get_visible_or_404, scope_of
from dangjian.core.views import COUNT_LIMIT
from dangjian.members.models import Member
from dangjian.orgs.alerts import ALERT_KINDS, scope_alert_counts, scope_alert_list
from dangjian.orgs.models import SEGMENT, Organization
from dangjian.orgs.queries import under_roots
from dangjian.orgs.services import TREE_LOCK

from . import compliance
from .checks import member_scope_path
from .models import (
    KIND_LABELS,
    KINDS_FOR_ORG,
    Activity,
    ActivityKind,
    ActivityRule,
    Attachment,
    Attendance,
    ComplianceRow,
)

STATUS_BADGES = {
    compliance.MET: "text-bg-success",
    compliance.MISSING: "text-bg-danger",
    compliance.DUE: "text-bg-warning",
    compliance.NOT_APPLICABLE: "text-bg-secondary",
}
STATUS_ORDER = (Attendance.Status.PRESENT, Attendance.Status.ABSENT, Attendance.Status.EXCUSED,
                Attendance.Status.OBSERVER)


def org_or_404(user, pk, capability: str = "view") -> Organization:
    return get_visible_or_404(Organization.objects.all(), user, pk, capability)


def activity_or_404(user, pk, capability: str = "view") -> Activity:
    qs = Activity.objects.select_related(
        "org", "host", "recorder", "lecturer", "talk_party_a", "talk_party_b", "recorded_by__member")
    return get_visible_or_404(qs, user, pk, capability)


def kind_choices(org: Organization) -> list[tuple[str, str]]:
    return [(k, KIND_LABELS[k]) for k, org_kinds in KINDS_FOR_ORG.items() if org.kind in org_kinds]


def records_for(user, org: Organization):
    """The org's records that `user` may open: all of them with "view" over the org, else (a
    plain member of it) those they were asked to attend and the upcoming ones. Lists and the
    calendar show only these, so none of their links answers 404."""
    return Activity.objects.visible_to(user).filter(org=org)


def org_activities(org: Organization, *, kind: str = "", year: int | None = None, user=None):
    base = Activity.objects.filter(org=org) if user is None else records_for(user, org)
    qs = base.prefetch_related(
        Prefetch("kinds", queryset=ActivityKind.objects.order_by("id")))
    if kind:
        qs = qs.filter(kinds__kind=kind)
    if year:
        qs = qs.filter(held_on__year=year)
    return qs.order_by("-held_on", "-id")


def years_with_records(org: Organization, user=None) -> list[int]:
    base = Activity.objects.filter(org=org) if user is None else records_for(user, org)
    years = {d.year for d in base.dates("held_on", "year")}
    years.add(timezone.localdate().year)
    return sorted(years, reverse=True)


def attendance_by_status(activity: Activity) -> list[dict]:
    rows = defaultdict(list)
    for a in activity.attendances.select_related("member").order_by("member__name", "member_id"):
        rows[a.status].append(a)
    labels = dict(Attendance.Status.choices)
    return [{"status": s, "label": labels[s], "rows": rows[s]} for s in STATUS_ORDER]


def meeting_members(org: Organization):
    """The org's active members, in the order the attendance form lists them; none for
    党组 and 工委 (their people attend at their own branches)."""
    scope = member_scope_path(org)
    if scope is None:
        return Member.objects.none()
    return (Member.objects.filter(org__path__startswith=scope, status=Member.Status.ACTIVE)
            .select_related("org").order_by("org__path", "name", "id"))


def _evidence(verdicts) -> dict[int, Activity]:
    ids = {i for v in verdicts for i in (*v.evidence, *v.failed_quorum)}
    return {a.pk: a for a in Activity.objects.filter(pk__in=ids).only("pk", "held_on", "topic")}


def _rows(verdicts, today: dt.date) -> list[dict]:
    evidence = _evidence(verdicts)
    out = []
    for v in verdicts:
        status = ComplianceRow.status_on(v.status, v.period.end, today)
        out.append({
            "rule": v.rule, "kind_label": KIND_LABELS.get(v.rule.kind, v.rule.kind), "period": v.period.label,
            "period_start": v.period.start, "period_end": v.period.end,
            "required": v.required, "held": v.held, "shortfall": v.shortfall, "status": status,
            "status_label": compliance.STATUS_LABELS[status], "badge": STATUS_BADGES[status],
            "evidence": [evidence[i] for i in v.evidence if i in evidence],
            "failed_quorum": [evidence[i] for i in v.failed_quorum if i in evidence],
        })
    return out


def org_compliance(org: Organization, year: int, today: dt.date | None = None) -> list[dict]:
    """Every rule × period of the year for this org alone, computed by the engine (the same
    handful of set-based queries whatever the number of records), so the page is current
    even before the background recomputation has run."""
    today = today or timezone.localdate()
    verdicts = compliance.compute(dt.date(year, 1, 1), dt.date(year, 12, 31), org_ids=[org.pk], today=today)
    verdicts.sort(key=lambda v: (v.rule.position, v.rule.code, v.period.start))
    return _rows(verdicts, today)


def rule_sources(rows: list[dict]) -> list[ActivityRule]:
    seen = {}
    for r in rows:
        seen.setdefault(r["rule"].pk, r["rule"])
    return list(seen.values())


def summary(rows: list[dict]) -> dict[str, int]:
    counts = {s: 0 for s in STATUS_BADGES}
    for r in rows:
        counts[r["status"]] += 1
    return counts


def requirements_now(org: Organization, today: dt.date | None = None) -> dict:
    """The requirements whose period contains today, for one org (the engine's handful of
    queries): what is still to do in them and what is done."""
    today = today or timezone.localdate()
    verdicts = compliance.compute(today, today, org_ids=[org.pk], today=today)
    verdicts.sort(key=lambda v: (v.rule.position, v.rule.code, v.period.start))
    rows = [r for r in _rows(verdicts, today) if r["status"] != compliance.NOT_APPLICABLE]
    for r in rows:
        r["period_name"] = periods.parse(r["period"]).short_name
    return {"todo": [r for r in rows if r["status"] in (compliance.DUE, compliance.MISSING)],
            "done": [r for r in rows if r["status"] == compliance.MET]}


def member_attendance(member_id: int, *, year: int | None = None):
    """The meetings a member was listed at (出席、缺席、请假、列席), newest first, with each
    record's kinds prefetched: the member's own organizational life."""
    qs = (Attendance.objects.filter(member_id=member_id, activity__status=Activity.Status.ACTIVE)
          .select_related("activity", "activity__org")
          .prefetch_related(Prefetch("activity__kinds", queryset=ActivityKind.objects.order_by("id"))))
    if year:
        qs = qs.filter(activity__held_on__year=year)
    return qs.order_by("-activity__held_on", "-activity_id")


def attendance_counts(member_id: int, year: int) -> dict[str, int]:
    """How often the member was present, absent, excused or observing in the year (one query)."""
    found = dict(member_attendance(member_id, year=year).order_by().values_list("status").annotate(n=Count("id")))
    return {s: found.get(s, 0) for s in STATUS_ORDER}


def month_calendar(org: Organization, year: int, month: int, today: dt.date | None = None, user=None) -> dict:
    """The month as weeks of days with the records held on each, and the requirements whose
    period contains the month: what is held, what is still due, what is missing. Given a
    `user`, the records and the evidence named are only those the user may open."""
    today = today or timezone.localdate()
    first = dt.date(year, month, 1)
    last = dt.date(year, month, pycalendar.monthrange(year, month)[1])
    held = defaultdict(list)
    for a in org_activities(org, user=user).filter(held_on__range=(first, last), status=Activity.Status.ACTIVE):
        held[a.held_on].append(a)
    weeks = [[{"day": d, "in_month": d.month == month, "activities": held.get(d, []), "is_today": d == today}
              for d in week] for week in pycalendar.Calendar().monthdatescalendar(year, month)]
    verdicts = compliance.compute(first, last, org_ids=[org.pk], today=today)
    verdicts.sort(key=lambda v: (v.rule.position, v.rule.code, v.period.start))
    rows = [r for r in _rows(verdicts, today) if r["status"] != compliance.NOT_APPLICABLE]
    if user is not None and not scope_of(user).allows("view", org.path):
        _only_openable(rows, user, org)
    return {
        "first": first, "last": last, "weeks": weeks,
        "todo": [r for r in rows if r["status"] in (compliance.DUE, compliance.MISSING)],
        "done": [r for r in rows if r["status"] == compliance.MET],
        "held_count": sum(len(v) for v in held.values()),
        "prev": periods.containing("month", first - dt.timedelta(days=1)).label,
        "next": periods.containing("month", last + dt.timedelta(days=1)).label,
    }


def _only_openable(rows: list[dict], user, org: Organization) -> None:
    """Keep in each row's evidence only the records `user` may open (one query)."""
    named = {a.pk for r in rows for a in (*r["evidence"], *r["failed_quorum"])}
    openable = set(records_for(user, org).filter(pk__in=named).values_list("pk", flat=True)) if named else set()
    for r in rows:
        r["evidence"] = [a for a in r["evidence"] if a.pk in openable]
        r["failed_quorum"] = [a for a in r["failed_quorum"] if a.pk in openable]


# ---- the working committee's overview --------------------------------------------------------
#
# Units × months of one year: each cell is the share of requirements met among the stored
# compliance rows of the unit's whole subtree whose period ends in that month (a monthly rule
# every month, a quarterly one at the quarter's end, a yearly one in December). One GROUP BY
# over the stored rows, keyed by the org path cut to the units' level, gives every cell at
# once; Python then maps each key to its unit through the materialized path. A period that
# has not ended is shown as running, never as a failure.

# Orgs whose children are only 党小组 (or nothing): a branch's own page is its calendar.
BRANCH_KINDS = ("branch", "cell")
MONTHS = tuple(range(1, 13))


def percent(rate: float | None) -> str:
    """87.5%, 100%, or "—" when there is nothing to judge."""
    if rate is None:
        return "—"
    return f"{rate * 100:.1f}".removesuffix(".0") + "%"


@dataclass(slots=True)
class OverviewCell:
    month: int
    closed: bool  # the month is over: its periods are judged
    unit: int | None = None  # the unit's pk (None on the totals row)
    met: int = 0
    missing: int = 0  # not met in a period that has ended (a stored `due` whose period is over too)
    due: int = 0  # not met yet, the period still runs

    @property
    def required(self) -> int:
        return self.met + (self.missing if self.closed else self.due)

    @property
    def rate(self) -> float | None:
        """Share met, for a closed month with requirements; None otherwise (no colour)."""
        if not self.closed or not self.required:
            return None
        return self.met / self.required

    @property
    def pct(self) -> str:
        return percent(self.rate)

    @property
    def text(self) -> str:
        """What the table shows: the share, 进行中 for a running period, — for nothing due."""
        if self.rate is not None:
            return self.pct
        return "进行中" if not self.closed and self.required else "—"

    @property
    def tip(self) -> str:
        if self.rate is not None:
            return f"已完成 {self.met} / 应完成 {self.required}，应开未开 {self.missing}"
        if self.required:
            return f"周期未结束：已完成 {self.met}，待完成 {self.due}"
        return "本月没有截止的要求"

    @property
    def query(self) -> str:
        """The missing-items filter of this cell."""
        return f"unit={self.unit}&month={self.month}"


@dataclass(slots=True)
class OverviewUnit:
    pk: int
    name: str
    code: str
    kind: str
    path: str
    own: bool  # the root's own requirements only (本级), not its subtree
    drill: bool  # has sub-organizations of its own to compare
    active: bool
    cells: list[OverviewCell] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name}（本级）" if self.own else self.name

    @property
    def met(self) -> int:
        return sum(c.met for c in self.cells if c.closed)

    @property
    def missing(self) -> int:
        return sum(c.missing for c in self.cells if c.closed)

    @property
    def required(self) -> int:
        return self.met + self.missing

    @property
    def rate(self) -> float | None:
        return self.met / self.required if self.required else None

    @property
    def pct(self) -> str:
        return percent(self.rate)

    @property
    def tip(self) -> str:
        return f"已完成 {self.met} / 应完成 {self.required}，应开未开 {self.missing}"

    @property
    def has_rows(self) -> bool:
        return any(c.met or c.missing or c.due for c in self.cells)

    def matches(self, path: str) -> bool:
        return path == self.path if self.own else path.startswith(self.path)


@dataclass
class OverviewScope:
    """The roots compared (the org asked for, or the highest ones the user may view) and
    their units: each root's own requirements, then its children's subtrees."""

    roots: list[Organization]
    units: list[OverviewUnit]

    def __post_init__(self):
        self._roots = {r.path: r for r in self.roots}
        self._lengths = sorted({len(p) for p in self._roots})
        self._children = {u.path: u for u in self.units if not u.own}
        self._own = {u.path: u for u in self.units if u.own}

    def q(self, lookup: str = "org__path") -> Q:
        q = Q(pk__in=[])
        for r in self.roots:
            q |= Q(**{f"{lookup}__startswith": r.path})
        return q

    def key_length(self) -> int:
        """How much of an org path tells its unit apart, for every root at once."""
        return max(self._lengths) + SEGMENT

    def unit_for(self, path: str) -> OverviewUnit | None:
        for length in self._lengths:
            root = self._roots.get(path[:length])
            if root is None:
                continue
            if len(path) == length:
                return self._own.get(path)
            return self._children.get(path[:length + SEGMENT])
        return None

    def unit(self, pk: int | None) -> OverviewUnit | None:
        return next((u for u in self.units if u.pk == pk), None) if pk is not None else None


def overview_roots(user, org_pk: int | None = None) -> list[Organization]:
    """The org asked for, if the user may view its whole subtree (a member's own org, seen
    through `self`, is not enough), or else the highest organizations the user may view."""
    scope = scope_of(user)
    qs = Organization.objects.visible_to(user).only("pk", "code", "name", "kind", "path", "status", "parent_id")
    if org_pk is not None:
        org = qs.filter(pk=org_pk).first()
        return [org] if org is not None and scope.allows("view", org.path) else []
    prefixes = scope.prefixes("view")
    return list(qs.filter(path__in=prefixes).order_by("path")) if prefixes else []


def overview_crumbs(user, org: Organization) -> list[Organization]:
    """The org's ancestors the user may view, top first, then the org."""
    scope = scope_of(user)
    above = Organization.objects.visible_to(user).filter(path__in=org.ancestor_paths()).order_by("path")
    return [o for o in above.only("pk", "name", "path") if scope.allows("view", o.path)] + [org]


def overview_scope(user, roots: list[Organization], year: int) -> OverviewScope:
    """The units of the roots, one query: every child (dissolved ones too, so a unit that
    held meetings before it was dissolved keeps its figures) in department order."""
    last = dt.date(year, 12, 31)
    children = (
        Organization.objects.visible_to(user)
        .filter(parent_id__in=[r.pk for r in roots])
        .filter(Q(established_on__isnull=True) | Q(established_on__lte=last))
        .annotate(has_children=Exists(Organization.objects.filter(parent_id=OuterRef("pk"))))
        # the 党组 and the 机关党委 of one department side by side
        .order_by(F("unit_id").asc(nulls_last=True), "path")
        .values_list("pk", "name", "code", "kind", "path", "status", "parent_id", "has_children")
    )
    by_parent: dict[int, list[OverviewUnit]] = defaultdict(list)
    for pk, name, code, kind, path, status, parent_id, has_children in children:
        by_parent[parent_id].append(OverviewUnit(
            pk, name, code, kind, path, own=False, drill=has_children and kind not in BRANCH_KINDS,
            active=status == Organization.Status.ACTIVE))
    units: list[OverviewUnit] = []
    for r in roots:
        units.append(OverviewUnit(r.pk, r.name, r.code, r.kind, r.path, own=True, drill=False,
                                  active=r.status == Organization.Status.ACTIVE))
        units.extend(by_parent.get(r.pk, []))
    return OverviewScope(roots, units)


def overview_heatmap(scope: OverviewScope, year: int, today: dt.date | None = None) -> dict:
    """Fills the units' cells from one GROUP BY over the stored rows and drops the units with
    nothing to show (a root without requirements of its own, a unit dissolved before the
    year). Returns the totals per month and for the year."""
    today = today or timezone.localdate()
    closed = [(m, _month_end(year, m) < today) for m in MONTHS]
    for u in scope.units:
        u.cells = [OverviewCell(m, shut, u.pk) for m, shut in closed]
    for key, counts in _heatmap_counts(scope, year, today).items():
        unit = scope.unit_for(key)
        if unit is None:
            continue
        for cell, met, missing, due in zip(unit.cells, counts[0:12], counts[12:24], counts[24:36]):
            cell.met += met
            cell.missing += missing
            cell.due += due
    scope.units[:] = [u for u in scope.units
                      if u.has_rows or (not u.own and u.active) or (u.own and len(scope.units) == 1)]
    months = [OverviewCell(m, shut) for m, shut in closed]
    for u in scope.units:
        for total, c in zip(months, u.cells):
            total.met += c.met
            total.missing += c.missing
            total.due += c.due
    met = sum(c.met for c in months if c.closed)
    missing = sum(c.missing for c in months if c.closed)
    rate = met / (met + missing) if met + missing else None
    return {"months": months, "met": met, "missing": missing, "required": met + missing, "rate": rate,
            "pct": percent(rate)}


# Stored verdicts are replaced only under the `compliance` lock, and the tree (which decides the
# unit a row counts for) is changed only under `org_tree`: each holder stamps the lock's row
# with the time, committed with what it wrote. The two stamps name the heatmap's counts.
HEATMAP_LOCKS = (compliance.COMPLIANCE_LOCK, TREE_LOCK)


def _heatmap_counts(scope: OverviewScope, year: int, today: dt.date) -> dict[str, list[int]]:
    """{unit key: met ×12, missing ×12, due ×12 by the month a period ends} over the stored
    rows of the year: one GROUP BY over every row of the subtrees (about a second at a
    province's size), so kept in the cache until a writer of the rows or of the tree commits
    (`HEATMAP_LOCKS`) or the day changes (a `due` row turns `missing` at its period's end)."""
    stamps = list(Lock.objects.filter(name__in=HEATMAP_LOCKS).order_by("name").values_list("name", "held_at"))
    ident = repr((sorted(r.path for r in scope.roots), scope.key_length(), year, today.isoformat(), stamps))
    key = f"activities:heatmap:{hashlib.sha256(ident.encode()).hexdigest()}"
    found = cache.get(key)
    if found is not None:
        return found
    grouped = (
        ComplianceRow.objects.filter(scope.q(), period_end__gte=dt.date(year, 1, 1),
                                     period_end__lte=dt.date(year, 12, 31))
        .exclude(status=compliance.NOT_APPLICABLE)
        .with_status_on(today)
        .annotate(key=Substr("org__path", 1, scope.key_length()))
        .values_list("key", "period_end", "status_now")
        .annotate(n=Count("pk"))
        .order_by()
    )
    found = {}
    for unit_key, end, status, n in grouped:
        counts = found.setdefault(unit_key, [0] * 36)
        offset = 0 if status == compliance.MET else 12 if status == compliance.MISSING else 24
        counts[offset + end.month - 1] += n
    cache.set(key, found, 24 * 3600)
    return found


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, pycalendar.monthrange(year, month)[1])


def overview_chart(scope: OverviewScope, units: list | None = None) -> dict:
    """What the heatmap script draws (passed through json_script): closed cells with their
    share, running ones apart (no colour), months on x, units on y — the scope's units, or
    the page of them shown."""
    units = scope.units if units is None else units
    cells, running = [], []
    for y, u in enumerate(units):
        for x, c in enumerate(u.cells):
            base = {"unit": u.pk, "month": c.month, "met": c.met, "required": c.required}
            if c.rate is not None:
                cells.append({"value": [x, y, round(c.rate * 100, 1)], "missing": c.missing, **base})
            elif not c.closed and c.required:
                running.append({"value": [x, y, 0], "due": c.due, **base})
    return {"months": [f"{m}月" for m in MONTHS], "units": [u.label for u in units],
            "cells": cells, "running": running}


MISSING_ORDER = ("-period_end", "org__path", "rule__position", "code", "pk")


def _missing_rows(scope: OverviewScope, year: int, unit: OverviewUnit | None, kind: str, month: int | None):
    """The rows of the year (or month) and subtree that 应开未开 is taken from, unordered. The
    subtrees are read through the rows' `top_org`, not their orgs' paths (no join until the
    page's rows are ordered)."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if month:
        start, end = dt.date(year, month, 1), _month_end(year, month)
    qs = ComplianceRow.objects.filter(under_roots(scope.roots), period_end__gte=start, period_end__lte=end)
    if unit is not None:
        qs = qs.filter(under_roots([unit])) if not unit.own else qs.filter(org_id=unit.pk)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def overview_missing(scope: OverviewScope, year: int, *, unit: OverviewUnit | None = None, kind: str = "",
                     month: int | None = None, today: dt.date | None = None):
    """应开未开: the stored rows of the year not met in a period that has ended, newest period
    first, as one queryset (the export reads it through). The month is the one the period
    ends in, as in the heatmap."""
    return (_missing_rows(scope, year, unit, kind, month).not_met_on(today or timezone.localdate())
            .select_related("org", "rule").order_by(*MISSING_ORDER))


def overview_missing_list(scope: OverviewScope, year: int, *, unit: OverviewUnit | None = None, kind: str = "",
                          month: int | None = None, today: dt.date | None = None) -> NewestPeriodFirst:
    """The same rows in the same order, for the page: counted per period, read a page at a time."""
    return NewestPeriodFirst(_missing_rows(scope, year, unit, kind, month), today or timezone.localdate())


class NewestPeriodFirst:
    """Rows newest period first, then by org path, for the paginator, read without sorting the
    year: at a province's size a year holds hundreds of thousands of rows not met, and both
    counting them and ordering them all by org to show fifty took most of a second each.

    Within a period the path order is the departments' order (a department's top org path
    prefixes every path in it), so the rows are counted per period and department, and a page
    joins and sorts only the one or two departments' rows it spans. Counted up to `limit`
    (`core.views.BoundedPaginator` asks with `bounded_count`): the periods that ended last month
    or still run are counted per department first, and the whole range only when they hold
    fewer rows than that. Four or six queries a page whatever the size: the counts (two, or
    four), the departments' paths, the page."""

    def __init__(self, rows, today: dt.date, limit: int = COUNT_LIMIT + 1):
        self._rows = rows  # the range's rows, met or not
        self._today = today
        self._limit = limit
        # The periods that ended last month or are still running: at a province's size they
        # alone hold more rows than a list counts, and they come first.
        self._recent = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)

    def bounded_count(self, limit: int) -> int:
        self._limit = limit
        return min(self._total, limit)

    def count(self) -> int:
        return min(self._total, self._limit)

    def __len__(self) -> int:
        return self.count()

    def _counted(self, rows) -> list:
        """Rows not met per period and department, in two GROUP BYs, one per side of today
        (`ComplianceRowQuerySet.not_met_parts`): each reads a range of the
        (period_end, status, top_org) index and nothing else, where one OR of the two read
        every row of the periods from the table."""
        found: dict[tuple[dt.date, int], int] = defaultdict(int)
        for half in rows.not_met_parts(self._today):
            for end, top, n in half.values_list("period_end", "top_org_id").annotate(n=Count("*")).order_by():
                found[end, top] += n
        return [(end, top, n) for (end, top), n in found.items()]

    @cached_property
    def _groups(self) -> list[tuple[dt.date, int, int]]:
        """(period end, top org id, rows) in the list's order: of the newest periods if they
        hold `limit` rows (each period whole), else of all."""
        counts = self._counted(self._rows.filter(period_end__gte=self._recent))
        if sum(n for _, _, n in counts) < self._limit:
            counts = self._counted(self._rows)
        paths = dict(Organization.objects.filter(pk__in={t for _, t, _ in counts}).values_list("pk", "path"))
        counts.sort(key=lambda g: (-g[0].toordinal(), paths.get(g[1], "")))
        return counts

    @cached_property
    def _total(self) -> int:
        return sum(n for _, _, n in self._groups)

    def __getitem__(self, part):
        if not isinstance(part, slice) or part.step is not None or (part.start or 0) < 0 or part.stop is None:
            raise TypeError("rows are read a page at a time: [start:stop]")
        start, stop = part.start or 0, part.stop
        spanned, before, seen = Q(pk__in=[]), None, 0
        for end, top, n in self._groups:
            if seen + n > start and seen < stop:
                spanned |= Q(period_end=end, top_org_id=top)
                before = seen if before is None else before
            seen += n
        if before is None:
            return []
        rows = self._rows.filter(spanned).not_met_on(self._today).select_related("org", "rule").order_by(*MISSING_ORDER)
        return list(rows[start - before: stop - before])


def describe_missing(rows, scope: OverviewScope) -> list[dict]:
    """A page (or all) of 应开未开 rows as the list and the export show them."""
    out = []
    for r in rows:
        u = scope.unit_for(r.org.path)
        out.append({
            "row": r, "org": r.org, "unit": u, "kind_label": KIND_LABELS.get(r.kind, r.kind),
            "rule_text": f"{r.rule.get_period_display()}不少于 {r.rule.min_count} 次"
                         + (f"，{r.rule.get_quorum_display()}" if r.rule.quorum != "none" else ""),
            "shortfall": max(0, r.required - r.held), "failed_quorum": len(r.failed_quorum or ()),
        })
    return out


def overview_alert_counts(scope: OverviewScope, *, unit: OverviewUnit | None = None,
                          today: dt.date | None = None) -> dict[str, int]:
    """{kind: structure alerts} of the roots' subtrees, or of the unit, as they stand today,
    from the per-department counts (orgs.alerts.scope_alert_counts): the list is read only on
    its own tab."""
    if unit is None:
        return scope_alert_counts([r.path for r in scope.roots], today)
    return scope_alert_counts([unit.path], today, only=unit.path if unit.own else None)


def overview_alerts(user, scope: OverviewScope, *, unit: OverviewUnit | None = None, kind: str = "",
                    today: dt.date | None = None):
    """Structure alerts of the roots' subtrees as they stand today (they describe the tree,
    not a year), then of the unit and of the kind: a sequence read a page at a time
    (orgs.alerts.scope_alert_list)."""
    kinds = (kind,) if kind else tuple(ALERT_KINDS)
    if unit is None:
        return scope_alert_list([r.path for r in scope.roots], today, kinds=kinds)
    return scope_alert_list([unit.path], today, kinds=kinds, only=unit.path if unit.own else None)


def describe_alerts(alerts, scope: OverviewScope) -> list[dict]:
    out = []
    for a in alerts:
        u = scope.unit_for(a.org_path)
        out.append({"org_id": a.org_id, "org_name": a.org_name, "org_code": a.org_code, "kind": a.kind,
                    "kind_label": ALERT_KINDS[a.kind], "message": a.message, "since": a.since,
                    "unit_label": u.label if u else ""})
    return out


# The columns of a record in the API's list, as values() names them (a foreign key by its id).
API_LIST_COLUMNS = ("id", "org__code", "org__name", "held_on", "starts_at", "place", "topic", "host", "host__name",
                    "recorder", "lecturer", "lecturer_name", "talk_party_a", "talk_party_b", "minutes", "decisions",
                    "expected_count", "present_count", "voting_expected", "voting_present", "committee_expected",
                    "committee_present", "status", "source", "recorded_at")


def api_list_rows(qs):
    """The records of the API's list as plain rows, in the queryset's order: a page of them is
    sliced from this, and `api_list_details` completes that page."""
    return qs.prefetch_related(None).select_related(None).values(*API_LIST_COLUMNS)


def api_list_details(activity_ids) -> tuple[dict, dict, dict]:
    """The kinds, attendance and active attachments of a page of records, by record id, in
    three queries whatever the page holds. Attendance in member order, attachments in upload
    order: the order of the record's own answer."""
    kinds: dict[int, list[str]] = {}
    for activity_id, kind in ActivityKind.objects.filter(activity_id__in=activity_ids).values_list(
            "activity_id", "kind"):
        kinds.setdefault(activity_id, []).append(kind)
    attendance: dict[int, list[tuple]] = {}
    for activity_id, *row in (Attendance.objects.filter(activity_id__in=activity_ids).order_by("member_id")
                              .values_list("activity_id", "member_id", "member__name", "status", "reason")):
        attendance.setdefault(activity_id, []).append(row)
    attachments: dict[int, list[tuple]] = {}
    for activity_id, *row in (Attachment.objects.filter(activity_id__in=activity_ids, is_active=True).order_by("id")
                              .values_list("activity_id", "id", "name", "size", "content_type")):
        attachments.setdefault(activity_id, []).append(row)
    return kinds, attendance, attachments

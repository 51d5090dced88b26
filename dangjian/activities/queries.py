"""Reads of organizational life for the pages: an org's records, one record, the org's
compliance for a year and its month calendar. Every read is a fixed number of queries
whatever the number of records."""
from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from collections import defaultdict

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone

from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from . import compliance, periods
from .models import KIND_LABELS, KINDS_FOR_ORG, Activity, ActivityKind, ActivityRule, Attendance
from .services import _member_scope_path

STATUS_BADGES = {
    compliance.MET: "text-bg-success",
    compliance.MISSING: "text-bg-danger",
    compliance.DUE: "text-bg-warning",
    compliance.NOT_APPLICABLE: "text-bg-secondary",
}
STATUS_ORDER = (Attendance.Status.PRESENT, Attendance.Status.ABSENT, Attendance.Status.EXCUSED,
                Attendance.Status.OBSERVER)


def org_or_404(user, pk, capability: str = "view") -> Organization:
    return get_object_or_404(Organization.objects.visible_to(user, capability), pk=pk)


def activity_or_404(user, pk, capability: str = "view") -> Activity:
    qs = Activity.objects.visible_to(user, capability).select_related(
        "org", "host", "recorder", "lecturer", "talk_party_a", "talk_party_b", "recorded_by")
    # A member sees the records they attended: the attendance join may repeat a row.
    return get_object_or_404(qs.distinct(), pk=pk)


def kind_choices(org: Organization) -> list[tuple[str, str]]:
    return [(k, KIND_LABELS[k]) for k, org_kinds in KINDS_FOR_ORG.items() if org.kind in org_kinds]


def org_activities(org: Organization, *, kind: str = "", year: int | None = None):
    qs = Activity.objects.filter(org=org).prefetch_related(
        Prefetch("kinds", queryset=ActivityKind.objects.order_by("id")))
    if kind:
        qs = qs.filter(kinds__kind=kind)
    if year:
        qs = qs.filter(held_on__year=year)
    return qs.order_by("-held_on", "-id")


def years_with_records(org: Organization) -> list[int]:
    years = {d.year for d in Activity.objects.filter(org=org).dates("held_on", "year")}
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
    scope = _member_scope_path(org)
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
        status = v.status
        if status == compliance.DUE and v.period.end < today:
            status = compliance.MISSING
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


def month_calendar(org: Organization, year: int, month: int, today: dt.date | None = None) -> dict:
    """The month as weeks of days with the records held on each, and the requirements whose
    period contains the month: what is held, what is still due, what is missing."""
    today = today or timezone.localdate()
    first = dt.date(year, month, 1)
    last = dt.date(year, month, pycalendar.monthrange(year, month)[1])
    held = defaultdict(list)
    for a in org_activities(org).filter(held_on__range=(first, last), status=Activity.Status.ACTIVE):
        held[a.held_on].append(a)
    weeks = [[{"day": d, "in_month": d.month == month, "activities": held.get(d, []), "is_today": d == today}
              for d in week] for week in pycalendar.Calendar().monthdatescalendar(year, month)]
    verdicts = compliance.compute(first, last, org_ids=[org.pk], today=today)
    verdicts.sort(key=lambda v: (v.rule.position, v.rule.code, v.period.start))
    rows = [r for r in _rows(verdicts, today) if r["status"] != compliance.NOT_APPLICABLE]
    return {
        "first": first, "last": last, "weeks": weeks,
        "todo": [r for r in rows if r["status"] in (compliance.DUE, compliance.MISSING)],
        "done": [r for r in rows if r["status"] == compliance.MET],
        "held_count": sum(len(v) for v in held.values()),
        "prev": periods.containing("month", first - dt.timedelta(days=1)).label,
        "next": periods.containing("month", last + dt.timedelta(days=1)).label,
    }

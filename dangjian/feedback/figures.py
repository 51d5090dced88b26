"""三访三评 figures for any subtree and period, set-based: two queries for the totals, two for
the months.

- 走访次数: the visits organized by the subtree's organizations in the period;
- 党员参与走访人次: each member taking part in a visit counts once per visit (a member on three
  visits counts three) — the speeches' “党员累计参与走访X余人次”;
- 走访户数 and 走访群众人次: the households and people visited, as entered on each visit;
- 收集问题: the feedback about the subtree's organizations received in the period, from every
  channel (the issues raised on visits, members' suggestions, complaints);
- 解决问题: those of them solved — answered directly, or turned into a rectification item that
  has been closed (销号), followed through its referrals — by the end of the period.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from .models import Feedback, Visit


@dataclass
class Figures:
    visits: int = 0
    participations: int = 0
    households: int = 0
    people: int = 0
    raised: int = 0
    solved: int = 0
    pending: int = 0
    overdue: int = 0


def _visits(root_path: str, start: dt.date, end: dt.date):
    return Visit.objects.filter(org__path__startswith=root_path, visited_on__gte=start, visited_on__lte=end)


def _feedback(root_path: str, start: dt.date, end: dt.date):
    return Feedback.objects.filter(org__path__startswith=root_path, received_on__gte=start, received_on__lte=end)


def _solved_q(end: dt.date) -> Q:
    return Q(resolved_on__isnull=False, resolved_on__lte=end)


def totals(root_path: str, start: dt.date, end: dt.date, today: dt.date) -> Figures:
    visits = _visits(root_path, start, end)
    v = visits.aggregate(n=Count("id"), households=Sum("households"), people=Sum("people"))
    participations = Visit.participants.through.objects.filter(visit__in=visits.values("pk")).count()
    f = _feedback(root_path, start, end).aggregate(
        raised=Count("id"), solved=Count("id", filter=_solved_q(end)),
        pending=Count("id", filter=Q(status=Feedback.Status.PENDING)),
        overdue=Count("id", filter=Q(status=Feedback.Status.PENDING, deadline__lt=today)))
    return Figures(visits=v["n"], participations=participations, households=v["households"] or 0,
                   people=v["people"] or 0, raised=f["raised"], solved=f["solved"], pending=f["pending"],
                   overdue=f["overdue"])


def by_month(root_path: str, start: dt.date, end: dt.date) -> list[dict]:
    """[{"month": date, "visits", "participations", "households", "people", "raised", "solved"}]
    for each month of the period (months without any are listed with zeros)."""
    rows: dict[dt.date, dict] = {}
    month = start.replace(day=1)
    while month <= end:
        rows[month] = dict(month=month, visits=0, participations=0, households=0, people=0, raised=0, solved=0)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    for r in (_visits(root_path, start, end).annotate(m=TruncMonth("visited_on")).values("m")
              .annotate(n=Count("id", distinct=True), households=Sum("households"), people=Sum("people"))
              .order_by("m")):
        row = rows[_day(r["m"])]
        row.update(visits=r["n"], households=r["households"] or 0, people=r["people"] or 0)
    through = Visit.participants.through.objects.filter(visit__in=_visits(root_path, start, end).values("pk"))
    for r in through.annotate(m=TruncMonth("visit__visited_on")).values("m").annotate(n=Count("id")).order_by("m"):
        rows[_day(r["m"])]["participations"] = r["n"]
    for r in (_feedback(root_path, start, end).annotate(m=TruncMonth("received_on")).values("m")
              .annotate(raised=Count("id"), solved=Count("id", filter=_solved_q(end))).order_by("m")):
        row = rows[_day(r["m"])]
        row.update(raised=r["raised"], solved=r["solved"])
    return list(rows.values())


def _day(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value

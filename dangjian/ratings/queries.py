"""Reads of star ratings for the pages, the exports and the command.

Who sees ratings: a ranking of organizations is for those who oversee organizations — 工委 staff,
leaders and each unit's party officers, over their own subtree. A user's *rating roots* are the
organizations at the top of their `view` scope that are above branch level; a branch secretary
(whose scope is their branch) and a plain member have none, and every ratings page answers them
404 like a page outside their scope. Every read goes through `visible_to` and the roots.
A fixed number of queries per page, whatever the number of branches or years.
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.http import Http404

from dangjian.core.scoping import get_visible_or_404, scope_of
from dangjian.orgs.models import Organization
from dangjian.rectification.models import Item, ItemEvent
from dangjian.rectification.queries import items_for_source, with_overdue

from .models import LEVEL_LABELS, LEVEL_ORDER, RANK, Level, Rating, RatingRun, RatingScheme, WeakOrg

BRANCH_KINDS = ("branch", "cell")
FLAGS = {
    "capped": "被封顶的",
    "up": "比上年升级的",
    "down": "比上年降级的",
    "unqualified": "未达标的（后进）",
    "commendable": "推荐评先的",
    "weak": "软弱涣散的",
}
LEVEL_BADGES = {
    "model": "text-bg-danger", "star5": "text-bg-warning", "star4": "text-bg-warning", "star3": "text-bg-info",
    "star2": "text-bg-info", "star1": "text-bg-light border", "lagging": "text-bg-dark", "unrated": "text-bg-secondary",
}
STATUS_BADGES = {"identified": "text-bg-danger", "overhauling": "text-bg-warning", "closed": "text-bg-success",
                 "withdrawn": "text-bg-secondary"}
WEAK_FILTERS = {"open": "未销号", "overdue": "逾期未销号", "closed": "已销号", "withdrawn": "已撤销认定", "all": "全部"}


def rating_roots(user) -> list[Organization]:
    roots = scope_of(user).supervising_roots
    if not roots:
        return []
    return list(Organization.objects.visible_to(user).filter(path__in=roots)
                .only("pk", "code", "name", "kind", "path").order_by("path"))


def roots_or_404(user) -> list[Organization]:
    roots = rating_roots(user)
    if not roots:
        raise Http404("未找到，或您没有查看星级评定的权限")
    return roots


def under(roots, lookup: str = "org__path") -> Q:
    q = Q(pk__in=[])
    for r in roots:
        q |= Q(**{f"{lookup}__startswith": r.path})
    return q


def org_or_404(user, roots, pk) -> Organization:
    return get_visible_or_404(Organization.objects.filter(under(roots, "path")).select_related("unit", "parent"),
                              user, pk)


def scheme(year: int) -> RatingScheme | None:
    return RatingScheme.objects.select_related("assessment_scheme").filter(year=year).first()


def run(year: int) -> RatingRun | None:
    return RatingRun.objects.select_related("scheme", "computed_by__member").filter(year=year).first()


def years() -> list[int]:
    return list(RatingRun.objects.order_by("-year").values_list("year", flat=True))


def _rank():
    return Case(*[When(level=lv, then=Value(RANK[lv])) for lv in RANK], output_field=IntegerField())


def ratings(user, roots, run: RatingRun, *, level: str = "", unit: int | None = None, q: str = "",
            flag: str = ""):
    """The run's ratings the user may see, best level first, then by score."""
    qs = (Rating.objects.visible_to(user).filter(under(roots), run=run).select_related("org", "org__unit")
          .annotate(level_rank=_rank()))
    if level in Level.values:
        qs = qs.filter(level=level)
    if unit is not None:
        qs = qs.filter(org__unit_id=unit)
    if q:
        qs = qs.filter(Q(org__name__icontains=q) | Q(org__code__icontains=q))
    if flag == "capped":
        qs = qs.filter(capped=True)
    elif flag == "commendable":
        qs = qs.filter(commendable=True)
    elif flag == "weak":
        qs = qs.filter(weak=True)
    elif flag == "unqualified":
        qs = qs.filter(level=Level.LAGGING)
    elif flag in ("up", "down"):
        prev = Case(*[When(previous_level=lv, then=Value(RANK[lv])) for lv in RANK if lv != Level.UNRATED],
                    default=Value(-1), output_field=IntegerField())
        qs = qs.annotate(prev_rank=prev).exclude(level=Level.UNRATED).filter(prev_rank__gt=0)
        qs = qs.filter(level_rank__gt=F("prev_rank")) if flag == "up" else qs.filter(level_rank__lt=F("prev_rank"))
    return qs.order_by("-level_rank", "-score", "org__path")


def summary(user, roots, run: RatingRun) -> dict:
    """Counts per level and the headline figures of the run within the user's scope: one
    grouped query."""
    rows = (Rating.objects.visible_to(user).filter(under(roots), run=run).values_list("level")
            .annotate(n=Count("id"), capped=Count("id", filter=Q(capped=True)),
                      commendable=Count("id", filter=Q(commendable=True)), weak=Count("id", filter=Q(weak=True)))
            .order_by())
    counts = {lv: 0 for lv in Level.values}
    capped = commendable = weak = 0
    for lv, n, c, cm, w in rows:
        counts[lv] = n
        capped, commendable, weak = capped + c, commendable + cm, weak + w
    total = sum(counts.values())
    rated = total - counts[Level.UNRATED]
    qualified = rated - counts[Level.LAGGING]
    return {
        "levels": [{"code": lv.value, "label": lv.label, "count": counts[lv], "badge": LEVEL_BADGES[lv]}
                   for lv in [*LEVEL_ORDER, Level.UNRATED]],
        "total": total, "rated": rated, "qualified": qualified, "capped": capped, "commendable": commendable,
        "weak": weak, "qualified_pct": f"{qualified * 100 / rated:.1f}%" if rated else "—",
    }


def chart(summary_: dict) -> dict:
    levels = [lv for lv in summary_["levels"] if lv["count"] or lv["code"] != Level.UNRATED]
    return {"labels": [lv["label"] for lv in levels], "codes": [lv["code"] for lv in levels],
            "counts": [lv["count"] for lv in levels]}


def units(user, roots, run: RatingRun) -> list[tuple[int, str]]:
    """The government units (单位) of the branches the user sees in the run."""
    rows = (Rating.objects.visible_to(user).filter(under(roots), run=run, org__unit__isnull=False)
            .values_list("org__unit_id", "org__unit__name").distinct().order_by("org__unit__name"))
    return list(rows)


def org_history(org: Organization) -> list[Rating]:
    """The org's own levels, latest year first."""
    return list(Rating.objects.filter(org=org).select_related("run").order_by("-year"))


def subtree_history(org: Organization) -> list[dict]:
    """For an org above branch level: per year, how many of its branches had each level."""
    rows = (Rating.objects.filter(org__path__startswith=org.path).values_list("year", "level")
            .annotate(n=Count("id")).order_by())
    by_year: dict[int, dict[str, int]] = {}
    for year, level, n in rows:
        by_year.setdefault(year, {lv: 0 for lv in Level.values})[level] = n
    out = []
    for year in sorted(by_year, reverse=True):
        c = by_year[year]
        rated = sum(c.values()) - c[Level.UNRATED]
        out.append({"year": year, "cells": [c[lv] for lv in [*LEVEL_ORDER, Level.UNRATED]], "total": sum(c.values()),
                    "qualified": rated - c[Level.LAGGING]})
    return out


# ---- weak organizations ---------------------------------------------------------------------

def weak_cases(user, roots, *, status: str = "open", q: str = "", today: dt.date):
    qs = (WeakOrg.objects.visible_to(user).filter(under(roots)).select_related("org", "org__unit", "identified_by__member")
          .annotate(last_note=Subquery(_notes().order_by("-on", "-id").values("on")[:1]),
                    note_count=Subquery(_notes().order_by().values("kind").annotate(n=Count("id")).values("n")[:1])))
    if status == "open":
        qs = qs.open()
    elif status == "overdue":
        qs = qs.open().filter(deadline__lt=today)
    elif status in (WeakOrg.Status.CLOSED, WeakOrg.Status.WITHDRAWN):
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(org__name__icontains=q) | Q(org__code__icontains=q))
    return qs.order_by("-identified_on", "-id")


def weak_counts(user, roots, today: dt.date) -> dict[str, int]:
    qs = WeakOrg.objects.visible_to(user).filter(under(roots))
    agg = qs.aggregate(
        open=Count("id", filter=Q(status__in=WeakOrg.OPEN)),
        overdue=Count("id", filter=Q(status__in=WeakOrg.OPEN, deadline__lt=today)),
        closed=Count("id", filter=Q(status=WeakOrg.Status.CLOSED)),
        withdrawn=Count("id", filter=Q(status=WeakOrg.Status.WITHDRAWN)),
        all=Count("id"),
    )
    return agg


def weak_or_404(user, roots, pk) -> WeakOrg:
    return get_visible_or_404(WeakOrg.objects.filter(under(roots))
                              .select_related("org", "org__unit", "identified_by__member", "closed_by__member"), user, pk)


def _notes():
    """The progress notes (整顿进展) of the case in the outer query, on its overhaul items."""
    return ItemEvent.objects.filter(item__source=Item.Source.OVERHAUL, item__source_id=OuterRef("pk"),
                                    kind=ItemEvent.Kind.NOTE)


def weak_items(weak: WeakOrg, today: dt.date) -> list[Item]:
    """The case's overhaul items (one, and those it was referred to), each with `late`."""
    return with_overdue(items_for_source(Item.Source.OVERHAUL, [weak.pk]).get(weak.pk, []), today)


def weak_timeline(items: list[Item]) -> list[ItemEvent]:
    """Every step of the overhaul — the plan, progress notes, the request for 销号, returns, the
    close — from its items' timelines, in one query."""
    return list(ItemEvent.objects.filter(item__in=[i.pk for i in items]).select_related("user__member")
                .order_by("on", "at", "id"))


def weak_of_org(org: Organization) -> list[WeakOrg]:
    return list(WeakOrg.objects.filter(org=org).order_by("-identified_on", "-id"))


def weak_candidates(user, roots, run: RatingRun):
    """Branches the run's rules point out for 软弱涣散 identification that have no open case:
    shown to the committee with their reasons, never identified automatically."""
    levels = (run.applied.get("weak_candidates") or {}).get("levels") or []
    has_open = WeakOrg.objects.filter(org=OuterRef("org"), status__in=WeakOrg.OPEN)
    return (Rating.objects.visible_to(user).filter(under(roots), run=run, level__in=levels)
            .annotate(has_open=Exists(has_open)).filter(has_open=False)
            .select_related("org", "org__unit").order_by("score", "org__path"))


def commendation(user, roots, run: RatingRun):
    return (Rating.objects.visible_to(user).filter(under(roots), run=run, commendable=True)
            .select_related("org", "org__unit").annotate(level_rank=_rank())
            .order_by("-level_rank", "-score", "org__path"))


def level_label(code: str) -> str:
    return LEVEL_LABELS.get(code, code or "—")

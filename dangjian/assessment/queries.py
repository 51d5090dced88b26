"""Reads of assessment: who a level assesses, runs and their scores."""
from __future__ import annotations

from collections import defaultdict

from django.db.models import Avg, Count, Exists, F, Max, Min, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404

from dangjian.core import periods
from dangjian.core.scoping import can_anywhere, is_committee_staff, scope_of
from dangjian.orgs.models import Organization

from .metrics import Target
from .models import GRADE_ORDER, Admonition, Grade, Indicator, Level, ManualScore, Run, Scheme, TargetScore

# The kinds of a unit's organization under the working committee, highest first.
UNIT_TARGET_KINDS = ("committee", "organ_committee", "general_branch", "branch")


def _unit_rank(kind: str) -> int:
    return UNIT_TARGET_KINDS.index(kind) if kind in UNIT_TARGET_KINDS else len(UNIT_TARGET_KINDS)


def targets(level: str) -> list[Target]:
    """The organizations a level assesses, in tree order.

    `unit`: each department's top grassroots party organization (the working committee's direct
    children: its 机关党委, 党总支 or 党支部), answering also for the unit's 党组 (or 党委) beside
    it — the same 单位 — whose secretary is the first responsible person for the unit's party
    building (seed 000: 党组（党委）书记是第一责任人): the 党组's duty items, records and set-up count
    for the unit. A 党组 is never a target of its own. `branch`: every active 党支部."""
    qs = Organization.objects.filter(status=Organization.Status.ACTIVE)
    if level != Level.UNIT:
        return [Target(*row) for row in qs.filter(kind="branch").order_by("path")
                .values_list("pk", "code", "name", "path")]
    rows = list(qs.filter(parent__kind="working_committee").order_by("path")
                .values_list("pk", "code", "name", "path", "kind", "unit_id"))
    groups: dict[int, list[str]] = defaultdict(list)
    for *_, path, kind, unit in rows:
        if kind == "leading_group" and unit is not None:
            groups[unit].append(path)
    # A unit with more than one organization under the working committee (rare: a 机关党委 and a
    # separate 支部) has its 党组 counted once, with the highest of them.
    answering: dict[int, int] = {}
    for pk, _, _, _, kind, unit in sorted(rows, key=lambda r: (_unit_rank(r[4]), r[3])):
        if unit is not None and kind != "leading_group":
            answering.setdefault(unit, pk)
    return [Target(pk, code, name, path, tuple(groups[unit]) if answering.get(unit) == pk else ())
            for pk, code, name, path, kind, unit in rows if kind != "leading_group"]


def require_view(user) -> None:
    if not can_anywhere(user, "view"):
        raise Http404("未找到，或您没有查看考核结果的权限")


def schemes():
    # A query with counts drops the model's ordering (it is grouped): the list's order is given here.
    return Scheme.objects.annotate(indicator_count=Count("indicators", distinct=True),
                                   run_count=Count("runs", distinct=True)).order_by("-year", "level", "code")


def scheme_or_404(pk) -> Scheme:
    return get_object_or_404(Scheme, pk=pk)


def visible_runs(user):
    """Runs with at least one target the user can view through a role (a plain member's own
    organization does not count: results are not pushed to members). The one rule for the
    run pages, the export and the bulletins."""
    if not can_anywhere(user, "view"):
        return Run.objects.none()
    orgs = Organization.objects.visible_to(user, "view")
    return Run.objects.filter(Exists(TargetScore.objects.filter(run=OuterRef("pk"), org__in=orgs)))


def run_of_period(scheme: Scheme, label: str) -> Run | None:
    """The stored run of a scheme for a period (its label as `periods.parse` writes it)."""
    return Run.objects.select_related("computed_by").filter(scheme=scheme, period=label).first()


def run_or_404(user, pk) -> Run:
    return get_object_or_404(visible_runs(user).select_related("scheme", "computed_by__member"), pk=pk)


# A target without a score (every indicator 不适用) has no place: listed last either way.
SORTS = {"place": (F("place").asc(nulls_last=True), "org__path"), "-place": (F("place").desc(nulls_last=True), "org__path"), "code": ("org__code",),
         "name": ("org__name",), "grade": ("place",)}


def run_scores(run: Run, user, *, sort: str = "place", grade: str = "", q: str = ""):
    """The scores of a run the user may see: an organization's result is visible to those
    who may view that organization (a unit admin sees their own unit's)."""
    qs = (TargetScore.objects.filter(run=run, org__in=Organization.objects.visible_to(user).values("pk"))
          .select_related("org"))
    if grade in Grade.values:
        qs = qs.filter(grade=grade)
    if q:
        qs = qs.filter(Q(org__name__icontains=q) | Q(org__code__icontains=q))
    return qs.order_by(*SORTS.get(sort, SORTS["place"]))


def grade_counts(run: Run, user) -> dict[str, int]:
    rows = dict(run_scores(run, user).order_by().values_list("grade").annotate(n=Count("id")))
    return {g.value: rows.get(g.value, 0) for g in GRADE_ORDER}


def trend(run: Run, user) -> list[dict]:
    """Per run of the same scheme and cycle: average, best and worst total and grade counts
    (for the trend chart), one grouped query."""
    visible = Organization.objects.visible_to(user).values("pk")
    rows = (TargetScore.objects.filter(run__scheme=run.scheme, run__cycle=run.cycle, org__in=visible)
            .values("run_id", "run__period", "run__period_start", "run__status")
            .annotate(avg=Avg("total"), high=Max("total"), low=Min("total"),
                      **{g.value: Count("id", filter=Q(grade=g.value)) for g in GRADE_ORDER})
            .order_by("run__period_start"))
    # A draft's point is named so (暂定); a run whose targets all have no score has no average.
    return [{"run": r["run_id"], "final": r["run__status"] == Run.Status.FINAL,
             "period": periods.name_of(r["run__period"]) + ("" if r["run__status"] == Run.Status.FINAL else "（暂定）"),
             "avg": None if r["avg"] is None else round(float(r["avg"]), 2),
             "high": None if r["high"] is None else float(r["high"]),
             "low": None if r["low"] is None else float(r["low"]), **{g.value: r[g.value] for g in GRADE_ORDER}}
            for r in rows]


def target_history(scheme: Scheme, org: Organization) -> list[TargetScore]:
    return list(TargetScore.objects.filter(run__scheme=scheme, org=org).select_related("run")
                .order_by("run__cycle", "run__period_start"))


def admonitions(user, *, status: str = ""):
    qs = (Admonition.objects.filter(org__in=Organization.objects.visible_to(user).values("pk"))
          .select_related("org", "run", "run__scheme"))
    if status in Admonition.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-run__period_start", "org__path")


def can_score(user) -> bool:
    """Who enters the 考核组评分: the working committee's staff, and inspection teams
    (督查考核员, capability `inspect`) for the targets assigned to them."""
    return is_committee_staff(user) or can_anywhere(user, "inspect")


def scorable_targets(user, level: str) -> list[Target]:
    """The targets of a level whose manual scores `user` may enter (`can_score`): all of them for
    the committee's staff (and for the system, `user` None), those inside the user's `inspect`
    scope for an inspector."""
    found = targets(level)
    if user is None or is_committee_staff(user):
        return found
    prefixes = scope_of(user).prefixes("inspect")
    return [t for t in found if any(t.path.startswith(p) for p in prefixes)]


def manual_grid(scheme: Scheme, period: str, user=None) -> tuple[list[Indicator], list[Target], dict]:
    """Manual indicators × the targets `user` may score, with the scores already entered for
    the period."""
    indicators = list(scheme.indicators.filter(method=Indicator.Method.MANUAL))
    shown = scorable_targets(user, scheme.level)
    entered = {(s.indicator_id, s.org_id): s for s in
               ManualScore.objects.filter(indicator__in=indicators, period=period, org_id__in=[t.org_id for t in shown])}
    return indicators, shown, entered

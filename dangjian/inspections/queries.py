"""Reads of inspections for the pages, the exports, the API and the command: every one through
`visible_to`, a fixed number of queries whatever the number of plans, targets or findings.

The issuing side and the team read a plan whole; the targets' people read only their own targets
(and of a 四不两直 plan only once visited: `models.InspectionQuerySet`), and the findings of those.
"""
from __future__ import annotations

from django.db.models import Count, Q

from dangjian.core.scoping import can, get_visible_or_404, scope_of
from dangjian.rectification.models import Item
from dangjian.rectification.queries import items_for_source

from .models import EvaluatorGroup, Finding, Inspection, Satisfaction, Target, min_group


def years() -> list[int]:
    return sorted(set(Inspection.objects.values_list("year", flat=True)), reverse=True)


def inspections(user, *, kind: str = "", status: str = "", year: int | None = None, q: str = ""):
    qs = Inspection.objects.visible_to(user).select_related("issuer")
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if year:
        qs = qs.filter(year=year)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(issuer__name__icontains=q))
    return qs.order_by("-starts_on", "-id")


def with_progress(page: list[Inspection], user) -> list[Inspection]:
    """The targets and visited counts the user may see of each plan on a page (one query)."""
    ids = [i.pk for i in page]
    rows = (Target.objects.visible_to(user).filter(inspection_id__in=ids).order_by()
            .values("inspection_id").annotate(n=Count("id"), visited=Count("id", filter=Q(visited_on__isnull=False))))
    by = {r["inspection_id"]: r for r in rows}
    for i in page:
        r = by.get(i.pk, {})
        i.target_count, i.visited_count = r.get("n", 0), r.get("visited", 0)
    return page


def inspection_or_404(user, pk, capability: str = "view") -> Inspection:
    return get_visible_or_404(Inspection.objects.select_related("issuer", "created_by__member", "scheme"),
                              user, pk, capability)


def sees_whole(user, inspection: Inspection) -> bool:
    """The issuing side (readers of the issuer) and the team read every target of the plan."""
    return (user is None or can(user, "view", inspection.issuer.path)
            or inspection.team.filter(pk=user.pk).exists())


def targets_of(user, inspection: Inspection) -> list[Target]:
    qs = Target.objects.filter(inspection=inspection)
    if not sees_whole(user, inspection):
        qs = qs.filter(pk__in=Target.objects.visible_to(user).filter(inspection=inspection).values("pk"))
    return list(qs.select_related("org", "visited_by__member")
                .annotate(finding_count=Count("findings")).order_by("position", "id"))


def target_or_404(user, pk, capability: str = "view") -> Target:
    return get_visible_or_404(Target.objects.select_related("inspection__issuer", "org", "visited_by__member"),
                              user, pk, capability)


def findings_of(user, inspection: Inspection, targets: list[Target] | None = None):
    """The findings of the plan on the targets the user may see."""
    qs = Finding.objects.filter(inspection=inspection)
    if targets is not None:
        qs = qs.filter(target__in=[t.pk for t in targets])
    elif not sees_whole(user, inspection):
        qs = qs.filter(target__in=Target.objects.visible_to(user).filter(inspection=inspection).values("pk"))
    return qs.select_related("target__org", "item", "recorded_by__member").order_by(
        "target__position", "target_id", "item__position", "id")


def team_of(inspection: Inspection) -> list:
    return list(inspection.team.select_related("member").order_by("id"))


def export_findings(user, *, year: int | None = None, kind: str = "", inspection: Inspection | None = None):
    """The findings of every plan the user sees whole (issuing side or team), plus the user's own
    targets' visible findings, for the Excel export."""
    plans = Inspection.objects.visible_to(user)
    qs = Finding.objects.filter(inspection__in=plans.values("pk"))
    qs = qs.filter(Q(inspection__in=_whole_plans(user)) | Q(target__in=Target.objects.visible_to(user).values("pk")))
    if inspection is not None:
        qs = qs.filter(inspection=inspection)
    if year:
        qs = qs.filter(inspection__year=year)
    if kind:
        qs = qs.filter(inspection__kind=kind)
    return qs.select_related("inspection__issuer", "target__org", "item", "recorded_by__member").order_by(
        "-inspection__starts_on", "inspection_id", "target__position", "target_id", "id")


def _whole_plans(user):
    q = Q(pk__in=[])
    for prefix in scope_of(user).prefixes("view"):
        q |= Q(issuer__path__startswith=prefix)
    q |= Q(pk__in=Inspection.team.through.objects.filter(user_id=user.pk).values("inspection_id"))
    return Inspection.objects.filter(q).values("pk")


def results(inspection: Inspection, targets: list[Target]) -> dict:
    """The evaluations per target and group: counts by grade where at least `min_group()` were
    given for the target (else only that fewer were given), and the comments only then,
    sorted by their text so their order says nothing. Two queries."""
    least = min_group()
    rows = (inspection.evaluations.order_by().values("target_id", "group", "grade").annotate(n=Count("pk")))
    counts: dict[int, dict] = {}
    for r in rows:
        t = counts.setdefault(r["target_id"], {"total": 0, "grades": {g: 0 for g in Satisfaction.values},
                                                "groups": {}})
        t["total"] += r["n"]
        t["grades"][r["grade"]] += r["n"]
        t["groups"][r["group"]] = t["groups"].get(r["group"], 0) + r["n"]
    comments: dict[int, list[str]] = {}
    shown = [tid for tid, c in counts.items() if c["total"] >= least]
    for tid, text in (inspection.evaluations.filter(target_id__in=shown).exclude(comment="")
                      .values_list("target_id", "comment")):
        comments.setdefault(tid, []).append(text)
    out = []
    for t in targets:
        c = counts.get(t.pk, {"total": 0, "grades": {g: 0 for g in Satisfaction.values}, "groups": {}})
        enough = c["total"] >= least
        satisfied = c["grades"]["satisfied"] + c["grades"]["basic"]
        out.append({
            "target": t, "total": c["total"], "enough": enough,
            "grades": [(Satisfaction(g).label, c["grades"][g]) for g in Satisfaction.values] if enough else [],
            "groups": [(EvaluatorGroup(g).label, n) for g, n in sorted(c["groups"].items())
                       if n >= least] if enough else [],
            "rate": round(100 * satisfied / c["total"], 1) if enough else None,
            "comments": sorted(comments.get(t.pk, [])),
        })
    used = inspection.codes.filter(used=True).count()
    return {"rows": out, "least": least, "issued": inspection.codes.count(), "used": used}


def item_states(inspection: Inspection, findings: list[Finding]) -> dict[int, Item]:
    """Each finding's rectification item as it answers now (a referred item followed to the item
    it was referred to): one query for all the plan's items."""
    items = items_for_source("inspection", [inspection.pk]).get(inspection.pk, [])
    by_pk = {i.pk: i for i in items}
    successor = {i.referred_from_id: i for i in items if i.referred_from_id}
    out = {}
    for f in findings:
        item = by_pk.get(f.rectification_item_id)
        seen = set()
        while item is not None and item.status == Item.Status.REFERRED and item.pk in successor and item.pk not in seen:
            seen.add(item.pk)
            item = successor[item.pk]
        if item is not None:
            out[f.pk] = item
    return out

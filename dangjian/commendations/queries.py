"""Reads of commendation for the pages, the export, the API and the command: every one through
`visible_to`, a fixed number of queries whatever the number of decisions or honours.

Who sees what: a decision is read by those who view its issuer (its drafter's subtree); an
honour (one `Commendation` of a published decision) by those who view the organization
honoured — so a branch's people find their honours on their pages and in the list, and no page
names an organization or a person outside the user's scope.
"""
from __future__ import annotations

from django.db.models import Count, Max, Q

from dangjian.assessment.models import Grade, Run, TargetScore
from dangjian.core.scoping import get_visible_or_404, scope_of
from dangjian.members.models import Member
from dangjian.orgs.models import Organization
from dangjian.ratings.models import LEVEL_LABELS, Rating

from .models import Commendation, Decision, Honour

SEED_ORG = "advanced_org"
SEED_UNIT = "excellent_unit"


def honours() -> list[Honour]:
    return list(Honour.objects.all())


def years() -> list[int]:
    return sorted(set(Decision.objects.values_list("year", flat=True)), reverse=True)


def decisions(user, *, year: int | None = None, status: str = ""):
    qs = Decision.objects.visible_to(user).select_related("issuer").annotate(entries=Count("commendations"))
    if year:
        qs = qs.filter(year=year)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-decided_on", "-id")


def decision_or_404(user, pk, capability: str = "view") -> Decision:
    return get_visible_or_404(Decision.objects.select_related("issuer", "published_by__member", "created_by__member"),
                              user, pk, capability)


def entries_of(decision: Decision) -> list[Commendation]:
    return list(decision.commendations.select_related("honour", "org", "member")
                .order_by("honour__position", "honour_id", "position", "id"))


def commendations(user, *, year: int | None = None, honour: int | None = None, root: Organization | None = None):
    """The honours of published decisions the user may see, newest decision first."""
    qs = Commendation.objects.visible_to(user).published()
    if year:
        qs = qs.filter(decision__year=year)
    if honour:
        qs = qs.filter(honour_id=honour)
    if root is not None:
        qs = qs.filter(org__path__startswith=root.path)
    return (qs.select_related("decision", "honour", "org", "member")
            .order_by("-decision__decided_on", "decision_id", "honour__position", "position", "id"))


def counts(qs) -> list[dict]:
    """[{"honour", "count"}] per honour of `qs` (one query), every honour listed."""
    found = dict(qs.order_by().values_list("honour_id").annotate(n=Count("id")))
    return [{"honour": h.name, "count": found.get(h.pk, 0)} for h in honours()]


def of_org(user, org: Organization) -> list[Commendation]:
    """The honours of published decisions given to the org, or to its members while there."""
    return list(Commendation.objects.visible_to(user).published().filter(org=org)
                .select_related("decision", "honour", "member").order_by("-decision__decided_on", "position"))


def of_member(user, member: Member) -> list[Commendation]:
    return list(Commendation.objects.published().filter(member=member)
                .filter(pk__in=Commendation.objects.visible_to(user).filter(member=member).values("pk"))
                .select_related("decision", "honour", "org").order_by("-decision__decided_on", "position"))


def suggestions(user, decision: Decision) -> list[dict]:
    """Candidates of the decision's year in its issuer's subtree and the user's edit scope:
    the star rating's commendation candidates (先进基层党组织) and the targets graded 好 in the
    year's final assessment runs (党建工作优秀单位 for units, 先进基层党组织 for branches). Those the
    decision already honours with that title are left out (`decision` may be unsaved: the demo
    asks before drafting). Five queries."""
    by_code = {h.code: h for h in honours() if h.code}
    org_honour, unit_honour = by_code.get(SEED_ORG), by_code.get(SEED_UNIT)
    base = Q(org__path__startswith=decision.issuer.path, org__status=Organization.Status.ACTIVE)
    taken = (set(decision.commendations.filter(member__isnull=True).values_list("org_id", "honour_id"))
             if decision.pk is not None else set())
    out: dict[tuple[int, int], dict] = {}
    if org_honour is not None:
        for r in (Rating.objects.visible_to(user, "edit").filter(base, year=decision.year, commendable=True)
                  .select_related("org").order_by("org__path")):
            out[(r.org_id, org_honour.pk)] = {"org": r.org, "honour": org_honour,
                                              "reasons": [f"{decision.year} 年星级评定：{LEVEL_LABELS[r.level]}，推荐评先"]}
    # Final runs only: a draft (暂定) has no grade yet.
    rows = (TargetScore.objects.filter(_edit_q(user))
            .filter(base, grade=Grade.EXCELLENT, run__status=Run.Status.FINAL, run__period_start__year=decision.year)
            .values("org_id", "run__scheme__level").annotate(times=Count("id"), best=Max("total"))
            .order_by("org_id"))
    rows = list(rows)
    orgs = Organization.objects.in_bulk([r["org_id"] for r in rows])
    for r in rows:
        honour = unit_honour if r["run__scheme__level"] == "unit" else org_honour
        if honour is None:
            continue
        entry = out.setdefault((r["org_id"], honour.pk), {"org": orgs[r["org_id"]], "honour": honour, "reasons": []})
        entry["reasons"].append(f"{decision.year} 年考评 {r['times']} 次等次为“好”（最高 {r['best']} 分）")
    return sorted((v for k, v in out.items() if k not in taken),
                  key=lambda v: (v["honour"].position, v["org"].path))


def _edit_q(user) -> Q:
    """TargetScore has no scoped manager: the same rule as `visible_to(user, "edit")`."""
    q = Q(pk__in=[])
    for prefix in scope_of(user).prefixes("edit"):
        q |= Q(org__path__startswith=prefix)
    return q


def command_rows(year: int, root: Organization | None = None) -> list[dict]:
    """The published decisions of `year` with their honours, as `dangjian honours` prints them:
    with `root`, only honours whose organization is in its subtree (and the decisions keeping one)."""
    qs = Commendation.objects.published().filter(decision__year=year)
    if root is not None:
        qs = qs.filter(org__path__startswith=root.path)
    out: dict[int, dict] = {}
    for c in (qs.select_related("decision", "honour", "org", "member")
              .order_by("decision__decided_on", "decision_id", "honour__position", "position", "id")):
        d = out.setdefault(c.decision_id, {"number": c.decision.number, "date": c.decision.decided_on.isoformat(),
                                           "title": c.decision.title, "honours": []})
        d["honours"].append({"honour": c.honour.name, "org_code": c.org.code, "org_name": c.org.name,
                             "member_name": c.member.name if c.member_id else None})
    return list(out.values())

"""Reads of 述职评议 for the pages: a fixed number of queries whatever the number of reports,
voters or votes. Results are read only from the vote counters (per report, voter group and
grade; there is no single vote to return), and a voter group's grades only where enough of its
ballots were cast (`pool_small_groups`)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q

from dangjian.assessment.models import Level, TargetScore
from dangjian.assessment.queries import targets
from dangjian.core.scoping import can, get_visible_or_404, scope_of
from dangjian.orgs.models import Organization
from dangjian.rectification.models import Item
from dangjian.rectification.queries import items_for_source

from .models import (
    GRADE_LABELS,
    GRADES,
    CopyFinding,
    DutyReport,
    DutyReview,
    VoteCount,
    min_group,
)
from .services import expected_orgs

# ---- who may do what ---------------------------------------------------------------------------

def sees_all(user, review: DutyReview) -> bool:
    """Readers of the organizing org (工委 staff, leaders, inspectors of the whole tree) see every
    report, the turnout and all results; participants only their own part."""
    return can(user, "view", review.org.path)


def organizes(user, review: DutyReview) -> bool:
    """Who runs the review: whoever may edit the organizing org (工委 staff for the working
    committee's review, a unit's party officer for their unit's)."""
    return can(user, "edit", review.org.path)


def may_submit(user, review: DutyReview, org: Organization) -> bool:
    return review.status == DutyReview.Status.DRAFT and can(user, "edit", org.path)


# ---- lookups -----------------------------------------------------------------------------------

def review_or_404(user, pk, capability: str = "view") -> DutyReview:
    return get_visible_or_404(DutyReview.objects.select_related("org", "run__scheme"), user, pk, capability)


def report_or_404(user, pk, capability: str = "view") -> DutyReport:
    qs = DutyReport.objects.select_related("review__org", "org", "reporter", "submitted_by__member")
    return get_visible_or_404(qs, user, pk, capability)


def reviews_for(user, year: int | None = None):
    qs = DutyReview.objects.visible_to(user).select_related("org").annotate(
        report_count=Count("reports", distinct=True))
    if year:
        qs = qs.filter(year=year)
    return qs.order_by("-year", "org__path", "id")


def review_years(user) -> list[int]:
    return sorted(set(DutyReview.objects.visible_to(user).values_list("year", flat=True)), reverse=True)


def organizing_orgs(user):
    """Where the user may hold a review: orgs of the organizing kinds they may edit."""
    from .models import ORGANIZER_KINDS

    return (Organization.objects.visible_to(user, "edit").filter(kind__in=ORGANIZER_KINDS,
                                                                  status=Organization.Status.ACTIVE)
            .order_by("path"))


# ---- the review page ---------------------------------------------------------------------------

@dataclass
class Expected:
    org: Organization
    report: DutyReport | None
    can_submit: bool
    findings: int = 0
    open_items: int = 0


def review_reports(user, review: DutyReview):
    """Reports of the review the user may see, in tree order."""
    return (DutyReport.objects.visible_to(user).filter(review=review)
            .select_related("org", "reporter").order_by("org__path"))


def expected_rows(user, review: DutyReview, reports: list[DutyReport]) -> list[Expected]:
    """Each expected org the user may see with its report, then reports from other orgs of the
    review's subtree (a branch reporting to its unit's review)."""
    by_org = {r.org_id: r for r in reports}
    orgs = list(expected_orgs(review).filter(pk__in=Organization.objects.visible_to(user).values("pk")))
    edit = scope_of(user).prefixes("edit")
    draft = review.status == DutyReview.Status.DRAFT

    def submit(org):
        return draft and any(org.path.startswith(p) for p in edit)

    rows = [Expected(o, by_org.pop(o.pk, None), submit(o)) for o in orgs]
    rows += [Expected(r.org, r, submit(r.org)) for r in reports if r.org_id in by_org]
    return rows


def turnout(review: DutyReview) -> list:
    """Voter groups with ballots issued and used: counts only, never which ballot."""
    # In their set order: a query that groups (the counts) does not take the model's ordering,
    # and PostgreSQL then answered the groups in whatever order its hash aggregate left them.
    return list(review.groups.annotate(
        issued=Count("ballots"), used=Count("ballots", filter=Q(ballots__used=True))).order_by("position", "id"))


def open_items(reports: list[DutyReport]) -> dict[int, int]:
    """Per report, its 点评 items not yet closed (one query)."""
    rows = (Item.objects.open().filter(source=Item.Source.REVIEW, source_id__in=[r.pk for r in reports])
            .values_list("source_id").annotate(n=Count("id")).order_by())
    return dict(rows)


def finding_counts(user, reports: list[DutyReport]) -> dict[int, int]:
    """Per report, the number of copy findings whose other report the user may also see."""
    ids = {r.pk for r in reports}
    pairs = list(CopyFinding.objects.filter(Q(report_id__in=ids) | Q(other_id__in=ids))
                 .values_list("report_id", "other_id"))
    others = {x for pair in pairs for x in pair} - ids
    visible = ids | set(DutyReport.objects.visible_to(user).filter(pk__in=others).values_list("pk", flat=True))
    out: dict[int, int] = defaultdict(int)
    for a, b in pairs:
        if a in visible and b in visible:
            for x in (a, b):
                if x in ids:
                    out[x] += 1
    return dict(out)


# ---- results -----------------------------------------------------------------------------------

@dataclass
class GroupCount:
    group: object
    counts: dict[str, int]
    total: int
    mean: float | None


@dataclass
class ResultRow:
    report: DutyReport
    counts: dict[str, int]
    total: int
    by_group: list[GroupCount] = field(default_factory=list)
    good_share: float | None = None
    vote_score: float | None = None
    assessment: float | None = None
    combined: float | None = None

    @property
    def good_percent(self) -> float | None:
        return None if self.good_share is None else self.good_share * 100

    @property
    def grade_counts(self) -> list[tuple[str, str, int]]:
        return [(g, GRADE_LABELS[g], self.counts.get(g, 0)) for g in GRADES]


@dataclass
class Results:
    review: DutyReview
    rows: list[ResultRow]
    groups: list
    pooled: list = field(default_factory=list)  # groups shown together as “其他”
    hidden: list = field(default_factory=list)  # groups left out of the counts and scores
    least: int = 0
    run_label: str = ""

    @property
    def small_groups(self) -> list:
        return self.pooled + self.hidden

    def notes(self) -> list[str]:
        """Why some groups' grades are not shown on their own, in the reader's words."""
        out = []
        if self.pooled:
            out.append(f"{'、'.join(f'“{g.name}”（{g.used} 人投票）' for g in self.pooled)}投票人数均少于 "
                       f"{self.least} 人，单独列出会暴露个人的选择，已合并为“{OTHERS}”列出和计分。")
        if self.hidden:
            out.append(f"{'、'.join(f'“{g.name}”（{g.used} 人投票）' for g in self.hidden)}投票人数少于 "
                       f"{self.least} 人，为保证投票匿名，其票数不显示，也不计入有效票和得分。")
        return out

    def chart(self) -> dict:
        """The stacked bar's data: one category per report, one series per grade."""
        return {
            "reports": [r.report.org.name for r in self.rows],
            "series": [{"name": GRADE_LABELS[g], "data": [r.counts.get(g, 0) for r in self.rows]} for g in GRADES],
        }


OTHERS = "其他"


@dataclass
class Pool:
    """Small voter groups counted together, shown as “其他”."""
    name: str
    weight: Decimal
    pk: str = "others"


def pool_small_groups(by_group: dict, weights: dict, least: int):
    """A report's counts per voter group → the counts that may be shown, their weights, and the
    groups left out. Every ballot grades every report, so a group's total on one report is the
    number of its ballots cast. Groups with fewer than `least` ballots are added together as
    “其他” when that makes at least `least`; otherwise they are left out (from the totals too,
    or the small group's grades would be their difference)."""
    small = {gid: c for gid, c in by_group.items() if 0 < sum(c.values()) < least}
    shown = {gid: c for gid, c in by_group.items() if gid not in small}
    shown_weights = {gid: weights.get(gid, 0) for gid in shown}
    if len(small) > 1 and sum(sum(c.values()) for c in small.values()) >= least:
        shown[Pool.pk] = {g: sum(c.get(g, 0) for c in small.values()) for g in GRADES}
        shown_weights[Pool.pk] = sum(weights.get(gid, 0) for gid in small)
        return shown, shown_weights, []
    return shown, shown_weights, list(small)


def vote_score(points: dict[str, int], weights: dict[int, Decimal], by_group: dict[int, dict[str, int]]):
    """Weighted vote score of one report: per group the mean points of its votes, weighted by the
    group's weight among the groups that voted. Also the weighted share of 好 and 较好."""
    num = share = weight_sum = 0.0
    for gid, counts in by_group.items():
        n = sum(counts.values())
        w = float(weights.get(gid, 0))
        if not n or not w:
            continue
        num += w * sum(points[g] * c for g, c in counts.items()) / n
        share += w * (counts.get("excellent", 0) + counts.get("good", 0)) / n
        weight_sum += w
    if not weight_sum:
        return None, None
    return num / weight_sum, share / weight_sum


def results(review: DutyReview, reports: list[DutyReport]) -> Results:
    groups = turnout(review)
    weights = {g.pk: g.weight for g in groups}
    points = review.points()
    least = min_group()
    counts: dict[int, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for rid, gid, grade, n in (VoteCount.objects.filter(review=review, report__in=[r.pk for r in reports], count__gt=0)
                               .values_list("report_id", "group_id", "grade", "count")):
        counts[rid][gid][grade] = n
    assessed: dict[int, float] = {}
    run_label = ""
    if review.run_id:
        total = review.run.scheme.total or Decimal(100)
        # A 党组 is assessed with its unit (assessment.queries.targets): its report takes the
        # unit's score.
        answering = {}
        if review.run.scheme.level == Level.UNIT and any(r.org.kind == "leading_group" for r in reports):
            answering = {path: t.org_id for t in targets(Level.UNIT) for path in t.also}
        target_of = {r.org_id: answering.get(r.org.path, r.org_id) for r in reports}
        scores = dict(TargetScore.objects.filter(run_id=review.run_id, org_id__in=set(target_of.values()),
                                                 total__isnull=False).values_list("org_id", "total"))
        for org_id, target in target_of.items():
            if target in scores:  # a target everything was 不适用 for has no total
                assessed[org_id] = float(scores[target] / total * 100)
        run_label = str(review.run)
    share = float(review.vote_share) / 100
    small = [g for g in groups if 0 < g.used < least]
    # The same rule as pool_small_groups, said once for the whole review (every ballot grades
    # every report, so each report's groups are the review's).
    pooled = small if len(small) > 1 and sum(g.used for g in small) >= least else []
    hidden = [g for g in small if g not in pooled]
    shown_groups = [g for g in groups if g not in small]
    if pooled:
        shown_groups.append(Pool(f"{OTHERS}（{'、'.join(g.name for g in pooled)}）", sum(g.weight for g in pooled)))
    rows = []
    for r in reports:
        by_group, shown_weights, _ = pool_small_groups(counts.get(r.pk, {}), weights, least)
        totals = {g: sum(c.get(g, 0) for c in by_group.values()) for g in GRADES}
        row = ResultRow(r, totals, sum(totals.values()))
        for g in shown_groups:
            c = by_group.get(g.pk, {})
            n = sum(c.values())
            row.by_group.append(GroupCount(g, {k: c.get(k, 0) for k in GRADES}, n,
                                           sum(points[k] * v for k, v in c.items()) / n if n else None))
        row.vote_score, row.good_share = vote_score(points, shown_weights, by_group)
        row.assessment = assessed.get(r.org_id)
        if row.vote_score is not None and row.assessment is not None:
            row.combined = share * row.vote_score + (1 - share) * row.assessment
        elif review.run_id is None:
            row.combined = row.vote_score
        rows.append(row)
    return Results(review, rows, groups, pooled, hidden, least, run_label)


# ---- copy findings -----------------------------------------------------------------------------

@dataclass
class Finding:
    pk: int
    other: DutyReport
    score: float
    copied: int
    passages: list[tuple[int, int, int, int]]
    pairs: list[tuple[str, str]] = field(default_factory=list)


def findings_for(user, report: DutyReport) -> list[Finding]:
    """The report's copy findings whose other report the user may see, with the passages' texts."""
    rows = list(CopyFinding.objects.filter(Q(report=report) | Q(other=report)))
    others = {o.pk: o for o in DutyReport.objects.visible_to(user)
              .filter(pk__in=[f.seen_from(report.pk)[0] for f in rows])
              .select_related("review", "org", "reporter")}
    out = []
    for f in rows:
        other_id, passages = f.seen_from(report.pk)
        other = others.get(other_id)
        if other is None:
            continue
        found = Finding(f.pk, other, f.score, f.copied, passages)
        found.pairs = [(report.text[a0:a1], other.text[b0:b1]) for a0, a1, b0, b1 in passages]
        out.append(found)
    out.sort(key=lambda f: -f.score)
    return out


def highlighted(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, int | None]]:
    """The text cut into (piece, passage number or None), for marking the copied passages."""
    out = []
    pos = 0
    for n, (start, end) in sorted(enumerate(spans, start=1), key=lambda x: x[1]):
        start = max(start, pos)
        if end <= start:
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], n))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


def items_of(report: DutyReport) -> list[Item]:
    """The report's 点评 items (each with its responsible organization), in one query."""
    return items_for_source(Item.Source.REVIEW, [report.pk]).get(report.pk, [])


def has_votes(review: DutyReview) -> bool:
    return VoteCount.objects.filter(review=review, count__gt=0).exists()


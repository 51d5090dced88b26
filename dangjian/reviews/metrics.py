"""The `review_votes` metric (述职评议满意度) for assessment schemes.

For every target at once: one query over the vote counters of the closed reviews of the period's
years (per reporting org, report, voter group and grade), one for those reviews' grade
points, rolled up to the targets through the org path. Only closed reviews count: while voting
is open the figures are neither final nor shown.

Each report is scored as on the review's results page (per voter group, weighted by the group's
weight); a target with several reports in its subtree (its own and its branches') gets their
mean. A voter group with fewer ballots cast than the minimum group size is merged into “其他” or
left out, as on the results page (`queries.pool_small_groups`). `mode`: "share" (default) = the
weighted share of 好 and 较好; "score" = the weighted vote score on the review's grade points,
over 100.
"""
from __future__ import annotations

from collections import defaultdict

from dangjian.assessment.metrics import Rollup, Value, register

from .models import DEFAULT_GRADE_POINTS, DutyReview, VoteCount, min_group
from .queries import pool_small_groups, vote_score

MODES = ("share", "score")


@register("review_votes", "述职评议满意度",
          "考核期所在年度已结束的述职评议中，本组织及下级党组织书记述职报告所得评议票“好”和“较好”的比例"
          "（按投票群体权重加权）；也可选按等次分值计算的加权得分", params=("mode",))
def review_votes(targets, start, end, params, today):
    mode = params.get("mode") or "share"
    if mode not in MODES:
        mode = "share"
    grouped = (VoteCount.objects.filter(review__status=DutyReview.Status.CLOSED, review__year__gte=start.year,
                                        review__year__lte=end.year, count__gt=0)
               .values_list("report__org__path", "report_id", "review_id", "group_id", "group__weight", "grade",
                            "count"))
    least = min_group()
    rows = []
    weights, review_of = {}, {}
    for path, report, review, group, weight, grade, n in grouped:
        weights[group] = weight
        review_of[report] = review
        rows.append((path, (report, group, grade), n))
    points = {pk: {**DEFAULT_GRADE_POINTS, **(p or {})} for pk, p in
              DutyReview.objects.filter(pk__in=set(review_of.values())).values_list("pk", "grade_points")} \
        if review_of else {}
    sums = Rollup(targets).sums(rows)
    out = {}
    for t in targets:
        per_report: dict[int, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for (report, group, grade), n in sums.get(t.org_id, {}).items():
            per_report[report][group][grade] = n
        good = total = 0
        values = []
        for report, by_group in per_report.items():
            shown, shown_weights, _ = pool_small_groups(by_group, weights, least)
            for counts in shown.values():
                total += sum(counts.values())
                good += counts.get("excellent", 0) + counts.get("good", 0)
            score, share = vote_score(points[review_of[report]], shown_weights, shown)
            value = share if mode == "share" else (score / 100 if score is not None else None)
            if value is not None:
                values.append(value)
        if not values:
            out[t.org_id] = Value(None, 0, 0, f"述职评议各投票群体的投票人数均少于 {least} 人，为保证投票匿名不计分"
                                  if per_report else "考核期内没有已结束的述职评议")
            continue
        ratio = sum(values) / len(values)
        what = f"加权“好”和“较好”比例 {ratio:.1%}" if mode == "share" else f"加权评议得分 {ratio * 100:.1f}"
        out[t.org_id] = Value(ratio, good, total,
                              f"{len(values)} 份述职报告，评议票 {total} 张，其中“好”和“较好” {good} 张；{what}")
    return out

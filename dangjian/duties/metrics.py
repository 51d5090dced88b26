"""`duty_completion` (责任清单完成率) for the assessment registry.

Counts duty items, not people: every holder × item × period that fell due in the assessment
period (its period ends in it) is one item; a done or marked one counts as completed, one whose
period is over without it as not, one still open is left out (like a rule's `due` row). An
item belongs to the org of its role (the 党组 for 党组书记 and 班子成员, the branch for its
secretary …) and rolls up to every target whose subtree holds that org. Never a score of a
person: the share is of items, per organization.
"""
from __future__ import annotations

from dangjian.assessment.metrics import Rollup, Value, register

from . import completion


@register("duty_completion", "责任清单完成率",
          "考核期内到期的责任清单事项中已完成的比例（由组织生活记录生成或标记完成；按职务所在组织归属，只统计事项，不对个人评分）")
def duty_completion(targets, start, end, params, today):
    rows = []
    holders = completion.holders()
    for year in range(start.year, end.year + 1):
        for line in completion.compute(year, holders, today=today, everyone=True, ending=(start, end)):
            if line.status in completion.COMPLETE:
                rows.append((line.holder.org_path, "done", 1))
            elif line.status == completion.MISSED:
                rows.append((line.holder.org_path, "missed", 1))
    sums = Rollup(targets).sums(rows)
    out = {}
    for t in targets:
        s = sums.get(t.org_id, {})
        done, missed = s.get("done", 0), s.get("missed", 0)
        due = done + missed
        out[t.org_id] = Value(done / due if due else None, done, due,
                              f"到期事项 {due} 项，已完成 {done} 项，未完成 {missed} 项" if due
                              else "考核期内没有到期的责任清单事项")
    return out

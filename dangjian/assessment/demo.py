"""Assessment for the demo city: the departments' scheme (each of the demo's two calendar
years, the later one copied from the earlier), a branch scheme, evaluations of the last twelve
complete months (a month still running is never evaluated), the last four quarterly gradings,
assessors' scores for the manual indicator, and some of the admonitions held. Scores come from
the demo's records through the metrics, never drawn."""
from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from dangjian.core import periods

from . import queries, services
from .models import Admonition, Level, Scheme

UNIT_INDICATORS = [
    dict(category="组织生活", name="组织生活按规定落实", weight=35, method="metric", metric="compliance_rate"),
    dict(category="组织生活", name="主题党日按月开展", weight=15, method="metric", metric="compliance_rate",
         params={"rule": "theme_day"}),
    dict(category="组织生活", name="党员参加组织生活", weight=20, method="metric", metric="attendance_rate"),
    dict(category="组织建设", name="组织设置和按期换届", weight=15, method="metric", metric="alerts_clear"),
    dict(category="党建与业务融合", name="党建工作与业务工作融合", weight=15, method="manual", max_score=10,
         note="查阅资料、听取汇报，看党建工作推动中心工作的实际成效"),
]
BRANCH_INDICATORS = [
    dict(category="组织生活", name="三会一课按规定落实", weight=50, method="metric", metric="compliance_rate"),
    dict(category="组织生活", name="党员到会", weight=30, method="metric", metric="attendance_rate"),
    dict(category="组织建设", name="班子健全、按期换届", weight=20, method="metric", metric="alerts_clear"),
]
COMMENTS = ("资料齐全，党建带业务成效明显", "结合业务开展主题党日，有实际成效", "融合措施较具体，个别工作推进较慢",
            "党建与业务结合不够紧密，存在“两张皮”现象", "汇报材料较空，缺少具体成效")


def _months_back(today: dt.date, n: int) -> list[periods.Period]:
    """The last n complete months (a month still running is never evaluated)."""
    out, p = [], periods.containing("month", periods.containing("month", today).start - dt.timedelta(days=1))
    for _ in range(n):
        out.append(p)
        p = periods.containing("month", p.start - dt.timedelta(days=1))
    return out[::-1]


def _quarters_back(today: dt.date, n: int) -> list[periods.Period]:
    """The last n complete quarters."""
    out, p = [], periods.containing("quarter", periods.containing("quarter", today).start - dt.timedelta(days=1))
    for _ in range(n):
        out.append(p)
        p = periods.containing("quarter", p.start - dt.timedelta(days=1))
    return out[::-1]


def build(today: dt.date, seed: int = 7) -> dict:
    rng = random.Random(seed)
    months, quarters = _months_back(today, 12), _quarters_back(today, 4)
    years = sorted({p.year for p in months + quarters})
    unit_schemes: dict[int, Scheme] = {}
    for year in years:
        if not unit_schemes:
            s = services.create_scheme(None, code=f"{year}-DW", name=f"{year} 年度各单位党建工作考核方案", year=year,
                                       level=Level.UNIT, quotas={"excellent": 0.3}, admonish_below=75,
                                       note="每月一考评、每季度分级量化考核，结果在全市机关通报")
            services.save_indicators(None, s, UNIT_INDICATORS)
        else:
            s = services.copy_scheme(None, unit_schemes[year - 1], code=f"{year}-DW", year=year)
        unit_schemes[year] = s
    branch = services.create_scheme(None, code=f"{today.year}-ZB", name=f"{today.year} 年度党支部工作考核方案",
                                    year=today.year, level=Level.BRANCH, admonish_below=60,
                                    note="按季度考核，结果用于星级党支部评定")
    services.save_indicators(None, branch, BRANCH_INDICATORS)

    targets = queries.targets(Level.UNIT)
    manual_runs = 0
    for p in months + quarters:
        scheme = unit_schemes[p.year]
        manual = scheme.indicators.get(method="manual")
        entries = []
        for t in targets:
            if rng.random() < 0.05:
                continue  # the assessors have not scored everyone yet: the run shows it
            score = rng.choice((10, 9, 9, 8, 8, 7, 6, 5))
            entries.append((manual.pk, t.org_id, score, COMMENTS[min(4, (10 - score) // 2 + rng.randint(0, 1))]))
        services.enter_manual_scores(None, scheme, p.label, entries)
        services.run_evaluation(None, scheme, p.label, today=today)
        manual_runs += 1
    branch_runs = 0
    for p in quarters:
        if p.year == branch.year:
            services.run_evaluation(None, branch, p.label, today=today)
            branch_runs += 1
    # Most admonitions of earlier months were held; the latest month's are pending.
    # One batch: a province's year holds thousands of admonitions (its branches' quarterly ones).
    latest = months[-1].label
    talks = []
    for adm in Admonition.objects.select_related("run").exclude(run__period=latest).order_by("pk"):
        if rng.random() < 0.8:
            talks.append((adm, min(today, timezone.localdate(),
                                   adm.run.period_end + dt.timedelta(days=rng.randint(5, 20)))))
    held = services.record_admonitions(None, talks, talked_with="党组书记、机关党委书记", talked_by="市直机关工委副书记",
                                       outcome="指出组织生活落实不到位等问题，要求一个月内整改并书面报告整改情况")
    return {"schemes": len(unit_schemes) + 1, "runs": manual_runs + branch_runs,
            "admonitions": Admonition.objects.count(), "admonitions_held": held}

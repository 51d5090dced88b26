"""Assessment for the demo city: the departments' scheme (each of the demo's two calendar
years, the later one copied from the earlier), a branch scheme, both grading 党建责任落实 (the
default indicators: duty completion first, organizational life one part), evaluations of the
last twelve complete months, the last four quarterly gradings, assessors' scores for the manual
indicator, and some of the admonitions held. Scores come from the demo's records through the
metrics, never drawn.

Runs whose data is complete are final; the latest complete month is a draft (the assessors have
not scored every department yet) and so is the month still running (阶段性). Admonitions come
only from the final runs."""
from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from dangjian.core import periods
from dangjian.rectification import samples
from dangjian.rectification.models import Item

from . import defaults, queries, services
from .models import Admonition, Level, Run, Scheme

UNIT_INDICATORS = defaults.UNIT
BRANCH_INDICATORS = defaults.BRANCH
# The earlier year's scheme, before the duty lists were kept on the platform (the demo's duty
# lists cover its last twelve months): organizational life, structure and the assessors' score.
EARLIER_UNIT_INDICATORS = [
    dict(category="组织生活", name="组织生活按规定落实", weight=35, method="metric", metric="compliance_rate"),
    dict(category="组织生活", name="主题党日按月开展", weight=15, method="metric", metric="compliance_rate",
         params={"rule": "theme_day"}),
    dict(category="组织生活", name="党员参加组织生活", weight=20, method="metric", metric="attendance_rate"),
    dict(category="组织建设", name="组织设置和按期换届", weight=15, method="metric", metric="alerts_clear"),
    dict(category="党建与业务融合", name="党建工作与业务工作融合", weight=15, method="manual", max_score=10,
         note="查阅资料、听取汇报，看党建工作推动中心工作的实际成效"),
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
        latest = year == years[-1]
        if not unit_schemes:
            s = services.create_scheme(None, code=f"{year}-DW", name=f"{year} 年度各单位党建工作考核方案", year=year,
                                       level=Level.UNIT, quotas={"excellent": 0.3}, admonish_below=75,
                                       note="每月一考评、每季度分级量化考核，结果在全市机关通报")
            services.save_indicators(None, s, UNIT_INDICATORS if latest else EARLIER_UNIT_INDICATORS)
        else:
            # Copied from last year's and revised: graded on 党建责任落实 (the duty lists) from now on.
            s = services.copy_scheme(None, unit_schemes[year - 1], code=f"{year}-DW", year=year)
            services.save_indicators(None, s, UNIT_INDICATORS)
        unit_schemes[year] = s
    branch = services.create_scheme(None, code=f"{today.year}-ZB", name=f"{today.year} 年度党支部工作考核方案",
                                    year=today.year, level=Level.BRANCH, admonish_below=60,
                                    note="按季度考核，结果用于星级党支部评定")
    services.save_indicators(None, branch, BRANCH_INDICATORS)

    targets = queries.targets(Level.UNIT)
    current = periods.containing("month", today)
    manual_runs = 0
    for p in months + quarters + [current]:
        scheme = unit_schemes.get(p.year)
        if scheme is None:
            continue
        manual = scheme.indicators.get(method="manual")
        entries = []
        for t in targets:
            if p == current or (p == months[-1] and rng.random() < 0.1):
                continue  # the assessors have not scored everyone yet: the run is a draft and says so
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
    # Most admonitions of earlier final runs were held; the latest final month's are pending.
    # One batch: a province's year holds thousands of admonitions (its branches' quarterly ones).
    finals = [p.label for p in months if Run.objects.filter(period=p.label, status=Run.Status.FINAL).exists()]
    latest = finals[-1] if finals else ""
    talks = []
    for adm in Admonition.objects.select_related("run__scheme", "org").exclude(run__period=latest).order_by("pk"):
        if rng.random() < 0.8:
            talks.append((adm, min(today, timezone.localdate(),
                                   adm.run.period_end + dt.timedelta(days=rng.randint(5, 20)))))
    held = services.record_admonitions(None, talks, talked_with="党组书记、机关党委书记", talked_by="市直机关工委副书记",
                                       outcome="指出组织生活落实不到位等问题，要求一个月内整改并书面报告整改情况",
                                       deadline_days=30)
    # The measures' items: most closed, some returned or closed late, some still overdue.
    items = list(Item.objects.filter(source=Item.Source.ADMONITION, status=Item.Status.PENDING).order_by("pk"))
    states = samples.follow(items, rng, min(today, timezone.localdate()))
    return {"schemes": len(unit_schemes) + 1, "runs": manual_runs + branch_runs,
            "admonitions": Admonition.objects.count(), "admonitions_held": held, "admonition_items": states}

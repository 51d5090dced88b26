"""Star ratings for the demo city: the years its records cover are rated with the platform's own
rules, and a few weak organizations are given overhaul cases at different stages.

What is rated comes from the database as it is: a year is rated when it has branch-level
assessment runs, or when its organizational-life records reach into its first half (the demo
keeps twelve months up to `today`, so a year seen only in its last weeks would rate branches on
a handful of requirements and is left out). Without assessment runs the year's scheme is built on
the compliance rate, and the summary says so: the ratings never invent figures.

The weak cases are drawn with their own `random.Random(seed)` from the branches the first rated
year puts forward (后进), plus one branch whose committee seat has long been vacant: one closed
with its verification, one in overhaul, one past its deadline (each identified earlier in the
year on what was known then), one identified today from the rating, without a plan yet, and the
vacant seat's, whose request for 销号 the committee returned. Each overhaul is a rectification
item (see services.py), so the cases are on the one list of items too. The
latest year is then rated again so the weak cap shows in its reasons.
"""
from __future__ import annotations

import datetime as dt
import random

from dangjian.accounts.models import RoleAssignment
from dangjian.activities.models import Activity, ComplianceRow
from dangjian.assessment.models import Grade, Run, TargetScore
from dangjian.assessment.models import Level as TargetLevel
from dangjian.orgs.models import CommitteeSeat, Organization, SeatRole
from dangjian.rectification import services as rectify

from . import services
from .models import LEVEL_LABELS, Basis, Level, Rating, WeakOrg

MEASURES = (
    "一、调整充实支部委员会，按期召开党员大会补选委员，配齐配强支部书记；\n"
    "二、制定“三会一课”和主题党日年度计划，固定每月主题党日时间，会议记录当次录入平台；\n"
    "三、上级党组织班子成员建立联系点，每季度到支部参加一次组织生活、听取一次工作汇报；\n"
    "四、结合业务工作开展一次“党建+业务”专题研讨，查找“两张皮”问题并逐项整改。"
)
NOTES = (
    "召开支委会研究整顿方案，明确分工和时间节点；上级党组织联系领导参加并提出要求。",
    "召开党员大会补选支部委员，支委会已按月召开，本月主题党日按期开展。",
    "对照整顿方案逐项检查，三会一课按计划落实，党员到会率明显提高。",
)
EVIDENCE = ("整顿方案所列措施已全部落实：支部班子配齐，三会一课按计划开展，附支委会和党员大会记录、"
            "主题党日记录和党员谈心谈话记录。")
RETURNED = "佐证材料只有会议通知，缺少会议记录和党员谈心谈话记录，请补充后重新申请销号。"
VERIFICATION = ("机关工委会同机关党委实地查看了支部会议记录和平台记录，听取支部书记汇报，随机访谈党员 5 名："
                "支部班子配齐，近三个月组织生活按规定落实、记录当次录入，整顿措施全部完成，同意销号。")


def _rated_years(today: dt.date) -> list[tuple[int, bool]]:
    """(year, has branch assessment runs) for the years the data covers."""
    out = []
    for year in (today.year - 1, today.year):
        runs = Run.objects.filter(scheme__level=TargetLevel.BRANCH, scheme__year=year,
                                  period_start__lte=today).exists()
        early = Activity.objects.filter(held_on__gte=dt.date(year, 1, 1), held_on__lte=dt.date(year, 6, 30)).exists()
        if runs or early:
            out.append((year, runs))
    return out


def _staff():
    """The demo's 工委 account (identification and closure are the committee's)."""
    row = (RoleAssignment.objects.filter(role="wc_admin", org__parent__isnull=True)
           .select_related("user").order_by("id").first())
    return row.user if row else None


def _responsible(orgs: list[Organization]) -> dict[int, str]:
    """For each org, the secretary of the org above it (who answers for the overhaul)."""
    seats = (CommitteeSeat.objects.filter(is_active=True, org_id__in={o.parent_id for o in orgs},
                                          role__in=(SeatRole.SECRETARY, SeatRole.DEPUTY_SECRETARY),
                                          holder__isnull=False)
             .order_by("org_id", "role").values_list("org_id", "org__name", "role", "holder__name"))
    found = {}
    for org_id, org_name, role, name in seats:
        found.setdefault(org_id, f"{org_name}{SeatRole(role).label} {name}")
    return {o.pk: found.get(o.parent_id, f"{o.parent.name}书记" if o.parent else "机关工委") for o in orgs}


def _clamp(day: dt.date, org: Organization, today: dt.date) -> dt.date:
    low = org.established_on or day
    return min(max(day, low), today)


def build(today: dt.date, seed: int = 7) -> dict:
    rng = random.Random(seed)
    years = _rated_years(today)
    if not years:
        return {"years": {}, "weak": {}, "message": "数据库中没有可用于评定的考核结果或组织生活记录，未进行星级评定"}
    staff = _staff()
    summary: dict = {"years": {}, "weak": {}, "message": ""}
    runs = {}
    for year, has_runs in years:
        run = services.run_rating(staff, year, today=today, refresh=False)
        runs[year] = run
        summary["years"][year] = {
            "basis": run.basis_text, "branches": run.target_count,
            "counts": {LEVEL_LABELS[lv]: n for lv, n in run.counts.items() if n},
            "from_assessment": run.scheme.basis == Basis.ASSESSMENT,
        }
        if not has_runs:
            summary["message"] += f"{year} 年没有党支部考核结果，按组织生活按规定落实率评定。"

    first = years[0][0]
    lagging = list(Rating.objects.filter(year=first, level=Level.LAGGING, org__status=Organization.Status.ACTIVE)
                   .select_related("org", "org__parent")
                   .order_by("score", "org__path")[:12])
    picked = rng.sample(lagging, min(4, len(lagging)))
    taken = {r.org_id for r in picked}
    vacant = next((pk for pk, kinds in Rating.objects.filter(year=first).exclude(level=Level.LAGGING)
                   .order_by("org__path").values_list("pk", "alert_kinds")
                   if "seat_vacant" in kinds), None)
    manual = Rating.objects.select_related("org", "org__parent").get(pk=vacant) if vacant else None
    if manual is not None and manual.org_id in taken:
        manual = None
    orgs = [r.org for r in picked] + ([manual.org] if manual else [])
    responsible = _responsible(orgs)

    # Cases opened earlier in the year cite what was known then (the quarters already assessed,
    # the requirements already missed); the one opened today follows today's rating.
    # A small city may have a single lagging branch: its case is one being worked on.
    stages = ["overhauling", "closed", "overdue", "identified"]
    for rating, stage in zip(picked, stages):
        org = rating.org
        if stage == "identified":
            reasons = f"{rating.year} 年星级评定为{LEVEL_LABELS[rating.level]}：" + "；".join(
                x["text"] for x in rating.reasons if x["kind"] in ("score", "line", "cap"))
            services.identify_weak(staff, org, identified_on=today, reasons=reasons, rating_year=rating.year,
                                   today=today)
            continue
        back = {"closed": 150, "overhauling": 75, "overdue": 110}[stage]
        on = _clamp(today - dt.timedelta(days=back + rng.randint(0, 10)), org, today)
        weak = services.identify_weak(staff, org, identified_on=on, reasons=_known_then(org, on), today=today)
        _follow(weak, stage, on, responsible[org.pk], staff, rng, today)
    if manual is not None:
        org = manual.org
        on = _clamp(today - dt.timedelta(days=40), org, today)
        vacancy = next((x["evidence"] for x in manual.reasons if x.get("cap") == "alert:seat_vacant"),
                       "支部委员长期空缺")
        weak = services.identify_weak(staff, org, identified_on=on, today=today,
                                      reasons=f"支部班子不健全：{vacancy}。经机关工委研究，认定为软弱涣散党组织。")
        _follow(weak, "returned", on, responsible[org.pk], staff, rng, today)

    if orgs:
        latest = years[-1][0]
        run = services.run_rating(staff, latest, today=today, refresh=False)
        summary["years"][latest]["counts"] = {LEVEL_LABELS[lv]: n for lv, n in run.counts.items() if n}
    cases = WeakOrg.objects.values_list("status", "deadline")
    summary["weak"] = {
        "cases": len(cases),
        **{label: sum(1 for s, _ in cases if s == code) for code, label in WeakOrg.Status.choices},
        "逾期": sum(1 for s, d in cases if s in WeakOrg.OPEN and d is not None and d < today),
    }
    if not lagging:
        summary["message"] += "首个评定年度没有后进党支部，未生成软弱涣散整顿示例。"
    return summary


def _known_then(org: Organization, on: dt.date) -> str:
    """What the committee had before it on the day: the quarterly results of the branch
    assessed by then and the requirements missed so far."""
    scores = (TargetScore.objects.filter(org=org, run__scheme__level=TargetLevel.BRANCH, run__status=Run.Status.FINAL,
                                         total__isnull=False,
                                         run__cycle=Run.Cycle.QUARTERLY, run__period_end__lt=on,
                                         run__period_start__year=on.year)
              .order_by("run__period_start").values_list("run__period", "total", "grade"))
    grades = dict(Grade.choices)
    parts = [f"{period} 季度分级考核 {total} 分（{grades[grade]}）" for period, total, grade in scores]
    missed = ComplianceRow.objects.filter(org=org, period_end__lt=on, period_end__year=on.year).not_met_on(on).count()
    if missed:
        parts.append(f"截至 {on:%Y年%m月%d日}本年度组织生活应开未开 {missed} 项")
    found = "；".join(parts) or "支部工作长期不正常"
    return f"{found}。经机关工委研究，认定为软弱涣散党组织。"


def _follow(weak: WeakOrg, stage: str, on: dt.date, responsible: str, staff, rng, today: dt.date) -> None:
    if stage == "identified":
        return
    planned = min(on + dt.timedelta(days=7), today)
    months = 1 if stage == "overdue" else 3
    deadline = on + dt.timedelta(days=30 * months + 15)
    services.set_plan(staff, weak, measures=MEASURES, responsible=responsible, deadline=deadline, today=today)
    steps = {"closed": 3, "overhauling": 2, "overdue": 1, "returned": 1}[stage]
    for i in range(steps):
        day = min(planned + dt.timedelta(days=25 * (i + 1) + rng.randint(0, 5)), today)
        services.add_note(staff, weak, noted_on=day, text=NOTES[i], today=today)
    if stage in ("closed", "returned"):
        asked = min(day + dt.timedelta(days=3), today)
        item = services.request_close(staff, weak, evidence=EVIDENCE, on=asked, today=today)
        if stage == "returned":  # the committee found the evidence short: the overhaul goes on
            rectify.return_item(staff, item, reason=RETURNED, on=min(asked + dt.timedelta(days=4), today),
                                today=today)
            return
        services.close_weak(staff, weak, closed_on=min(max(asked, planned + dt.timedelta(days=85)), today),
                            verification=VERIFICATION, today=today)

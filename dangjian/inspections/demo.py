"""The demo city's inspections of the year: 随机督查 drawn with recorded seeds (one of them 四不两直),
集中督查 of the departments' party organizations, 日常督查 of branches and a 专项督查 made 四不两直,
each through the services — checklist from the year's assessment scheme (or typed items), visits
and findings on site, findings of the plans already reported turned into rectification items,
and outside evaluators' grades on one-time codes. One plan lies ahead, still 计划中. Nothing is
canned: the targets and findings follow from the tree and the seed."""
from __future__ import annotations

import datetime as dt
import random

from dangjian.accounts.models import RoleAssignment
from dangjian.assessment.models import Scheme
from dangjian.orgs.models import Organization, OrgKind
from dangjian.rectification import services as rectification

from . import services
from .checks import InspectionError
from .models import FindingList, Inspection, Kind, Satisfaction

FREE_ITEMS = ("组织生活：“三会一课”按期召开、记录完整", "党费：按月足额收缴并公示", "发展党员：程序规范、材料齐全",
              "阵地建设：党员活动室和宣传栏规范使用", "作风建设：落实中央八项规定精神")
FINDINGS = {
    FindingList.PROBLEM: ("支委会会议记录缺少研究事项和表决情况", "党费收缴台账与实际收缴金额不一致",
                          "主题党日活动内容与业务工作结合不紧", "发展对象培养考察材料不全", "党员活动室长期用作会议室"),
    FindingList.TASK: ("年底前完成支部委员会换届", "建立党员教育培训台账，逐人记录学时"),
    FindingList.SUGGESTION: ("建议结合业务工作开展党员先锋岗创建", "建议将支部工作手册电子化，便于查阅"),
}


def _accounts():
    rows = list(RoleAssignment.objects.filter(role__in=("wc_admin", "inspector")).select_related("user", "org")
                .order_by("id"))
    staff = next((r.user for r in rows if r.role == "wc_admin" and r.org.parent_id is None), None)
    inspectors = [r.user for r in rows if r.role == "inspector"][:3]
    return staff, inspectors


def _checklist(year: int):
    scheme = Scheme.objects.filter(year__lte=year).order_by("-year", "id").first()
    return services.indicators_of(scheme)[:6] if scheme is not None else []


def build(today: dt.date, seed: int = 7) -> dict:
    rng = random.Random(seed * 37 + 5)
    wc = Organization.objects.filter(kind=OrgKind.WORKING_COMMITTEE, parent__isnull=True).order_by("path").first()
    staff, inspectors = _accounts()
    if wc is None or staff is None:
        return {"inspections": 0, "message": "没有机关工委或工委账号，未生成督查"}
    year = today.year
    branches = list(Organization.objects.filter(path__startswith=wc.path, kind=OrgKind.BRANCH, status="active")
                    .order_by("path"))
    units = list(Organization.objects.filter(parent=wc, status="active",
                                             kind__in=(OrgKind.ORGAN_COMMITTEE, OrgKind.COMMITTEE)).order_by("path"))
    if len(branches) < 6 or len(units) < 3:
        return {"inspections": 0, "message": "党组织太少，未生成督查"}
    indicators = _checklist(year)
    start = dt.date(year, 1, 1)
    span = max(30, (today - start).days)
    # (title, kind, unannounced, targets or a draw, day of the year it starts as a share of the span)
    plans = [
        (f"{year}年第一季度基层党支部随机督查", Kind.RANDOM, False, {"count": 6}, 0.10),
        (f"{year}年党费收缴使用管理专项督查", Kind.SPECIAL, True, rng.sample(branches, 4), 0.25),
        (f"{year}年上半年机关党建工作集中督查", Kind.CONCENTRATED, False, rng.sample(units, min(5, len(units))), 0.40),
        (f"{year}年“三会一课”落实情况日常督查", Kind.DAILY, False, rng.sample(branches, 3), 0.55),
        (f"{year}年第三季度基层党支部随机督查（四不两直）", Kind.RANDOM, True, {"count": 5}, 0.70),
        (f"{year}年组织生活会准备情况日常督查", Kind.DAILY, True, rng.sample(branches, 3), 0.85),
    ]
    made, findings_n, items_n, evaluations_n = [], 0, 0, 0
    for title, kind, unannounced, who, share in plans:
        starts_on = start + dt.timedelta(days=int(span * share))
        ends_on = min(starts_on + dt.timedelta(days=rng.randint(10, 25)), dt.date(year, 12, 31))
        draw_spec = ({"under": None, "kinds": [OrgKind.BRANCH], "count": who["count"],
                      "seed": rng.randint(1, 999_999_999)} if isinstance(who, dict) else None)
        inspection = services.create_inspection(
            staff, title=title, kind=kind, unannounced=unannounced, issuer=wc, starts_on=starts_on, ends_on=ends_on,
            note="检查基层党组织落实党内法规和年度工作要点情况。", team=inspectors,
            targets=[] if draw_spec else who, draw_spec=draw_spec)
        services.add_checklist(staff, inspection, texts=[] if indicators else FREE_ITEMS, indicators=indicators)
        made.append(inspection)
        checklist = list(inspection.checklist.all())
        targets = list(inspection.targets.select_related("org"))
        recorder = inspectors[0] if inspectors else staff
        last = min(today, ends_on)
        for t in targets:
            if starts_on > today or (last == today and rng.random() < 0.3):
                continue  # not visited yet
            day = starts_on + dt.timedelta(days=rng.randint(0, max(0, (last - starts_on).days)))
            services.record_visit(recorder, t, visited_on=day, note="现场查阅资料、随机访谈党员。", today=today)
            entries = []
            for item in rng.sample(checklist, min(len(checklist), rng.randint(0, 2))):
                list_ = rng.choice([FindingList.PROBLEM, FindingList.PROBLEM, FindingList.TASK, FindingList.SUGGESTION])
                entries.append({"item": item, "text": rng.choice(FINDINGS[list_]), "list": list_})
            if entries:
                findings_n += len(services.record_findings(recorder, t, entries))
        if ends_on < today - dt.timedelta(days=7) and inspection.targets.filter(visited_on__isnull=False).exists():
            inspection = Inspection.objects.select_related("issuer").get(pk=inspection.pk)
            while inspection.status != Inspection.Status.REPORTED:  # a visit has started it already
                services.advance(staff, inspection)
            chosen = list(inspection.findings.exclude(list=FindingList.SUGGESTION))
            if chosen:
                try:
                    items = services.open_items(staff, inspection, chosen, workdays=rng.choice([15, 20]),
                                                opened_on=min(today, ends_on + dt.timedelta(days=3)), today=today)
                except InspectionError:  # a calendar year not entered: no working-day deadline to give
                    items = []
                items_n += len(items)
                for item in items[: len(items) // 2]:
                    rectification.sign(staff, item, today=today)
            codes = (services.issue_codes(staff, inspection, "deputies", 6)
                     + services.issue_codes(staff, inspection, "public", 8))
            visited = services.evaluation_targets(inspection)
            for code in rng.sample(codes, rng.randint(5, len(codes))):
                grades = {t.pk: rng.choices(Satisfaction.values, weights=[6, 3, 1])[0] for t in visited}
                comments = {t.pk: "整改落实到位，群众反映良好。" for t in visited if rng.random() < 0.1}
                evaluations_n += services.evaluate(code, grades, comments)
    # One plan ahead, not started.
    ahead = today + dt.timedelta(days=20)
    services.create_inspection(staff, title=f"{ahead.year}年度基层党组织建设集中督查（计划）", kind=Kind.CONCENTRATED,
                               unannounced=False, issuer=wc, starts_on=ahead, ends_on=ahead + dt.timedelta(days=14),
                               team=inspectors, targets=rng.sample(units, min(3, len(units))))
    return {"inspections": len(made) + 1, "findings": findings_n, "items": items_n, "evaluations": evaluations_n}

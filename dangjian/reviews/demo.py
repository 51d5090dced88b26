"""Two years of 述职评议 for the demo city: the working committee's review of every unit's party
organization and 党组 (both secretaries report, seed 000), with duty reports, voter groups, ballots, votes and comments to rectify.

The reports are written from phrase pools: a report's own text is made of short slots (the unit's
work, figures, places, months), so two units' reports share only short runs and the standard
formulations every official text repeats — which the copy check discounts. A few reports of the
later year carry a paragraph copied from another unit's report of that year, and a few one from
their own organization's report of the year before: those, and only those, are what the copy
check is meant to find. Votes are cast through the same service as at a real meeting (one ballot
at a time, anonymous), drawn around a quality of each unit's work.

`build(today)` runs on a database that already holds the demo city (`dangjian demo`); it is not
part of the demo command itself.
"""
from __future__ import annotations

import datetime as dt
import random

from django.db import transaction

from dangjian.core.similarity import STANDARD_FORMULATIONS
from dangjian.members.models import Member
from dangjian.orgs.models import Organization
from dangjian.rectification import samples
from dangjian.rectification.models import Item

from . import services
from .models import GRADES, NOT_REPORTING_KINDS, DutyReport, DutyReview

GROUPS = (("党员代表", 40, 24), ("两代表一委员", 30, 8), ("群众代表", 30, 8))  # name, weight %, ballots
TURNOUT = 0.9

WORK = ("预算绩效", "政府采购", "项目审批", "资金监管", "信访接待", "公文办理", "档案整理", "执法检查", "窗口服务",
        "课题调研", "统计分析", "安全生产", "招商引资", "人才服务", "政策宣传", "督查督办", "应急值守", "资产清查",
        "合同审核", "业务培训", "标准制定", "政务公开", "舆情处置", "网上办事", "营商环境", "乡村振兴", "数据共享")
DONE = ("完成", "办结", "审核", "走访", "整改", "梳理", "答复", "复核", "督办", "登记", "化解", "推动")
ITEMS = ("件群众诉求", "项审批事项", "份采购合同", "篇调研报告", "个整改问题", "项服务事项", "家企业需求",
         "条意见建议", "本基础台账", "份统计报表", "个重点项目", "批来信来访")
ACTIONS = ("细化", "规范", "压实", "优化", "加快", "完善", "健全", "严格", "落细", "理顺")
OBJECTS = ("审核流程", "台账管理", "责任分工", "时间节点", "服务标准", "工作闭环", "内部监督", "沟通机制", "办理时限",
           "风险排查", "资料归档", "跟踪回访", "考核细则", "学习计划", "联系制度")
AREAS = ("东城", "西湖", "滨江", "北园", "南山", "新华", "光明", "和平", "胜利", "朝阳", "长安", "建设", "青年",
         "文化", "红旗", "河西", "城南", "高新", "临港", "金桥", "望江", "翠屏", "龙泉", "清水")
PLACES = ("街道", "社区", "产业园", "便民服务中心", "政务大厅", "小微企业", "物流园区", "老旧小区", "村委会")
PROBLEMS = ("党建与业务结合还不够紧", "支部书记培训覆盖不全", "个别支委长期空缺", "组织生活形式比较单一",
            "青年党员作用发挥不充分", "党建台账更新不及时", "调研成果转化不够", "谈心谈话开展不平衡",
            "发展党员计划执行偏慢", "党费收缴存在拖欠", "主题党日内容针对性不强", "党员教育缺乏分类施策")
CAUSES = ("思想上重视不够", "统筹谋划不够", "督促检查不够", "方法创新不够", "责任传导逐级递减")
OPENERS = ("一是", "二是", "三是", "四是", "五是")
SENTENCES = (
    "{mo}月带队到{area}{place}调研，{done}{n}{item}，推动{action}{obj}。",
    "全年主持召开{k}次党组织会议专题研究党建工作，围绕{work}解决具体问题{m}个。",
    "结合{work}工作，{done}{n}{item}，对{obj}作了{action}。",
    "组织支部书记讲党课{k}次，{area}{place}共建活动开展{m}次，参与党员{n}人次。",
    "针对{work}中{problem}的问题，{action}{obj}，{mo}月底前已{done}到位。",
    "落实一岗双责，与班子成员谈心谈话{k}人次，督促{work}分管领域{action}{obj}。",
    "推动{work}与党建同部署，{mo}月建立{obj}，{done}{n}{item}。",
)


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        mo=rng.randint(1, 12), area=rng.choice(AREAS), place=rng.choice(PLACES), done=rng.choice(DONE),
        n=rng.randint(3, 180), item=rng.choice(ITEMS), action=rng.choice(ACTIONS), obj=rng.choice(OBJECTS),
        k=rng.randint(2, 16), m=rng.randint(2, 30), work=rng.choice(WORK), problem=rng.choice(PROBLEMS))


def _paragraph(rng: random.Random, n: int) -> str:
    return "".join(_fill(rng, rng.choice(SENTENCES)) for _ in range(n))


def report_text(rng: random.Random, org_name: str, year: int) -> tuple[str, list[str]]:
    """A duty report and its paragraphs of the unit's own work (the ones a copier takes)."""
    own = [_paragraph(rng, rng.randint(3, 4)) for _ in range(3)]
    formulations = rng.sample(STANDARD_FORMULATIONS, 4)
    problems = rng.sample(PROBLEMS, 3)
    plans = [f"{rng.choice(ACTIONS)}{rng.choice(OBJECTS)}，{_fill(rng, rng.choice(SENTENCES))}" for _ in range(2)]
    parts = [
        f"{year}年，{org_name}{formulations[0]}，现将本人履行抓基层党建工作第一责任人职责情况报告如下。",
        "一、履职情况",
        f"（一）{formulations[1]}。{own[0]}",
        f"（二）抓组织建设。{own[1]}",
        f"（三）抓作风建设。{formulations[2]}。{own[2]}",
        "二、存在的问题",
        "".join(f"{OPENERS[i]}{rng.choice(WORK)}方面{p}，主要是{rng.choice(CAUSES)}。" for i, p in enumerate(problems)),
        "三、下一步打算",
        f"{formulations[3]}。" + "".join(f"{OPENERS[i]}{p}" for i, p in enumerate(plans)),
    ]
    return "\n".join(parts), own


def _units(wc: Organization) -> list[Organization]:
    return list(Organization.objects.filter(parent=wc, status=Organization.Status.ACTIVE)
                .exclude(kind__in=NOT_REPORTING_KINDS).order_by("path"))


def _reporters(orgs: list[Organization]) -> dict[int, Member]:
    out = {}
    for org in orgs:
        m = services.default_reporter(org) or Member.objects.filter(
            org__path__startswith=org.path, status=Member.Status.ACTIVE).order_by("org__path", "pk").first()
        if m is not None:
            out[org.pk] = m
    return out


def _insert(text: str, paragraph: str, rng: random.Random) -> str:
    """Put a copied paragraph at the end of one of the report's own-work lines."""
    lines = text.split("\n")
    at = rng.choice([i for i, line in enumerate(lines) if line.startswith("（")])
    lines[at] += paragraph
    return "\n".join(lines)


def _votes(rng: random.Random, quality: float) -> str:
    x = rng.gauss(quality, 0.18)
    return GRADES[0] if x > 0.72 else GRADES[1] if x > 0.45 else GRADES[2] if x > 0.2 else GRADES[3]


def build(today: dt.date, seed: int = 7) -> dict:
    """Reviews of the two years before `today`'s for the working committee (the root org of the
    kind), returning what was made and which copies were planted."""
    rng = random.Random(seed)
    wc = Organization.objects.filter(kind="working_committee", parent__isnull=True).order_by("path").first()
    if wc is None:
        raise ValueError("没有机关工委：请先生成示例市（dangjian demo）")
    units = _units(wc)
    reporters = _reporters(units)
    units = [u for u in units if u.pk in reporters]
    quality = {u.pk: rng.betavariate(4, 2) for u in units}
    years = (today.year - 2, today.year - 1)
    planted = []
    reports: dict[int, list[DutyReport]] = {}
    own_paragraphs: dict[tuple[int, int], list[str]] = {}
    made = {"reviews": [], "reports": 0, "ballots": 0, "votes": 0, "items": 0}
    comments = []
    with transaction.atomic():
        for year in years:
            meeting = min(dt.date(year + 1, 1, 20), today)
            review = services.create_review(None, wc, year, f"{year}年度机关基层党组织书记抓党建工作述职评议",
                                            meeting_on=meeting, vote_share=100, today=today)
            made["reviews"].append(review.pk)
            texts = {}
            for u in units:
                texts[u.pk], own_paragraphs[(year, u.pk)] = report_text(rng, u.name, year)
            if year == years[1] and len(units) >= 2:
                # A few copy a paragraph of another unit's report of the year; a few their own
                # organization's report of the year before.
                cross = rng.sample(units, max(1, len(units) // 20))
                for u in cross:
                    source = rng.choice([s for s in units if s.pk != u.pk])
                    texts[u.pk] = _insert(texts[u.pk], rng.choice(own_paragraphs[(year, source.pk)]), rng)
                    planted.append({"report": u.code, "source": source.code, "source_year": year})
                rest = [u for u in units if u not in cross]
                for u in rng.sample(rest, min(len(rest), max(1, len(units) // 30))):
                    texts[u.pk] = _insert(texts[u.pk], rng.choice(own_paragraphs[(year - 1, u.pk)]), rng)
                    planted.append({"report": u.code, "source": u.code, "source_year": year - 1})
            DutyReport.objects.bulk_create([
                DutyReport(review=review, org=u, reporter=reporters[u.pk], text=texts[u.pk],
                           title=f"{u.name}书记{year}年度抓基层党建工作述职报告") for u in units])
            rows = list(DutyReport.objects.filter(review=review).order_by("org__path"))
            reports[year] = rows
            made["reports"] += len(rows)
            codes = []
            for name, weight, count in GROUPS:
                group = services.add_group(None, review, name, weight)
                codes += services.issue_ballots(None, group, count)
                made["ballots"] += count
            services.open_review(None, review, today=today)
            for code in codes:
                if rng.random() > TURNOUT:
                    continue
                grades = {r.pk: _votes(rng, quality[r.org_id]) for r in rows}
                made["votes"] += services.cast_ballot(code, grades)
            services.close_review(None, review)
            for r in rng.sample(rows, min(len(rows), max(1, len(rows) // 6))):
                due = meeting + dt.timedelta(days=rng.choice((30, 60, 90))) if rng.random() < 0.7 else None
                comments.append(services.add_item(
                    None, r, f"{rng.choice(PROBLEMS)}，请{rng.choice(ACTIONS)}{rng.choice(OBJECTS)}，形成整改台账。",
                    due_on=due, today=today, opened_on=meeting))
                made["items"] += 1
        made["findings"] = services.check_copies([r.pk for rows in reports.values() for r in rows])
        # The comments' rectification: most closed, some returned or closed late, some overdue.
        made["item_states"] = samples.follow(comments, rng, today)
    made["planted"] = planted
    made["open_items"] = sum(n for s, n in made["item_states"].items() if s in Item.OPEN)
    made["closed"] = DutyReview.objects.filter(pk__in=made["reviews"], status=DutyReview.Status.CLOSED).count()
    return made

"""A year of organizational life for the demo city, with the imperfections real records have.

Drawn from its own `random.Random(seed)` (so the city's plan is unchanged by it) over the
months up to the demo's `today` (see `_months`), and written with bulk inserts. Most branches keep to
the rules; some do not, so every screen and signal has something to show:
- some branches skip months (missing 主题党日, 支委会 …);
- some enter a whole quarter's records in its last days (`recorded_at` well after `held_on`);
- a few copy the minutes of another branch's meeting (some verbatim, some with their own members'
  names put in place of the speakers');
- a few large branches reuse one attendance list (the same absentees) for meeting after meeting;
- some leading cadres miss their branch's 组织生活会 (their dual organizational life);
- a few members are absent without reason from every meeting (the lapse warning).
Compliance is computed once at the end, for the whole year.

Minutes carry what the members said (names, work, figures) besides the formulations every
record repeats: a copy between two branches is only a copy when it repeats text of that kind,
which is what the formalism signals look for. The speakers, the copies' name changes and the
reused lists are drawn from a second generator, so the meetings themselves are the same as
without them.
"""
from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from . import compliance
from .models import Activity, ActivityKind, Attendance, kind_rows

REGULAR, SKIPS, BACKFILLS = "regular", "skips", "backfills"
EXCUSES = ("出差", "公务外出", "病假", "参加培训", "事假")
THEMES = ("学习贯彻党的二十届三中全会精神", "深入学习《中国共产党章程》", "学习《中国共产党纪律处分条例》",
          "重温入党誓词", "弘扬伟大建党精神", "开展志愿服务进社区", "学习习近平总书记重要讲话精神",
          "推动机关党建与业务工作深度融合", "加强作风建设、提升服务效能", "深化党纪学习教育",
          "讲好身边榜样故事", "以高质量党建引领机关高质量发展")
OPENINGS = ("会议由支部书记主持。", "支部书记主持会议并领学。", "会议由组织委员主持，支部书记作总结讲话。")
BODIES = ("与会党员逐段学习了有关文件，{n}名党员结合岗位实际交流了学习体会。",
          "会上通报了本月支部工作情况，对下一步重点工作作了安排。",
          "大家围绕“{t}”进行了讨论，一致认为要把学习成果转化为推动工作的实际成效。",
          "会议强调，要坚持学用结合，把理论学习同做好本职工作结合起来。",
          "支部书记就近期党风廉政建设提出了具体要求。",
          "会议对照检查了上次会议确定事项的落实情况，明确了责任人和完成时限。")
# What the members said: short slots, so any ten characters of a remark span several choices and
# a remark is the meeting's own text, not a formulation other records share.
WORK = ("预算编制", "政府采购", "项目审批", "资金拨付", "信访接待", "公文办理", "档案管理", "执法检查", "窗口服务",
        "课题调研", "数据统计", "安全生产", "招商服务", "人才引进", "政策宣传", "督查督办", "应急值守", "资产管理",
        "合同审核", "业务培训", "标准制定", "信息公开", "舆情处置", "网上办事")
DONE = ("完成", "办结", "审核", "走访", "整改", "梳理", "答复", "复核", "督办", "登记")
ITEMS = ("件群众诉求", "项审批事项", "份采购合同", "篇调研报告", "个整改问题", "项服务事项", "家企业需求",
         "条意见建议", "本台账资料", "份统计报表", "个在建项目", "批来信来访")
NEXT = ("下一步将", "接下来要", "下阶段打算", "今后要", "准备在下月")
ACTIONS = ("细化", "规范", "压实", "优化", "加快", "完善", "健全", "严格")
OBJECTS = ("审核流程", "台账管理", "责任分工", "时间节点", "服务标准", "工作闭环", "内部监督", "沟通机制", "办理时限",
           "风险排查", "资料归档", "跟踪回访")
AREAS = ("东城", "西湖", "滨江", "北园", "南山", "新华", "光明", "和平", "胜利", "朝阳", "长安", "建设", "青年",
         "文化", "红旗", "河西", "城南", "高新", "临港", "金桥", "望江", "翠屏", "龙泉", "清水")
PLACES = ("街道", "社区", "产业园", "便民服务中心", "政务大厅", "小微企业", "物流园区", "老旧小区")
PROBLEMS = ("还有材料重复报送的情况", "办理时限偏长", "群众反映排队时间长", "台账更新不及时", "部门之间衔接不够",
            "部分数据口径不一致", "基层反映表格太多", "政策解读不到位", "回访满意度不高", "线上线下标准不统一")
FRAMES = (
    "{name}结合{work}工作谈到，本月已{done}{n}{item}，{next}{action}{obj}。",
    "{name}介绍了{d}日到{area}{place}走访的情况，收集{n}{item}，已当场答复{k}件。",
    "{name}说，{work}{problem}，建议{action}{obj}，{mo}月{d}日前拿出办法。",
    "{name}提出，{area}{place}{problem}，支部要把{work}和{obj}一起抓。",
    "{name}表示要在{work}岗位上带头落实承诺，{next}{action}{obj}。",
)


@dataclass
class _Meeting:
    org: object  # Organization row
    kinds: list[str]
    held_on: dt.date
    topic: str
    recorded_at: dt.datetime
    minutes: str = ""
    host_id: int | None = None
    lecturer_id: int | None = None
    talk: tuple[int, int] | None = None
    attendance: dict[int, tuple[str, str]] = field(default_factory=dict)
    counts: dict = field(default_factory=dict)


def _months(today: dt.date) -> list[tuple[int, int]]:
    """The months up to and including today's: at least twelve, and back to the start of the
    fourth complete quarter before today's, so the demo's quarterly gradings have four whole
    quarters of records (13 to 15 months)."""
    first_of_quarter = (today.month - 1) // 3 * 3 + 1
    span = max(12, today.month - first_of_quarter + 1 + 12)
    out, y, m = [], today.year, today.month
    for _ in range(span):
        out.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def _day(rng, y, m, today, lo=3, hi=26) -> dt.date | None:
    d = dt.date(y, m, rng.randint(lo, hi))
    return d if d <= today else (dt.date(y, m, lo) if dt.date(y, m, lo) <= today else None)


def _quarter_end(d: dt.date) -> dt.date:
    last = ((d.month - 1) // 3 + 1) * 3
    nxt = dt.date(d.year + (last == 12), last % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _stamp(rng, d: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(rng.randint(8, 19), rng.randint(0, 59)), tzinfo=tz)


def _minutes(rng, topic: str, n: int) -> str:
    parts = [rng.choice(OPENINGS)] + rng.sample(BODIES, 3)
    return "".join(p.format(t=topic, n=max(1, n)) for p in parts)


def _remarks(rng, names: list[str], month: int) -> str:
    """Two or three members' contributions to the discussion."""
    out = []
    for name in rng.sample(names, min(len(names), rng.randint(2, 3))):
        n = rng.randint(2, 60)
        out.append(rng.choice(FRAMES).format(
            name=name, work=rng.choice(WORK), done=rng.choice(DONE), n=n, item=rng.choice(ITEMS),
            next=rng.choice(NEXT), action=rng.choice(ACTIONS), obj=rng.choice(OBJECTS), d=rng.randint(1, 28),
            area=rng.choice(AREAS), place=rng.choice(PLACES), k=rng.randint(1, n), problem=rng.choice(PROBLEMS),
            mo=month % 12 + 1))
    return "".join(out)


def _renamed(text: str, names: dict[str, str]) -> str:
    """A copy with its speakers replaced by the copier's own members."""
    if not names:
        return text
    # One pass, longest names first, so a name put in is never replaced again.
    pattern = re.compile("|".join(map(re.escape, sorted(names, key=len, reverse=True))))
    return pattern.sub(lambda m: names[m.group()], text)


def write_activities(plan, orgs: list, members: list, progress=None) -> dict:
    """Write the year for a stored city (`orgs`/`members`: the saved rows, in plan order)
    and compute compliance once. Returns counts for the report."""
    rng = random.Random(plan.seed * 7919 + 1)
    extra = random.Random(plan.seed * 7919 + 2)  # speakers, renamed copies, reused lists
    today = plan.today
    tz = timezone.get_current_timezone()
    now = max(timezone.now(), _stamp(rng, today, tz))
    months = _months(today)
    secretary = {o.index: next((s.holder for s in o.seats if s.role == "secretary" and s.holder is not None), None)
                 for o in plan.orgs}
    committee = {o.index: [s.holder for s in o.seats if s.holder is not None] for o in plan.orgs}
    own = defaultdict(list)  # branch index → its current members (plan indexes)
    for m in plan.members:
        own[m.org].append(m.index)

    meetings: list[_Meeting] = []
    profiles: dict[int, str] = {}
    lapsing = {i for i in range(len(plan.members)) if rng.random() < 0.006}
    # (y, m) → minutes of regular branches, with the names of the members who spoke in them
    done_minutes: dict[tuple[int, int], list[tuple[str, list[str]]]] = defaultdict(list)
    copiers = set()
    large = [o.index for o in plan.orgs if o.kind == "branch" and len(own[o.index]) >= 18]
    # Large branches that reuse one list, from a month drawn for each on.
    reusers = {i: extra.randrange(max(1, len(months) - 7))
               for i in extra.sample(large, min(len(large), max(1, len(large) // 40)))}

    def attend(people: list[int], day: dt.date, leaders_skip: bool = False):
        rows, present = {}, set()
        for i in people:
            p = plan.members[i]
            if p.joined_on > day:
                continue
            r = rng.random()
            if i in lapsing or (leaders_skip and p.is_leader):
                status = ("absent", "")
            elif p.is_exempt:
                status = ("excused", "年老体弱") if r < 0.7 else ("present", "")
            elif r < 0.88:
                status = ("present", "")
            elif r < 0.96:
                status = ("excused", rng.choice(EXCUSES))
            else:
                status = ("absent", "")
            rows[members[i].pk] = status
            if status[0] == "present":
                present.add(i)
        full = [i for i in people if plan.members[i].category == "full" and plan.members[i].joined_on <= day]
        voting = [i for i in full if not plan.members[i].is_exempt or i in present]
        counts = dict(expected_count=len(rows), present_count=len(present), voting_expected=len(voting),
                      voting_present=sum(1 for i in voting if i in present))
        return rows, counts, present

    for o in plan.orgs:
        row = orgs[o.index]
        if o.kind == "branch" and own[o.index]:
            people = own[o.index]
            r = rng.random()
            profile = profiles[o.index] = REGULAR if r < 0.72 else SKIPS if r < 0.86 else BACKFILLS
            copier = profile != REGULAR and rng.random() < 0.3
            if copier:
                copiers.add(o.index)
            held = [i for i in committee[o.index]]
            has_committee = len(held) > 1
            lecture_quarter = rng.randint(1, 4)
            skip_leaders = rng.random() < 0.25
            sec = secretary[o.index]
            # A reusing branch's list (with its absentees), and how many later meetings copy it.
            reused, reuse_left = None, 0
            for n, (y, m) in enumerate(months):
                if profile == SKIPS and rng.random() < 0.3:
                    continue
                day = _day(rng, y, m, today)
                if day is None:
                    continue
                topic = rng.choice(THEMES)
                kinds = ["theme_day"]
                lecturer = None
                if m % 3 == 0 or (y, m) == months[-1] and rng.random() < 0.5:
                    kinds += ["general_meeting", "party_lecture"]
                    if (m - 1) // 3 + 1 == lecture_quarter and sec is not None:
                        lecturer = members[sec].pk
                rows, counts, present = attend(people, day)
                if o.index in reusers:
                    if reused is None and n >= reusers[o.index] and \
                            sum(1 for s, _ in rows.values() if s != "present") >= 2:
                        reused, reuse_left = (rows, counts, present), extra.randint(3, 5)
                    elif reuse_left:
                        rows, counts, present = reused
                        reuse_left -= 1
                text = _minutes(rng, topic, len(present))
                speakers = [plan.members[i].name for i in sorted(present)]
                said = _remarks(extra, speakers, m) if len(speakers) >= 2 else ""
                if copier and done_minutes[(y, m)] and rng.random() < 0.6:
                    text, theirs = rng.choice(done_minutes[(y, m)])
                    if extra.random() < 0.4 and len(speakers) >= len(theirs):
                        text = _renamed(text, dict(zip(theirs, extra.sample(speakers, len(theirs)))))
                else:
                    text += said
                    if profile == REGULAR:
                        done_minutes[(y, m)].append((text, [p for p in speakers if p in said]))
                meetings.append(_Meeting(row, kinds, day, topic, _recorded(rng, profile, day, today, tz), text,
                                         members[sec].pk if sec is not None else None, lecturer,
                                         attendance=rows, counts=counts))
                if has_committee:
                    cday = max(dt.date(y, m, 1), day - dt.timedelta(days=rng.randint(1, 5)))
                    crow, ccounts, cpresent = attend(held, cday)
                    ccounts.update(committee_expected=len(held), committee_present=len(cpresent))
                    meetings.append(_Meeting(row, ["committee_meeting"], cday, "研究支部近期工作",
                                             _recorded(rng, profile, cday, today, tz),
                                             "支委会研究了本月支部工作安排和党员教育管理事项。"
                                             + "".join(b.format(t=topic, n=len(cpresent))
                                                       for b in rng.sample(BODIES[1:], 2)),
                                             members[sec].pk if sec is not None else None,
                                             attendance=crow, counts=ccounts))
                if n == 0 or (m == 1 and n > 0):
                    # 组织生活会 and 民主评议党员 once a year, at the start of the year.
                    oday = _day(rng, y, m, today, 10, 28)
                    if oday is not None:
                        orow, ocounts, _ = attend(people, oday, leaders_skip=skip_leaders)
                        meetings.append(_Meeting(row, ["org_life_meeting", "member_appraisal"], oday,
                                                 "召开年度组织生活会，开展民主评议党员",
                                                 _recorded(rng, profile, oday, today, tz),
                                                 "党员逐一对照检查，开展批评和自我批评，进行民主评议。",
                                                 members[sec].pk if sec is not None else None,
                                                 attendance=orow, counts=ocounts))
            if sec is not None and len(people) > 1 and profile != SKIPS:
                y, m = months[rng.randrange(len(months))]
                tday = _day(rng, y, m, today)
                other = rng.choice([i for i in people if i != sec])
                if tday is not None:
                    meetings.append(_Meeting(row, ["talk"], tday, "", _recorded(rng, profile, tday, today, tz),
                                             talk=(members[sec].pk, members[other].pk)))
        elif o.kind == "leading_group":
            for y, m in months:
                day = _day(rng, y, m, today)
                if day is not None and rng.random() < 0.9:
                    meetings.append(_Meeting(row, ["central_study", "first_agenda_study"], day, rng.choice(THEMES),
                                             _recorded(rng, REGULAR, day, today, tz), _minutes(rng, "理论学习", 5)))
            y, m = months[0] if months[0][1] == 1 else next(((y, m) for y, m in months if m == 1), months[0])
            day = _day(rng, y, m, today, 10, 28)
            if day is not None and rng.random() < 0.9:
                meetings.append(_Meeting(row, ["democratic_life_meeting"], day, "年度民主生活会",
                                         _recorded(rng, REGULAR, day, today, tz),
                                         counts={"expected_count": 7, "present_count": 7}))
        elif o.kind == "cell":
            for y, m in months:
                day = _day(rng, y, m, today)
                if day is not None and rng.random() < 0.8:
                    meetings.append(_Meeting(row, ["cell_meeting"], day, "党小组学习",
                                             _recorded(rng, REGULAR, day, today, tz)))
        elif o.kind in ("organ_committee", "committee") and o.parent is not None \
                and plan.orgs[o.parent].kind == "working_committee":
            y, m = months[rng.randrange(len(months))]
            day = _day(rng, y, m, today)
            if day is not None and rng.random() < 0.9:
                sec = secretary[o.index]
                kinds = ["organ_member_assembly"] + (["party_lecture"] if sec is not None else [])
                meetings.append(_Meeting(row, kinds, day, "机关党员干部大会暨专题党课",
                                         _recorded(rng, REGULAR, day, today, tz),
                                         lecturer_id=members[sec].pk if sec is not None else None))

    for mt in meetings:
        mt.recorded_at = min(mt.recorded_at, now)
    _write(meetings, progress)
    start = dt.date(*months[0], 1)
    verdicts = compliance.recompute(start, today, today=today)
    return {"activities": len(meetings), "compliance_rows": len(verdicts),
            "branches_skipping": sum(1 for p in profiles.values() if p == SKIPS),
            "branches_backfilling": sum(1 for p in profiles.values() if p == BACKFILLS),
            "branches_copying": len(copiers)}


def _recorded(rng, profile: str, day: dt.date, today: dt.date, tz) -> dt.datetime:
    if profile == BACKFILLS:
        # The whole quarter entered in its last days (or the first days after it).
        end = _quarter_end(day)
        when = end - dt.timedelta(days=rng.randint(0, 3)) + dt.timedelta(days=rng.choice((0, 0, 0, 4)))
        return _stamp(rng, max(day, min(when, today)), tz)
    lag = rng.choice((0, 0, 1, 1, 2, 3, 5)) if rng.random() < 0.97 else rng.randint(31, 60)
    return _stamp(rng, min(day + dt.timedelta(days=lag), today), tz)


def _write(meetings: list[_Meeting], progress=None) -> None:
    rows = []
    for mt in meetings:
        fields = dict(mt.counts)
        talk = mt.talk or (None, None)
        rows.append(Activity(org=mt.org, held_on=mt.held_on, month=mt.held_on.year * 100 + mt.held_on.month,
                             topic=mt.topic, minutes=mt.minutes, host_id=mt.host_id, lecturer_id=mt.lecturer_id,
                             talk_party_a_id=talk[0], talk_party_b_id=talk[1], **fields))
    for i in range(0, len(rows), 1000):
        Activity.objects.bulk_create(rows[i:i + 1000])
        if progress:
            progress(min(i + 1000, len(rows)), len(rows), "组织生活记录")
    # recorded_at is set by the platform on insert; the demo's history sets it afterwards.
    for a, mt in zip(rows, meetings):
        a.recorded_at = mt.recorded_at
    Activity.objects.bulk_update(rows, ["recorded_at"], batch_size=500)
    ActivityKind.objects.bulk_create([k for a, mt in zip(rows, meetings) for k in kind_rows(a, mt.kinds)],
                                     batch_size=2000)
    Attendance.objects.bulk_create(
        [Attendance(activity_id=a.pk, member_id=mid, status=s, reason=r)
         for a, mt in zip(rows, meetings) for mid, (s, r) in mt.attendance.items()], batch_size=2000)

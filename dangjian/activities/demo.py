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
from collections import defaultdict, deque
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.utils import timezone

from dangjian.core import bulk

from . import compliance
from .models import Activity, ActivityKind, Attendance, quorum_bits

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
    org: int  # the Organization's id
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


TABLES = (Activity, ActivityKind, Attendance)  # the tables `Life` fills (see core.bulk.loading)
MINUTES_KEPT = 200  # recent minutes per month a copying branch may take its text from
FLUSH = 20_000  # meetings held before they are written


class Life:
    """Writes the year department by department (`department`), then computes compliance once
    (`finish`). Only the department being written and a bounded store of recent minutes (for
    the copiers) are kept, so memory does not grow with the city."""

    def __init__(self, seed: int, today: dt.date, wc_index: int = 0, progress=None):
        self.rng = random.Random(seed * 7919 + 1)
        self.extra = random.Random(seed * 7919 + 2)  # speakers, renamed copies, reused lists
        self.today = today
        self.tz = timezone.get_current_timezone()
        self.now = max(timezone.now(), _stamp(self.rng, today, self.tz))
        self.months = _months(today)
        self.wc_index = wc_index
        self.progress = progress
        # (y, m) → recent minutes of regular branches, with the names of the members who spoke in them
        self.done_minutes: dict[tuple[int, int], deque] = defaultdict(lambda: deque(maxlen=MINUTES_KEPT))
        self.meetings: list[_Meeting] = []
        # org id → its top-level org's id (the `top_org` column), for every org written so far:
        # a buffer of meetings may span departments. One entry per org, not per member.
        self.top_org: dict[int, int] = {}
        self.written = 0
        self.profiles = {REGULAR: 0, SKIPS: 0, BACKFILLS: 0}
        self.copiers = 0
        self.reusing = False

    def department(self, dept, org_pk: dict, member_pk: dict, top_of: dict) -> None:
        """Draw and write a department's year (`dept`: a generator.DepartmentPlan; `org_pk`,
        `member_pk`: plan index → stored id; `top_of`: org index → its top-level org's id)."""
        rng, extra, today, tz, months = self.rng, self.extra, self.today, self.tz, self.months
        self.top_org.update((org_pk[i], top_of[i]) for i in org_pk)
        by_index = {m.index: m for m in dept.members}
        secretary = {o.index: next((s.holder for s in o.seats if s.role == "secretary" and s.holder is not None),
                                   None) for o in dept.orgs}
        committee = {o.index: [s.holder for s in o.seats if s.holder is not None] for o in dept.orgs}
        own = defaultdict(list)  # branch index → its current members (plan indexes)
        for m in dept.members:
            own[m.org].append(m.index)
        lapsing = {m.index for m in dept.members if rng.random() < 0.006}
        done_minutes = self.done_minutes
        large = [o.index for o in dept.orgs if o.kind == "branch" and len(own[o.index]) >= 18]
        # About one large branch in 40 reuses one list, from a month drawn for each on.
        k = len(large) / 40
        k = int(k) + (extra.random() < k - int(k))
        if large and not self.reusing:
            k = max(k, 1)
        reusers = {i: extra.randrange(max(1, len(months) - 7)) for i in extra.sample(large, min(k, len(large)))}
        self.reusing = self.reusing or bool(reusers)
        meetings = self.meetings
        members = member_pk

        def attend(people: list[int], day: dt.date, leaders_skip: bool = False):
            rows, present = {}, set()
            for i in people:
                p = by_index[i]
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
                rows[members[i]] = status
                if status[0] == "present":
                    present.add(i)
            full = [i for i in people if by_index[i].category == "full" and by_index[i].joined_on <= day]
            voting = [i for i in full if not by_index[i].is_exempt or i in present]
            counts = dict(expected_count=len(rows), present_count=len(present), voting_expected=len(voting),
                          voting_present=sum(1 for i in voting if i in present))
            return rows, counts, present

        for o in dept.orgs:
            row = org_pk[o.index]
            if o.kind == "branch" and own[o.index]:
                people = own[o.index]
                r = rng.random()
                profile = REGULAR if r < 0.72 else SKIPS if r < 0.86 else BACKFILLS
                self.profiles[profile] += 1
                copier = profile != REGULAR and rng.random() < 0.3
                self.copiers += copier
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
                            lecturer = members[sec]
                    rows, counts, present = attend(people, day)
                    if o.index in reusers:
                        if reused is None and n >= reusers[o.index] and \
                                sum(1 for s, _ in rows.values() if s != "present") >= 2:
                            reused, reuse_left = (rows, counts, present), extra.randint(3, 5)
                        elif reuse_left:
                            rows, counts, present = reused
                            reuse_left -= 1
                    text = _minutes(rng, topic, len(present))
                    speakers = [by_index[i].name for i in sorted(present)]
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
                                             members[sec] if sec is not None else None, lecturer,
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
                                                 members[sec] if sec is not None else None,
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
                                                     members[sec] if sec is not None else None,
                                                     attendance=orow, counts=ocounts))
                if sec is not None and len(people) > 1 and profile != SKIPS:
                    y, m = months[rng.randrange(len(months))]
                    tday = _day(rng, y, m, today)
                    other = rng.choice([i for i in people if i != sec])
                    if tday is not None:
                        meetings.append(_Meeting(row, ["talk"], tday, "", _recorded(rng, profile, tday, today, tz),
                                                 talk=(members[sec], members[other])))
            elif o.kind == "leading_group":
                for y, m in months:
                    day = _day(rng, y, m, today)
                    if day is not None and rng.random() < 0.9:
                        meetings.append(_Meeting(row, ["central_study", "first_agenda_study"], day,
                                                 rng.choice(THEMES), _recorded(rng, REGULAR, day, today, tz),
                                                 _minutes(rng, "理论学习", 5)))
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
            elif o.kind in ("organ_committee", "committee") and o.parent == self.wc_index:
                y, m = months[rng.randrange(len(months))]
                day = _day(rng, y, m, today)
                if day is not None and rng.random() < 0.9:
                    sec = secretary[o.index]
                    kinds = ["organ_member_assembly"] + (["party_lecture"] if sec is not None else [])
                    meetings.append(_Meeting(row, kinds, day, "机关党员干部大会暨专题党课",
                                             _recorded(rng, REGULAR, day, today, tz),
                                             lecturer_id=members[sec] if sec is not None else None))
            if len(meetings) >= FLUSH:
                self.flush()
        self.flush()

    def flush(self) -> None:
        for mt in self.meetings:
            mt.recorded_at = min(mt.recorded_at, self.now)
        _write(self.meetings, self.top_org)
        self.written += len(self.meetings)
        self.meetings = []

    def finish(self) -> dict:
        """Compute compliance once, for the whole year; counts for the report."""
        self.flush()
        start = dt.date(*self.months[0], 1)
        stored = compliance.refresh(start, self.today, today=self.today)["rows"]
        return {"activities": self.written, "compliance_rows": stored, "branches_skipping": self.profiles[SKIPS],
                "branches_backfilling": self.profiles[BACKFILLS], "branches_copying": self.copiers}


def _recorded(rng, profile: str, day: dt.date, today: dt.date, tz) -> dt.datetime:
    if profile == BACKFILLS:
        # The whole quarter entered in its last days (or the first days after it).
        end = _quarter_end(day)
        when = end - dt.timedelta(days=rng.randint(0, 3)) + dt.timedelta(days=rng.choice((0, 0, 0, 4)))
        return _stamp(rng, max(day, min(when, today)), tz)
    lag = rng.choice((0, 0, 1, 1, 2, 3, 5)) if rng.random() < 0.97 else rng.randint(31, 60)
    return _stamp(rng, min(day + dt.timedelta(days=lag), today), tz)


_ACTIVITY = ("id", "org_id", "held_on", "month", "topic", "minutes", "host_id", "lecturer_id", "talk_party_a_id",
             "talk_party_b_id", "expected_count", "present_count", "voting_expected", "voting_present",
             "committee_expected", "committee_present", "recorded_at", "top_org_id")
_COUNTS = ("expected_count", "present_count", "voting_expected", "voting_present", "committee_expected",
           "committee_present")


def _write(meetings: list[_Meeting], top_org: dict[int, int]) -> None:
    """COPY (or multi-row INSERTs) of the meetings, their kind rows and their attendance, with
    ids drawn beforehand so the three tables are written in one pass over the meetings."""
    if not meetings:
        return
    ids = bulk.reserve_ids(Activity, len(meetings))
    activities, kinds, attendance = [], [], []
    for pk, mt in zip(ids, meetings):
        c = mt.counts
        counts = tuple(c.get(k) for k in _COUNTS)
        talk = mt.talk or (None, None)
        top = top_org[mt.org]
        month = mt.held_on.year * 100 + mt.held_on.month
        activities.append((pk, mt.org, mt.held_on, month, mt.topic, mt.minutes, mt.host_id, mt.lecturer_id,
                           talk[0], talk[1], *counts, mt.recorded_at, top))
        bits = quorum_bits(SimpleNamespace(**dict(zip(_COUNTS, counts))))
        kinds += [(pk, k, mt.org, mt.held_on, month, True, bits, top) for k in mt.kinds]
        attendance += [(pk, mid, s, r, top) for mid, (s, r) in mt.attendance.items()]
    bulk.copy_rows(Activity, _ACTIVITY, activities)
    bulk.copy_rows(ActivityKind, ("activity_id", "kind", "org_id", "held_on", "month", "is_active", "quorum",
                                  "top_org_id"), kinds)
    bulk.copy_rows(Attendance, ("activity_id", "member_id", "status", "reason", "top_org_id"), attendance)

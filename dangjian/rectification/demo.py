"""The demo city's rectification items that no other source opens: requirements of organizational
life that were not met, chosen by the working committee for follow-up (组织生活未达标), and the
tasks it assigns to departments (工委交办), one of which belongs to another department and is
referred (转办). Each goes through the services, by the side that makes each move, and stops at a
drawn step, so every state is there: waiting to be signed for, in rectification, put up for
closing, returned, closed on time and late, overdue. Nothing is canned: with other records the
items are others.

The responsible side's moves are made by the account whose role covers the organization most
closely (the branch secretary's, the department's officer), else by the committee's staff, who
may edit the whole tree."""
from __future__ import annotations

import datetime as dt
import random

from dangjian.accounts.models import RoleAssignment
from dangjian.activities.models import ActivityKindChoice, ComplianceRow
from dangjian.core import periods, workdays
from dangjian.orgs.models import Organization, OrgKind

from . import queries, services
from .models import Item, ItemEvent
from .services import ItemError

FAILURES_AT_MOST = 60
TASKS = (
    ("落实“第一议题”制度", "建立党组（党委）理论学习中心组“第一议题”学习台账，逐次记录学习内容和研究落实措施。"),
    ("整改党建和业务“两张皮”问题", "梳理本单位中心工作中的党建任务，形成党建与业务融合的具体清单并明确责任人。"),
    ("规范支部委员会换届工作", "对届满未换届的支部逐一制定换届计划，按期召开党员大会选举。"),
    ("加强意识形态阵地管理", "排查本单位宣传栏、网站和工作群，明确管理责任并建立审核流程。"),
)
KIND_LABELS = dict(ActivityKindChoice.choices)


def _actors() -> tuple[object | None, list[tuple[str, object]]]:
    """The committee's staff account, and the editing accounts by the path they cover (longest first)."""
    rows = list(RoleAssignment.objects.filter(role__in=("wc_admin", "unit_admin", "branch_secretary"))
                .select_related("user", "org").order_by("id"))
    staff = next((r.user for r in rows if r.role == "wc_admin" and r.org.parent_id is None), None)
    editors = sorted(((r.org.path, r.user) for r in rows if r.role != "wc_admin"), key=lambda p: -len(p[0]))
    return staff, editors


def _forward_user(org: Organization, staff, editors):
    return next((u for path, u in editors if org.path.startswith(path)), staff)


def _day(rng: random.Random, start: dt.date, low: int, high: int, today: dt.date) -> dt.date:
    return min(today, start + dt.timedelta(days=rng.randint(low, high)))


# The steps items stop at, dealt in shuffled rounds so that every round of twelve holds each one,
# and most of a round is closed, as most of a year's items are.
STEPS = ("pending", "rectifying", "closing", "returned", *["closed"] * 6, "closed_late", "closed_late")


def _steps(rng: random.Random):
    while True:
        round_ = list(STEPS)
        rng.shuffle(round_)
        yield from round_


def _progress(rng: random.Random, item: Item, forward, staff, today: dt.date, step: str) -> str:
    """Move `item` to `step` by the side that makes each move; returns the step reached (a late
    closing that the calendar does not allow yet is closed on time)."""
    if step == "pending":
        return step
    day = _day(rng, item.opened_on, 1, 4, today)
    services.sign(forward, item, on=day, today=today)
    day = _day(rng, day, 3, 20, today)
    services.add_note(forward, item, text="已召开支部委员会研究整改措施，明确责任人和完成时间。", on=day, today=today)
    if step == "rectifying":
        return step
    if step == "closed_late" and item.deadline < today - dt.timedelta(days=2):
        day = max(day, _day(rng, item.deadline, 1, 20, today - dt.timedelta(days=1)))
    else:
        step = "closed" if step == "closed_late" else step
        day = _day(rng, day, 2, 10, min(today, max(day, item.deadline - dt.timedelta(days=1))))
    services.request_close(forward, item, evidence="已按要求补开并形成会议记录，附签到表和会议纪要。", on=day,
                           today=today)
    if step == "closing":
        return step
    day = _day(rng, day, 1, 3, today)
    if step == "returned":
        services.return_item(staff, item, reason="佐证材料不完整，缺少会议纪要，请补充后再申请销号。", on=day,
                             today=today)
        return step
    services.close(staff, item, verification="经核查，整改措施已落实，佐证材料齐全，同意销号。", on=day, today=today)
    return step


def _aged_step(rng: random.Random, item: Item, today: dt.date) -> str:
    """A step for an item another part of the demo opened and left untouched, drawn by its age:
    long past its deadline most are closed (some late), a few still open and overdue; an item
    still within its time limit is mostly being worked on."""
    late = (today - item.deadline).days
    if late > 30:
        weights = {"closed": 6, "closed_late": 3, "rectifying": 1, "returned": 1, "pending": 0.5}
    elif late > 0:
        weights = {"closed": 2, "closed_late": 3, "closing": 2, "rectifying": 2, "pending": 1}
    else:
        weights = {"pending": 3, "rectifying": 3, "closing": 2, "closed": 2}
    return rng.choices(list(weights), list(weights.values()))[0]


# The sources whose items the demo works here; the others' parts move their own (samples.follow).
WORKED_HERE = (Item.Source.INSPECTION, Item.Source.FEEDBACK)


def _work_others(rng: random.Random, staff, editors, today: dt.date, reached: dict) -> None:
    """Move the items of WORKED_HERE still as opened, through the services (a feedback follows
    its item's close-out through the item_changed signal)."""
    untouched = (Item.objects.filter(source__in=WORKED_HERE, status=Item.Status.PENDING)
                 .exclude(events__kind__in=[k for k in ItemEvent.Kind.values if k != ItemEvent.Kind.OPEN])
                 .select_related("org", "issuer").order_by("id"))
    for item in untouched:
        forward = _forward_user(item.org, staff, editors)
        closer = next((u for path, u in editors if item.issuer.path.startswith(path)), staff)
        step = _progress(rng, item, forward, closer, today, _aged_step(rng, item, today))
        reached[step] = reached.get(step, 0) + 1


def _failures(rng: random.Random, today: dt.date) -> list[ComplianceRow]:
    """Up to FAILURES_AT_MOST requirements not met in periods ended this year, drawn at random."""
    ids = list(ComplianceRow.objects.filter(status=ComplianceRow.Status.MISSING, period_end__lt=today,
                                            period_end__year=today.year, org__status="active")
               .order_by("id").values_list("id", flat=True)[:20_000])
    chosen = sorted(rng.sample(ids, min(FAILURES_AT_MOST, len(ids))))
    return list(ComplianceRow.objects.filter(id__in=chosen).select_related("org").order_by("id"))


def build(today: dt.date, seed: int = 7) -> dict:
    rng = random.Random(seed * 31 + 12)
    wc = Organization.objects.filter(kind=OrgKind.WORKING_COMMITTEE, parent__isnull=True).order_by("path").first()
    staff, editors = _actors()
    if wc is None or staff is None:
        return {"items": 0, "message": "没有机关工委或工委账号，未生成督查整改事项"}
    reached: dict[str, int] = {}
    count = refused = 0
    steps = _steps(rng)
    for row in _failures(rng, today):
        opened_on = _day(rng, row.period_end, 5, 25, today - dt.timedelta(days=3))
        name = f"{periods.name_of(row.period)}{KIND_LABELS.get(row.kind, '组织生活')}应开未开"
        try:
            item = services.open_item(
                staff, org=row.org, list=Item.List.PROBLEM, title=f"{name}，限期整改",
                description=f"{row.org.name}{name}。请查明原因，按规定补开或说明情况，并建立经常性提醒。",
                source=Item.Source.COMPLIANCE, source_id=row.pk, source_label=name, issuer=wc,
                workdays=rng.choice([10, 15, 20]), opened_on=opened_on, today=today)
        except ItemError:  # a calendar year not entered: no working-day deadline to give
            refused += 1
            continue
        step = _progress(rng, item, _forward_user(row.org, staff, editors), staff, today, next(steps))
        reached[step] = reached.get(step, 0) + 1
        count += 1
    units = list(Organization.objects.filter(parent=wc, status="active").exclude(kind=OrgKind.LEADING_GROUP)
                 .order_by("path")[:40])
    for n, (title, text) in enumerate(TASKS):
        if len(units) < 2:
            break
        unit = rng.choice(units)
        opened_on = today - dt.timedelta(days=rng.randint(20, 200))
        item = services.open_item(staff, org=unit, list=Item.List.TASK, title=title, description=text,
                                  source=Item.Source.MANUAL, source_label="工委年度重点任务", issuer=wc,
                                  deadline=opened_on + dt.timedelta(days=rng.choice([30, 60, 90])),
                                  opened_on=opened_on, today=today)
        count += 1
        if n == 0:  # a task that is another department's business: referred, then taken up there
            other = rng.choice([u for u in units if u.pk != unit.pk])
            item = services.refer(staff, item, to_org=other, reason="该事项由对口部门牵头落实",
                                  deadline=today + dt.timedelta(days=30), today=today)
            reached["referred"] = reached.get("referred", 0) + 1
            continue
        step = _progress(rng, item, _forward_user(unit, staff, editors), staff, today, next(steps))
        reached[step] = reached.get(step, 0) + 1
    _work_others(rng, staff, editors, today, reached)
    swept = _sweep(today)
    # The figures over every item in the city, whatever source opened it.
    return {"opened": count, "steps": reached, "refused_no_calendar": refused, "swept": swept,
            **queries.counts(Item.objects.all(), today)}


def _sweep(today: dt.date) -> dict:
    """The daily sweep as an installation's timer runs it on the last working day up to `today`:
    the items near their deadline get their 催办, the overdue ones their 督办. Earlier days are
    not replayed: an item's state on those days is not kept, only its events."""
    day = today
    try:
        while not workdays.is_workday(day):
            day -= dt.timedelta(days=1)
    except workdays.WorkdayError:  # a calendar year not entered: no working day to sweep on
        return {"remind": 0, "escalate": 0, "workday": False}
    return services.sweep(day)

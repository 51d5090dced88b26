"""Duty lists on the demo city: what the records cannot show, marked done by the people.

Derived items need nothing here — the demo's year of organizational life already holds the
lectures, the 组织生活会 attendance, the talks and the meetings. Two things are added to a
city built by `dangjian demo` (call `build` after it):
- the 党组书记: the demo puts no one on the 党组's seats (leading cadres are members of
  branches, so the seat service cannot seat them there); as in real rosters, the head of
  each unit gets "党组书记、" in front of their 职务, which is how the engine finds them;
- the 行政负责人 of each unit (the one holder the tree does not show), named from its
  leading cadres;
- manual marks: most manual items of the twelve months up to `today` are marked done with a
  short note, some are not (so the lists show both), a shared fact once per unit.
Running it again adds nothing.
Drawn from its own `random.Random`, so the city itself is unchanged by it.
"""
from __future__ import annotations

import datetime as dt
import random

from django.db import transaction

from dangjian.core import audit, periods
from dangjian.core.models import AuditEntry
from dangjian.members import services as member_services
from dangjian.members.models import Member
from dangjian.orgs.models import CommitteeSeat, Organization, SeatRole

from . import catalog, completion
from .models import DutyMark
from .seed import seed_items

AUDIT_NOTE = "示例数据：责任清单标记"
MARKED_CLOSED = 0.8  # share of manual items marked in periods that are over
MARKED_OPEN = 0.35  # … in the period still running
NOTES = {
    "organ_committee_report": ("{m}月{d}日党组会议听取机关党委{half}工作汇报，研究党务干部配备和活动经费保障",
                               "{m}月{d}日党组专题会议听取机关党建工作汇报，讨论解决支部换届和阵地建设问题"),
    "pgs_pledge": ("{m}月{d}日在全市机关党建工作会议上作出抓党建工作公开承诺，承诺事项已在本单位公示",),
    "pgs_duty_report": ("{m}月{d}日向市直机关工委述职，接受评议",),
    "pgs_inform": ("{m}月{d}日在机关党员干部大会上通报抓机关党建工作情况，发放评议表",),
    "lm_liaison": ("{m}月{d}日到联系点支部调研，参加支部主题党日并指导整改", "{m}月{d}日到联系点听取支部工作情况，协调解决活动场地问题"),
    "lm_supervise": ("{m}月{d}日听取分管处室党建工作情况，督促落实三会一课", "{m}月{d}日与分管处室负责人研究党建与业务融合措施"),
    "ocs_duty_report": ("{m}月{d}日向市直机关工委述职，接受评议考核",),
    "ocs_training": ("{m}月{d}日举办党务工作者培训班，培训支部书记和委员", "{m}月{d}日组织党务工作者全员轮训"),
    "gbs_duty_report": ("{m}月{d}日向机关党委述职，接受评议",),
    "bs_duty_report": ("{m}月{d}日向上级党组织述职，接受评议",),
    "ah_plan_together": ("{m}月{d}日与党组一起研究年度重点工作，把党建要求写入分管业务工作安排",
                         "{m}月{d}日主持召开办公会议，党建和业务工作一起部署"),
    "ah_support": ("{m}月{d}日落实机关党建活动经费，列入部门预算", "{m}月{d}日协调解决党员活动室和专职党务干部配备"),
    "ds_report": ("{m}月{d}日向机关党委报告监督执纪工作情况", "{m}月{d}日在委员会会议上报告廉政谈话和监督检查情况"),
    "oc_annual_plan": ("{m}月{d}日制定年度机关党建工作计划，经党组会议审定后印发",),
    "oc_hear_branches": ("{m}月{d}日召开支部书记抓党建述职评议会", "{m}月{d}日听取所属党组织书记述职并开展评议"),
    "bs_training": ("{m}月{d}日参加全市支部书记示范培训班", "{m}月{d}日参加机关党委组织的支部书记轮训"),
}


def _name_party_group_secretaries() -> int:
    """Put "党组书记、" before the 职务 of each unit's highest-ranked leading cadre where the
    unit's 党组 has no secretary and nobody's 职务 names one yet. Through the member service,
    so the change is in each member's history."""
    keyword = catalog.post_keyword()
    leading = dict(Organization.objects.filter(kind="leading_group", status=Organization.Status.ACTIVE,
                                               unit__isnull=False).values_list("unit_id", "pk"))
    seated = set(CommitteeSeat.objects.filter(is_active=True, role=SeatRole.SECRETARY, holder__isnull=False,
                                              org_id__in=list(leading.values())).values_list("org_id", flat=True))
    heads: dict[int, Member] = {}
    named: set[int] = set()
    for m in (Member.objects.filter(status=Member.Status.ACTIVE, is_leader=True, org__unit_id__in=list(leading))
              .select_related("org").order_by("pk")):
        unit = m.org.unit_id
        if keyword in (m.post or ""):
            named.add(unit)
        best = heads.get(unit)
        if best is None or (m.rank or 0) > (best.rank or 0):
            heads[unit] = m
    changed = 0
    for unit, m in heads.items():
        if unit in named or leading[unit] in seated:
            continue
        member_services.update_member(None, m, post=f"{keyword}、{m.post}"[:60] if m.post else keyword)
        changed += 1
    return changed


def _name_administrative_heads(today: dt.date) -> int:
    """Name each unit's 行政负责人 where none is named: its highest-ranked leading cadre whose
    职务 does not name the 党组书记 (the 局长 of a unit whose 党组书记 is someone else), or the
    党组书记 where every leading cadre's 职务 does. Through the service, so each is audited."""
    from dangjian.orgs.models import Unit

    from . import services
    from .models import AdministrativeHead

    keyword = catalog.post_keyword()
    named = set(AdministrativeHead.objects.values_list("unit_id", flat=True))
    best: dict[int, tuple] = {}
    for m in (Member.objects.filter(status=Member.Status.ACTIVE, is_leader=True, org__unit__isnull=False)
              .exclude(org__unit_id__in=list(named)).select_related("org").order_by("pk")):
        key = (keyword not in (m.post or ""), m.rank or 0, -m.pk)
        if m.org.unit_id not in best or key > best[m.org.unit_id][0]:
            best[m.org.unit_id] = (key, m)
    units = {u.pk: u for u in Unit.objects.filter(pk__in=list(best))}
    since = dt.date(today.year - 2, 1, 1)
    for unit_id, (_, m) in best.items():
        services.name_administrative_head(None, units[unit_id], m, since, today=today)
    return len(best)


def _note(rng: random.Random, item, p, day: dt.date) -> str:
    choices = NOTES.get(item.fact_code) or NOTES.get(item.code) or ("{m}月{d}日完成",)
    return rng.choice(choices).format(m=day.month, d=day.day, half="上半年" if p.index == 1 else "下半年")


FLUSH = 10_000


@transaction.atomic
def build(today: dt.date, seed: int = 7) -> dict:
    rng = random.Random(seed * 7919 + 3)
    seed_items()
    secretaries = _name_party_group_secretaries()
    heads = _name_administrative_heads(today)
    holders = completion.holders()
    window = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)  # the demo's twelve months
    marks: list[DutyMark] = []
    written = 0

    def flush():
        # A slice at a time: a province has hundreds of thousands of marks, each with its entry.
        nonlocal marks, written
        DutyMark.objects.bulk_create(marks, batch_size=1000)
        AuditEntry.objects.bulk_create([audit.entry(None, m, None, "create", AUDIT_NOTE) for m in marks],
                                       batch_size=1000)
        written += len(marks)
        marks = []

    planned: set[tuple[str, str, str]] = set()
    # Marks already there (build run twice, or people marked things): the demo adds none.
    years = range(window.year, today.year + 1) if not DutyMark.objects.exists() else range(0)
    for year in years:
        items = [i for i in completion.items_for_year(year) if i.is_manual]
        for h in holders:
            for item in items:
                if item.role != h.role:
                    continue
                subject = completion.subject_of(item, h)
                for p in periods.overlapping(item.period, dt.date(year, 1, 1), dt.date(year, 12, 31)):
                    if p.start > today or p.end < window or (h.since and p.end < h.since):
                        continue
                    key = (item.fact_code, subject, p.label)
                    if key in planned:
                        continue
                    planned.add(key)
                    if rng.random() >= (MARKED_CLOSED if p.end < today else MARKED_OPEN):
                        continue
                    first, last = max(p.start, window), min(p.end, today)
                    day = first + dt.timedelta(days=rng.randint(0, (last - first).days))
                    marks.append(DutyMark(
                        fact=item.fact_code, subject=subject, member_id=h.member_id if subject[0] == "m" else None,
                        unit_id=h.unit_id if subject[0] == "u" else None, org_id=h.org_id, item_code=item.code,
                        year=p.year, period=p.label, done_on=day, note=_note(rng, item, p, day)))
                    if len(marks) >= FLUSH:
                        flush()
    flush()
    return {"party_group_secretaries_named": secretaries, "administrative_heads_named": heads,
            "role_holders": len(holders), "marks": written}

"""The demo city's transfers and standing, made through the services from the city's own roll:
letters in flight inside the tree (one pending, one accepted, one returned), letters to outside
(one waiting for its receipt, one overdue, one whose receipt came back), one bulk transfer (the smallest branch of a unit moved into a sibling), mobile members,
one member lost for eight months (listed for consideration, nothing decided) and one whose
suspension the branch meeting decided and the unit approved. Members are drawn at random with
the seed: with other data other members are named. Nobody arrives from outside: the city keeps the
number of members it was asked for."""
from __future__ import annotations

import datetime as dt
import random

from django.db.models import Count, Q

from dangjian.accounts.models import RoleAssignment
from dangjian.core import periods
from dangjian.members.models import Member
from dangjian.orgs.models import CommitteeSeat, Organization, OrgKind

from . import checks, services

PLACES = ["广东省深圳市南山区", "上海市浦东新区", "浙江省杭州市西湖区", "四川省成都市高新区", "北京市海淀区"]
OUTSIDE = [("中共某某省财政厅机关委员会", "某某省省会"), ("中共某某区教育局党组", "某某市某某区"),
           ("中共某某县人民政府办公室支部委员会", "某某县")]


def _staff():
    row = (RoleAssignment.objects.filter(role="wc_admin", org__parent__isnull=True)
           .select_related("user").order_by("id").first())
    return row.user if row else None


def build(today: dt.date, seed: int = 7) -> dict:
    rng = random.Random(seed * 31 + 5)
    staff = _staff()
    seated = set(CommitteeSeat.objects.filter(is_active=True, holder__isnull=False).values_list("holder_id", flat=True))
    # Members in their branch for over a year: every date below falls inside their membership.
    settled = today - dt.timedelta(days=400)
    pool = [m for m in Member.objects.filter(status=Member.Status.ACTIVE, org__kind=OrgKind.BRANCH,
                                             org__status=Organization.Status.ACTIVE, is_mobile=False,
                                             memberships__ended_on__isnull=True,
                                             memberships__started_on__lte=settled)
            .select_related("org").order_by("id")[:4000] if m.pk not in seated]
    branches = list(Organization.objects.active().filter(kind=OrgKind.BRANCH).order_by("path"))
    if len(pool) < 20 or len(branches) < 4:
        return {"message": "党员或党支部太少，未生成组织关系转接"}
    rng.shuffle(pool)
    used: set[int] = set()

    def take(n=1):
        out = []
        for m in pool:
            if m.pk not in used and len(out) < n:
                used.add(m.pk)
                out.append(m)
        return out

    def nearby(m):
        """A branch of the member's own unit: a move there keeps their workplace."""
        same = [b for b in branches if b.pk != m.org_id and b.path[:18] == m.org.path[:18]]
        return rng.choice(same) if same else None

    def elsewhere(m):
        others = [b for b in branches if b.pk != m.org_id and b.path[:18] != m.org.path[:18]]
        return rng.choice(others or [b for b in branches if b.pk != m.org_id])

    year = today.year
    seq = iter(range(1, 1000))
    letter = lambda: f"转字〔{year}〕{next(seq):03d}号"  # noqa: E731
    counts = {"internal": 0, "out": 0, "overdue": 0}

    # Inside the tree: one pending (to another unit), one accepted (inside the member's unit, whose
    # workplace stays the same), one returned.
    for m, fate in zip(take(3), ("pending", "accepted", "returned")):
        issued = today - dt.timedelta(days=rng.randint(10, 40))
        to = (nearby(m) if fate == "accepted" else None) or elsewhere(m)
        if fate == "accepted" and to.path[:18] != m.org.path[:18]:
            fate = "pending"  # no other branch in the unit: left in transit
        t = services.issue(staff, member=m, to_org=to, letter_number=letter(), issued_on=issued,
                           reason="工作调动" if fate != "accepted" else "党支部调整", today=today)
        if fate == "accepted":
            services.accept(staff, t, on=issued + dt.timedelta(days=5), today=today)
        elif fate == "returned":
            services.return_letter(staff, t, on=issued + dt.timedelta(days=3), reason="接收党组织填写有误，请重新开具",
                                   today=today)
        counts["internal"] += 1
    # To outside: waiting for the receipt, overdue, receipt back.
    for m, (issued_days, receipt) in zip(take(3), ((20, False), (150, False), (60, True))):
        name, region = rng.choice(OUTSIDE)
        t = services.issue_out(staff, member=m, outside_org=name, outside_region=region, letter_number=letter(),
                               issued_on=today - dt.timedelta(days=issued_days), reason="调往外省工作", today=today)
        if receipt:
            services.record_receipt(staff, t, on=t.issued_on + dt.timedelta(days=12), today=today)
        elif t.valid_until < today:
            counts["overdue"] += 1
        counts["out"] += 1
    # Bulk: the smallest branch of a unit with several branches moves into a sibling.
    sizes = (Organization.objects.active().filter(kind=OrgKind.BRANCH)
             .annotate(n=Count("members", filter=Q(members__status=Member.Status.ACTIVE))).filter(n__gt=0)
             .order_by("n", "path"))
    bulk = None
    for small in sizes[:20]:
        sibling = (Organization.objects.active().filter(kind=OrgKind.BRANCH, parent_id=small.parent_id)
                   .exclude(pk=small.pk).order_by("path").first())
        if sibling is None:
            continue
        try:
            bulk = services.bulk_transfer(staff, from_org=small, to_org=sibling, member_ids=None,
                                          moved_on=today - dt.timedelta(days=30), reason="处室合并，党支部随之合并",
                                          today=today)
        except services.TransferError:
            continue
        break
    # Mobile members, one lost for eight months, one suspended after ten.
    mobile = 0
    for m in take(4):
        host = rng.choice(branches) if rng.random() < 0.5 else None
        services.register_mobile(staff, m, away_since=today - dt.timedelta(days=rng.randint(60, 400)),
                                 place=rng.choice(PLACES), contact=m.phone, host_org=host,
                                 host_org_name="" if host else "流入地街道流动党员党支部", today=today)
        mobile += 1
    lost, suspended = take(2)
    services.register_lost(staff, lost, lost_since=periods.months_before(today, 8),
                           efforts="多次拨打电话、发送短信均未回复，到原住址走访未见本人", today=today)
    services.register_lost(staff, suspended, lost_since=periods.months_before(today, 10),
                           efforts="电话停机，亲属表示不知去向，在单位网站和报纸刊登寻人启事无果", today=today)
    meeting = periods.months_before(today, 2)
    approver = Organization.objects.filter(pk=suspended.org.parent_id).first()
    if approver is not None:
        services.suspend(staff, suspended, meeting_on=meeting, approver=approver,
                         approved_on=meeting + dt.timedelta(days=10), document=f"{approver.name}〔{year}〕停字1号",
                         note="支部党员大会讨论通过", today=today)
    # For the 待研究 lists: one gone abroad to study longer than the rules' years, one suspended
    # longer than theirs (lost three years before).
    rules = checks.rules()
    abroad, long_suspended = (take(2) + [None, None])[:2]
    if abroad is not None:
        services.register_mobile(staff, abroad, away_since=periods.months_before(today, 12 * rules.abroad_years_to_suspend + 4),
                                 place="英国伦敦（出国学习研究）", contact=abroad.phone, abroad=True,
                                 host_org_name="", note="出国学习研究，每半年与党支部联系一次", today=today)
        mobile += 1
    old_approver = Organization.objects.filter(pk=long_suspended.org.parent_id).first() if long_suspended else None
    if old_approver is not None:
        approved = periods.months_before(today, 12 * rules.suspended_years_to_remove + 3)
        services.register_lost(staff, long_suspended, lost_since=periods.months_before(approved, 9),
                               efforts="电话停机，原住址已搬离，亲属表示多年未联系", today=today)
        services.suspend(staff, long_suspended, meeting_on=approved - dt.timedelta(days=10), approver=old_approver,
                         approved_on=approved, document=f"{old_approver.name}〔{approved.year}〕停字2号",
                         note="支部党员大会讨论通过", today=today)
    return {"internal": counts["internal"], "out": counts["out"], "overdue": counts["overdue"],
            "bulk": bulk.count if bulk else 0, "mobile": mobile, "lost": 1,
            "suspended": (1 if approver else 0) + (1 if old_approver else 0),
            "message": ""}

"""The demo city's 表彰决定 of last year, made from that year's candidates (those the decision
page offers: the star rating's commendation candidates and the targets graded 好 in the year's
assessment runs) through the services: up to ten 先进基层党组织 and five 党建工作优秀单位 drawn from
them, the secretaries of the honoured organizations 优秀党务工作者 and one ordinary member of each
优秀共产党员. Nothing is canned: with other data
the decision names others, and a year without candidates gets no decision."""
from __future__ import annotations

import datetime as dt
import random

from django.db.models import Q

from dangjian.accounts.models import RoleAssignment
from dangjian.members.models import Member
from dangjian.orgs.models import CommitteeSeat, Organization, OrgKind, SeatRole

from . import queries, services
from .models import Decision, Honour

ORGS_AT_MOST = 10
UNITS_AT_MOST = 5


def _staff():
    row = (RoleAssignment.objects.filter(role="wc_admin", org__parent__isnull=True)
           .select_related("user").order_by("id").first())
    return row.user if row else None


def _named(items) -> str:
    """The honours a decision gives, in their order, as its title names them: “A、B和C”."""
    names = [h.name for h in sorted({h.pk: h for h, _, _ in items}.values(), key=lambda h: h.position)]
    return names[0] if len(names) == 1 else "、".join(names[:-1]) + "和" + names[-1]


def build(today: dt.date, seed: int = 7) -> dict:
    year = today.year - 1
    rng = random.Random(seed)
    wc = Organization.objects.filter(kind=OrgKind.WORKING_COMMITTEE, parent__isnull=True).order_by("path").first()
    honours = {h.code: h for h in Honour.objects.exclude(code="")}
    staff = _staff()
    if wc is None or staff is None or len(honours) < 4:
        return {"year": year, "message": "没有机关工委、工委账号或荣誉称号，未生成表彰决定"}
    # The candidates the decision page offers the committee, read the same way.
    probe = Decision(issuer=wc, year=year)
    offered = queries.suggestions(staff, probe)
    orgs = [s["org"] for s in offered if s["honour"].code == "advanced_org"]
    units = [s["org"] for s in offered if s["honour"].code == "excellent_unit"]
    orgs = sorted(rng.sample(orgs, min(ORGS_AT_MOST, len(orgs))), key=lambda o: o.path)
    units = sorted(rng.sample(units, min(UNITS_AT_MOST, len(units))), key=lambda o: o.path)
    if not orgs and not units:
        return {"year": year, "message": f"{year} 年没有推荐评先对象和考评等次为“好”的组织，未生成表彰决定"}
    honoured = orgs + units
    # 优秀党务工作者: the secretary of each honoured organization; 优秀共产党员: one other full
    # member of each honoured organization's subtree. Nobody twice.
    secretaries = {s.org_id: s.holder for s in CommitteeSeat.objects.filter(
        org__in=honoured, role=SeatRole.SECRETARY, is_active=True, holder__status=Member.Status.ACTIVE)
        .select_related("holder", "holder__org").order_by("org_id", "id")}
    under = Q(pk__in=[])
    for o in honoured:
        under |= Q(org__path__startswith=o.path)
    pool = list(Member.objects.filter(under, status=Member.Status.ACTIVE, category="full")
                .select_related("org").order_by("org__path", "id"))
    items = [(honours["advanced_org"], o, None) for o in orgs]
    items += [(honours["excellent_unit"], u, None) for u in units]
    taken = set()
    for o in honoured:
        holder = secretaries.get(o.pk)
        if holder is not None and holder.pk not in taken:
            taken.add(holder.pk)
            items.append((honours["excellent_party_worker"], None, holder))
    for o in honoured:
        others = [m for m in pool if m.org.path.startswith(o.path) and m.pk not in taken
                  and m.pk not in {h.pk for h in secretaries.values()}]
        if others:
            m = rng.choice(others)
            taken.add(m.pk)
            items.append((honours["excellent_member"], None, m))
    decided_on = min(dt.date(year + 1, 3, 1), today)
    number = f"市直机关工委〔{decided_on.year}〕3号"
    decision = services.create_decision(
        staff, issuer=wc, number=number, decided_on=decided_on, year=year, today=today,
        title=f"关于表彰{year}年度{_named(items)}的决定")
    services.add_commendations(staff, decision, items)
    services.publish(staff, decision)
    return {"year": year, "number": number, "honours": len(items), "message": ""}

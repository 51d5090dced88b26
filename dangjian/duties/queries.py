"""Reads of the duty pages: a person's list, an org's overview, the items per role.

Every page runs a fixed number of queries: the holders and their lines come from one
computation (completion.py) for all the people the page concerns, never one per person.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.http import Http404
from django.urls import reverse

from dangjian.core import history, periods
from dangjian.core.scoping import can, scope_of
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from . import catalog, completion
from .models import (
    DUTY_LISTS,
    ROLE_LABELS,
    DutyItem,
    DutyMark,
    DutyRole,
    Evidence,
    in_list_order,
    shared_fact_label,
    sharing_fact,
)

FIRST_YEAR = 2000


def year_of(raw: str | None, today: dt.date) -> tuple[int, str]:
    """The year asked for, or this year with a message saying why."""
    raw = (raw or "").strip()
    if not raw:
        return today.year, ""
    if not raw.isdigit() or len(raw) != 4:
        return today.year, f"年度“{raw[:20]}”格式不正确，应为四位年份（如 {today.year}），已显示 {today.year} 年"
    if not FIRST_YEAR <= int(raw) <= today.year + 1:
        return today.year, f"年度 {raw} 超出范围（{FIRST_YEAR}—{today.year + 1}），已显示 {today.year} 年"
    return int(raw), ""


def can_mark(user, holder: completion.Holder, member: Member | None = None) -> bool:
    """The person themselves, or whoever may edit the records of the role's org. An org's own
    list (the 机关党委's) is marked by its secretary, on their page, or the same officers."""
    own = holder.member_id if holder.member_id is not None else (member.pk if member is not None else None)
    return (user.member_id is not None and user.member_id == own) or can(user, "edit", holder.org_path)


# ---- evidence as shown ---------------------------------------------------------------------------

@dataclass
class Shown:
    held_on: dt.date
    topic: str
    url: str | None


def shown(user, records: list[completion.Record], own: bool) -> list[Shown]:
    """Links only into what the viewer may see; a record elsewhere shows its date, and its
    topic only to the person it is about (their own lecture in another department)."""
    out = []
    for r in records:
        if can(user, "view", r.org_path):
            out.append(Shown(r.held_on, r.topic, reverse("activities:detail", args=[r.activity_id])))
        else:
            out.append(Shown(r.held_on, r.topic if own else "其他组织的记录", None))
    return out


# ---- a person's list -----------------------------------------------------------------------------

@dataclass
class ItemRow:
    item: DutyItem
    cells: list[dict] = field(default_factory=list)


@dataclass
class RoleBlock:
    holder: completion.Holder
    spec: dict
    rows: list[ItemRow]
    can_mark: bool


def person(user, member_pk: int, year: int, today: dt.date, found: list | None = None,
           member: Member | None = None) -> dict:
    """A person's duty lists for a year: the roles the viewer may see (their own always),
    each item with its periods. 404 when the viewer may see neither the person nor a role.
    `found`: the person's roles (`completion.holders`) and `member` their record (with its
    org) when the caller has read them already."""
    if member is None or member.pk != member_pk:
        member = Member.objects.filter(pk=member_pk).select_related("org").first()
    if member is None:
        raise Http404
    own = user.member_id == member.pk
    found = completion.holders(member_ids=[member.pk], members=True) if found is None else found
    visible = [h for h in found if own or can(user, "view", h.org_path)]
    if not visible and not own and not Member.objects.visible_to(user).filter(pk=member.pk).exists():
        raise Http404
    lines = completion.compute(year, visible, today=today)
    by_holder: dict[tuple, dict[str, ItemRow]] = defaultdict(dict)
    for line in lines:
        h = line.holder
        row = by_holder[(h.role, h.org_id)].setdefault(line.item.code, ItemRow(line.item))
        row.cells.append(_cell(user, line, own, today))
    specs = catalog.roles()
    blocks = [RoleBlock(h, specs[h.role], list(by_holder[(h.role, h.org_id)].values()), can_mark(user, h, member))
              for h in visible]
    todo = [(b.holder, r.item, c) for b in blocks for r in b.rows for c in r.cells
            if c["status"] == completion.OPEN and c["current"]]
    return {"member": member, "own": own, "blocks": blocks, "hidden_roles": len(found) - len(visible),
            "todo": todo}


def _cell(user, line: completion.Line, own: bool, today: dt.date) -> dict:
    p = line.period
    return {
        "key": f"{line.item.code}|{p.label}", "period": p.label, "label": p.short_name, "status": line.status,
        "status_label": line.status_label, "reason": line.reason,
        "badge": line.badge, "evidence": shown(user, line.evidence, own), "mark": line.mark,
        "done": line.done, "required": line.required, "current": p.start <= today <= p.end,
        "started": p.start <= today, "start": p.start, "end": min(p.end, today), "period_end": p.end,
    }


def mark_history(member: Member, blocks: list[RoleBlock], year: int) -> list[dict]:
    """The change history of the marks on this person's lists (their own and their unit's
    shared ones): two queries."""
    subjects = ({f"m{member.pk}"} | {f"u{b.holder.unit_id}" for b in blocks if b.holder.unit_id}
                | {f"o{b.holder.org_id}" for b in blocks if b.holder.member_id is None})
    titles = {r.item.code: r.item.title for b in blocks for r in b.rows}
    # Only items on this person's lists: a unit's shared marks belong to the roles that share
    # them (党组 and 机关党委), not to every role holder of the unit.
    rows = list(DutyMark.objects.filter(year=year, subject__in=sorted(subjects), item_code__in=sorted(titles))
                .values_list("pk", "item_code", "period"))
    if not rows:
        return []
    labels = {("duties.dutymark", pk): f"{titles.get(code, '责任清单事项')}（{periods.name_of(period)}）" for pk, code, period in rows}
    return history.describe(history.entries_for({"duties.dutymark": [pk for pk, _, _ in rows]}), labels)


# ---- an org's overview ---------------------------------------------------------------------------

def roots_for(user, org_pk: int | None = None) -> list[Organization]:
    """The organizations the overview covers: the one asked for (404 outside the scope), or
    the highest ones the user may see."""
    qs = Organization.objects.visible_to(user)
    if org_pk is not None:
        org = qs.filter(pk=org_pk).first()
        if org is None or not can(user, "view", org.path):
            raise Http404  # a plain member sees their own branch, but not its people's duties
        return [org]
    prefixes = scope_of(user).prefixes("view")
    return list(qs.filter(path__in=prefixes).order_by("path")) if prefixes else []


@dataclass
class ItemSummary:
    item: DutyItem
    done: int = 0
    missed: int = 0
    open: int = 0
    not_applicable: int = 0


def _count(s: ItemSummary, status: str) -> None:
    if status in completion.COMPLETE:
        s.done += 1
    elif status == completion.MISSED:
        s.missed += 1
    elif status == completion.NOT_APPLICABLE:
        s.not_applicable += 1
    else:
        s.open += 1


def _members_under(paths: list[str]) -> int:
    q = Q()
    for p in paths:
        q |= Q(org__path__startswith=p)
    return Member.objects.filter(q, status=Member.Status.ACTIVE).count()


def overview(roots: list[Organization], year: int, role: str, q: str, today: dt.date) -> dict:
    """Role holders under `roots` with their completion per item: one computation for all of
    them. Rows are in tree order — never ordered by how much a person has done. The 党员 list
    is counted per branch (a row per branch, not per member)."""
    paths = [r.path for r in roots]
    found = completion.holders(roots=paths)
    counts = {code: 0 for code in ROLE_LABELS}
    for h in found:
        counts[h.role] += 1
    counts[DutyRole.PARTY_MEMBER] = _members_under(paths)
    if role not in ROLE_LABELS or (not counts[role] and any(counts.values())):
        role = next((code for code, n in counts.items() if n), DutyRole.BRANCH_SECRETARY)
    specs = catalog.roles()
    tabs = [(code, specs[code]["label"], n) for code, n in counts.items()]
    if role == DutyRole.PARTY_MEMBER:
        return {**_member_overview(paths, year, q, today), "role": role, "spec": specs[role], "tabs": tabs,
                "total": len(found) + counts[role], "per_org": True}
    chosen = [h for h in found if h.role == role]
    if q:
        chosen = [h for h in chosen if q in h.name or q in h.org_name or q in h.org_code]
    items = [i for i in completion.items_for_year(year) if i.role == role]
    lines = completion.compute(year, chosen, items=items, today=today)
    summaries = {i.code: ItemSummary(i) for i in items}
    cells: dict[tuple[int, int], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for line in lines:
        s = summaries[line.item.code]
        _count(s, line.status)
        cells[(line.holder.member_id, line.holder.org_id)][line.item.code].append(
            {"period": line.period.label, "label": line.period.short_name, "status": line.status,
             "status_label": line.status_label, "badge": line.badge})
    rows = [{"holder": h, "cells": [cells[(h.member_id, h.org_id)].get(i.code, []) for i in items]} for h in chosen]
    return {"role": role, "spec": specs[role], "tabs": tabs, "items": items, "rows": rows,
            "summaries": [summaries[i.code] for i in items], "total": len(found)}


@dataclass
class OrgCount:
    """One branch's members on one item of the 党员 list, over the year's periods."""
    code: str = ""
    title: str = ""
    done: int = 0
    missed: int = 0
    open: int = 0
    not_applicable: int = 0

    @property
    def due(self) -> int:
        return self.done + self.missed


def _member_overview(paths: list[str], year: int, q: str, today: dt.date) -> dict:
    """The 党员 list under `paths`, counted per branch: how many member × period lines of each
    item are done, missed or open — counted by the database (completion.member_counts), or from
    the lines where an item needs more than presence (an item staff added). No row per member and
    no ranking of branches."""
    items = [i for i in completion.items_for_year(year) if i.role == DutyRole.PARTY_MEMBER]
    if not completion.counted_in_database(items):
        return _member_overview_by_lines(paths, year, q, today)
    counts = completion.member_counts(year, paths, items, today)
    orgs = Organization.objects.filter(pk__in=list(counts)) if len(counts) <= completion.MAX_IDS \
        else Organization.objects.filter(_path_q(paths))
    info = {pk: (code, name, path) for pk, code, name, path in orgs.values_list("pk", "code", "name", "path")}
    summaries = {i.code: ItemSummary(i) for i in items}
    plans = {i.code: periods.overlapping(i.period, dt.date(year, 1, 1), dt.date(year, 12, 31)) for i in items}
    rows = []
    for branch, c in counts.items():
        code, name, path = info[branch]
        if q and q not in name and q not in code:
            continue
        cells = []
        for i in items:
            cell = OrgCount(i.code, i.title)
            eligible = c["leaders"] if i.leaders_only else c["members"]
            for p in plans[i.code]:
                done = c["done"].get((i.code, p.index), 0)
                cell.done += done
                if p.end < today:
                    cell.missed += eligible - done
                else:
                    cell.open += eligible - done
            s = summaries[i.code]
            s.done, s.missed, s.open = s.done + cell.done, s.missed + cell.missed, s.open + cell.open
            cells.append(cell)
        rows.append({"org_id": branch, "org_code": code, "org_name": name, "org_path": path,
                     "members": c["members"], "cells": cells})
    rows.sort(key=lambda r: r["org_path"])
    return {"items": items, "rows": rows, "summaries": [summaries[i.code] for i in items]}


def _path_q(paths: list[str]) -> Q:
    q = Q()
    for p in paths:
        q |= Q(path__startswith=p)
    return q


def _member_overview_by_lines(paths: list[str], year: int, q: str, today: dt.date) -> dict:
    """The same counts from the lines of every member (`compute`): for items the database cannot
    count alone."""
    chosen = completion.member_holders(roots=paths)
    if q:
        chosen = [h for h in chosen if q in h.org_name or q in h.org_code]
    items = [i for i in completion.items_for_year(year) if i.role == DutyRole.PARTY_MEMBER]
    summaries = {i.code: ItemSummary(i) for i in items}
    per_org: dict[int, dict] = {}
    for h in chosen:
        row = per_org.get(h.org_id)
        if row is None:
            row = per_org[h.org_id] = {"org_id": h.org_id, "org_code": h.org_code, "org_name": h.org_name,
                                       "org_path": h.org_path, "members": set(),
                                       "counts": {i.code: OrgCount(i.code, i.title) for i in items}}
        row["members"].add(h.member_id)
    for line in completion.compute(year, chosen, items=items, today=today, paths=paths):
        _count(summaries[line.item.code], line.status)
        c = per_org[line.holder.org_id]["counts"][line.item.code]
        if line.status in completion.COMPLETE:
            c.done += 1
        elif line.status == completion.MISSED:
            c.missed += 1
        elif line.status == completion.NOT_APPLICABLE:
            c.not_applicable += 1
        else:
            c.open += 1
    rows = [{**r, "members": len(r["members"]), "cells": [r["counts"][i.code] for i in items]}
            for r in sorted(per_org.values(), key=lambda r: r["org_path"])]
    return {"items": items, "rows": rows, "summaries": [summaries[i.code] for i in items]}


# ---- the items per role ----------------------------------------------------------------------------

def catalog_blocks(year: int) -> list[dict]:
    """The items per role, in the order of the eight lists (总支 and 支部书记 share one list)."""
    items = completion.items_for_year(year)
    specs = catalog.roles()
    return [{"role": code, "spec": specs[code], "list": label, "list_no": n,
             "items": [i for i in items if i.role == code]}
            for n, (label, codes) in enumerate(DUTY_LISTS, 1) for code in codes]


def fact_choices(item: DutyItem | None) -> tuple[list[tuple[str, str]], str]:
    """What a manual item may share its mark with — the other manual items in force, one option
    per fact, named by their roles and titles — and the option the item's current value is."""
    own = item.code if item is not None else ""
    others = in_list_order(DutyItem.objects.filter(evidence=Evidence.MANUAL, to_year__isnull=True).exclude(code=own))
    groups: dict[str, list[DutyItem]] = {}
    for other in others:
        members = groups.setdefault(other.fact_code, [])
        if all(m.code != other.code for m in members):
            members.append(other)
    choices = [("", "不与其他条目共用，单独标记")]
    choices += [(fact, shared_fact_label(items)) for fact, items in groups.items()]
    current = item.fact_code if item is not None and item.fact_code in groups else ""
    return choices, current


def stored_fact(item: DutyItem | None, chosen: str) -> str:
    """The `fact` to store for the option chosen: an item that keeps to itself keeps its own stored
    fact (its marks are kept under it), and its own code is stored as empty."""
    if item is None:
        return chosen
    if chosen == item.code:
        return ""
    if not chosen and item.fact and not sharing_fact(item.fact, exclude_code=item.code):
        return item.fact
    return chosen


def item_versions(item: DutyItem) -> tuple[list[DutyItem], list[dict]]:
    versions = list(DutyItem.objects.filter(code=item.code).order_by("from_year"))
    entries = history.entries_for({"duties.dutyitem": [v.pk for v in versions]})
    labels = {("duties.dutyitem", v.pk): f"{v.from_year} 年起的版本" for v in versions}
    return versions, history.describe(entries, labels)


# ---- the units' administrative heads ---------------------------------------------------------------

def units_for_heads(q: str = ""):
    """The active units that have a 党组 or a 机关党委 (where a 行政负责人 has a list), by name."""
    from dangjian.orgs.models import Unit

    units = Unit.objects.filter(is_active=True, organization__status=Organization.Status.ACTIVE,
                                organization__kind__in=["leading_group", "organ_committee", "committee"])
    if q:
        units = units.filter(name__contains=q)
    return units.distinct().order_by("name")


def head_rows(units) -> list[dict]:
    """Per unit of a page: its 行政负责人 and the unit's leading cadres to choose from. Two queries."""
    from .models import AdministrativeHead

    units = list(units)
    ids = [u.pk for u in units]
    heads = {h.unit_id: h for h in AdministrativeHead.objects.filter(unit_id__in=ids).select_related("member")}
    leaders: dict[int, list[Member]] = defaultdict(list)
    for m in (Member.objects.filter(org__unit_id__in=ids, status=Member.Status.ACTIVE, is_leader=True)
              .select_related("org").order_by("-rank", "name", "pk")):
        leaders[m.org.unit_id].append(m)
    out = []
    for u in units:
        head = heads.get(u.pk)
        choices = leaders.get(u.pk, [])
        if head is not None and all(m.pk != head.member_id for m in choices):
            choices = [head.member, *choices]
        out.append({"unit": u, "head": head, "choices": choices})
    return out

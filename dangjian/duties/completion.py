"""The duty engine: who holds which role, and for every holder × item × period of a year,
whether it is done.

Who holds a role is read from the tree, never entered: secretary seats (党组, 机关党委/党委,
党总支, 党支部) and the unit's leading cadres (`is_leader` members whose organization belongs to
the unit of a 党组). Where a 党组 has no secretary seat — leading cadres are members of
branches, so the seat service cannot put them on the 党组 — the 党组书记 is the unit's leading
cadre whose 职务 names it ("党组书记、局长"); the other leading cadres are its 班子成员
(一岗双责: "其他班子成员").

Set-based: one computation runs a fixed handful of queries whatever the number of people —
the items, the 党组s, the secretary seats, the leading cadres, one query per kind of evidence
in use (lectures, hosts, talks, attendance, records of the role's org) and the manual marks —
then buckets the rows in Python. Status of a holder × item × period:
- `done`: the records show it (at least `min_count` records that count, linked as evidence);
- `marked`: a manual item marked done, with its note;
- `open`: not done yet and the period has not ended (or not begun);
- `missed`: not done and the period is over.
A holder who took their seat during the year answers only for the periods that end after that
day. Roles are read as they are now (as the compliance engine reads committees).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.utils import timezone

from dangjian.activities import compliance
from dangjian.activities.models import ActivityKind, Attendance
from dangjian.core import people, periods
from dangjian.members.models import Member
from dangjian.orgs.models import SEGMENT, CommitteeSeat, Organization, SeatRole

from . import catalog
from .models import (
    AdministrativeHead,
    DutyItem,
    DutyMark,
    DutyRole,
    Per,
    Relation,
    Where,
    org_subject,
    person_subject,
    unit_subject,
)

DONE, MARKED, OPEN, MISSED, NOT_APPLICABLE = "done", "marked", "open", "missed", "not_applicable"
STATUS_LABELS = {DONE: "已完成", MARKED: "已标记完成", OPEN: "待完成", MISSED: "未完成", NOT_APPLICABLE: "不适用"}
STATUS_BADGES = {DONE: "text-bg-success", MARKED: "text-bg-info", OPEN: "text-bg-light border",
                 MISSED: "text-bg-danger", NOT_APPLICABLE: "text-bg-secondary"}
COMPLETE = (DONE, MARKED)

SEAT_ROLES = {
    "leading_group": DutyRole.PARTY_GROUP_SECRETARY,
    "organ_committee": DutyRole.ORGAN_COMMITTEE_SECRETARY,
    "committee": DutyRole.ORGAN_COMMITTEE_SECRETARY,
    "general_branch": DutyRole.GENERAL_BRANCH_SECRETARY,
    "branch": DutyRole.BRANCH_SECRETARY,
}
# 纪检委员 seats: the 机关纪委书记/纪检委员 list (a 党组 has none).
DISCIPLINE_ORG_KINDS = ("organ_committee", "committee", "general_branch", "branch")
# The secretaries whose 党课 the compliance rule `party_lecture_by_secretary` asks for: their lecture
# items are judged by the same function (compliance.secretary_lecture).
SECRETARY_ROLES = (DutyRole.PARTY_GROUP_SECRETARY, DutyRole.ORGAN_COMMITTEE_SECRETARY,
                   DutyRole.GENERAL_BRANCH_SECRETARY, DutyRole.BRANCH_SECRETARY)
ROLE_ORDER = {code: i for i, code in enumerate(DutyRole.values)}
# Above this many ids an IN list is dropped and the rows are filtered in Python: the answer is
# the same, and no database meets its limit on bound parameters.
MAX_IDS = 2000


@dataclass(slots=True)
class Holder:
    member_id: int | None  # None: the organization holds the list itself (the 机关党委)
    name: str
    role: str
    org_id: int  # the role's org: the 党组, the 机关党委, the branch …
    org_code: str
    org_name: str
    org_path: str
    unit_id: int | None
    branch_path: str  # the person's own branch (their cell's branch), for dual organizational life
    since: dt.date | None  # held the seat since; None = as long as the tree shows it
    via: str  # "seat", "post", "leader", "head", "org" or "member": how the tree shows the role
    is_leader: bool = False

    @property
    def role_label(self) -> str:
        return catalog.roles()[self.role]["label"]


@dataclass(slots=True)
class Record:
    activity_id: int
    held_on: dt.date
    topic: str
    org_path: str


@dataclass(slots=True)
class Mark:
    pk: int
    note: str
    done_on: dt.date
    marked_by: str
    marked_at: dt.datetime
    item_code: str
    shared: bool  # marked once for the unit


@dataclass(slots=True)
class Line:
    holder: Holder
    item: DutyItem
    period: periods.Period
    status: str
    evidence: list[Record] = field(default_factory=list)
    mark: Mark | None = None
    reason: str = ""  # why the line does not apply (the same words as the compliance rule's)

    @property
    def required(self) -> int:
        return self.item.min_count

    @property
    def done(self) -> int:
        return 1 if self.mark is not None else len(self.evidence)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def badge(self) -> str:
        return STATUS_BADGES[self.status]

    def as_json(self) -> dict:
        return {
            "member_id": self.holder.member_id, "member_name": self.holder.name, "role": self.holder.role,
            "org_code": self.holder.org_code, "org_name": self.holder.org_name, "item": self.item.code,
            "title": self.item.title, "period": self.period.label, "required": self.required, "done": self.done,
            "status": self.status, "evidence": [r.activity_id for r in self.evidence],
            "note": self.mark.note if self.mark else self.reason,
        }


def _branch_path(path: str, kind: str) -> str:
    return path[:-SEGMENT] if kind == "cell" else path


def holders(*, roots: list[str] | None = None, member_ids=None, members: bool = False) -> list[Holder]:
    """Every role holder whose role org lies under one of `roots` (path prefixes; None = the
    whole tree), or only the people `member_ids` (with the 机关党委 whose secretary they are).
    `members`: every active member too, on the 党员 list (a province has a million: asked for
    only by the pages that count them or show one person). Seven queries at most."""
    member_ids = set(member_ids) if member_ids is not None else None

    def wanted(path: str, member_id: int | None) -> bool:
        if member_ids is not None and member_id not in member_ids:
            return False
        return roots is None or any(path.startswith(p) for p in roots)

    leading = {}  # unit id → the 党组 (first in tree order when a unit has several)
    for row in (Organization.objects.filter(kind="leading_group", status=Organization.Status.ACTIVE,
                                            unit__isnull=False)
                .order_by("path").values_list("pk", "code", "name", "path", "unit_id")):
        leading.setdefault(row[4], row)
    bodies = list(Organization.objects.filter(kind__in=["organ_committee", "committee"],
                                              status=Organization.Status.ACTIVE)
                  .order_by("path").values_list("pk", "code", "name", "path", "unit_id"))
    top_of_unit = {}  # unit id → its 机关党委 (the role org of a 行政负责人 where the unit has no 党组)
    for row in bodies:
        if row[4] is not None:
            top_of_unit.setdefault(row[4], row)

    seats = CommitteeSeat.objects.filter(
        Q(role=SeatRole.SECRETARY, org__kind__in=list(SEAT_ROLES))
        | Q(role=SeatRole.DISCIPLINE_OFFICER, org__kind__in=DISCIPLINE_ORG_KINDS),
        is_active=True, holder__isnull=False, holder__status=Member.Status.ACTIVE,
        org__status=Organization.Status.ACTIVE)
    # The 党组's seats always come, whatever the filter: they decide who of the unit's leading
    # cadres is the 党组书记 and who the 班子成员.
    if member_ids is not None:
        seats = seats.filter(Q(org__kind="leading_group") | Q(holder_id__in=list(member_ids)))
    elif roots is not None:
        q = Q(org__kind="leading_group")
        for p in roots:
            q |= Q(org__path__startswith=p)
        seats = seats.filter(q)
    out: list[Holder] = []
    seated_at: dict[int, set[int]] = defaultdict(set)  # 党组 id → its secretaries
    chaired: set[int] = set()  # the 机关党委 whose secretary is one of `member_ids`
    for (mid, name, own_path, own_kind, org_id, code, org_name, path, kind, unit_id, since, seat_role) in (
        seats.order_by("org__path", "id").values_list(
            "holder_id", "holder__name", "holder__org__path", "holder__org__kind", "org_id", "org__code",
            "org__name", "org__path", "org__kind", "org__unit_id", "held_since", "role")
    ):
        if seat_role == SeatRole.DISCIPLINE_OFFICER:
            role = DutyRole.DISCIPLINE_SECRETARY
        else:
            role = SEAT_ROLES[kind]
            if kind == "leading_group":
                seated_at[org_id].add(mid)
        if wanted(path, mid):
            out.append(Holder(mid, name, role, org_id, code, org_name, path, unit_id,
                              _branch_path(own_path, own_kind), since, "seat"))
            if role == DutyRole.ORGAN_COMMITTEE_SECRETARY:
                chaired.add(org_id)

    # The 机关党委 as a body: every one under the roots, or those a person asked about chairs.
    for pk, code, name, path, unit_id in bodies:
        if (pk in chaired) if member_ids is not None else wanted(path, None):
            out.append(Holder(None, name, DutyRole.ORGAN_COMMITTEE, pk, code, name, path, unit_id, path, None, "org"))

    units = [u for u, lg in leading.items() if roots is None or any(lg[3].startswith(p) for p in roots)]
    leaders = Member.objects.filter(status=Member.Status.ACTIVE, is_leader=True)
    if member_ids is not None:
        leaders = leaders.filter(pk__in=list(member_ids))
    if len(units) <= MAX_IDS:
        leaders = leaders.filter(org__unit_id__in=units)
    keyword = catalog.post_keyword()
    for mid, name, post, own_path, own_kind, unit_id in (
        leaders.order_by("org__path", "name", "pk").values_list("pk", "name", "post", "org__path", "org__kind",
                                                                  "org__unit_id")
    ):
        lg = leading.get(unit_id)
        if lg is None or not wanted(lg[3], mid):
            continue
        seated = seated_at.get(lg[0])
        if seated:
            if mid in seated:
                continue  # listed from the seat already
            role, via = DutyRole.LEADERSHIP_MEMBER, "leader"
        elif keyword and keyword in (post or ""):
            role, via = DutyRole.PARTY_GROUP_SECRETARY, "post"
        else:
            role, via = DutyRole.LEADERSHIP_MEMBER, "leader"
        out.append(Holder(mid, name, role, lg[0], lg[1], lg[2], lg[3], unit_id, _branch_path(own_path, own_kind),
                          None, via, True))

    # 行政负责人: named per unit (AdministrativeHead); the role org is the unit's 党组, or its 机关党委.
    heads = AdministrativeHead.objects.filter(member__status=Member.Status.ACTIVE)
    if member_ids is not None:
        heads = heads.filter(member_id__in=list(member_ids))
    for mid, name, own_path, own_kind, unit_id, since, leader in heads.order_by("unit_id").values_list(
            "member_id", "member__name", "member__org__path", "member__org__kind", "unit_id", "since",
            "member__is_leader"):
        org = leading.get(unit_id) or top_of_unit.get(unit_id)
        if org is None or not wanted(org[3], mid):
            continue
        out.append(Holder(mid, name, DutyRole.ADMINISTRATIVE_HEAD, org[0], org[1], org[2], org[3], unit_id,
                          _branch_path(own_path, own_kind), since, "head", leader))

    if members:
        out += member_holders(roots=roots, member_ids=member_ids)
    out.sort(key=lambda h: (ROLE_ORDER[h.role], h.org_path, h.name, h.member_id or 0))
    return out


def member_holders(*, roots: list[str] | None = None, member_ids=None) -> list[Holder]:
    """The 党员 list's holders: every active member under `roots` (or the members `member_ids`),
    their role org their branch (a cell's member: the cell's branch). One query."""
    qs = Member.objects.filter(status=Member.Status.ACTIVE)
    if member_ids is not None:
        qs = qs.filter(pk__in=sorted(member_ids))
    if roots is not None:
        q = Q()
        for p in roots:
            q |= Q(org__path__startswith=p)
        qs = qs.filter(q)
    out = []
    for (mid, name, leader, org_id, code, org_name, path, kind, unit_id, parent_id, parent_code, parent_name) in (
        qs.order_by().values_list("pk", "name", "is_leader", "org_id", "org__code", "org__name", "org__path",
                                  "org__kind", "org__unit_id", "org__parent_id", "org__parent__code",
                                  "org__parent__name").iterator(chunk_size=5000)
    ):
        if kind == "cell" and parent_id is not None:
            org_id, code, org_name, path = parent_id, parent_code, parent_name, path[:-SEGMENT]
        out.append(Holder(mid, name, DutyRole.PARTY_MEMBER, org_id, code, org_name, path, unit_id, path, None,
                          "member", leader))
    return out


def items_for_year(year: int) -> list[DutyItem]:
    """The version of each item in force in `year`, in list order."""
    chosen: dict[str, DutyItem] = {}
    for item in (DutyItem.objects.filter(from_year__lte=year).filter(Q(to_year__isnull=True) | Q(to_year__gte=year))
                 .order_by("from_year")):
        chosen[item.code] = item  # a later version wins
    return sorted(chosen.values(), key=lambda i: (ROLE_ORDER.get(i.role, 99), i.position, i.code))


def subject_of(item: DutyItem, holder: Holder) -> str:
    if item.per == Per.UNIT and holder.unit_id is not None:
        return unit_subject(holder.unit_id)
    if holder.member_id is None:
        return org_subject(holder.org_id)
    return person_subject(holder.member_id)


def _evidence_rows(pairs, everyone: bool, m0: int, m1: int,
                   paths: list[str] | None = None) -> dict[tuple[str, int], list[tuple]]:
    """(relation, member or org id) → [(kind, activity id, held on, topic, org path, status)] of
    the months m0–m1 (YYYYMM), one query per relation in use. For `everyone` (the whole tree)
    the records of the kinds are all wanted anyway and no id lists are sent — except for
    attendance, where the holders are a few of the many members listed."""

    def _id_filter(qs, lookup: str, ids: set[int], always: bool = False):
        if (everyone and not always) or len(ids) > MAX_IDS:
            return qs
        return qs.filter(**{f"{lookup}__in": sorted(ids)})

    kinds: dict[str, set[str]] = defaultdict(set)
    ids: dict[str, set[int]] = defaultdict(set)
    for h, item in pairs:
        if item.is_manual:
            continue
        rel = Relation.PRESENT if item.relation == Relation.ATTENDED else item.relation
        kinds[rel] |= set(item.kinds)
        ids[rel].add(h.org_id if rel == Relation.ORG else h.member_id)
    found: dict[tuple[str, int], list[tuple]] = defaultdict(list)
    base = ActivityKind.objects.filter(is_active=True, month__gte=m0, month__lte=m1)

    for rel, lookup in ((Relation.LECTURER, "activity__lecturer_id"), (Relation.HOST, "activity__host_id")):
        if rel in kinds:
            qs = _id_filter(base.filter(kind__in=sorted(kinds[rel]), **{f"{lookup}__isnull": False}), lookup, ids[rel])
            for who, kind, aid, held_on, topic, path in qs.order_by().values_list(
                    lookup, "kind", "activity_id", "held_on", "activity__topic", "org__path"):
                found[(rel, who)].append((kind, aid, held_on, topic, path, ""))
    if Relation.TALK_PARTY in kinds:
        qs = base.filter(kind__in=sorted(kinds[Relation.TALK_PARTY]))
        people = ids[Relation.TALK_PARTY]
        if not everyone and len(people) <= MAX_IDS:
            qs = qs.filter(Q(activity__talk_party_a_id__in=sorted(people))
                           | Q(activity__talk_party_b_id__in=sorted(people)))
        for a, b, kind, aid, held_on, topic, path in qs.order_by().values_list(
                "activity__talk_party_a_id", "activity__talk_party_b_id", "kind", "activity_id", "held_on",
                "activity__topic", "org__path"):
            for who in {a, b} - {None}:
                found[(Relation.TALK_PARTY, who)].append((kind, aid, held_on, topic, path, ""))
    if Relation.PRESENT in kinds:
        qs = Attendance.objects.filter(
            status__in=[Attendance.Status.PRESENT, Attendance.Status.OBSERVER], activity__status="active",
            activity__month__gte=m0, activity__month__lte=m1,
            activity__kinds__kind__in=sorted(kinds[Relation.PRESENT]))
        qs = _id_filter(qs, "member_id", ids[Relation.PRESENT], always=True)
        if paths is not None:
            under = Q()
            for p in paths:
                under |= Q(activity__org__path__startswith=p)
            qs = qs.filter(under)
        for who, status, kind, aid, held_on, topic, path in qs.order_by().values_list(
                "member_id", "status", "activity__kinds__kind", "activity_id", "activity__held_on",
                "activity__topic", "activity__org__path"):
            found[(Relation.PRESENT, who)].append((kind, aid, held_on, topic, path, status))
    if Relation.ORG in kinds:
        qs = _id_filter(base.filter(kind__in=sorted(kinds[Relation.ORG])), "org_id", ids[Relation.ORG])
        for who, kind, aid, held_on, topic, path in qs.order_by().values_list(
                "org_id", "kind", "activity_id", "held_on", "activity__topic", "org__path"):
            found[(Relation.ORG, who)].append((kind, aid, held_on, topic, path, ""))
    return found


def _marks(year: int, pairs, everyone: bool) -> dict[tuple[str, str, str], Mark]:
    facts, subjects = set(), set()
    for h, item in pairs:
        if item.is_manual:
            facts.add(item.fact_code)
            subjects.add(subject_of(item, h))
    if not facts:
        return {}
    qs = DutyMark.objects.filter(year=year, is_active=True, fact__in=sorted(facts))
    if not everyone and len(subjects) <= MAX_IDS:
        qs = qs.filter(subject__in=sorted(subjects))
    out = {}
    for pk, fact, subject, period, note, done_on, item_code, at, *who in qs.order_by().values_list(
            "pk", "fact", "subject", "period", "note", "done_on", "item_code", "marked_at",
            *people.name_fields("marked_by__")):
        by = people.name_from(*who) or people.NOBODY
        out[(fact, subject, period)] = Mark(pk, note, done_on, by, at, item_code, subject.startswith("u"))
    return out


def is_secretary_lecture(item: DutyItem, holder: Holder) -> bool:
    """A secretary's own 党课 (讲党课 as lecturer): the duty the compliance rule
    `party_lecture_by_secretary` asks of the same person."""
    return holder.role in SECRETARY_ROLES and item.relation == Relation.LECTURER and not item.is_manual


def _lecture_judgements(pairs, everyone: bool) -> dict[int, compliance.SecretaryLecture]:
    """Per role org of a secretary's lecture line, the compliance engine's judgement of who
    owes the 党课 there (compliance.secretary_lecture): one query, none when no line needs it."""
    orgs = {h.org_id for h, item in pairs if is_secretary_lecture(item, h)}
    if not orgs:
        return {}
    seats = compliance.secretary_seats(org_ids=None if everyone or len(orgs) > MAX_IDS else orgs)
    return {org: compliance.secretary_lecture(seats.get(org)) for org in orgs}


def compute(year: int, holders_: list[Holder], *, items: list[DutyItem] | None = None,
            today: dt.date | None = None, everyone: bool = False,
            ending: tuple[dt.date, dt.date] | None = None, paths: list[str] | None = None) -> list[Line]:
    """Lines for every holder × item in force × period of `year`. `everyone`: the holders are
    the whole tree's, so the evidence queries need no id lists. `ending` (first, last day):
    only the periods that end within it (an assessment month needs that month, and the quarter,
    half or year that ends with it), and only the records of those periods are read. `paths`:
    the holders' records all lie under these (the 党员 list of a subtree: attendance in their own
    branches), so only those are read."""
    today = today or timezone.localdate()
    items = items_for_year(year) if items is None else items
    year_start, year_end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    plan = {unit: [(p, p.end) for p in periods.overlapping(unit, year_start, year_end)
                   if ending is None or ending[0] <= p.end <= ending[1]] for unit in periods.UNITS}
    by_role: dict[str, list[DutyItem]] = defaultdict(list)
    for item in items:
        if plan[item.period]:
            by_role[item.role].append(item)
    pairs = [(h, item) for h in holders_ for item in by_role.get(h.role, ())
             if not item.leaders_only or h.is_leader]
    if not pairs:
        return []
    lecture = _lecture_judgements(pairs, everyone)
    months = [p.months for unit in {i.period for _, i in pairs} for p, _ in plan[unit]]
    found = _evidence_rows(pairs, everyone, min(m[0] for m in months), max(m[-1] for m in months), paths)
    marks = _marks(year, pairs, everyone)

    out: list[Line] = []
    for h, item in pairs:
        ps = [(p, end) for p, end in plan[item.period] if h.since is None or end >= h.since]
        if item.is_manual:
            subject = subject_of(item, h)
            for p, end in ps:
                mark = marks.get((item.fact_code, subject, p.label))
                status = MARKED if mark else (MISSED if end < today else OPEN)
                out.append(Line(h, item, p, status, [], mark))
            continue
        judged = lecture.get(h.org_id) if is_secretary_lecture(item, h) else None
        if judged is not None and not (judged.applies and judged.holder_id == h.member_id):
            reason = judged.reason or "本组织书记职位由他人担任，这一项不适用"
            out.extend(Line(h, item, p, NOT_APPLICABLE, reason=reason) for p, _ in ps)
            continue
        rel = Relation.PRESENT if item.relation == Relation.ATTENDED else item.relation
        who = h.org_id if rel == Relation.ORG else h.member_id
        wanted_kinds = set(item.kinds)
        statuses = {Attendance.Status.PRESENT, Attendance.Status.OBSERVER} if item.relation == Relation.ATTENDED \
            else {Attendance.Status.PRESENT}
        per_period: dict[int, dict[int, Record]] = defaultdict(dict)
        unit_months = {"month": 1, "quarter": 3, "half": 6, "year": 12}[item.period]
        for kind, aid, held_on, topic, path, status in found.get((rel, who), ()):
            if kind not in wanted_kinds:
                continue
            if rel == Relation.PRESENT and status not in statuses:
                continue
            if item.where == Where.ROLE_ORG and path != h.org_path:
                continue
            if item.where == Where.OWN_BRANCH and not path.startswith(h.branch_path):
                continue
            per_period[(held_on.month - 1) // unit_months][aid] = Record(aid, held_on, topic, path)
        for p, end in ps:
            records = sorted(per_period.get(p.index - 1, {}).values(), key=lambda r: (r.held_on, r.activity_id))
            if len(records) >= item.min_count:
                status = DONE
            else:
                status = MISSED if end < today else OPEN
            out.append(Line(h, item, p, status, records))
    return out


# ---- the 党员 list counted per branch -----------------------------------------------------------------

def counted_in_database(items: list[DutyItem]) -> bool:
    """Whether the 党员 items can be counted per branch by the database alone: each shown by the
    member's presence at a record of their own branch, once a period (as the seeded ones are)."""
    return all(not i.is_manual and i.where == Where.OWN_BRANCH and i.min_count == 1
               and i.relation in (Relation.PRESENT, Relation.ATTENDED) for i in items)


def _branch_of(prefix: str, field: str):
    """The member's branch: their org, or the branch of their cell."""
    return Case(When(**{f"{prefix}org__kind": "cell", f"{prefix}org__parent__isnull": False},
                     then=F(f"{prefix}org__parent__{field}")), default=F(f"{prefix}org__{field}"))


def _under(paths: list[str], lookup: str) -> Q:
    q = Q()
    for p in paths:
        q |= Q(**{f"{lookup}__startswith": p})
    return q


def member_counts(year: int, paths: list[str], items: list[DutyItem], today: dt.date) -> dict[int, dict]:
    """Per branch under `paths`: its active members and leading cadres, and per item × period of
    `year` how many of them did it, done or not yet. Grouped by the database — one query for the
    members, one per item — so a province's million members are a few thousand rows here, never a
    row per member. Only for items `counted_in_database`; the answer is the lines' (`compute` on
    `member_holders`) counted per branch."""
    out: dict[int, dict] = {}
    for branch, n, leaders in (Member.objects.filter(_under(paths, "org__path"), status=Member.Status.ACTIVE)
                               .annotate(branch=_branch_of("", "id")).values("branch")
                               .annotate(n=Count("pk"), leaders=Count("pk", filter=Q(is_leader=True)))
                               .values_list("branch", "n", "leaders").order_by()):
        out[branch] = {"members": n, "leaders": leaders, "done": defaultdict(int)}
    for item in items:
        plan = periods.overlapping(item.period, dt.date(year, 1, 1), dt.date(year, 12, 31))
        statuses = [Attendance.Status.PRESENT, Attendance.Status.OBSERVER] if item.relation == Relation.ATTENDED \
            else [Attendance.Status.PRESENT]
        qs = Attendance.objects.filter(
            _under(paths, "member__org__path"), status__in=statuses, activity__status="active",
            activity__month__gte=plan[0].months[0], activity__month__lte=plan[-1].months[-1],
            activity__kinds__kind__in=sorted(item.kinds), member__status=Member.Status.ACTIVE)
        if item.leaders_only:
            qs = qs.filter(member__is_leader=True)
        bucket = Case(*[When(activity__month__gte=p.months[0], activity__month__lte=p.months[-1], then=Value(p.index))
                        for p in plan], output_field=IntegerField())
        qs = (qs.annotate(branch_path=_branch_of("member__", "path"), branch=_branch_of("member__", "id"),
                          bucket=bucket)
              .filter(activity__org__path__startswith=F("branch_path")))
        for branch, index, n in (qs.values("branch", "bucket").annotate(n=Count("member_id", distinct=True))
                                 .values_list("branch", "bucket", "n").order_by()):
            if branch in out:
                out[branch]["done"][(item.code, index)] = n
    return out

"""Structure alerts: how the organizations are set up, against the organization rules of
defaults.yaml (机关基层组织工作条例 第五—九条; 支部工作条例; 任期意见).

Set-based: orgs, current terms, seats, member counts per org and the highest rank among each
branch's ordinary members are read in one query each, whatever the size of the tree.

Kinds of alert:
  term_expired       超期未换届 (since = the day the term ended)
  term_expiring      term ends within `reelection_reminder_months` (since = the day the reminder window opened)
  seat_vacant        a committee seat vacant longer than `secretary_vacancy_alert_months` (since = vacant since)
  no_committee       a branch with `branch_committee_min_full_members`+ full members and no committee
  branch_oversized   a branch with more than `branch_max_members` members
  branch_too_small   a branch with fewer than `branch_min_full_members` full members
  secretary_outranked a 书记 ranked below a committee member or an ordinary member of the branch
                      (副科长领导科长; leaders in dual organizational life are not compared)
  no_discipline_officer an organ committee (机关党委) without a filled 纪检委员 seat
"""
from __future__ import annotations

import bisect
import datetime as dt
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from dangjian.core import defaults
from dangjian.core.periods import months_before
from dangjian.core.ranks import Rank

from . import departments
from .models import SEGMENT, CommitteeSeat, Organization, SeatRole, Term, top_path

# What the lists offer to filter by: each kind, and the two that a person thinks of as one.
ALERT_GROUPS = {"term": ("term_expired", "term_expiring")}
ALERT_FILTERS = {"term": "换届（已届满和即将届满）"}
ALERT_KINDS = {
    "term_expired": "超期未换届",
    "term_expiring": "即将届满",
    "seat_vacant": "委员长期空缺",
    "no_committee": "应设未设支委会",
    "branch_oversized": "支部党员超过规定人数",
    "branch_too_small": "正式党员不足三人",
    "secretary_outranked": "书记职级低于支部成员",
    "no_discipline_officer": "机关党委未配纪检委员",
}


def kinds_of(choice: str) -> tuple[str, ...]:
    """The alert kinds a filter value stands for ("" for all)."""
    if not choice:
        return tuple(ALERT_KINDS)
    return ALERT_GROUPS.get(choice, (choice,))


@dataclass(frozen=True)
class Thresholds:
    branch_min_full_members: int = 3
    branch_committee_min_full_members: int = 7
    branch_max_members: int = 50
    reelection_reminder_months: int = 6
    secretary_vacancy_alert_months: int = 3
    organ_committee_requires_discipline_committee: bool = True

    @classmethod
    def from_defaults(cls, **overrides) -> Thresholds:
        """The `organization` section of defaults.yaml, then any overrides."""
        return defaults.settings_of(cls, "organization", **overrides)


@dataclass(frozen=True, slots=True)
class Alert:
    org_id: int
    org_code: str
    org_name: str
    org_path: str
    kind: str
    message: str
    since: dt.date | None = None

    @property
    def kind_label(self) -> str:
        return ALERT_KINDS[self.kind]

    def as_json(self) -> dict:
        return {"org_code": self.org_code, "kind": self.kind, "message": self.message,
                "since": self.since.isoformat() if self.since else None}


def _rank_label(value: int | None) -> str:
    return Rank(value).label if value in Rank.values else "未填职级"


def structure_alerts(*, org: Organization | None = None, orgs_qs=None, today: dt.date | None = None,
                     thresholds: Thresholds | None = None) -> list[Alert]:
    """Alerts for the active orgs of the subtree of `org` (or of the scoped `orgs_qs`, or the
    whole tree), ordered by org path then kind."""
    today = today or timezone.localdate()
    t = thresholds or Thresholds.from_defaults()
    qs = orgs_qs if orgs_qs is not None else Organization.objects.all()
    qs = qs.filter(status=Organization.Status.ACTIVE)
    if org is not None:
        qs = qs.filter(path__startswith=org.path)
    orgs = {o[0]: o for o in qs.order_by("path").values_list("pk", "code", "name", "kind", "path")}
    if not orgs:
        return []
    scope = qs.values("pk")
    out: list[Alert] = []

    def add(org_id, kind, message, since=None):
        _, code, name, _, path = orgs[org_id]
        out.append(Alert(org_id, code, name, path, kind, message, since))

    # Terms: overdue and due within the reminder window.
    horizon = months_before(today, -t.reelection_reminder_months)
    for org_id, ends_on in Term.objects.filter(is_current=True, org__in=scope, ends_on__lte=horizon) \
            .order_by().values_list("org_id", "ends_on"):
        if ends_on < today:
            add(org_id, "term_expired", f"本届任期已于 {ends_on:%Y年%m月%d日} 届满，超期未换届", ends_on)
        else:
            add(org_id, "term_expiring", f"本届任期将于 {ends_on:%Y年%m月%d日} 届满，请做好换届准备",
                months_before(ends_on, t.reelection_reminder_months))

    # Seats: long vacancies, the committee, the secretary and the discipline officer.
    seats = list(CommitteeSeat.objects.filter(is_active=True, org__in=scope).order_by("org_id", "role", "id")
                 .values_list("org_id", "role", "holder_id", "holder__name", "holder__rank", "vacant_since"))
    vacancy_cutoff = months_before(today, t.secretary_vacancy_alert_months)
    has_committee: set[int] = set()
    secretary: dict[int, tuple] = {}
    committee: dict[int, list[tuple]] = defaultdict(list)
    discipline_filled: set[int] = set()
    discipline_vacant_since: dict[int, dt.date] = {}
    for org_id, role, holder, holder_name, rank, vacant_since in seats:
        label = SeatRole(role).label
        if holder is None and vacant_since is not None and vacant_since < vacancy_cutoff:
            add(org_id, "seat_vacant", f"{label}自 {vacant_since:%Y年%m月%d日} 起空缺，已超过 "
                                       f"{t.secretary_vacancy_alert_months} 个月", vacant_since)
        if role not in (SeatRole.SECRETARY, SeatRole.DEPUTY_SECRETARY):
            has_committee.add(org_id)
        if holder is None:
            if role == SeatRole.DISCIPLINE_OFFICER and vacant_since:
                discipline_vacant_since[org_id] = min(vacant_since, discipline_vacant_since.get(org_id, vacant_since))
            continue
        if role == SeatRole.SECRETARY:
            secretary.setdefault(org_id, (holder, holder_name, rank))
        else:
            committee[org_id].append((holder, holder_name, rank))
        if role == SeatRole.DISCIPLINE_OFFICER:
            discipline_filled.add(org_id)

    branches = {pk for pk, o in orgs.items() if o[3] == "branch"}
    # Members are counted through the tree's own relation (`members`), one GROUP BY.
    active = Q(members__status="active")
    counts = {
        org_id: (total, full)
        for org_id, total, full in qs.filter(kind="branch").order_by().values("pk")
        .annotate(total=Count("members", filter=active),
                  full=Count("members", filter=active & Q(members__category="full")))
        .values_list("pk", "total", "full")
    }
    for org_id in sorted(branches, key=lambda i: orgs[i][4]):
        total, full = counts.get(org_id, (0, 0))
        if full >= t.branch_committee_min_full_members and org_id not in has_committee:
            add(org_id, "no_committee", f"有正式党员 {full} 名，应设立支部委员会而未设立")
        if total > t.branch_max_members:
            add(org_id, "branch_oversized", f"有党员 {total} 名，超过 {t.branch_max_members} 名，应考虑分设党支部")
        if full < t.branch_min_full_members:
            add(org_id, "branch_too_small", f"正式党员仅 {full} 名，不足 {t.branch_min_full_members} 名")

    # 副科长领导科长: the secretary against the committee and the branch's ordinary member of the
    # highest rank (the first by name among equals), picked per branch inside the database: a
    # province's branches share their top ranks, and fetching every member holding one of them
    # to pick in Python read 900,000 rows.
    member = Organization._meta.get_field("members").related_model
    first_ordinary = (member.objects.filter(org=OuterRef("pk"), status="active", is_leader=False, rank__isnull=False)
                      .order_by("-rank", "name", "pk").values("pk")[:1])
    holders = qs.filter(kind="branch").order_by().annotate(holder=Subquery(first_ordinary)).values("holder")
    top_holder = {
        org_id: (mid, name, rank) for org_id, mid, name, rank in
        member.objects.filter(pk__in=holders).values_list("org_id", "pk", "name", "rank")
        if org_id in secretary
    }
    for org_id in sorted(branches & set(secretary), key=lambda i: orgs[i][4]):
        sec_id, sec_name, sec_rank = secretary[org_id]
        sec_level = Rank.level(sec_rank)
        if sec_level is None:
            continue
        candidates = list(committee.get(org_id, []))
        if org_id in top_holder:
            candidates.append(top_holder[org_id])
        above = [c for c in candidates if c[2] is not None and Rank.level(c[2]) > sec_level]
        if above:
            holder_id, name, rank = max(above, key=lambda c: (c[2], c[1]))
            role = "支部委员" if any(c[0] == holder_id for c in committee.get(org_id, [])) else "支部党员"
            add(org_id, "secretary_outranked",
                f"书记 {sec_name}（{_rank_label(sec_rank)}）职级低于{role} {name}（{_rank_label(rank)}）")

    if t.organ_committee_requires_discipline_committee:
        for org_id in sorted((pk for pk, o in orgs.items() if o[3] == "organ_committee"), key=lambda i: orgs[i][4]):
            if org_id not in discipline_filled:
                since = discipline_vacant_since.get(org_id)
                add(org_id, "no_discipline_officer",
                    "机关党委未配备纪检委员（应设立机关纪委）" if since is None else
                    f"机关党委纪检委员自 {since:%Y年%m月%d日} 起空缺（应设立机关纪委）", since)

    order = {k: i for i, k in enumerate(ALERT_KINDS)}
    out.sort(key=lambda a: (a.org_path, order[a.kind], a.message))
    return out


# ---- the alerts of a scope, kept per department ----------------------------------------------
#
# The whole-tree computation reads every member of every branch (counts, ranks): linear in the
# members, about a second at a province's million. The pages that list a whole scope's alerts
# (the alerts page, the overview) read them per department from the cache instead
# (orgs.departments): a change in one department recomputes that department only. Terms and
# vacancies are judged against the day, so the day and the thresholds name the entries too.


def _per_department(today: dt.date):
    """The computation `departments.read` calls for the missing departments' alerts, and the
    stamp that names its entries."""
    t = Thresholds.from_defaults()

    def compute(where) -> dict[str, list[Alert]]:
        computed: dict[str, list[Alert]] = defaultdict(list)
        for a in structure_alerts(orgs_qs=Organization.objects.filter(where), today=today, thresholds=t):
            computed[top_path(a.org_path)].append(a)
        return computed

    return compute, f"{today.isoformat()}:{zlib.crc32(repr(t).encode()):x}"


def scope_alerts(prefixes: list[str], today: dt.date | None = None) -> list[Alert]:
    """The alerts of the active orgs in the subtrees `prefixes`, as `structure_alerts` gives
    them (ordered by org path then kind), read per department from the cache and computed only
    for the departments missing there: a fixed number of queries whatever the tree."""
    today = today or timezone.localdate()
    compute, stamp = _per_department(today)
    found = departments.read("alerts", prefixes, compute, stamp, default=[])
    out = [a for alerts in found.values() for a in alerts if any(a.org_path.startswith(x) for x in prefixes)]
    order = {k: i for i, k in enumerate(ALERT_KINDS)}
    out.sort(key=lambda a: (a.org_path, order[a.kind], a.message))
    return out


def _deep(prefixes: list[str], only: str | None) -> bool:
    """Whether the subtrees ask for less than whole departments: a department's entry holds its
    whole subtree, so one org's own alerts are kept apart only for a root (its entry is its own
    row)."""
    return any(len(p) > 2 * SEGMENT for p in prefixes) or (only is not None and len(only) > SEGMENT)


def _department_counts(prefixes: list[str], today: dt.date, only: str | None) -> dict[str, dict[str, int]]:
    """{department: {kind: alerts}} of the subtrees `prefixes` (of the root `only` alone, when
    given), kept in the cache beside the alerts."""
    alerts_of, stamp = _per_department(today)

    def compute(where) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for part, alerts in alerts_of(where).items():
            kinds = out.setdefault(part, {})
            for a in alerts:
                kinds[a.kind] = kinds.get(a.kind, 0) + 1
        return out

    found = departments.read("alert-counts", prefixes, compute, stamp, default={})
    return {part: kinds for part, kinds in found.items() if only is None or part == only}


def scope_alert_counts(prefixes: list[str], today: dt.date | None = None, *, only: str | None = None) -> dict[str, int]:
    """{kind: alerts} of the subtrees `prefixes` (of the org at path `only` alone, when given),
    what `scope_alerts` would count, read from a count per department and kind kept in the
    cache beside the alerts: the overview shows the counts on every view, and at a province's
    size reading back every department's alerts to count them took a third of a second. A
    subtree deeper than a department, or one org below a root, is counted from its
    department's alerts."""
    today = today or timezone.localdate()
    counts = {k: 0 for k in ALERT_KINDS}
    if _deep(prefixes, only):
        for a in scope_alerts(prefixes, today):
            if only is None or a.org_path == only:
                counts[a.kind] += 1
        return counts
    for kinds in _department_counts(prefixes, today, only).values():
        for kind, n in kinds.items():
            counts[kind] += n
    return counts


class ScopeAlertList(Sequence):
    """The alerts `scope_alerts` lists for whole departments, of the kinds `kinds`, read a page
    at a time: its length is summed from the per-department counts, and a slice reads the
    alerts of the departments it spans only. At a province's size the overview's alert tab
    read back and sorted every department's alerts to show twenty.

    The order is `scope_alerts`': org path, then kind, then message. Paths are made of
    fixed-width segments, so every path in a department sorts between the department's own and
    the next department's: the departments in path order, each in its own order, are that
    order."""

    # Departments read at once when the whole list is walked (an export).
    BATCH = 200

    def __init__(self, prefixes: list[str], today: dt.date, kinds, only: str | None = None):
        self.today = today
        self.kinds = frozenset(kinds)
        counted = _department_counts(prefixes, today, only)
        self.parts: list[str] = []
        self.ends: list[int] = []  # the running total at the end of each department
        total = 0
        for part in sorted(counted):
            n = sum(counted[part].get(k, 0) for k in self.kinds)
            if n:
                total += n
                self.parts.append(part)
                self.ends.append(total)

    def __len__(self) -> int:
        return self.ends[-1] if self.ends else 0

    def _alerts_of(self, parts: list[str]) -> list[Alert]:
        compute, stamp = _per_department(self.today)
        found = departments.read_parts("alerts", parts, compute, stamp, default=[])
        return [a for part in parts for a in found[part] if a.kind in self.kinds]

    def __getitem__(self, index):
        if not isinstance(index, slice):
            n = len(self)
            i = index + n if index < 0 else index
            if not 0 <= i < n:
                raise IndexError(index)
            return self[i:i + 1][0]
        start, stop, step = index.indices(len(self))
        if step != 1:
            return list(self)[index]
        if start >= stop:
            return []
        first = bisect.bisect_right(self.ends, start)
        last = bisect.bisect_left(self.ends, stop)
        before = self.ends[first - 1] if first else 0
        return self._alerts_of(self.parts[first:last + 1])[start - before:stop - before]

    def __iter__(self):
        for i in range(0, len(self.parts), self.BATCH):
            yield from self._alerts_of(self.parts[i:i + self.BATCH])


def scope_alert_list(prefixes: list[str], today: dt.date | None = None, *, kinds=tuple(ALERT_KINDS),
                     only: str | None = None) -> Sequence[Alert]:
    """The alerts of the subtrees `prefixes` (of the org at path `only` alone, when given), of the
    kinds `kinds`, in `scope_alerts`' order: read a page at a time (ScopeAlertList) for whole
    departments, as a list for a subtree deeper than one."""
    today = today or timezone.localdate()
    if _deep(prefixes, only):
        wanted = set(kinds)
        return [a for a in scope_alerts(prefixes, today) if a.kind in wanted and (only is None or a.org_path == only)]
    return ScopeAlertList(prefixes, today, kinds, only)

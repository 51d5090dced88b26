"""The deterministic demo city (示例市).

Drawn and stored one department at a time, so a province (a million members) is built in
the memory of one department:
- `stream_city(members, seed, today).departments()` draws the city department by department,
  each from its own `random.Random` seeded from `seed`: the same arguments always give the same
  city. Wall-clock time enters only through `today`. `plan_city` gathers the whole plan in
  memory, so the shape of a city can be tested without a database.
- `write_city(planner)` stores each department as it is drawn (COPY on PostgreSQL, multi-row
  INSERTs elsewhere: `core.bulk`), with its history entries and its year of organizational
  life, then builds compliance, assessment, ratings, reviews and duties on the whole city,
  inside one transaction.

The city carries the problems the platform exists to show: branches over 50 members,
branches with fewer than 3 full members, vacant seats (some vacant over 3 months),
terms expiring or overdue, secretaries outranked by their own committee members
(副科长领导科长), organ committees without a discipline officer.
"""
from __future__ import annotations

import collections
import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from dangjian.accounts.models import Role, RoleAssignment, User
from dangjian.core import audit, bulk, crypto, defaults, idcard, locks, people
from dangjian.core.models import AuditEntry
from dangjian.core.text import pinyin_full, pinyin_initials
from dangjian.members.models import Member, Membership
from dangjian.orgs.models import CommitteeSeat, Organization, OrgKind, Term, Unit, search_names, segment

from . import names as N

DEMO_PASSWORD = "Demo@2026jg"  # meets the password policy (settings.AUTH_PASSWORD_VALIDATORS)
WC_CODE = "SZJGGW"
WC_NAME = "示例市直机关工委"
AUDIT_NOTE = "示例数据"

MIN_MEMBERS = 100
MAX_MEMBERS = 2_000_000
ID_SHARES = 80  # more than the departments a city can have (see _Planner._id_number)
MEMBERS_PER_DEPARTMENT = 167  # ≈ 60 departments for the default 10,000 members
BRANCH_MAX = 50  # above this a branch should be split (机关基层组织工作条例)
COMMITTEE_MIN_FULL = 7  # from 7 full members a branch elects a committee
TERM_YEARS = dict(defaults.section("organization")["term_years"])  # 机关党委 5 years, branches 3 (regulation)


@dataclass
class SeatPlan:
    role: str
    holder: int | None  # member index
    held_since: dt.date | None = None
    vacant_since: dt.date | None = None


@dataclass
class OrgPlan:
    index: int
    code: str
    name: str
    kind: str
    parent: int | None
    unit: str | None
    established_on: dt.date
    is_joint: bool = False
    term: tuple[dt.date, dt.date] | None = None
    seats: list[SeatPlan] = field(default_factory=list)
    members: list[int] = field(default_factory=list)  # member indexes (branches only)


@dataclass(slots=True)
class MemberPlan:
    index: int
    name: str
    surname_len: int
    gender: str
    ethnicity: str
    birth_date: dt.date
    id_number: str
    education: str
    phone: str
    org: int
    category: str
    joined_on: dt.date
    confirmed_on: dt.date | None
    workplace: str
    post: str
    rank: int
    is_leader: bool = False
    is_mobile: bool = False
    is_exempt: bool = False
    is_party_staff: bool = False
    # (org index, started_on, ended_on, reason); the last row is the open one.
    memberships: list = field(default_factory=list)


@dataclass
class AccountPlan:
    username: str
    role: str
    orgs: list[int]
    member: int | None = None
    last_name: str = ""  # 姓 and 名 of a staff account with no member record, so pages name a person
    first_name: str = ""


@dataclass
class CityPlan:
    seed: int
    today: dt.date
    units: list[str]
    orgs: list[OrgPlan]
    members: list[MemberPlan]
    accounts: list[AccountPlan]

    def by_kind(self, kind: str) -> list[OrgPlan]:
        return [o for o in self.orgs if o.kind == kind]


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def age_on(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def rank_level(rank: int) -> int:
    return rank // 10


def department_code(name: str) -> str:
    """市财政局 → CZJ: pinyin initials without the leading 市."""
    core = name[1:] if name.startswith("市") else name
    return pinyin_initials(core).upper()[:16]


def org_prefix(dept: str) -> str:
    """The name stem of a department's organ organizations: 市财政局机关 (…党委, …第一党支部)."""
    return dept if dept.endswith("机关") else dept + "机关"


def head_titles(dept: str) -> tuple[str, str]:
    for suffix, head, deputy in N.HEAD_TITLES:
        if dept.endswith(suffix):
            return head, deputy
    return "主任", "副主任"


class _Span(list):
    """One department's orgs or members, addressed by their city-wide index: the planner keeps
    only the department it is drawing."""

    def __init__(self, base: int = 0):
        super().__init__()
        self.base = base

    def __getitem__(self, i):
        return list.__getitem__(self, i - self.base)


@dataclass
class DepartmentPlan:
    """One department with its whole grassroots chain, or the tiny units sharing a 联合党支部:
    the unit of planning and writing, so memory follows a department, not the city."""
    units: list[str]
    orgs: list[OrgPlan]
    members: list[MemberPlan]


class _Planner:
    """Draws the city one department at a time.

    The city's outline (which departments, their sizes, which carry oversized or thin branches)
    comes from `random.Random(seed)`; each department then draws from its own generator, seeded
    from the city's seed and its position, so a department is the same whatever the others hold.
    Faults drawn as a share of the whole city (expired terms, vacant seats …) are drawn at the
    same share in each department, and a fault the city must show at least once is forced in
    the first department able to carry it."""

    def __init__(self, members: int, seed: int, today: dt.date):
        self.city_rng = random.Random(seed)
        self.rng = self.city_rng
        self.n = members
        self.seed = seed
        self.today = today
        self.next_org = 0
        self.next_member = 0
        self.orgs: _Span = _Span()
        self.members: _Span = _Span()
        self.codes: set[str] = set()
        self.dept_codes: set[str] = set()
        self.used_ids: set[str] = set()
        self.names: set[str] = set()  # distinct names: bounded by the name pools, not by the city
        self.shown: set[str] = set()  # faults the city already carries
        self._surnames = [s for s, _ in N.SURNAMES]
        self._surname_cum = list(itertools.accumulate(w for _, w in N.SURNAMES))
        self._eth = [e for e, _ in N.ETHNICITIES]
        self._eth_cum = list(itertools.accumulate(w for _, w in N.ETHNICITIES))
        self._dept_orgs: dict[str, dict] = {}
        self.account_members: dict[str, int] = {}
        self.account_scopes: dict[str, list[int]] = {}

    # ---- organizations -------------------------------------------------------------
    def _org(self, code, name, kind, parent, unit, established_on, is_joint=False) -> OrgPlan:
        assert code not in self.codes, code
        self.codes.add(code)
        org = OrgPlan(self.next_org, code, name, kind, parent, unit, established_on, is_joint)
        self.next_org += 1
        self.orgs.append(org)
        return org

    def _established(self, min_years: int, max_years: int) -> dt.date:
        return dt.date(self.today.year - self.rng.randint(min_years, max_years), self.rng.randint(1, 12), 1)

    def _unique_code(self, base: str) -> str:
        """Department codes are prefixes of their orgs' codes, so they are kept apart."""
        code, n = base, 1
        while code in self.dept_codes:
            n += 1
            code = f"{base}{n}"
        self.dept_codes.add(code)
        return code

    def _count(self, n: int, rate: float, fault: str | None = None, at_least: int = 1) -> int:
        """How many of n things carry a fault of the given rate: n × rate, its fraction drawn,
        so departments of any size add up to the city's rate; at least `at_least` while the city
        does not show `fault` yet."""
        whole = n * rate
        k = int(whole) + (self.rng.random() < whole - int(whole))
        if fault is not None and fault not in self.shown:
            k = max(k, min(n, at_least))
        return min(n, k)

    def _department_sizes(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        rng = self.rng
        n_depts = min(len(N.DEPARTMENTS) + len(N.TINY_UNITS), max(6, round(self.n / MEMBERS_PER_DEPARTMENT)))
        n_tiny = min(len(N.TINY_UNITS), max(2, round(n_depts * 0.1)))
        n_regular = min(len(N.DEPARTMENTS), n_depts - n_tiny)
        chosen = {0, *rng.sample(range(1, len(N.DEPARTMENTS)), n_regular - 1)}
        regular = [N.DEPARTMENTS[i] for i in sorted(chosen)]
        tiny_names = [N.TINY_UNITS[i] for i in sorted(rng.sample(range(len(N.TINY_UNITS)), n_tiny))]
        tiny = [(name, rng.randint(2, 6)) for name in tiny_names]
        rest = self.n - sum(s for _, s in tiny)
        weights = [w * rng.lognormvariate(0, 0.35) for _, w in regular]
        total = sum(weights)
        sizes = [max(8, int(rest * w / total)) for w in weights]
        biggest = max(range(len(sizes)), key=lambda i: sizes[i])
        sizes[biggest] += rest - sum(sizes)
        return [(name, s) for (name, _), s in zip(regular, sizes)], tiny

    def _split(self, size: int, leaders: int, oversized: bool, thin: bool) -> list[tuple[str, int]]:
        """Branch sizes of one department: (flag, size); the first "normal" one holds the leaders."""
        rng = self.rng
        special: list[tuple[str, int]] = []
        remaining = size
        if oversized:
            o = rng.randint(BRANCH_MAX + 1, BRANCH_MAX + 8)
            special.append(("over", o))
            remaining -= o
        if thin:
            t = rng.randint(2, 4)
            special.append(("thin", t))
            remaining -= t
        normal: list[int] = []
        while remaining > 0:
            s = max(5, min(45, round(rng.lognormvariate(math.log(18), 0.45))))
            if remaining - s < 5:
                s = remaining
                if s > 45:
                    normal.append(s // 2)
                    remaining -= s // 2
                    s -= s // 2
            normal.append(s)
            remaining -= s
        need = leaders + 10  # the leaders plus enough staff for a committee without them
        if normal[0] < need:
            j = max(range(len(normal)), key=lambda i: normal[i])
            normal[0], normal[j] = normal[j], normal[0]
        return [("normal", s) for s in normal[:1]] + special + [("normal", s) for s in normal[1:]]

    def _outline(self) -> list[tuple]:
        """The city's departments in the order they are drawn: ("regular", name, size, oversized
        branches, thin) for each department, then ("joint", [(unit, size), …]) for each group of
        tiny units sharing a 联合党支部. Draws the 工委 too."""
        rng = self.rng
        self.wc = self._org(WC_CODE, WC_NAME, "working_committee", None, None, dt.date(self.today.year - 35, 7, 1))
        regular, tiny = self._department_sizes()
        big = [name for name, s in regular if s >= 80]
        n_over = max(1, round(self.n / 2500)) if self.n >= 1000 and big else 0
        # More oversized branches than departments: a department then carries several.
        over: dict[str, int] = {}
        for _ in range(n_over // max(1, len(big))):
            for name in big:
                over[name] = over.get(name, 0) + 1
        for name in rng.sample(big, min(n_over % max(1, len(big)), len(big))):
            over[name] = over.get(name, 0) + 1
        mid = [name for name, s in regular if s >= 50]
        n_thin = max(1, round(self.n / 3000)) if mid else 0
        thin: dict[str, int] = {}
        for _ in range(n_thin // max(1, len(mid))):
            for name in mid:
                thin[name] = thin.get(name, 0) + 1
        for name in rng.sample(mid, min(n_thin % max(1, len(mid)), len(mid))):
            thin[name] = thin.get(name, 0) + 1
        self.unit_names = [name for name, _ in regular] + [name for name, _ in tiny]
        for name, size in regular + tiny:
            self._dept_orgs[name] = {"code": self._unique_code(department_code(name)), "size": size}
        out: list[tuple] = [("regular", name, size, over.get(name, 0), thin.get(name, 0)) for name, size in regular]
        i = 0
        while i < len(tiny):
            k = min(len(tiny) - i, rng.randint(2, 4))
            if len(tiny) - (i + k) == 1:
                k += 1
            out.append(("joint", tiny[i:i + k]))
            i += k
        return out

    def _leading_group(self, name: str) -> OrgPlan:
        """Each department's 党组: a sibling of its grassroots chain under the 工委."""
        code = self._dept_orgs[name]["code"]
        return self._org(f"{code}-DZ", f"{name}党组", "leading_group", self.wc.index, name, self._established(10, 40))

    def _plan_regular(self, name: str, size: int, n_over: int, n_thin: int):
        rng = self.rng
        self._leading_group(name)
        info = self._dept_orgs[name]
        code, prefix = info["code"], org_prefix(name)
        leaders = max(1, min(10, round(size * 0.06)))
        info["leaders"] = leaders
        wc = self.wc
        if size >= 100:
            top = self._org(f"{code}-JGDW", f"{prefix}党委", "organ_committee", wc.index, name,
                            self._established(10, 40))
        elif size >= 50:
            top = self._org(f"{code}-DZZ", f"{prefix}党总支", "general_branch", wc.index, name,
                            self._established(8, 30))
        else:
            top = None
        info["top"] = top.index if top else None
        if top is None:
            parts = [("normal", size)] if size <= 45 else [("normal", size // 2), ("normal", size - size // 2)]
        else:
            parts = self._split(size, leaders, n_over > 0, n_thin > 0)
            # Further oversized or thin branches of a department that carries several.
            extra = [("over", rng.randint(BRANCH_MAX + 1, BRANCH_MAX + 8)) for _ in range(n_over - 1)] + \
                    [("thin", rng.randint(2, 4)) for _ in range(n_thin - 1)]
            for flag, s in extra:
                j = max(range(1, len(parts)), key=lambda i: parts[i][1] if parts[i][0] == "normal" else -1,
                        default=None)
                if j is None or parts[j][0] != "normal" or parts[j][1] < s + 5:
                    break
                parts[j] = ("normal", parts[j][1] - s)
                parts.append((flag, s))
        parents = [top.index if top else wc.index] * len(parts)
        if top is not None and top.kind == "organ_committee" and size >= 300:
            # Very large departments group some branches under 党总支 inside the 机关党委.
            n_gb = 1 if size < 600 else 2 if size < 3000 else max(2, size // 1500)
            start = 1
            for g in range(1, n_gb + 1):
                count = rng.randint(2, 4)
                if start + count > len(parts):
                    break
                gb = self._org(f"{code}-Z{g}", f"{prefix}第{N.chinese_number(g)}党总支", "general_branch",
                               top.index, name, self._established(6, 25))
                for i in range(start, start + count):
                    parents[i] = gb.index
                start += count
        divisions = list(N.DIVISIONS.get(name, N.COMMON_DIVISIONS))
        rng.shuffle(divisions)
        generic = itertools.count(2)
        info["branches"] = []
        slots_of: list[tuple[OrgPlan, list]] = []
        for i, ((flag, s), parent) in enumerate(zip(parts, parents)):
            if len(parts) == 1:
                bname = f"{prefix}党支部"
            elif i == 0:
                bname = f"{prefix}第一党支部"
            elif divisions and rng.random() < 0.75:
                bname = f"{name}{divisions.pop()}党支部"
            else:
                bname = f"{prefix}第{N.chinese_number(next(generic))}党支部"
            branch = self._org(f"{code}-{i + 1:02d}", bname, "branch", parent, name, self._established(6, 30))
            info["branches"].append(branch.index)
            slots_of.append((branch, [(name, s, leaders if i == 0 else 0, flag)]))
            if s >= 30:
                for c in range(1, (2 if s < 45 else 3) + 1):
                    self._org(f"{branch.code}-{c}", f"{bname}第{N.chinese_number(c)}党小组", "cell",
                              branch.index, name, branch.established_on)
        return slots_of

    def _plan_joint(self, group: list[tuple[str, int]], joint_no: int):
        """Tiny units share a 联合党支部 of 2–4 units, directly under the 工委."""
        for n_, _ in group:
            self._leading_group(n_)
        unit_names = [n for n, _ in group]
        if len(unit_names) <= 3:
            jname = "、".join(unit_names) + "联合党支部"
        else:
            jname = f"{unit_names[0]}等{len(unit_names)}家单位联合党支部"
        branch = self._org(f"LH-{joint_no:02d}", jname, "branch", self.wc.index, unit_names[0],
                           self._established(6, 15), is_joint=True)
        for n_, _ in group:
            self._dept_orgs[n_]["top"] = None
            self._dept_orgs[n_]["branches"] = [branch.index]
            self._dept_orgs[n_]["leaders"] = 1
        return [(branch, [(n_, s, 1, "normal") for n_, s in group])]

    # ---- members -------------------------------------------------------------------
    def _surname(self, ethnicity: str) -> str:
        special = N.ETHNIC_SURNAMES.get(ethnicity)
        if special and self.rng.random() < 0.7:
            return self.rng.choice(special)
        return self.rng.choices(self._surnames, cum_weights=self._surname_cum)[0]

    def _given(self, gender: str, born: dt.date) -> str:
        pool = N.GIVEN_MALE if gender == "male" else N.GIVEN_FEMALE
        single = 0.35 if born.year < 1980 else 0.22
        if self.rng.random() < single:
            return self.rng.choice(pool)
        return self.rng.choice(pool) + self.rng.choice(pool)

    def _id_number(self, born: dt.date, gender: str) -> str:
        """Unique across the city without remembering it: the sequence number's hundreds
        (顺序码, 0–499 before the gender digit) are split between departments by their position,
        so only the department's own numbers need checking."""
        rng = self.rng
        share = self.dept_no % ID_SHARES
        while True:
            region = rng.choice(N.HOME_REGIONS) if rng.random() < 0.85 else rng.choice(N.OTHER_REGIONS)
            seq = (rng.randrange(0, 500 // ID_SHARES) * ID_SHARES + share) * 2 + (1 if gender == "male" else 0)
            number = idcard.make(region, born, seq)
            if number[:17] not in self.used_ids:
                self.used_ids.add(number[:17])
                return number

    def _education(self, age: int) -> str:
        if age < 35:
            table = (("doctorate", 4), ("master", 40), ("bachelor", 52), ("college", 4))
        elif age < 50:
            table = (("doctorate", 3), ("master", 28), ("bachelor", 58), ("college", 9), ("secondary", 2))
        else:
            table = (("doctorate", 1), ("master", 12), ("bachelor", 55), ("college", 22), ("secondary", 6),
                     ("high_school", 3), ("middle_school", 1))
        return self.rng.choices([e for e, _ in table], weights=[w for _, w in table])[0]

    def _staff_post(self, age: int) -> tuple[str, int]:
        posts, weights = [], []
        for post, rank, min_age, w in N.STAFF_POSTS:
            if age < min_age:
                continue
            if age > 45 and rank < 40:
                w *= 0.3
            posts.append((post, rank))
            weights.append(w)
        return self.rng.choices(posts, weights=weights)[0]

    def _member(self, org: OrgPlan, unit: str, leader_post: tuple[str, int] | None, probationary: bool | None):
        rng, today = self.rng, self.today
        if leader_post:
            age = round(rng.triangular(45, 59, 53))
        else:
            age = round(rng.triangular(24, 63, 42))
        age = max(24, min(66, age))
        born = dt.date(today.year - age, 1, 1) + dt.timedelta(days=rng.randint(0, 364))
        if age_on(born, today) < 24:
            born = add_years(born, -1)
        age = age_on(born, today)
        gender = "male" if rng.random() < (0.75 if leader_post else 0.58) else "female"
        ethnicity = rng.choices(self._eth, cum_weights=self._eth_cum)[0]
        surname = self._surname(ethnicity)
        name = surname + self._given(gender, born)
        self.names.add(name)
        if probationary is None:
            probationary = not leader_post and age <= 40 and rng.random() < 0.08
        if probationary:
            joined = today - dt.timedelta(days=rng.randint(15, 360))
            confirmed = None
        else:
            join_age = min(age - 2, round(rng.triangular(18, 42, 21)))
            joined = add_years(born, join_age) + dt.timedelta(days=rng.randint(0, 300))
            joined = min(joined, today - dt.timedelta(days=400))
            if age_on(born, joined) < 18:
                joined = add_years(born, 18) + dt.timedelta(days=30)
            confirmed = joined + dt.timedelta(days=365 + rng.randint(-3, 10))
        post, rank = leader_post or self._staff_post(age)
        m = MemberPlan(
            index=self.next_member,
            name=name,
            surname_len=len(surname),
            gender=gender,
            ethnicity=ethnicity,
            birth_date=born,
            id_number=self._id_number(born, gender),
            education=self._education(age),
            phone=rng.choice(N.PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}",
            org=org.index,
            category="probationary" if probationary else "full",
            joined_on=joined,
            confirmed_on=confirmed,
            workplace=unit,
            post=post,
            rank=rank,
            is_leader=bool(leader_post),
            is_mobile=rng.random() < 0.01,
            is_exempt=age >= 58 and rng.random() < 0.33,
            is_party_staff=rng.random() < 0.02,
        )
        self.next_member += 1
        self.members.append(m)
        org.members.append(m.index)
        return m

    def _plan_members(self, branch_slots):
        rng = self.rng
        for branch, slots in branch_slots:
            for unit, size, leaders, flag in slots:
                head, deputy = head_titles(unit)
                tiny = unit in N.TINY_UNITS
                leader_posts = [(head, 90 if tiny else 120)] + [
                    ((deputy, 110), ("党组成员", 110), ("二级巡视员", 111))[min(2, max(0, i - 3))]
                    for i in range(1, leaders)
                ]
                for k in range(size):
                    probationary = None
                    if flag == "thin":
                        probationary = k >= 2  # only two full members: below the minimum of three
                    self._member(branch, unit, leader_posts[k] if k < leaders else None, probationary)
        # Membership history: one open row each; about 5% came from another branch of their
        # department (a single-branch department has none to come from).
        branches = [o for o in self.orgs if o.kind == "branch"]
        last = self.today - dt.timedelta(days=30)
        for m in self.members:
            org = self.orgs[m.org]
            start = max(m.joined_on, org.established_on)
            if rng.random() < 0.05 and len(branches) > 1:
                prev = rng.choice(branches)
                while prev.index == org.index:
                    prev = rng.choice(branches)
                prev_start = max(m.joined_on, prev.established_on)
                low = max(prev_start + dt.timedelta(days=60), org.established_on + dt.timedelta(days=1))
                if low < last:
                    moved = low + dt.timedelta(days=rng.randint(0, (last - low).days))
                    m.memberships.append((prev.index, prev_start, moved, "新增"))
                    m.memberships.append((org.index, moved, None, "组织关系转接"))
                    continue
            m.memberships.append((org.index, start, None, "新增"))

    # ---- terms and committee seats -----------------------------------------------------
    def _term(self, org: OrgPlan, state: str):
        rng, today = self.rng, self.today
        years = TERM_YEARS[org.kind]
        if state == "expired":
            start = add_years(today, -years) - dt.timedelta(days=rng.randint(20, 400))
        elif state == "expiring":
            start = add_years(today, -years) + dt.timedelta(days=rng.randint(1, 180))
        else:
            start = today - dt.timedelta(days=rng.randint(0, years * 365 - 2))
        start = max(start, org.established_on)
        org.term = (start, add_years(start, years))

    def _rank_order(self, idxs: list[int]) -> list[int]:
        return sorted(idxs, key=lambda i: (-rank_level(self.members[i].rank), self.members[i].birth_date, i))

    def _subtree_members(self, org: OrgPlan) -> list[int]:
        out: list[int] = []
        for o in self.orgs:
            if o.kind == "branch" and self._is_under(o, org):
                out.extend(o.members)
        return out

    def _is_under(self, o: OrgPlan, top: OrgPlan) -> bool:
        while o.parent is not None and o.parent != self.wc.index:  # the 工委 is outside the department
            if o.parent == top.index:
                return True
            o = self.orgs[o.parent]
        return False

    def _fill(self, org: OrgPlan, roles: list[str], holders: list[int]):
        start = org.term[0]
        for role, h in zip(roles, holders):
            m = self.members[h]
            since = max(start, next(s for (o, s, e, _) in m.memberships if e is None))
            org.seats.append(SeatPlan(role, h, held_since=since))

    def _committee_roles(self) -> list[str]:
        k = self.rng.choice([3, 3, 4, 5, 5])
        return ["secretary", "organization_officer", "publicity_officer", "discipline_officer",
                "deputy_secretary"][:k]

    def _plan_committees(self, first: bool):
        rng = self.rng
        term_orgs = [o for o in self.orgs if o.kind in TERM_YEARS and (o.kind != "branch" or o.members)]
        # Terms start evenly over their length (so about one in six is due within 6 months),
        # plus about 3% forced overdue (超期未换届) and 3% due soon, so even a small city shows both.
        n_expired = self._count(len(term_orgs), 0.03, "expired")
        n_expiring = self._count(len(term_orgs) - n_expired, 0.03, "expiring")
        picked = rng.sample(term_orgs, n_expired + n_expiring)
        state = {o.index: "expired" for o in picked[:n_expired]} | {o.index: "expiring" for o in picked[n_expired:]}
        if n_expired:
            self.shown.add("expired")
        if n_expiring:
            self.shown.add("expiring")
        for o in term_orgs:
            self._term(o, state.get(o.index, "current"))

        full = lambda idxs: [i for i in idxs if self.members[i].category == "full"]  # noqa: E731
        committee_branches: list[OrgPlan] = []  # in tree order; membership tested by index
        for o in self.orgs:
            if o.kind != "branch" or not o.members:
                continue
            fm = full(o.members)
            # Leaders keep dual organizational life as ordinary members: seats go to others first.
            staff = self._rank_order([i for i in fm if not self.members[i].is_leader])
            ordered = staff + self._rank_order([i for i in fm if self.members[i].is_leader])
            if len(fm) >= COMMITTEE_MIN_FULL:
                roles = self._committee_roles()
                rest = staff[1:10] if len(staff) >= len(roles) else ordered[1:len(roles)]
                self._fill(o, roles, [ordered[0]] + rng.sample(rest, len(roles) - 1))
                committee_branches.append(o)
            elif ordered:
                self._fill(o, ["secretary"], [ordered[0]])

        for o in self.orgs:
            if o.kind == "general_branch":
                pool = self._rank_order([i for i in full(self._subtree_members(o)) if not self.members[i].is_leader])
                roles = self._committee_roles()
                self._fill(o, roles, [pool[0]] + rng.sample(pool[1:12], len(roles) - 1))
        organ = [o for o in self.orgs if o.kind == "organ_committee"]
        # About 6% of 机关党委 have no discipline officer; the city shows one either way.
        no_discipline = set(o.index for o in rng.sample(organ, self._count(len(organ), 0.06, "no_discipline")))
        if no_discipline:
            self.shown.add("no_discipline")
        for o in organ:
            pool = full(self._subtree_members(o))
            deputies = [i for i in pool if self.members[i].is_leader and self.members[i].rank == 110]
            staff = self._rank_order([i for i in pool if not self.members[i].is_leader])
            secretary = deputies[0] if deputies else staff.pop(0)
            roles = ["secretary", "deputy_secretary", "organization_officer", "publicity_officer", "discipline_officer"]
            if o.index in no_discipline:
                roles.pop()
            others = rng.sample(staff[:15], len(roles) - 1)
            self.members[others[0]].is_party_staff = True  # the full-time deputy secretary
            self._fill(o, roles, [secretary] + others)

        keep: set[int] = set()
        with_committee = {b.index for b in committee_branches}
        if first:
            # Demo accounts need a sound branch of 市财政局: pick it before the faults are placed.
            cz = self._dept_orgs[N.DEPARTMENTS[0][0]]
            cz_branches = [self.orgs[i] for i in cz["branches"]]
            zhibu = next((b for b in cz_branches if b.index in with_committee), cz_branches[0])
            self.zhibu_branch = zhibu
            keep.add(zhibu.index)
            self._plan_account_members(cz)

        # 副科长领导科长: the secretary is outranked by a member of their own committee.
        candidates = [b for b in committee_branches if b.index not in keep]
        for b in rng.sample(candidates, self._count(len(committee_branches), 0.02, "outranked")):
            sec = self.members[b.seats[0].holder]
            other = self.members[b.seats[1].holder]
            if age_on(sec.birth_date, self.today) >= 27 and age_on(other.birth_date, self.today) >= 30:
                sec.post, sec.rank = "副科长", 30
                other.post, other.rank = "科长", 50
                keep.add(b.index)
                self.shown.add("outranked")

        # Vacant seats, about 4%, and at least one secretary's seat vacant for over 3 months.
        seats = [(o, s) for o in self.orgs for s in o.seats if o.index not in keep]
        for o, s in rng.sample(seats, self._count(len(seats), 0.04, "vacant", at_least=2)):
            self._vacate(o, s, rng.randint(15, 240))
            self.shown.add("vacant")
        secretaries = [(o, s) for o, s in seats
                       if o.index in with_committee and s.role == "secretary" and s.holder is not None]
        if secretaries and "vacant_secretary" not in self.shown:
            o, s = rng.choice(secretaries)
            self._vacate(o, s, rng.randint(100, 200))
            self.shown.add("vacant_secretary")

    def _vacate(self, org: OrgPlan, seat: SeatPlan, days: int):
        since = max(self.today - dt.timedelta(days=days), org.term[0] + dt.timedelta(days=1))
        seat.holder, seat.held_since, seat.vacant_since = None, None, min(since, self.today)

    # ---- accounts ------------------------------------------------------------------------
    def _plan_account_members(self, cz: dict):
        """The accounts' scopes and members, from 市财政局 (the first department)."""
        cz_name = N.DEPARTMENTS[0][0]
        lg = next(o.index for o in self.orgs if o.kind == "leading_group" and o.unit == cz_name)
        branch = self.zhibu_branch
        secretary = next(s.holder for s in branch.seats if s.role == "secretary")
        holders = {s.holder for s in branch.seats}
        plain = next(i for i in branch.members
                     if i not in holders and not self.members[i].is_leader and self.members[i].category == "full")
        self.account_scopes = {"cz": ([cz["top"]] if cz["top"] is not None else list(cz["branches"])) + [lg],
                               "branch": [branch.index]}
        self.account_members = {"zhibu": secretary, "dangyuan": plain}
        self.account_labels = {i: self.orgs[i].name for scope in self.account_scopes.values() for i in scope}
        self.account_labels[self.wc.index] = self.wc.name
        self.account_names = {i: self.members[i].name for i in (secretary, plain)}

    def account_orgs(self) -> list[int]:
        return [self.wc.index] + [i for scope in self.account_scopes.values() for i in scope]

    def _plan_accounts(self) -> list[AccountPlan]:
        wc = self.wc.index
        accounts = [
            AccountPlan("admin", "wc_admin", [wc]),
            AccountPlan("caizheng", "unit_admin", self.account_scopes["cz"]),
            AccountPlan("zhibu", "branch_secretary", self.account_scopes["branch"], self.account_members["zhibu"]),
            AccountPlan("dangyuan", "member", self.account_scopes["branch"], self.account_members["dangyuan"]),
            AccountPlan("lingdao", "leader", [wc]),
            AccountPlan("ducha", "inspector", [wc]),
        ]
        self.rng = self.city_rng
        taken = self.names
        for a in accounts:
            while a.member is None and not a.last_name:
                gender = self.rng.choice(("male", "female"))
                last, first = self._surname("汉族"), self._given(gender, dt.date(self.today.year - self.rng.randint(30, 55), 1, 1))
                if last + first not in taken:
                    a.last_name, a.first_name = last, first
                    taken.add(last + first)
        return accounts

    def departments(self):
        """Yield the city one DepartmentPlan at a time (the 工委 comes first, alone), then set
        `self.accounts`. Org and member indexes run over the whole city."""
        outline = self._outline()
        yield DepartmentPlan([], [self.wc], [])
        joint_no = 0
        for k, item in enumerate(outline):
            self.dept_no = k
            self.rng = random.Random(self.seed * 1_000_003 + k + 1)
            self.orgs, self.members = _Span(self.next_org), _Span(self.next_member)
            self.used_ids = set()
            if item[0] == "regular":
                _, name, size, n_over, n_thin = item
                units = [name]
                slots = self._plan_regular(name, size, n_over, n_thin)
            else:
                joint_no += 1
                units = [n for n, _ in item[1]]
                slots = self._plan_joint(item[1], joint_no)
            self._plan_members(slots)
            self._plan_committees(first=k == 0)
            yield DepartmentPlan(units, list(self.orgs), list(self.members))
        self.accounts = self._plan_accounts()


def plan_city(members: int = 10_000, seed: int = 2026, today: dt.date | None = None) -> CityPlan:
    """The whole city in memory (for tests and small cities); the same (members, seed, today)
    always gives the same plan, and the same departments as `stream_city`."""
    planner = stream_city(members, seed, today)
    orgs, people, units = [], [], []
    for dept in planner.departments():
        orgs += dept.orgs
        people += dept.members
        units += dept.units
    return CityPlan(seed, planner.today, planner.unit_names, orgs, people, planner.accounts)


def stream_city(members: int = 10_000, seed: int = 2026, today: dt.date | None = None) -> _Planner:
    """A planner whose `departments()` yields the city one department at a time."""
    if not MIN_MEMBERS <= members <= MAX_MEMBERS:
        raise ValueError(f"党员人数应在 {MIN_MEMBERS} 到 {MAX_MEMBERS} 之间")
    return _Planner(members, seed, today or dt.date.today())


# ---- storing the city ------------------------------------------------------------------------

DEMO_USERNAMES = ("admin", "caizheng", "zhibu", "dangyuan", "lingdao", "ducha")
# Above this many members a database without COPY (SQLite, MariaDB) takes too long and too much
# of its own memory: the province size is built on PostgreSQL.
MAX_MEMBERS_WITHOUT_COPY = 200_000
WRITE_SLICE = 10_000  # members encrypted, written and chained at a time


class DemoError(Exception):
    """Why the demo cannot be built or cleared; the message is shown as is."""


def existing_data() -> tuple[int, list[str]]:
    """(number of organizations, demo usernames already taken)."""
    taken = sorted(User.objects.filter(username__in=DEMO_USERNAMES).values_list("username", flat=True))
    return Organization.objects.count(), taken


def check_size(members: int) -> None:
    """Refuse what the configured database cannot build: a province only on PostgreSQL."""
    if not MIN_MEMBERS <= members <= MAX_MEMBERS:
        raise DemoError(f"党员人数应在 {MIN_MEMBERS} 到 {MAX_MEMBERS} 之间，收到 {members}")
    if connection.vendor != "postgresql" and members > MAX_MEMBERS_WITHOUT_COPY:
        raise DemoError(f"当前数据库（{connection.vendor}）最多生成 {MAX_MEMBERS_WITHOUT_COPY} 名党员的示例数据；"
                        "更大规模（省级）请使用 PostgreSQL")


_ORG = ("id", "code", "name", "name_pinyin", "name_initials", "kind", "is_joint", "parent_id", "path", "unit_id",
        "established_on", "top_org_id")
_MEMBER = ("id", "name", "name_pinyin", "name_initials", "gender", "ethnicity", "birth_date", "id_number_enc",
           "id_hash", "id_mask", "education", "phone", "org_id", "category", "joined_on", "confirmed_on",
           "workplace", "post", "rank", "is_leader", "is_mobile", "is_exempt", "is_party_staff", "top_org_id")


class _AuditRows:
    """The "create" history entries of the rows the demo writes, chained (SM3) as
    `core.audit.chain` would chain them, written with the rows' own COPY."""

    def __init__(self, at: dt.datetime):
        self.at = at
        self.fields: dict = {}

    def snapshot(self, model, columns, fixed: dict) -> tuple[list[tuple[int, str]], dict]:
        """(position in a row, attname) of the fields history records, and the values of those
        the writer leaves to their defaults."""
        if model not in self.fields:
            exclude = set(getattr(model, "AUDIT_EXCLUDE", ())) | {"id", "version"}
            names = [f.attname for f in model._meta.concrete_fields
                     if f.attname not in exclude and f.name not in exclude]
            given = [(columns.index(n), n) for n in names if n in columns]
            rest = {n: audit.jsonable(fixed[n]) for n in names if n not in columns}
            self.fields[model] = (given, rest)
        return self.fields[model]

    def write(self, model, columns, rows: list[tuple]) -> int:
        if not rows:
            return 0
        _, defaults = bulk.defaults(model, columns)
        given, rest = self.snapshot(model, columns, defaults)
        label = model._meta.label_lower
        at = self.at
        entries = []
        for row in rows:
            after = {n: audit.jsonable(row[i]) for i, n in given}
            after.update(rest)
            entries.append(dict(table=label, object_id=row[0], action="create", changes=audit.diff(None, after),
                                actor_username="", actor_name="", at=at, note=AUDIT_NOTE))
        audit.link_rows(entries)
        return bulk.copy_rows(AuditEntry, ("table", "object_id", "action", "changes", "actor_username",
                                           "actor_name", "at", "note", "prev_hash", "hash"),
                              [(e["table"], e["object_id"], e["action"], e["changes"], "", "", at, AUDIT_NOTE,
                                e["prev_hash"], e["hash"]) for e in entries])


def write_city(planner: _Planner, progress=None) -> dict:
    """Draw and store the city one department at a time, in one transaction;
    `progress(done, total, message)` is called per department and per later step (the
    signature of core.jobs.Progress, so a web job can drive it too)."""
    check_size(planner.n)
    total = planner.n + planner.n // 2  # members, then the steps built on the whole city
    done = 0

    def step(n: int, message: str) -> None:
        nonlocal done
        done = min(total, done + n)
        if progress:
            progress(done, total, message)

    # Argon2 is slow on purpose: hash the shared demo password once.
    password = make_password(DEMO_PASSWORD)
    counts = {"orgs_by_kind": collections.Counter(), "joint_branches": 0, "members": 0, "probationary": 0}
    with transaction.atomic():
        # History entries are chained under the audit lock; taken first, as any writer does.
        locks.hold(audit.AUDIT_LOCK)
        history = _AuditRows(timezone.now())
        pinyin: dict[str, tuple[str, str]] = {}
        key = crypto.active_key()
        org_pk: dict[int, int] = {}
        path_of: dict[int, str] = {}
        # Each org's top-level org (its ancestor just below the 工委; the 工委 itself for itself): the
        # `top_org` column of every row written below (docs/scale.md).
        top_of: dict[int, int] = {}
        unit_ids: dict[str, int] = {}
        wc: OrgPlan | None = None
        kept_members: dict[int, int] = {}  # the accounts' members and scopes, kept past their department
        kept_orgs: dict[int, int] = {}
        life = None
        from dangjian.activities import demo as life_demo

        loaded = (Organization, Member, Membership, Term, CommitteeSeat, AuditEntry, *life_demo.TABLES)
        with bulk.loading(*loaded):
            for dept in planner.departments():
                if wc is None:  # the first "department" is the 工委 alone; units are few, all stored first
                    wc = dept.orgs[0]
                    units = Unit.objects.bulk_create([Unit(name=name) for name in planner.unit_names])
                    unit_ids = {u.name: u.pk for u in units}
                    life = life_demo.Life(planner.seed, planner.today, wc.index)
                else:  # a department's own orgs and members only: the 工委 stays
                    org_pk = {wc.index: org_pk[wc.index]}
                    path_of = {wc.index: path_of[wc.index]}
                    top_of = {wc.index: top_of[wc.index]}
                label = "、".join(dept.units) or WC_NAME
                step(0, f"{label}：党组织和党员")
                ids = bulk.reserve_ids(Organization, len(dept.orgs))
                rows = []
                for o, pk in zip(dept.orgs, ids):  # a plan lists every parent before its children
                    org_pk[o.index] = pk
                    path_of[o.index] = (path_of[o.parent] if o.parent is not None else "") + segment(pk)
                    top_of[o.index] = pk if o.parent in (None, wc.index) else top_of[o.parent]
                    rows.append((pk, o.code, o.name, *search_names(o.name), o.kind, o.is_joint,
                                 org_pk[o.parent] if o.parent is not None else None, path_of[o.index],
                                 unit_ids.get(o.unit), o.established_on, top_of[o.index]))
                    counts["orgs_by_kind"][o.kind] += 1
                    counts["joint_branches"] += o.is_joint
                bulk.copy_rows(Organization, _ORG, rows)
                history.write(Organization, _ORG, rows)

                ids = bulk.reserve_ids(Member, len(dept.members))
                member_pk = {m.index: pk for m, pk in zip(dept.members, ids)}
                # Rows and their history a slice at a time: a large department's encrypted rows
                # and entries are never all in memory at once.
                for at in range(0, len(dept.members), WRITE_SLICE):
                    rows = []
                    for m in dept.members[at:at + WRITE_SLICE]:
                        # A name's pinyin is its surname's and its given name's: two small caches
                        # instead of one entry per distinct name (most of a province's are distinct).
                        py = _pinyin(pinyin, m.name[:m.surname_len]), _pinyin(pinyin, m.name[m.surname_len:])
                        rows.append((member_pk[m.index], m.name, py[0][0] + py[1][0], py[0][1] + py[1][1], m.gender,
                                     m.ethnicity, m.birth_date, crypto.encrypt(m.id_number, key),
                                     crypto.lookup_hash(m.id_number, key), idcard.mask(m.id_number), m.education,
                                     m.phone, org_pk[m.org], m.category, m.joined_on, m.confirmed_on, m.workplace,
                                     m.post, m.rank, m.is_leader, m.is_mobile, m.is_exempt, m.is_party_staff,
                                     top_of[m.org]))
                        counts["probationary"] += m.category == "probationary"
                    counts["members"] += len(rows)
                    bulk.copy_rows(Member, _MEMBER, rows)
                    history.write(Member, _MEMBER, rows)
                    del rows
                for i in planner.account_members.values():
                    if i in member_pk:
                        kept_members[i] = member_pk[i]
                for i in planner.account_orgs():
                    if i in org_pk:
                        kept_orgs[i] = org_pk[i]

                bulk.copy_rows(Membership, ("member_id", "org_id", "started_on", "ended_on", "reason", "top_org_id"), (
                    (member_pk[m.index], org_pk[o], start, end, reason, top_of[o])
                    for m in dept.members for (o, start, end, reason) in m.memberships))
                bulk.copy_rows(Term, ("org_id", "elected_on", "starts_on", "ends_on"), (
                    (org_pk[o.index], o.term[0], o.term[0], o.term[1]) for o in dept.orgs if o.term))
                bulk.copy_rows(CommitteeSeat, ("org_id", "role", "holder_id", "held_since", "vacant_since"), (
                    (org_pk[o.index], s.role, member_pk[s.holder] if s.holder is not None else None, s.held_since,
                     s.vacant_since) for o in dept.orgs for s in o.seats))
                # What is being written, per department: the bar moves within a large one too.
                step(len(dept.members) // 2, f"{label}：组织生活记录")
                life.department(dept, org_pk, member_pk, top_of)
                step(len(dept.members) - len(dept.members) // 2, f"{label}：已完成")

        accounts = planner.accounts
        users = User.objects.bulk_create([
            User(username=a.username, password=password, last_name=a.last_name, first_name=a.first_name,
                 member_id=kept_members[a.member] if a.member is not None else None)
            for a in accounts
        ])
        RoleAssignment.objects.bulk_create([
            RoleAssignment(user=u, role=a.role, org_id=kept_orgs[i])
            for u, a in zip(users, accounts) for i in a.orgs
        ])
        _analyze()
        step(0, "合规计算")
        life_counts = life.finish()
        step(planner.n // 8, "责任清单")
        # Built from the records above, in dependency order: assessment reads compliance and
        # the duty lists, ratings read assessment results.
        from dangjian.assessment import demo as assessment_demo
        from dangjian.commendations import demo as commendations_demo
        from dangjian.development import demo as development_demo
        from dangjian.dues import demo as dues_demo
        from dangjian.duties import demo as duties_demo
        from dangjian.feedback import demo as feedback_demo
        from dangjian.inspections import demo as inspections_demo
        from dangjian.ratings import demo as ratings_demo
        from dangjian.rectification import demo as rectification_demo
        from dangjian.reviews import demo as reviews_demo
        from dangjian.transfers import demo as transfers_demo

        # The duty lists come first: the assessment grades their completion (duty_completion),
        # and they name each unit's 党组书记 (from the leading cadres' 职务), who reports at the
        # review beside the organ party secretary.
        extras = {"duties": duties_demo.build(planner.today, planner.seed)}
        step(planner.n // 8, "考核评价")
        extras["assessment"] = assessment_demo.build(planner.today, planner.seed)
        step(planner.n // 8, "星级评定")
        extras["ratings"] = ratings_demo.build(planner.today, planner.seed)
        step(planner.n // 8, "述职评议")
        extras["reviews"] = reviews_demo.build(planner.today, planner.seed)
        extras["commendations"] = commendations_demo.build(planner.today, planner.seed)
        step(0, "走访与意见建议")
        extras["feedback"] = feedback_demo.build(planner.today, planner.seed)
        step(0, "督查")
        extras["inspections"] = inspections_demo.build(planner.today, planner.seed)
        # Last of the sources, so its summary counts every item whatever opened it.
        step(0, "督查整改")
        extras["rectification"] = rectification_demo.build(planner.today, planner.seed)
        step(0, "党费")
        extras["dues"] = dues_demo.build(planner.today, planner.seed)
        step(0, "发展党员")
        extras["development"] = development_demo.build(planner.today, planner.seed, password=password)
        step(0, "组织关系转接")
        extras["transfers"] = transfers_demo.build(planner.today, planner.seed)
        step(total, "完成")
    _analyze()
    return {**summary(planner, counts), "life": life_counts, **extras}


def _pinyin(cache: dict, part: str) -> tuple[str, str]:
    py = cache.get(part)
    if py is None:
        py = cache[part] = (pinyin_full(part), pinyin_initials(part))
    return py


def _analyze() -> None:
    """Fresh planner statistics after a bulk load: the later steps' queries depend on them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def summary(planner: _Planner, counts: dict) -> dict:
    kinds = {label: 0 for label in OrgKind.labels}
    for kind, n in counts["orgs_by_kind"].items():
        kinds[OrgKind(kind).label] += n
    roles = dict(Role.choices)
    labels, names = planner.account_labels, planner.account_names
    return {
        "seed": planner.seed,
        "today": planner.today.isoformat(),
        "departments": len(planner.unit_names),
        "orgs": sum(counts["orgs_by_kind"].values()),
        "orgs_by_kind": kinds,
        "joint_branches": counts["joint_branches"],
        "members": counts["members"],
        "probationary": counts["probationary"],
        "accounts": [
            {
                "username": a.username,
                "role": roles[a.role],
                "scope": "、".join(labels[i] for i in a.orgs),
                "member": names[a.member] if a.member is not None else "",
                "name": names[a.member] if a.member is not None else people.full_name(a.first_name, a.last_name),
                "password": DEMO_PASSWORD,
            }
            for a in planner.accounts
        ],
    }


def _demo_models() -> list:
    """Every table of the platform that hangs off organizations, units or members (whatever
    app it belongs to), plus the change history and the assessment schemes the demo writes,
    ordered so referring tables go first. Rules seeded from defaults.yaml stay."""
    from dangjian.assessment.models import Scheme

    targets = {Organization, Unit, Member, AuditEntry, Scheme}
    project = [
        m for m in apps.get_models(include_auto_created=True)
        if m._meta.app_config.name.startswith("dangjian") and m is not User
    ]
    refs = {m: {f.related_model for f in m._meta.concrete_fields if f.is_relation} for m in project}
    grown = True
    while grown:
        grown = False
        for m in project:
            if m not in targets and refs[m] & targets:
                targets.add(m)
                grown = True
    remaining = sorted(targets, key=lambda m: m._meta.label)
    order = []
    while remaining:
        ready = [m for m in remaining if not any(m in refs[o] for o in remaining if o is not m)]
        if not ready:
            raise DemoError("数据表之间存在循环引用，无法自动清空，请使用新的数据库")
        order += ready
        remaining = [m for m in remaining if m not in ready]
    return order


def clear_demo_data() -> None:
    """Empty a demo database: organizations, units, members and everything hanging off them,
    change history, and the logins (superusers stay, unless they use a demo username)."""
    with transaction.atomic():
        User.objects.filter(member__isnull=False).update(member=None)
        models = _demo_models()
        for model in models:
            # Self-references (the org tree's parent) first, so one DELETE empties the table.
            for f in model._meta.concrete_fields:
                if f.is_relation and f.related_model is model and f.null:
                    model._base_manager.exclude(**{f.attname: None}).update(**{f.attname: None})
        with connection.cursor() as cursor:
            for model in models:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
        User.objects.filter(Q(is_superuser=False) | Q(username__in=DEMO_USERNAMES)).delete()

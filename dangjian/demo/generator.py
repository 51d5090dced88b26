"""The deterministic demo city (示例市).

Two steps, so the shape of the city can be tested without a database:
- `plan_city(members, seed, today)` draws the whole city in memory from one
  `random.Random(seed)`: the same arguments always give the same plan. Wall-clock time
  enters only through `today`.
- `write_city(plan)` stores a plan with a few bulk inserts (level by level for the org
  tree, batches for members), inside one transaction.

The city carries the problems the platform exists to show: branches over 50 members,
branches with fewer than 3 full members, vacant seats (some vacant over 3 months),
terms expiring or overdue, secretaries outranked by their own committee members
(副科长领导科长), organ committees without a discipline officer.
"""
from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Q

from dangjian.accounts.models import Role, RoleAssignment, User
from dangjian.core import audit, crypto, defaults, idcard, people
from dangjian.core.models import AuditEntry
from dangjian.core.text import pinyin_full, pinyin_initials
from dangjian.members.models import Member, Membership
from dangjian.orgs.models import CommitteeSeat, Organization, OrgKind, Term, Unit, segment

from . import names as N

DEMO_PASSWORD = "Demo@2026jg"  # meets the password policy (settings.AUTH_PASSWORD_VALIDATORS)
WC_CODE = "SZJGGW"
WC_NAME = "示例市直机关工委"
AUDIT_NOTE = "示例数据"

MIN_MEMBERS = 100
MAX_MEMBERS = 200_000
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


class _Planner:
    def __init__(self, members: int, seed: int, today: dt.date):
        self.rng = random.Random(seed)
        self.n = members
        self.seed = seed
        self.today = today
        self.orgs: list[OrgPlan] = []
        self.members: list[MemberPlan] = []
        self.codes: set[str] = set()
        self.dept_codes: set[str] = set()
        self.used_ids: set[str] = set()
        self._surnames = [s for s, _ in N.SURNAMES]
        self._surname_cum = list(itertools.accumulate(w for _, w in N.SURNAMES))
        self._eth = [e for e, _ in N.ETHNICITIES]
        self._eth_cum = list(itertools.accumulate(w for _, w in N.ETHNICITIES))
        self._dept_orgs: dict[str, dict] = {}

    # ---- organizations -------------------------------------------------------------
    def _org(self, code, name, kind, parent, unit, established_on, is_joint=False) -> OrgPlan:
        assert code not in self.codes, code
        self.codes.add(code)
        org = OrgPlan(len(self.orgs), code, name, kind, parent, unit, established_on, is_joint)
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

    def _plan_orgs(self):
        rng = self.rng
        wc = self._org(WC_CODE, WC_NAME, "working_committee", None, None, dt.date(self.today.year - 35, 7, 1))
        regular, tiny = self._department_sizes()
        big = [name for name, s in regular if s >= 80]
        n_over = max(1, round(self.n / 2500)) if self.n >= 1000 and big else 0
        over_depts = set(rng.sample(big, min(n_over, len(big))))
        mid = [name for name, s in regular if s >= 50]
        n_thin = max(1, round(self.n / 3000)) if mid else 0
        thin_depts = set(rng.sample(mid, min(n_thin, len(mid))))

        self.unit_names = [name for name, _ in regular] + [name for name, _ in tiny]
        # Each department first gets its 党组, a sibling of its grassroots chain under the 工委.
        for name, size in regular + tiny:
            code = self._unique_code(department_code(name))
            self._dept_orgs[name] = {"code": code, "size": size}
            self._org(f"{code}-DZ", f"{name}党组", "leading_group", wc.index, name, self._established(10, 40))

        self.branch_slots: list[tuple[OrgPlan, list[tuple[str, int, int, str]]]] = []
        for name, size in regular:
            info = self._dept_orgs[name]
            code, prefix = info["code"], org_prefix(name)
            leaders = max(1, min(10, round(size * 0.06)))
            info["leaders"] = leaders
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
                parts = self._split(size, leaders, name in over_depts, name in thin_depts)
            parents = [top.index if top else wc.index] * len(parts)
            if top is not None and top.kind == "organ_committee" and size >= 300:
                # Very large departments group some branches under 党总支 inside the 机关党委.
                n_gb = 1 if size < 600 else 2
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
                slots = [(name, s, leaders if i == 0 else 0, flag)]
                self.branch_slots.append((branch, slots))
                if s >= 30:
                    for c in range(1, (2 if s < 45 else 3) + 1):
                        self._org(f"{branch.code}-{c}", f"{bname}第{N.chinese_number(c)}党小组", "cell",
                                  branch.index, name, branch.established_on)

        # Tiny units share 联合党支部 of 2–4 units each, directly under the 工委.
        i = 0
        joint_no = 0
        while i < len(tiny):
            k = min(len(tiny) - i, rng.randint(2, 4))
            if len(tiny) - (i + k) == 1:
                k += 1
            group = tiny[i:i + k]
            i += k
            joint_no += 1
            unit_names = [n for n, _ in group]
            if len(unit_names) <= 3:
                jname = "、".join(unit_names) + "联合党支部"
            else:
                jname = f"{unit_names[0]}等{len(unit_names)}家单位联合党支部"
            branch = self._org(f"LH-{joint_no:02d}", jname, "branch", wc.index, unit_names[0],
                               self._established(6, 15), is_joint=True)
            for n_, _ in group:
                self._dept_orgs[n_]["top"] = None
                self._dept_orgs[n_]["branches"] = [branch.index]
                self._dept_orgs[n_]["leaders"] = 1
            self.branch_slots.append((branch, [(n_, s, 1, "normal") for n_, s in group]))

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
        rng = self.rng
        while True:
            region = rng.choice(N.HOME_REGIONS) if rng.random() < 0.85 else rng.choice(N.OTHER_REGIONS)
            seq = rng.randrange(0, 500) * 2 + (1 if gender == "male" else 0)
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
        name = self._surname(ethnicity) + self._given(gender, born)
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
            index=len(self.members),
            name=name,
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
        self.members.append(m)
        org.members.append(m.index)
        return m

    def _plan_members(self):
        rng = self.rng
        for branch, slots in self.branch_slots:
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
        # Membership history: one open row each; about 5% came from another branch.
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
        while o.parent is not None:
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

    def _plan_committees(self):
        rng = self.rng
        term_orgs = [o for o in self.orgs if o.kind in TERM_YEARS and (o.kind != "branch" or o.members)]
        # Terms start evenly over their length (so about one in six is due within 6 months),
        # plus a few forced overdue (超期未换届) and due soon, so even a small city shows both.
        picked = rng.sample(term_orgs, min(len(term_orgs), 2 * max(1, round(len(term_orgs) * 0.03))))
        half = len(picked) // 2
        state = {o.index: "expired" for o in picked[:half]} | {o.index: "expiring" for o in picked[half:]}
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
        no_discipline = set(o.index for o in rng.sample(organ, min(len(organ), max(1, round(len(organ) * 0.06)))))
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

        # Demo accounts need a sound branch of 市财政局: pick it before the faults are placed.
        cz = self._dept_orgs[N.DEPARTMENTS[0][0]]
        cz_branches = [self.orgs[i] for i in cz["branches"]]
        with_committee = {b.index for b in committee_branches}
        zhibu = next((b for b in cz_branches if b.index in with_committee), cz_branches[0])
        self.zhibu_branch = zhibu

        # 副科长领导科长: the secretary is outranked by a member of their own committee.
        candidates = [b for b in committee_branches if b is not zhibu]
        keep = {zhibu.index}
        for b in rng.sample(candidates, min(len(candidates), max(1, round(len(committee_branches) * 0.02)))):
            sec = self.members[b.seats[0].holder]
            other = self.members[b.seats[1].holder]
            if age_on(sec.birth_date, self.today) >= 27 and age_on(other.birth_date, self.today) >= 30:
                sec.post, sec.rank = "副科长", 30
                other.post, other.rank = "科长", 50
                keep.add(b.index)

        # Vacant seats, about 4%, and at least one secretary's seat vacant for over 3 months.
        seats = [(o, s) for o in self.orgs for s in o.seats if o.index not in keep]
        for o, s in rng.sample(seats, max(2, round(len(seats) * 0.04))):
            self._vacate(o, s, rng.randint(15, 240))
        secretaries = [(o, s) for o, s in seats
                       if o.index in with_committee and s.role == "secretary" and s.holder is not None]
        if secretaries:
            o, s = rng.choice(secretaries)
            self._vacate(o, s, rng.randint(100, 200))

    def _vacate(self, org: OrgPlan, seat: SeatPlan, days: int):
        since = max(self.today - dt.timedelta(days=days), org.term[0] + dt.timedelta(days=1))
        seat.holder, seat.held_since, seat.vacant_since = None, None, min(since, self.today)

    # ---- accounts ------------------------------------------------------------------------
    def _plan_accounts(self) -> list[AccountPlan]:
        wc = 0
        cz_name = N.DEPARTMENTS[0][0]
        cz = self._dept_orgs[cz_name]
        lg = next(o.index for o in self.orgs if o.kind == "leading_group" and o.unit == cz_name)
        cz_scope = [cz["top"]] if cz["top"] is not None else list(cz["branches"])
        branch = self.zhibu_branch
        secretary = next(s.holder for s in branch.seats if s.role == "secretary")
        holders = {s.holder for s in branch.seats}
        plain = next(i for i in branch.members
                     if i not in holders and not self.members[i].is_leader and self.members[i].category == "full")
        accounts = [
            AccountPlan("admin", "wc_admin", [wc]),
            AccountPlan("caizheng", "unit_admin", cz_scope + [lg]),
            AccountPlan("zhibu", "branch_secretary", [branch.index], secretary),
            AccountPlan("dangyuan", "member", [branch.index], plain),
            AccountPlan("lingdao", "leader", [wc]),
            AccountPlan("ducha", "inspector", [wc]),
        ]
        taken = {m.name for m in self.members}
        for a in accounts:
            while a.member is None and not a.last_name:
                gender = self.rng.choice(("male", "female"))
                last, first = self._surname("汉族"), self._given(gender, dt.date(self.today.year - self.rng.randint(30, 55), 1, 1))
                if last + first not in taken:
                    a.last_name, a.first_name = last, first
                    taken.add(last + first)
        return accounts

    def run(self) -> CityPlan:
        self._plan_orgs()
        self._plan_members()
        self._plan_committees()
        accounts = self._plan_accounts()
        return CityPlan(self.seed, self.today, self.unit_names, self.orgs, self.members, accounts)


def plan_city(members: int = 10_000, seed: int = 2026, today: dt.date | None = None) -> CityPlan:
    """The whole city in memory; the same (members, seed, today) always gives the same plan."""
    if not MIN_MEMBERS <= members <= MAX_MEMBERS:
        raise ValueError(f"党员人数应在 {MIN_MEMBERS} 到 {MAX_MEMBERS} 之间")
    return _Planner(members, seed, today or dt.date.today()).run()


# ---- storing a plan -----------------------------------------------------------------------

DEMO_USERNAMES = ("admin", "caizheng", "zhibu", "dangyuan", "lingdao", "ducha")
BATCH = 1000


class DemoError(Exception):
    """Why the demo cannot be built or cleared; the message is shown as is."""


def existing_data() -> tuple[int, list[str]]:
    """(number of organizations, demo usernames already taken)."""
    taken = sorted(User.objects.filter(username__in=DEMO_USERNAMES).values_list("username", flat=True))
    return Organization.objects.count(), taken


def _chunks(items: list, size: int = BATCH):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def write_city(plan: CityPlan, progress=None) -> dict:
    """Store a plan in one transaction; `progress(done, total, message)` is called per batch
    (the signature of core.jobs.Progress, so a web job can drive it too)."""
    total = len(plan.orgs) + 2 * len(plan.members)
    done = 0

    def step(n: int, message: str) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total, message)

    # Argon2 is slow on purpose: hash the shared demo password once.
    password = make_password(DEMO_PASSWORD)
    with transaction.atomic():
        units = Unit.objects.bulk_create([Unit(name=name) for name in plan.units])
        unit_ids = {u.name: u.pk for u in units}

        # The tree level by level: a level's paths need its parents' ids and its own.
        orgs: list[Organization | None] = [None] * len(plan.orgs)
        depth: list[int] = []
        for o in plan.orgs:  # a plan lists every parent before its children
            depth.append(0 if o.parent is None else depth[o.parent] + 1)
        for level in range(max(depth) + 1):
            plans = [o for o in plan.orgs if depth[o.index] == level]
            rows = [
                Organization(
                    code=o.code, name=o.name, kind=o.kind, is_joint=o.is_joint,
                    parent_id=orgs[o.parent].pk if o.parent is not None else None,
                    unit_id=unit_ids.get(o.unit), established_on=o.established_on,
                )
                for o in plans
            ]
            Organization.objects.store_search_names(rows)  # unsaved rows: set for the insert
            Organization.objects.bulk_create(rows, batch_size=BATCH)
            for o, row in zip(plans, rows):
                row.path = (orgs[o.parent].path if o.parent is not None else "") + segment(row.pk)
                orgs[o.index] = row
            Organization.objects.bulk_update(rows, ["path"], batch_size=500)
            step(len(rows), "党组织")

        pinyin: dict[str, tuple[str, str]] = {}
        members: list[Member] = []
        for chunk in _chunks(plan.members):
            rows = []
            for m in chunk:
                py = pinyin.get(m.name)
                if py is None:
                    py = pinyin[m.name] = (pinyin_full(m.name), pinyin_initials(m.name))
                rows.append(Member(
                    name=m.name, name_pinyin=py[0], name_initials=py[1], gender=m.gender, ethnicity=m.ethnicity,
                    birth_date=m.birth_date, id_number_enc=crypto.encrypt(m.id_number),
                    id_hash=crypto.lookup_hash(m.id_number), id_mask=idcard.mask(m.id_number),
                    education=m.education, phone=m.phone, org_id=orgs[m.org].pk, category=m.category,
                    joined_on=m.joined_on, confirmed_on=m.confirmed_on, workplace=m.workplace, post=m.post,
                    rank=m.rank, is_leader=m.is_leader, is_mobile=m.is_mobile, is_exempt=m.is_exempt,
                    is_party_staff=m.is_party_staff,
                ))
            Member.objects.bulk_create(rows)
            members.extend(rows)
            step(len(rows), "党员")

        memberships = [
            Membership(member_id=members[m.index].pk, org_id=orgs[o].pk, started_on=start, ended_on=end, reason=reason)
            for m in plan.members for (o, start, end, reason) in m.memberships
        ]
        Membership.objects.bulk_create(memberships, batch_size=BATCH)
        step(len(plan.members) // 4, "组织关系")
        Term.objects.bulk_create([
            Term(org_id=orgs[o.index].pk, elected_on=o.term[0], starts_on=o.term[0], ends_on=o.term[1])
            for o in plan.orgs if o.term
        ], batch_size=BATCH)
        CommitteeSeat.objects.bulk_create([
            CommitteeSeat(org_id=orgs[o.index].pk, role=s.role,
                          holder_id=members[s.holder].pk if s.holder is not None else None,
                          held_since=s.held_since, vacant_since=s.vacant_since)
            for o in plan.orgs for s in o.seats
        ], batch_size=BATCH)
        step(len(plan.members) // 4, "届次与委员")
        # History starts with the creation of every org and member, marked as demo data.
        entries = [audit.entry(None, obj, None, "create", AUDIT_NOTE) for obj in orgs + members]
        AuditEntry.objects.bulk_create(entries, batch_size=BATCH)
        step(len(plan.members) // 4, "变更记录")

        users = User.objects.bulk_create([
            User(username=a.username, password=password, last_name=a.last_name, first_name=a.first_name,
                 member_id=members[a.member].pk if a.member is not None else None)
            for a in plan.accounts
        ])
        RoleAssignment.objects.bulk_create([
            RoleAssignment(user=u, role=a.role, org_id=orgs[i].pk) for u, a in zip(users, plan.accounts) for i in a.orgs
        ])
        step(total - done, "演示账号")
        from dangjian.activities.demo import write_activities

        life = write_activities(plan, orgs, members)
        # Built from the records above, in dependency order: assessment reads compliance,
        # ratings read assessment results.
        from dangjian.assessment import demo as assessment_demo
        from dangjian.duties import demo as duties_demo
        from dangjian.ratings import demo as ratings_demo
        from dangjian.reviews import demo as reviews_demo

        extras = {"assessment": assessment_demo.build(plan.today, plan.seed),
                  "ratings": ratings_demo.build(plan.today, plan.seed),
                  "reviews": reviews_demo.build(plan.today, plan.seed),
                  "duties": duties_demo.build(plan.today, plan.seed)}
    return {**summary(plan), "life": life, **extras}


def summary(plan: CityPlan) -> dict:
    kinds = {label: 0 for label in OrgKind.labels}
    for o in plan.orgs:
        kinds[OrgKind(o.kind).label] += 1
    roles = dict(Role.choices)
    return {
        "seed": plan.seed,
        "today": plan.today.isoformat(),
        "departments": len(plan.units),
        "orgs": len(plan.orgs),
        "orgs_by_kind": kinds,
        "joint_branches": sum(1 for o in plan.orgs if o.is_joint),
        "members": len(plan.members),
        "probationary": sum(1 for m in plan.members if m.category == "probationary"),
        "accounts": [
            {
                "username": a.username,
                "role": roles[a.role],
                "scope": "、".join(plan.orgs[i].name for i in a.orgs),
                "member": plan.members[a.member].name if a.member is not None else "",
                "name": plan.members[a.member].name if a.member is not None else people.full_name(
                    a.first_name, a.last_name),
                "password": DEMO_PASSWORD,
            }
            for a in plan.accounts
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

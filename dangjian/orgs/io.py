"""Party organizations in and out of Excel.

Import is all-or-nothing and matches rows to existing organizations by 组织代码. Rows may
come in any order: a 上级组织代码 may name another row of the same file or an organization
already in the system; the final tree (file rows over the stored one) is checked for cycles
before anything is written. Writing goes parents first, level by level, with bulk inserts;
an existing organization that gets a new parent carries its whole subtree along (paths
rewritten as orgs.services.update_org does). The term columns record the current term with
the semantics of orgs.services.set_current_term: the same start date updates the term, a
different one closes it (换届) and opens a new one.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from dangjian.core import audit, locks, xlsx
from dangjian.core.models import AuditEntry
from dangjian.core.xlsx import CellError, Column, Fixed, chunks, fetch

from . import checks, departments
from .models import Organization, OrgKind, Term, Unit, segment
from .services import TREE_LOCK, rehome_top_org
from .signals import announce

AUDIT_NOTE = "批量导入"
CHUNK = 900

KINDS: dict[str, tuple[str, bool]] = {
    "机关工委": (OrgKind.WORKING_COMMITTEE, False),
    "党组": (OrgKind.LEADING_GROUP, False),
    "党委": (OrgKind.COMMITTEE, False),
    "机关党委": (OrgKind.ORGAN_COMMITTEE, False),
    "党总支": (OrgKind.GENERAL_BRANCH, False),
    "党支部": (OrgKind.BRANCH, False),
    "联合党支部": (OrgKind.BRANCH, True),
    "党小组": (OrgKind.CELL, False),
}



def _term_help() -> str:
    """The term lengths by kind, as the template's 填写说明 states them (from defaults.yaml)."""
    by_years: dict[int, list[str]] = {}
    change = 0
    for kind in OrgKind:
        rule = checks.term_rule(kind)
        if rule is not None:
            by_years.setdefault(rule["years"], []).append(kind.label)
            change = rule["change"]
    text = "，".join(f"{'、'.join(labels)}每届 {years} 年" for years, labels in sorted(by_years.items(), reverse=True))
    return text + (f"，经上级党组织批准延期的一般不超过 {change} 年" if change else "")


_TERM_HELP = _term_help()

COLUMNS = [
    Column("组织代码", "code", help="每个组织唯一，最多32个字符，由字母、数字和“-”“_”“.”组成；"
           "系统中已有该代码的组织将按文件内容更新", example="CZ02", width=14, text=True,
           aliases=("党组织代码", "代码")),
    Column("组织名称", "name", help="最多100个字", example="财政局第二党支部", width=26,
           aliases=("党组织名称", "名称", "党组织")),
    Column("组织类别", "kind", help="可选：" + "、".join(KINDS), example="党支部", width=12,
           aliases=("党组织类别", "类别", "组织类型")),
    Column("上级组织代码", "parent",
           help="上级组织的组织代码：可以是系统中已有的组织，也可以是本文件中另一行（行的先后不限）；最上级组织不填",
           example="CZ", width=14, text=True, aliases=("上级党组织代码",)),
    Column("所属单位", "unit", help="该组织所在的机关单位（部门），如：市财政局；系统中没有的单位会自动新建",
           example="市财政局", width=16, aliases=("单位", "单位名称")),
    Column("成立日期", "established_on", help=f"可不填；不晚于今天；{xlsx.DATE_HINT}", example=dt.date(2018, 3, 1),
           aliases=("成立时间",)),
    Column("本届开始日期", "term_start", required=False,
           help="可选列；与“本届届满日期”同时填写或同时不填。与系统中现任届次开始日期相同时更新该届，不同时视为换届",
           example=dt.date(2024, 3, 1), width=14),
    Column("本届届满日期", "term_end", required=False, help="可选列；应晚于本届开始日期，任期不超过规定的年限：" + _TERM_HELP,
           example=dt.date(2027, 3, 1), width=14),
]
HEADERS = {c.key: c.header for c in COLUMNS}
NOTES = [
    "第一行为表头，列的顺序可以调整；数据从第二行起填写，每个组织一行。",
    "按组织代码识别：系统中已有的组织按文件内容更新（含调整上级组织，其下级组织随之调整）。",
    "文件中任何一行有错误时，整个文件都不会导入；请按错误报告逐条修改后重新导入。",
]
_FIELDS = ["name", "kind", "is_joint", "parent", "unit", "established_on"]


@dataclass
class Row:
    number: int
    code: str = ""
    name: str = ""
    kind: str | None = None
    is_joint: bool = False
    parent_code: str = ""
    unit_name: str = ""
    established_on: dt.date | None = None
    term: tuple[dt.date, dt.date] | None = None
    org: Organization | None = None  # the stored organization with this code
    changed: bool = False
    term_change: str = ""  # "", "new", "update", "replace"


def _code(value, label: str, required: bool = False):
    """A code under the one code rule (orgs.checks), full-width characters folded."""
    typed = xlsx.cell_text(value)
    code = checks.normalize_code(typed)
    if not code and not required:
        return ""
    problem = checks.code_problem(code, label)
    if problem:
        raise CellError(problem)
    return Fixed(code, typed, code) if code != typed else code


class OrgImporter(xlsx.Importer):
    """组织 from Excel: parents before children whatever the order of the rows, the final tree
    checked for cycles, everything written in one transaction (see the module docstring)."""

    columns = COLUMNS
    noun = "个组织"
    title = "党组织"
    hint = "按组织代码识别党组织：已有的更新，没有的新增；上级组织可在同一文件中。"
    notes = NOTES

    def parse(self, r: xlsx.RowReader) -> Row:
        row = Row(r.number)
        row.code = r.cell("code", lambda v: _code(v, "组织代码", required=True)) or ""
        row.name = r.cell("name", lambda v: xlsx.text(v, "组织名称")) or ""
        kind = r.cell("kind", lambda v: xlsx.choice(v, "组织类别", KINDS))
        if kind:
            row.kind, row.is_joint = kind
        row.parent_code = r.cell("parent", lambda v: _code(v, "上级组织代码")) or ""
        row.unit_name = r.cell("unit", lambda v: xlsx.text(v, "所属单位", 100)) or ""
        row.established_on = r.cell("established_on", lambda v: xlsx.date(v, "成立日期"))
        # The record's own rules, the same as the form's and the API's.
        for field, message in checks.check_org(
                {"name": row.name, "kind": row.kind, "is_joint": row.is_joint,
                 "established_on": row.established_on}, self.today):
            r.fail({"is_joint": "kind"}.get(field, field), message)
        start = r.cell("term_start", lambda v: xlsx.date(v, "本届开始日期")) if r.has("term_start") else None
        end = r.cell("term_end", lambda v: xlsx.date(v, "本届届满日期")) if r.has("term_end") else None
        if {"term_start", "term_end"} & r.bad:
            return row
        if (start is None) != (end is None):
            missing = "term_end" if end is None else "term_start"
            if not r.has(missing):
                r.fail(missing, f"填写了届次日期却缺少“{HEADERS[missing]}”列，两列应同时填写")
            else:
                r.fail(missing, "本届开始日期与本届届满日期应同时填写或同时不填")
        elif start is not None:
            if start > self.today:
                r.fail("term_start", "本届开始日期不能晚于今天")
            # The term's own rules, the same as the form's and the API's (the length by kind).
            problems = checks.check_term(row.kind, start, end)
            for field, message in problems:
                r.fail("term_start" if field == "starts_on" else "term_end", message)
            if not problems:
                row.term = (start, end)
        if row.code and row.parent_code == row.code:
            r.fail("parent", "上级组织代码不能是本组织自己的代码")
        return row

    def check(self, rows: list[Row]) -> None:
        self.tree = _Tree(rows, self)
        self.tree.check()
        _check_terms(rows, self.tree.current_terms, self)

    def plan(self, rows: list[Row]) -> tuple[int, int]:
        self.tree.plan()
        created = sum(1 for r in rows if r.org is None)
        return created, sum(1 for r in rows if r.org is not None and r.changed)

    def write(self, rows: list[Row]) -> None:
        self.tree.write(self.user)

    @classmethod
    def sample(cls, user) -> tuple[dict, str]:
        """A new branch under the first organization of the user's scope that holds branches
        (a 党小组 under their branch if that is all they have), with an unused code."""
        parent = sample_org(user, (OrgKind.ORGAN_COMMITTEE, OrgKind.COMMITTEE, OrgKind.GENERAL_BRANCH))
        kind = OrgKind.BRANCH
        if parent is None:
            parent, kind = sample_org(user, (OrgKind.BRANCH,)), OrgKind.CELL
        if parent is None:
            return {}, ""
        base = parent.code[:CODE_BASE]
        taken = set(Organization.objects.filter(code__startswith=f"{base}-").values_list("code", flat=True))
        code = next((f"{base}-{n:02d}" for n in range(1, 100) if f"{base}-{n:02d}" not in taken), None)
        if code is None:
            return {}, ""
        siblings = Organization.objects.filter(parent=parent, kind=kind).count()
        unit = parent.unit.name if parent.unit else ""
        label = OrgKind(kind).label
        start = dt.date(timezone.localdate().year - 1, 3, 1)
        rule = checks.term_rule(kind)
        values = {"code": code, "name": f"{unit if kind == OrgKind.BRANCH and unit else parent.name}"
                                          f"第{_cn(siblings + 1)}{label}",
                  "kind": label, "parent": parent.code, "unit": unit, "established_on": start,
                  "term_start": start if rule else "",
                  "term_end": checks.add_years(start, rule["years"]) if rule else ""}
        return values, (f"示例是在您有权导入的“{parent.name}”（{parent.code}）下新设一个{label}，"
                        f"组织代码“{code}”目前没有使用；请换成实际的组织。")


CODE_BASE = 28  # a sample code is the parent's code (at most this long) and “-01” … “-99”
_CN_DIGITS = "〇一二三四五六七八九"


def _cn(n: int) -> str:
    """1–99 in Chinese numerals, as organizations are numbered (第十二党支部)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _CN_DIGITS[tens]) + "十" if tens else "") + (_CN_DIGITS[ones] if ones or not tens else "")


def sample_org(user, kinds) -> Organization | None:
    """The first active organization of the first of `kinds` that the user's import scope holds,
    in tree order: what the import templates' example rows name."""
    qs = Organization.objects.visible_to(user, "import").filter(status=Organization.Status.ACTIVE)
    for kind in kinds:
        org = qs.filter(kind=kind).select_related("unit").order_by("path").first()
        if org is not None:
            return org
    return None


def import_orgs(path, user=None, dry_run: bool = False, progress=None, today: dt.date | None = None) -> dict:
    """Check the whole file, then (unless `dry_run` or any error) write it in one
    transaction. `user` None = an administrator at the command line (no scope limit)."""
    return OrgImporter(user, today=today, progress=progress).run(path, dry_run)


def _check_terms(rows: list[Row], current: dict[int, Term], importer: OrgImporter) -> None:
    for r in rows:
        if r.term is None:
            continue
        term = current.get(r.org.pk) if r.org else None
        if term is None:
            r.term_change = "new"
        elif term.starts_on == r.term[0]:
            r.term_change = "update" if term.ends_on != r.term[1] else ""
        elif r.term[0] < term.starts_on:
            importer.fail(r.number, "term_start",
                          f"本届开始日期早于系统中现任届次的开始日期（{term.starts_on:%Y-%m-%d}），请核对")
        else:
            r.term_change = "replace"


class _Tree:
    """The stored tree plus the file's rows over it."""

    def __init__(self, rows: list[Row], importer: OrgImporter):
        self.rows = rows
        self.importer = importer
        self.file: dict[str, Row] = {}
        dup: dict[str, list[int]] = {}
        for r in rows:
            if r.code:
                dup.setdefault(r.code, []).append(r.number)
                self.file.setdefault(r.code, r)
        for r in rows:
            numbers = dup.get(r.code, [])
            if len(numbers) > 1:
                others = "、".join(str(n) for n in numbers if n != r.number)
                importer.fail(r.number, "code", f"组织代码“{r.code}”与第 {others} 行重复，每个组织只能填写一行")
        codes = sorted({r.code for r in rows if r.code} | {r.parent_code for r in rows if r.parent_code})
        self.by_code: dict[str, Organization] = fetch(Organization.objects.select_related("unit"), "code", codes, CHUNK)
        # Ancestors of every stored org the file touches, to walk the final tree upwards.
        self.by_id = {o.pk: o for o in self.by_code.values()}
        wanted = sorted({int(p) for o in self.by_code.values() for p in o.path.split("/") if p} - set(self.by_id))
        self.by_id.update(fetch(Organization.objects.all(), "pk", wanted, CHUNK))
        self.stored = {o.code: o for o in self.by_id.values()}
        for r in rows:
            r.org = self.by_code.get(r.code)
        self.current_terms: dict[int, Term] = fetch(Term.objects.filter(is_current=True), "org_id",
                                                    [r.org.pk for r in rows if r.org], CHUNK)

    def final_parent(self, code: str) -> str | None:
        row = self.file.get(code)
        if row is not None:
            return row.parent_code or None
        org = self.stored.get(code)
        if org is None or org.parent_id is None:
            return None
        parent = self.by_id.get(org.parent_id)
        return parent.code if parent else None

    def stored_parent_code(self, org: Organization) -> str:
        parent = self.by_id.get(org.parent_id) if org.parent_id else None
        return parent.code if parent else ""

    def check(self) -> None:
        fail, allowed = self.importer.fail, self.importer.allowed
        at_command_line = self.importer.user is None
        for r in self.rows:
            if r.org is not None:
                if not allowed(r.org.path):
                    fail(r.number, "code", f"无权导入到该组织（{r.code}）：不在您的导入范围内")
                    continue
                if r.org.status != Organization.Status.ACTIVE:
                    fail(r.number, "code", f"组织“{r.org.name}”已撤销，不能通过导入修改")
                    continue
            if not r.parent_code:
                if not at_command_line and not (r.org is not None and r.org.parent_id is None):
                    fail(r.number, "parent", "无权导入到该组织：只有不受范围限制的管理员才能设立最上级组织，请填写上级组织代码")
                continue
            if r.parent_code == r.code or r.parent_code in self.file:
                continue
            parent = self.by_code.get(r.parent_code)
            if parent is None:
                fail(r.number, "parent", f"上级组织代码“{r.parent_code}”在系统中和本文件中都不存在，请核对")
            elif not allowed(parent.path):
                fail(r.number, "parent", f"无权导入到该组织（{r.parent_code}）：不在您的导入范围内")
            elif parent.status != Organization.Status.ACTIVE:
                fail(r.number, "parent", f"上级组织“{parent.name}”已撤销，不能在其下设立或调入组织")
        self._check_cycles()
        self._check_hierarchy()

    def final_kind(self, code: str) -> str | None:
        row = self.file.get(code)
        if row is not None:
            return row.kind
        org = self.stored.get(code)
        return org.kind if org is not None else None

    def _check_hierarchy(self) -> None:
        """The hierarchy rule (checks.hierarchy_problems) on the final tree: each row's kind
        under its final parent's, and the stored children of a re-kinded org under its new kind."""
        # A row whose code or parent is already refused (unknown, dissolved, a cycle) says that first.
        columns = {self.importer.headers.get(k, k) for k in ("code", "parent", "kind")}
        refused = {e["row"] for e in self.importer.errors.items if e["column"] in columns}
        for r in self.rows:
            if not r.code or not r.kind or r.parent_code == r.code or r.number in refused:
                continue
            parent_code = r.parent_code or None
            parent_kind = self.final_kind(parent_code) if parent_code else None
            if parent_code and parent_kind is None:
                continue  # an unknown parent is reported already
            for field, message in checks.hierarchy_problems(r.kind, parent_kind):
                self.importer.fail(r.number, "kind" if field == "kind" else "parent", message)
        rekinded = {r.org.pk: r for r in self.rows if r.org is not None and r.kind and r.kind != r.org.kind}
        if not rekinded:
            return
        children: dict[int, set[str]] = {}
        for pk_chunk in chunks(sorted(rekinded), CHUNK):
            for parent_id, code, kind in Organization.objects.filter(parent_id__in=pk_chunk).values_list(
                    "parent_id", "code", "kind"):
                if code not in self.file:  # a child in the file is checked on its own row
                    children.setdefault(parent_id, set()).add(kind)
        for pk, kinds in children.items():
            problem = checks.children_problem(rekinded[pk].kind, kinds)
            if problem:
                self.importer.fail(rekinded[pk].number, "kind", problem)

    def _check_cycles(self) -> None:
        reported: set[str] = set()
        limit = len(self.file) + len(self.by_id) + 2
        for r in self.rows:
            if not r.code or r.code in reported or r.parent_code == r.code:
                continue
            chain, code = [], r.code
            while code is not None and code not in chain and len(chain) < limit:
                chain.append(code)
                code = self.final_parent(code)
            if code is None or code != r.code:
                continue
            loop = " → ".join(chain + [code])
            for c in chain:
                row = self.file.get(c)
                if row is not None and c not in reported:
                    reported.add(c)
                    self.importer.fail(row.number, "parent", f"上级组织关系形成循环（{loop}），组织不能成为自己的下级")

    # ---- planning and writing -----------------------------------------------------------

    def plan(self) -> None:
        for r in self.rows:
            org = r.org
            if org is None:
                continue
            r.changed = bool(r.term_change) or any((
                org.name != r.name, org.kind != r.kind, org.is_joint != r.is_joint,
                self.stored_parent_code(org) != r.parent_code,
                (org.unit.name if org.unit else "") != r.unit_name,
                org.established_on != r.established_on,
            ))

    def write(self, user) -> None:
        # Tree writes take turns (orgs.services.TREE_LOCK): a form's move never interleaves.
        locks.hold(TREE_LOCK)
        # The file was checked against the tree as it was read; an org among those it touches
        # (or their ancestors) saved since would be overwritten or misplaced: refuse instead.
        now = fetch(Organization.objects.only("pk", "version"), "pk", sorted(self.by_id), CHUNK)
        if any(pk not in now or now[pk].version != o.version for pk, o in self.by_id.items()):
            raise IntegrityError("organizations changed between the checks and the write")
        entries: list[AuditEntry] = []
        units = self._units()
        befores = {r.org.pk: audit.snapshot(r.org) for r in self.rows if r.org and r.changed}
        placed: dict[str, Organization] = {}
        created: list[Organization] = []
        # New organizations level by level: a child needs its new parent's id.
        for rows in self._levels():
            objs = [Organization(code=r.code, name=r.name, kind=r.kind, is_joint=r.is_joint,
                                 parent_id=self._parent_id(r, placed), unit_id=units.get(r.unit_name),
                                 established_on=r.established_on) for r in rows if r.org is None]
            Organization.objects.bulk_create(objs, batch_size=500)
            placed.update((o.code, o) for o in objs)
            created += objs
        moved: list[tuple[Organization, str]] = []
        changed = []
        for r in self.rows:
            org = r.org
            if org is None or not r.changed:
                continue
            parent_id = self._parent_id(r, placed)
            if parent_id != org.parent_id:
                moved.append((org, org.path))
            org.name, org.kind, org.is_joint, org.parent_id = r.name, r.kind, r.is_joint, parent_id
            org.unit_id, org.established_on = units.get(r.unit_name), r.established_on
            changed.append(org)
        if changed:
            Organization.objects.bulk_update(changed, _FIELDS, batch_size=500)
            # An editor who read these orgs before the import must not save over it.
            Organization.objects.filter(pk__in=[o.pk for o in changed]).update(version=F("version") + 1)
        Organization.objects.store_search_names(created + changed)
        self._repath(created, moved)
        for r in self.rows:
            if r.org is None:
                entries.append(audit.entry(user, placed[r.code], None, "create", AUDIT_NOTE))
            elif r.changed:
                e = audit.entry(user, r.org, befores[r.org.pk], "update", AUDIT_NOTE)
                if e is not None:
                    entries.append(e)
        entries += self._write_terms(user, placed)
        AuditEntry.objects.bulk_create(entries, batch_size=1000)
        announce([o.pk for o in created] + [o.pk for o in changed])
        departments.touch_all()  # moves leave departments too, and terms are written

    def _parent_id(self, r: Row, placed: dict[str, Organization]) -> int | None:
        if not r.parent_code:
            return None
        if r.parent_code in placed:
            return placed[r.parent_code].pk
        return self.by_code[r.parent_code].pk

    def _repath(self, created: list[Organization], moved: list[tuple[Organization, str]]) -> None:
        """Recompute the materialized path of new organizations and of every moved subtree
        from the parent links, top down, then store the paths that changed."""
        if not created and not moved:
            return
        affected: dict[int, Organization] = {o.pk: o for o in created}
        mine = {r.org.pk: r.org for r in self.rows if r.org is not None}
        prefixes = [old for _, old in moved]
        for chunk in chunks(prefixes, 100):
            q = Q()
            for prefix in chunk:
                q |= Q(path__startswith=prefix)
            for o in Organization.objects.filter(q).only("pk", "parent_id", "path"):
                affected.setdefault(o.pk, mine.get(o.pk, o))
        outside = sorted({o.parent_id for o in affected.values() if o.parent_id and o.parent_id not in affected})
        stored: dict[int, str] = {}
        stored.update((pk, o.path) for pk, o in fetch(Organization.objects.only("pk", "path"), "pk", outside, CHUNK).items())
        paths: dict[int, str] = {}

        def path_of(pk: int) -> str:
            if pk not in paths:
                parent = affected[pk].parent_id
                base = "" if parent is None else (path_of(parent) if parent in affected else stored[parent])
                paths[pk] = base + segment(pk)
            return paths[pk]

        dirty = []
        for pk, o in affected.items():
            new_path = path_of(pk)
            if o.path != new_path:
                o.path = new_path
                dirty.append(o)
        Organization.objects.bulk_update(dirty, ["path"], batch_size=500)  # writes their top_org too
        for part in chunks([o.pk for o in dirty], CHUNK):  # moved orgs' rows follow their new top-level org
            rehome_top_org(Organization.objects.filter(pk__in=part))

    def _levels(self) -> list[list[Row]]:
        level: dict[str, int] = {}

        def depth(code: str) -> int:
            if code not in level:
                parent = self.file[code].parent_code
                level[code] = depth(parent) + 1 if parent in self.file else 0
            return level[code]

        out: dict[int, list[Row]] = {}
        for r in self.rows:
            out.setdefault(depth(r.code), []).append(r)
        return [out[k] for k in sorted(out)]

    def _units(self) -> dict[str, int]:
        names = sorted({r.unit_name for r in self.rows if r.unit_name})
        units: dict[str, int] = {name: u.pk for name, u in fetch(Unit.objects.all(), "name", names, CHUNK).items()}
        missing = [Unit(name=n) for n in names if n not in units]
        if missing:
            Unit.objects.bulk_create(missing)
            units.update((u.name, u.pk) for u in missing)
        return units

    def _write_terms(self, user, placed: dict[str, Organization]) -> list[AuditEntry]:
        entries: list[AuditEntry] = []
        closing, updating, creating = [], [], []
        for r in self.rows:
            if not r.term_change:
                continue
            org = placed.get(r.code) or r.org
            start, end = r.term
            current = self.current_terms.get(org.pk)
            if r.term_change == "update":
                before = audit.snapshot(current)
                current.ends_on = end
                updating.append((current, before))
            else:
                if r.term_change == "replace":
                    before = audit.snapshot(current)
                    current.is_current = False
                    closing.append((current, before))
                creating.append(Term(org_id=org.pk, starts_on=start, ends_on=end, elected_on=start))
        if closing:
            Term.objects.bulk_update([t for t, _ in closing], ["is_current"], batch_size=500)
        if updating:
            Term.objects.bulk_update([t for t, _ in updating], ["ends_on"], batch_size=500)
        Term.objects.bulk_create(creating, batch_size=500)
        entries += [audit.entry(user, t, b, "update", "换届") for t, b in closing]
        entries += [audit.entry(user, t, b, "update", AUDIT_NOTE) for t, b in updating]
        entries += [audit.entry(user, t, None, "create", AUDIT_NOTE) for t in creating]
        return [e for e in entries if e is not None]


# ---- export ----------------------------------------------------------------------------

def export_orgs(qs, out) -> int:
    """Write organizations (parents before children) with the same headers as the import."""
    qs = qs.select_related("unit", "parent").order_by("path")
    terms = dict(
        (t.org_id, t) for t in Term.objects.filter(is_current=True, org__in=qs.order_by().values("pk"))
    )
    rows = (
        [o.code, o.name, o.kind_label, o.parent.code if o.parent else "", o.unit.name if o.unit else "",
         o.established_on, *((terms[o.pk].starts_on, terms[o.pk].ends_on) if o.pk in terms else ("", ""))]
        for o in qs.iterator(chunk_size=2000)
    )
    return xlsx.write(out, COLUMNS, rows, title="党组织")


write_template = OrgImporter.write_template


# ---- for the importers above the tree ---------------------------------------------------

def resolve_org_codes(importer: xlsx.Importer, rows: list, *, key: str, label: str, dissolved: str,
                      code_attr: str = "org_code", org_attr: str = "org") -> None:
    """The organization each row names by code (chunked look-ups), refused in one wording by
    every importer when unknown, outside the user's import scope, or dissolved (`dissolved`
    says what can no longer be done there). Sets `org_attr` on the rows that pass."""
    found = fetch(Organization.objects.all(), "code", [getattr(r, code_attr) for r in rows], CHUNK)
    for r in rows:
        code = getattr(r, code_attr)
        if not code:
            continue
        org = found.get(code)
        if org is None:
            importer.fail(r.number, key, f"{label}“{code}”在系统中不存在，请核对组织代码")
        elif not importer.allowed(org.path):
            importer.fail(r.number, key, f"无权导入到该组织（{code}）：不在您的导入范围内")
        elif org.status != Organization.Status.ACTIVE:
            importer.fail(r.number, key, f"“{org.name}”已撤销，{dissolved}")
        else:
            setattr(r, org_attr, org)

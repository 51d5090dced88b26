"""The member roster (党员花名册) in and out of Excel.

Import is all-or-nothing: every row is parsed and checked (members.checks.check_member —
the same rules as the web form and the API — plus what only a file can get wrong:
duplicates inside the file, unknown or dissolved org codes, rows outside the user's
scope), and only a file without a single error is written, in one transaction.

Rows are matched to existing members by the keyed hash of the 身份证号. Everything is
set-based — existing members in chunks, orgs in one query, bulk inserts and updates — so
10,000 rows take seconds; only pinyin and encryption run per row.

A member's standing is never changed by a file: a member not on the roll (停止党籍, 已转出 …)
is refused, and so is a 是否流动党员 that differs from an existing member's (流动 is registered
and ended on the member's page, with its dated record); the column sets it only for a new member.

A member whose 所在党组织代码 changed is transferred: the open Membership row is closed
and a new one opened on the import date, the same as members.services.transfer_member.
When the file has the 党内职务 column it states the member's committee seats in their
organization: listed roles are filled (a vacant seat of that role first; a 书记 seat held by
someone else changes holder, as orgs.services.fill_seat does), roles no longer listed are
vacated. Without the column, seats are left alone.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from dangjian.core import audit, crypto, idcard, xlsx
from dangjian.core.models import AuditEntry
from dangjian.core.scoping import can
from dangjian.core.text import normalize_phone, pinyin_full, pinyin_initials
from dangjian.core.xlsx import CellError, Column, Fixed, chunks, fetch
from dangjian.orgs import checks as org_checks
from dangjian.orgs.departments import touch_orgs
from dangjian.orgs.io import resolve_org_codes, sample_org
from dangjian.orgs.models import CommitteeSeat, Organization, SeatRole
from dangjian.orgs.services import keeps_seat
from dangjian.orgs.signals import announce

from .checks import ID_NOT_USABLE, check_member, normalize_ethnicity
from .models import Category, Education, Gender, Member, Membership, Rank

AUDIT_NOTE = "批量导入"
TRANSFER_NOTE = "组织关系转接（批量导入）"
CHUNK = 500
EXAMPLE_BIRTH = dt.date(1990, 3, 5)
EXAMPLE_ID = idcard.make("110101", EXAMPLE_BIRTH, 123)  # odd 17th digit: a man, as in the example row

COLUMNS = [
    Column("姓名", "name", help="最多50个字", example="赵小刚", width=10),
    Column("性别", "gender", help="男 或 女，须与身份证号第17位一致", example="男", width=6),
    Column("民族", "ethnicity", help="如：汉族、回族、壮族", example="汉族", width=8),
    Column("出生日期", "birth_date", help=f"须与身份证号中的出生日期一致；{xlsx.DATE_HINT}",
           example=EXAMPLE_BIRTH, aliases=("出生年月日",)),
    Column("身份证号", "id_number", help="18位，最后一位可为X；请设为文本格式，避免 Excel 把后几位变成 0",
           example=EXAMPLE_ID, width=21, text=True, aliases=("身份证号码", "公民身份号码", "身份证")),
    Column("学历", "education", help="可选：" + "、".join(Education.labels) + "（也可填 本科、大专、中专、硕士、博士）",
           example="大学本科", width=11, aliases=("文化程度", "最高学历")),
    Column("手机号码", "phone", help="11位手机号，或带区号的固定电话（如 010-12345678）；空格和横线会自动去掉",
           example="13712345678", width=14, text=True, aliases=("手机号", "手机", "联系电话", "电话", "联系方式")),
    Column("所在党组织代码", "org", help="系统中已有的党组织代码（见组织页面），该组织须为正常状态",
           example="CZ01", width=14, text=True, aliases=("党组织代码", "组织代码", "所在党支部代码")),
    Column("人员类别", "category", help="正式党员 或 预备党员", example="正式党员", width=10,
           aliases=("党员类别", "党籍状态")),
    Column("入党日期", "joined_on", help=f"不晚于今天，入党时须年满18周岁；{xlsx.DATE_HINT}",
           example=dt.date(2015, 6, 20), aliases=("入党时间",)),
    Column("转正日期", "confirmed_on", help="正式党员必填，约在入党一年后；预备党员不填", example=dt.date(2016, 6, 25),
           aliases=("转正时间",)),
    Column("工作单位", "workplace", help="最多100个字", example="市财政局", width=16, aliases=("单位", "工作单位及职务")),
    Column("职务", "post", help="可不填，最多60个字", example="科员", width=10, aliases=("现任职务", "行政职务")),
    Column("职级", "rank", help="可不填；可选：" + "、".join(Rank.labels), example="一级科员", width=12),
    Column("是否领导干部", "is_leader", help="是 或 否（空白视为否）；领导干部过双重组织生活", example="否",
           aliases=("领导干部",)),
    Column("党内职务", "seats", required=False,
           help="可选列，可不填；可选：" + "、".join(SeatRole.labels) + "，多个用“、”分隔。有此列时，"
                "所填即为该党员在所在党组织委员会中的全部职务（未填的原职务将出缺）；预备党员不能担任",
           example="组织委员", width=12),
    Column("是否流动党员", "is_mobile", required=False,
           help="可选列；是 或 否（空白视为否）；只在新增党员时填写，已有党员须与系统一致（流动党员在党员页面登记）",
           example="否"),
    Column("是否免于硬性要求", "is_exempt", required=False,
           help="可选列；是 或 否（空白视为否）；年老体弱等，组织生活不作硬性要求", example="否", width=16),
    Column("是否党务干部", "is_party_staff", required=False, help="可选列；是 或 否（空白视为否）", example="否"),
]
HEADERS = {c.key: c.header for c in COLUMNS}
NOTES = [
    "第一行为表头，列的顺序可以调整；数据从第二行起填写，每人一行。",
    "按身份证号识别：系统中已有的党员按文件内容更新；所在党组织代码改变的，按组织关系转接办理（保留转接记录）。",
    "文件中任何一行有错误时，整个文件都不会导入；请按错误报告逐条修改后重新导入。",
]

# What clerks write for the coded values, beside the labels themselves.
_GENDER_ALIASES = {"男性": "男", "女性": "女"}
_EDUCATION_ALIASES = {"本科": "大学本科", "大学本科毕业": "大学本科", "本科生": "大学本科", "大专": "大学专科",
                      "专科": "大学专科", "中专": "中等专科", "硕士": "硕士研究生", "硕士生": "硕士研究生",
                      "博士": "博士研究生", "博士生": "博士研究生", "初中": "初中及以下", "小学": "初中及以下"}
# A value that could mean more than one label is asked about, never guessed.
_EDUCATION_AMBIGUOUS = {"研究生": "请填写“博士研究生”或“硕士研究生”", "大学": "请填写“大学本科”或“大学专科”",
                        "中专及以下": "请填写“中等专科”“高中”或“初中及以下”"}
_CATEGORY_ALIASES = {"正式": "正式党员", "预备": "预备党员"}
_CATEGORY_AMBIGUOUS = {"党员": "请填写“正式党员”或“预备党员”"}
_RANK_ALIASES = {"副科": "副科级", "正科": "正科级", "副处": "副处级", "正处": "正处级", "副厅": "副厅级",
                 "正厅": "正厅级"}
_GENDERS = {label: value for value, label in Gender.choices}
_EDUCATIONS = {label: value for value, label in Education.choices}
_CATEGORIES = {label: value for value, label in Category.choices}
_RANKS = {label: value for value, label in Rank.choices}
_SEATS = {label: value for value, label in SeatRole.choices}
_SEAT_ORDER = {value: i for i, value in enumerate(SeatRole.values)}
_SEAT_SPLIT = re.compile(r"[、,，;；/\s]+")
# Fields compared on re-import; the optional flag columns only when present in the file.
_PLAIN = ["name", "gender", "ethnicity", "birth_date", "education", "phone", "category", "joined_on",
          "confirmed_on", "workplace", "post", "rank", "is_leader"]
_OPTIONAL_FLAGS = ["is_mobile", "is_exempt", "is_party_staff"]


@dataclass
class Row:
    number: int
    data: dict
    id_number: str | None = None
    id_hash: str | None = None
    id_hashes: list[str] | None = None  # under every configured key (a rotation may be running)
    org_code: str = ""
    seats: list[str] | None = None  # None: the 党内职务 column is absent
    org: Organization | None = None
    member: Member | None = None
    existing: bool = False
    changed: bool = False


@dataclass
class _Slot:
    """A committee seat as the import sees it: its holder is a Member object for people in
    the file (new ones have no pk yet) or a bare id for others."""

    seat: CommitteeSeat
    holder: object
    before: dict | None = None
    touched: bool = False


def _unused_example_id() -> str:
    """The example's 身份证号 (born on the example's birth date, a man), with a sequence number
    no member in the system holds."""
    for sequence in range(123, 1000, 2):  # odd: a man, as in the example row
        number = idcard.make("110101", EXAMPLE_BIRTH, sequence)
        if not Member.objects.by_id_number(number).exists():
            return number
    return EXAMPLE_ID


# ---- parsing ---------------------------------------------------------------------------

def _id_text(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError("身份证号被 Excel 存成了数字，后几位可能已丢失：请把该列设为文本格式后重新填写")
    typed = xlsx.cell_text(value)
    number = re.sub(r"\s+", "", xlsx.code_text(value)).upper()
    if number != typed.upper():
        # The number itself stays out of the report: it is personal data.
        return Fixed(number, "含空格或全角字符的身份证号", "去掉空格、折成半角的号码")
    return number


def _phone(value):
    typed = xlsx.text(value, "手机号码", 30)
    phone = normalize_phone(typed)
    if phone != typed and len(phone) <= 20:
        return Fixed(phone, "带空格、横线或 +86 的电话号码", "规范写法（如 13800138000、010-12345678）")
    return phone


def _ethnicity(value):
    typed = xlsx.text(value, "民族", 20)
    name = normalize_ethnicity(typed)
    return Fixed(name, typed, name) if name != typed else name


def _seat_roles(value) -> list[str]:
    s = xlsx.cell_text(value)
    roles: list[str] = []
    for part in filter(None, _SEAT_SPLIT.split(s)):
        if part not in _SEATS:
            raise CellError(f"党内职务“{part}”不在可选范围内，可选：{'、'.join(_SEATS)}（多个用“、”分隔）")
        if _SEATS[part] not in roles:
            roles.append(_SEATS[part])
    return sorted(roles, key=_SEAT_ORDER.get)


class MemberImporter(xlsx.Importer):
    """党员花名册 from Excel (see the module docstring)."""

    columns = COLUMNS
    noun = "人"
    title = "党员花名册"
    hint = "按身份证号识别党员：已有的更新，没有的新增。"
    notes = NOTES

    def parse(self, r: xlsx.RowReader) -> Row:
        d = {
            "name": r.cell("name", lambda v: xlsx.text(v, "姓名", 50)),
            "gender": r.cell("gender", lambda v: xlsx.choice(v, "性别", _GENDERS, aliases=_GENDER_ALIASES)),
            "ethnicity": r.cell("ethnicity", _ethnicity),
            "birth_date": r.cell("birth_date", lambda v: xlsx.date(v, "出生日期", required=True)),
            "education": r.cell("education", lambda v: xlsx.choice(v, "学历", _EDUCATIONS, aliases=_EDUCATION_ALIASES,
                                                                    ambiguous=_EDUCATION_AMBIGUOUS)),
            "phone": r.cell("phone", _phone),
            "category": r.cell("category", lambda v: xlsx.choice(v, "人员类别", _CATEGORIES, aliases=_CATEGORY_ALIASES,
                                                                  ambiguous=_CATEGORY_AMBIGUOUS)),
            "joined_on": r.cell("joined_on", lambda v: xlsx.date(v, "入党日期", required=True)),
            "confirmed_on": r.cell("confirmed_on", lambda v: xlsx.date(v, "转正日期")),
            "workplace": r.cell("workplace", lambda v: xlsx.text(v, "工作单位", 100)),
            "post": r.cell("post", lambda v: xlsx.text(v, "职务", 60)),
            "rank": r.cell("rank", lambda v: xlsx.choice(v, "职级", _RANKS, required=False, aliases=_RANK_ALIASES)),
            "is_leader": r.cell("is_leader", lambda v: xlsx.flag(v, "是否领导干部")),
        }
        for key in _OPTIONAL_FLAGS:
            if r.has(key):
                d[key] = r.cell(key, lambda v, label=HEADERS[key]: xlsx.flag(v, label))
        row = Row(r.number, d)
        row.org_code = r.cell("org", lambda v: xlsx.text(xlsx.code_text(v), "所在党组织代码", 32, required=True)) or ""
        number_text = r.cell("id_number", _id_text)
        if r.has("seats"):
            row.seats = r.cell("seats", _seat_roles)
        # The record's own rules: the same function as the form's and the API's.
        for fld, message in check_member({**d, "id_number": number_text}, self.today):
            r.fail(fld, message)
        if number_text is not None and "id_number" not in r.bad:
            row.id_number = idcard.normalize(number_text)
            row.id_hashes = crypto.lookup_hashes(row.id_number)
            row.id_hash = row.id_hashes[0]  # the active key's
        if row.seats and d["category"] == Category.PROBATIONARY:
            r.fail("seats", "预备党员没有表决权、选举权和被选举权，不能担任党内职务")
        return row

    def check(self, rows: list[Row]) -> None:
        _check_duplicates(rows, self)
        resolve_org_codes(self, rows, key="org", label="所在党组织代码", dissolved="不能再转入或登记党员")
        for r in rows:
            problem = r.org is not None and org_checks.member_org_problem(r.org.kind, r.org.name)
            if problem:
                self.fail(r.number, "org", problem)
                r.org = None
        _resolve_members(rows, self)
        _check_secretaries(rows, self)
        self.open_rows = _check_moves(rows, self)

    def plan(self, rows: list[Row]) -> tuple[int, int]:
        self.planned = _plan(rows, self.present, self.today, self.open_rows)
        return sum(1 for r in rows if not r.existing), sum(1 for r in rows if r.existing and r.changed)

    def write(self, rows: list[Row]) -> None:
        total = len(rows)
        _write(self.planned, self.user, self.today,
               lambda done, message: self.progress(total + done, total * 2, message))

    @classmethod
    def sample(cls, user) -> tuple[dict, str]:
        """A new member of the first branch of the user's import scope: a made-up person whose
        身份证号 nobody in the system holds (so the example is a new member, not someone else's)."""
        org = sample_org(user, ("branch",))
        if org is None:
            return {}, ""
        values = {"org": org.code, "id_number": _unused_example_id()}
        if org.unit:
            values["workplace"] = org.unit.name
        return values, (f"示例中的所在党组织代码“{org.code}”是您有权导入的“{org.name}”；"
                        "示例人员是虚构的，请换成实际党员。")


def import_members(path, user=None, dry_run: bool = False, progress=None, today: dt.date | None = None) -> dict:
    """Check the whole file, then (unless `dry_run` or any error) write it in one
    transaction. `user` None means an administrator at the command line (no scope limit).
    Returns the report: {"ok", "created", "updated", "errors"} (and "normalized")."""
    return MemberImporter(user, today=today, progress=progress).run(path, dry_run)


def _check_duplicates(rows: list[Row], importer: MemberImporter) -> None:
    seen: dict[str, list[int]] = {}
    for r in rows:
        if r.id_hash:
            seen.setdefault(r.id_hash, []).append(r.number)
    for r in rows:
        numbers = seen.get(r.id_hash) if r.id_hash else None
        if numbers and len(numbers) > 1:
            others = "、".join(str(n) for n in numbers if n != r.number)
            importer.fail(r.number, "id_number", f"身份证号与第 {others} 行重复，同一人只能填写一行")


def _resolve_members(rows: list[Row], importer: MemberImporter) -> None:
    found = fetch(Member.objects.select_related("org"), "id_hash", [h for r in rows for h in r.id_hashes or ()], CHUNK)
    for r in rows:
        m = next((found[h] for h in r.id_hashes or () if h in found), None)
        if m is None:
            continue
        if not importer.allowed(m.org.path):
            # Whether a number is held outside the user's view is not said (members.checks).
            importer.fail(r.number, "id_number", "无权导入到该组织：该身份证号的党员现属的组织不在您的导入范围内"
                          if importer.allowed(m.org.path, "view") else ID_NOT_USABLE)
        elif m.status != Member.Status.ACTIVE:
            importer.fail(r.number, "id_number",
                          f"该身份证号的党员状态为“{m.get_status_display()}”，不能通过导入修改，请在党员页面办理")
        else:
            r.member, r.existing = m, True
            mobile = r.data.get("is_mobile")
            if mobile is not None and mobile != m.is_mobile:
                # Standing changes by a dated decision (登记流动党员, 流动结束), never by a file.
                importer.fail(r.number, "is_mobile",
                              f"是否流动党员：系统中该党员为“{xlsx.yes_no(m.is_mobile)}”，文件为“{xlsx.yes_no(mobile)}”；"
                              "已有党员的流动党员登记和流动结束请在党员页面办理，导入不修改")


def _check_secretaries(rows: list[Row], importer: MemberImporter) -> None:
    by_org: dict[str, list[int]] = {}
    for r in rows:
        if r.seats and SeatRole.SECRETARY in r.seats and r.org_code:
            by_org.setdefault(r.org_code, []).append(r.number)
    for code, numbers in by_org.items():
        if len(numbers) > 1:
            listed = "、".join(str(n) for n in numbers)
            for n in numbers:
                importer.fail(n, "seats", f"同一党组织（{code}）只能有一名书记，第 {listed} 行都填了书记")


def _check_moves(rows: list[Row], importer: MemberImporter) -> dict[int, Membership]:
    """Open membership rows of the members who change organization, by member id."""
    moved = [r.member.pk for r in rows if r.existing and r.org and r.org.pk != r.member.org_id]
    open_rows = fetch(Membership.objects.filter(ended_on__isnull=True), "member_id", moved, CHUNK)
    for r in rows:
        if r.existing and r.org and r.member.pk in open_rows and open_rows[r.member.pk].started_on > importer.today:
            importer.fail(r.number, "org",
                          f"该党员在现组织的起始日期（{open_rows[r.member.pk].started_on:%Y-%m-%d}）晚于今天，不能转接")
    return open_rows


@dataclass
class _Plan:
    new: list[Member] = field(default_factory=list)
    changed: list[tuple[Member, dict, set, bool]] = field(default_factory=list)  # member, before, fields, moved
    moved: list[Member] = field(default_factory=list)
    slots: list[_Slot] = field(default_factory=list)


def _plan(rows: list[Row], present: set, today: dt.date, open_rows: dict) -> _Plan:
    plan = _Plan()
    pinyin: dict[str, tuple[str, str]] = {}
    compare = _PLAIN + [k for k in _OPTIONAL_FLAGS if k in present]
    for r in rows:
        d = r.data
        name = d["name"].strip()
        if r.existing:
            m = r.member
            fields = {k for k in compare if getattr(m, k) != d[k]}
            moved = r.org.pk != m.org_id
            if fields or moved:
                before = audit.snapshot(m)
                for k in fields:
                    setattr(m, k, d[k])
                if "name" in fields:
                    m.name_pinyin, m.name_initials = pinyin_full(name), pinyin_initials(name)
                    fields |= {"name_pinyin", "name_initials"}
                if moved:
                    m.org = r.org
                    plan.moved.append(m)
                plan.changed.append((m, before, fields, moved))
                r.changed = True
        else:
            py = pinyin.get(name)
            if py is None:
                py = pinyin[name] = (pinyin_full(name), pinyin_initials(name))
            values = {k: d[k] for k in compare}
            values["name"] = name
            r.member = Member(
                **values, name_pinyin=py[0], name_initials=py[1], org=r.org,
                id_number_enc=crypto.encrypt(r.id_number), id_hash=r.id_hash, id_mask=idcard.mask(r.id_number),
            )
            plan.new.append(r.member)
    _plan_seats(rows, plan, today)
    return plan


def _plan_seats(rows: list[Row], plan: _Plan, today: dt.date) -> None:
    seat_rows = [r for r in rows if r.seats is not None]
    moved_ids = [m.pk for m in plan.moved]
    if not seat_rows and not moved_ids:
        return
    org_ids = sorted({r.org.pk for r in seat_rows})
    seats: dict[int, CommitteeSeat] = {}
    active = CommitteeSeat.objects.filter(is_active=True).select_related("org")
    for chunk in chunks(org_ids, CHUNK):
        seats.update((s.pk, s) for s in active.filter(org_id__in=chunk))
    for chunk in chunks(moved_ids, CHUNK):
        seats.update((s.pk, s) for s in active.filter(holder_id__in=chunk))
    in_file = {r.member.pk: r.member for r in rows if r.existing}
    slots = [_Slot(s, in_file.get(s.holder_id, s.holder_id)) for s in sorted(seats.values(), key=lambda s: s.pk)]
    by_org: dict[int, list[_Slot]] = {}
    for slot in slots:
        by_org.setdefault(slot.seat.org_id, []).append(slot)
    changed_rows: set[int] = set()

    def touch(slot: _Slot, holder, row: Row | None) -> None:
        if not slot.touched and slot.seat.pk:
            slot.before = audit.snapshot(slot.seat)
        slot.touched = True
        slot.holder = holder
        if holder is None:
            slot.seat.held_since, slot.seat.vacant_since = None, today
        else:
            slot.seat.held_since, slot.seat.vacant_since = today, None
        if row is not None:
            changed_rows.add(row.number)

    # A member who leaves an organization's subtree leaves its committee too.
    row_of = {id(r.member): r for r in rows if r.member is not None}
    moved = {id(m) for m in plan.moved}
    for slot in slots:
        if id(slot.holder) in moved and not keeps_seat(slot.seat.org.path, slot.holder.org.path):
            touch(slot, None, row_of.get(id(slot.holder)))

    for r in seat_rows:
        m, org_slots = r.member, by_org.setdefault(r.org.pk, [])
        wanted = set(r.seats)
        held = [s for s in org_slots if s.holder is m]
        for slot in held:
            if slot.seat.role not in wanted:
                touch(slot, None, r)
        for role in r.seats:
            if any(s.holder is m and s.seat.role == role for s in org_slots):
                continue
            slot = next((s for s in org_slots if s.seat.role == role and s.holder is None), None)
            if slot is None and role == SeatRole.SECRETARY:
                slot = next((s for s in org_slots if s.seat.role == role), None)
            if slot is None:
                slot = _Slot(CommitteeSeat(org_id=r.org.pk, role=role), None)
                org_slots.append(slot)
                slots.append(slot)
            touch(slot, m, r)
    plan.slots = [s for s in slots if s.touched]
    for r in rows:
        if r.number in changed_rows:
            r.changed = True


def _write(plan: _Plan, user, today: dt.date, step) -> None:
    entries: list[AuditEntry] = []
    now = timezone.now()
    for chunk in chunks(plan.new, 1000):
        Member.objects.bulk_create(chunk)
        step(len(chunk) // 2, "正在写入党员")
    Membership.objects.bulk_create(
        [Membership(member_id=m.pk, org_id=m.org_id, started_on=m.joined_on, reason=AUDIT_NOTE) for m in plan.new],
        batch_size=1000,
    )
    entries += [audit.entry(user, m, None, "create", AUDIT_NOTE) for m in plan.new]

    if plan.changed:
        fields = set().union(*(f for _, _, f, _ in plan.changed))
        if plan.moved:
            fields.add("org")
        for m, _, _, _ in plan.changed:
            m.updated_at = now
        Member.objects.bulk_update([m for m, _, _, _ in plan.changed], sorted(fields | {"updated_at"}),
                                   batch_size=CHUNK)
        for m, before, _, moved in plan.changed:
            e = audit.entry(user, m, before, "update", TRANSFER_NOTE if moved else AUDIT_NOTE)
            if e is not None:
                entries.append(e)
    for chunk in chunks([m.pk for m in plan.moved], CHUNK):
        Membership.objects.filter(member_id__in=chunk, ended_on__isnull=True).update(ended_on=today)
    Membership.objects.bulk_create(
        [Membership(member_id=m.pk, org_id=m.org_id, started_on=today, reason=TRANSFER_NOTE) for m in plan.moved],
        batch_size=1000,
    )

    for slot in plan.slots:
        slot.seat.holder_id = slot.holder if isinstance(slot.holder, int) or slot.holder is None else slot.holder.pk
    old = [s for s in plan.slots if s.seat.pk]
    if old:
        CommitteeSeat.objects.bulk_update([s.seat for s in old], ["holder", "held_since", "vacant_since"],
                                          batch_size=CHUNK)
    new = [s for s in plan.slots if not s.seat.pk]
    CommitteeSeat.objects.bulk_create([s.seat for s in new])
    for slot in plan.slots:
        note = "职位出缺" if slot.holder is None else AUDIT_NOTE
        e = audit.entry(user, slot.seat, slot.before, None, note)
        if e is not None:
            entries.append(e)
    step(len(plan.new) // 2 + len(plan.changed), "正在写入变更记录")
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
    announce(s.seat.org_id for s in plan.slots)
    # Member counts and ranks feed the cached figures of the orgs they were and are in.
    touch_orgs({m.org_id for m in plan.new} | {m.org_id for m, _, _, _ in plan.changed}
               | {b.get("org") for _, b, _, _ in plan.changed if isinstance(b, dict) and isinstance(b.get("org"), int)})


# ---- export ----------------------------------------------------------------------------

def seat_roles_of(members_qs) -> dict[int, list[str]]:
    """Active committee roles each member holds in their own organization (one query)."""
    roles: dict[int, list[str]] = {}
    rows = CommitteeSeat.objects.filter(
        is_active=True, holder__in=members_qs.order_by().values("pk"), org=F("holder__org")
    ).values_list("holder_id", "role")
    for holder, role in rows:
        roles.setdefault(holder, []).append(role)
    return {k: sorted(v, key=_SEAT_ORDER.get) for k, v in roles.items()}


def _row_values(m: Member, roles: list[str], full: bool = True) -> list:
    seat_labels = dict(SeatRole.choices)
    # Without "see_id" a row holds what the pages show: the mask and the birth year.
    birth, number = (m.birth_date, m.id_number) if full else (idcard.birth_shown(m.birth_date, False), m.id_mask)
    return [
        m.name, m.get_gender_display(), m.ethnicity, birth, number, m.get_education_display(),
        m.phone, m.org.code, m.get_category_display(), m.joined_on, m.confirmed_on, m.workplace, m.post,
        m.get_rank_display() if m.rank is not None else "", xlsx.yes_no(m.is_leader),
        "、".join(seat_labels[r] for r in roles), xlsx.yes_no(m.is_mobile), xlsx.yes_no(m.is_exempt),
        xlsx.yes_no(m.is_party_staff),
    ]


def export_members(qs, out, progress=None, total: int | None = None, user=None) -> int:
    """Write `qs` as a roster that re-imports unchanged (callers must hold the "import"
    capability over these rows). The full 身份证号 and birth date only where `user` holds
    "see_id" (None: the command line). Returns the number of rows."""
    qs = qs.select_related("org").order_by("org__path", "name", "id")
    roles = seat_roles_of(qs)

    def rows():
        for i, m in enumerate(xlsx.pages(qs), 1):
            if progress is not None and i % 500 == 0:
                progress(i, total or i, "正在导出党员")
            full = user is None or can(user, "see_id", m.org.path)
            yield _row_values(m, roles.get(m.pk, []), full)

    return xlsx.write(out, COLUMNS, rows(), title="党员花名册")


write_template = MemberImporter.write_template

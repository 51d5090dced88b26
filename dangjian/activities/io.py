"""Historical records of organizational life (组织生活记录) from Excel.

The same contract as the roster import: every row is parsed and checked, and only a file
without a single error is written, in one transaction. Besides what a cell can get wrong, a
row is refused for an unknown or dissolved org, an org outside the user's import scope, a
kind the org does not hold, a future date, 实到 over 应到, an absentee who is not an active
member of the org, and a record the file repeats or the platform already holds (same org,
date, kinds and topic — the duplicate rule of record_activity).

Historical files carry no attendance lists: only the named absentees get an attendance row
(absent). The file's 应到/实到 are kept as the record's figures and, for a 党员大会 or a
支委会, as the figures its quorum is judged by, since they are the only evidence there is.

Everything is set-based (orgs, members and existing records looked up in a few queries,
bulk inserts), and the compliance rows of the affected orgs are recomputed once, over the
range of dates the file covers.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from dangjian.core import audit, periods, xlsx
from dangjian.core.models import AuditEntry
from dangjian.core.scoping import scope_of
from dangjian.core.xlsx import CellError, Column
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from . import compliance
from .models import KIND_LABELS, KINDS_FOR_ORG, Activity, ActivityKind, Attendance, kind_rows

AUDIT_NOTE = "历史记录导入"
CHUNK = 500

COLUMNS = [
    Column("组织代码", "org", help="系统中已有的党组织代码，该组织须为正常状态", example="CZ01", width=12, text=True),
    Column("类型", "kinds", help="可选：" + "、".join(k for k in KIND_LABELS.values() if k != "谈心谈话")
           + "；一次活动计为几种的，用“、”分隔", example="主题党日、党课", width=20),
    Column("日期", "held_on", help=f"活动日期，不晚于今天；{xlsx.DATE_HINT}", example=dt.date(2025, 3, 28)),
    Column("主题", "topic", required=False, help="最多200个字", example="学习新修订的党章", width=24),
    Column("主持人", "host", required=False, help="可不填；填写时须为该组织的在册党员（姓名）", example="赵小刚", width=10),
    Column("应到人数", "expected_count", required=False, help="可不填；非负整数", example=12, width=10),
    Column("实到人数", "present_count", required=False, help="可不填；非负整数，不超过应到人数", example=11, width=10),
    Column("缺席人员", "absentees", required=False,
           help="可不填；该组织在册党员的姓名，多人用“、”分隔", example="钱小红", width=20),
]
HEADERS = {c.key: c.header for c in COLUMNS}
NOTES = [
    "第一行为表头，列的顺序可以调整；数据从第二行起填写，每次活动一行。",
    "同一组织、同一日期、同一类型和主题的记录只能有一条；系统中已有的记录不能重复导入。",
    "谈心谈话须登记谈话双方，请在平台中逐条录入，不能通过本表导入。",
    "文件中任何一行有错误时，整个文件都不会导入；请按错误报告逐条修改后重新导入。",
]

_KINDS = {label: code for code, label in KIND_LABELS.items()}
_SPLIT = re.compile(r"[、,，;；/\s]+")


@dataclass
class Row:
    number: int
    org_code: str = ""
    kinds: list[str] = field(default_factory=list)
    held_on: dt.date | None = None
    topic: str = ""
    host_name: str = ""
    expected: int | None = None
    present: int | None = None
    absentee_names: list[str] = field(default_factory=list)
    org: Organization | None = None
    host: Member | None = None
    absentees: list[Member] = field(default_factory=list)
    activity: Activity | None = None


# ---- parsing ---------------------------------------------------------------------------

def _kinds(value) -> list[str]:
    s = xlsx.cell_text(value)
    if not s:
        raise CellError("类型不能为空，可选：" + "、".join(_KINDS))
    out: list[str] = []
    for part in filter(None, _SPLIT.split(s)):
        code = _KINDS.get(part)
        if code is None:
            raise CellError(f"类型“{part}”不是组织生活类型，可选：{'、'.join(_KINDS)}（多个用“、”分隔）")
        if code not in out:
            out.append(code)
    if "talk" in out:
        raise CellError("谈心谈话须登记谈话双方，请在平台中逐条录入，不能通过导入登记")
    return out


def _count(value, label: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise CellError(f"{label}应为非负整数")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        value = value.strip().removesuffix("人").strip()
        if not value.isdigit():
            raise CellError(f"{label}“{value}”不是有效的人数（应为非负整数）")
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise CellError(f"{label}“{xlsx.cell_text(value)}”不是有效的人数（应为非负整数）")
    if value > 100_000:
        raise CellError(f"{label}“{value}”过大")
    return value


def _parse(number: int, raw: dict, today: dt.date, errors: xlsx.Errors) -> Row:
    r = Row(number)

    def cell(key, parse):
        try:
            return parse(raw.get(key))
        except CellError as exc:
            errors.add(number, HEADERS[key], str(exc))
            return None

    r.org_code = cell("org", lambda v: xlsx.text(v, "组织代码", 20, required=True)) or ""
    r.kinds = cell("kinds", _kinds) or []
    r.held_on = cell("held_on", lambda v: xlsx.date(v, "日期", required=True))
    if r.held_on is not None:
        if r.held_on > today:
            errors.add(number, HEADERS["held_on"], f"日期 {r.held_on:%Y-%m-%d} 是将来的日期，只能导入已经开展的活动")
        elif r.held_on.year < 1921:
            errors.add(number, HEADERS["held_on"], f"日期 {r.held_on:%Y-%m-%d} 不是有效的活动日期")
    r.topic = cell("topic", lambda v: xlsx.text(v, "主题", 200)) or ""
    r.host_name = cell("host", lambda v: xlsx.text(v, "主持人", 50)) or ""
    r.expected = cell("expected_count", lambda v: _count(v, "应到人数"))
    r.present = cell("present_count", lambda v: _count(v, "实到人数"))
    if r.expected is not None and r.present is not None and r.present > r.expected:
        errors.add(number, HEADERS["present_count"], f"实到人数（{r.present}）不能多于应到人数（{r.expected}）")
    names = xlsx.cell_text(raw.get("absentees"))
    r.absentee_names = list(dict.fromkeys(filter(None, _SPLIT.split(names))))
    if r.expected is not None and r.present is not None and len(r.absentee_names) > r.expected - r.present:
        errors.add(number, HEADERS["absentees"],
                   f"缺席人员有 {len(r.absentee_names)} 人，多于应到与实到人数之差（{r.expected - r.present}）")
    return r


# ---- checks ----------------------------------------------------------------------------

def _chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _scope_path(org: Organization, parents: dict[int, str]) -> str | None:
    """The same member scope as record_activity: a 党小组 meets with its branch's members;
    党组 and 工委 have no members of their own."""
    if org.kind in ("leading_group", "working_committee"):
        return None
    if org.kind == "cell" and org.parent_id:
        return parents.get(org.parent_id, org.path)
    return org.path


def _resolve_orgs(rows: list[Row], user, errors: xlsx.Errors) -> None:
    scope = scope_of(user) if user is not None else None
    codes = sorted({r.org_code for r in rows if r.org_code})
    orgs: dict[str, Organization] = {}
    for chunk in _chunks(codes):
        orgs.update((o.code, o) for o in Organization.objects.filter(code__in=chunk))
    header = HEADERS["org"]
    for r in rows:
        if not r.org_code:
            continue
        org = orgs.get(r.org_code)
        if org is None:
            errors.add(r.number, header, f"组织代码“{r.org_code}”在系统中不存在，请核对组织代码")
        elif scope is not None and not scope.allows("import", org.path):
            errors.add(r.number, header, f"无权导入该组织（{r.org_code}）的记录：不在您的导入范围内")
        elif org.status != Organization.Status.ACTIVE:
            errors.add(r.number, header, f"“{org.name}”已撤销，不能再导入其组织生活记录")
        else:
            r.org = org
            for k in r.kinds:
                if org.kind not in KINDS_FOR_ORG[k]:
                    errors.add(r.number, HEADERS["kinds"], f"{org.get_kind_display()}不开展“{KIND_LABELS[k]}”")


def _resolve_people(rows: list[Row], errors: xlsx.Errors) -> None:
    """Hosts and absentees by name among the active members of each row's org."""
    ready = [r for r in rows if r.org is not None and (r.host_name or r.absentee_names)]
    if not ready:
        return
    parent_ids = sorted({r.org.parent_id for r in ready if r.org.kind == "cell" and r.org.parent_id})
    parents = dict(Organization.objects.filter(pk__in=parent_ids).values_list("pk", "path"))
    names = sorted({n for r in ready for n in [r.host_name, *r.absentee_names] if n})
    by_name: dict[str, list[Member]] = {}
    for chunk in _chunks(names):
        for m in Member.objects.filter(name__in=chunk, status=Member.Status.ACTIVE).select_related("org"):
            by_name.setdefault(m.name, []).append(m)

    def find(r: Row, name: str, column: str, what: str) -> Member | None:
        path = _scope_path(r.org, parents)
        found = [m for m in by_name.get(name, []) if path is None or m.org.path.startswith(path)]
        if not found:
            errors.add(r.number, column, f"{what}“{name}”不是{r.org.name}的在册党员")
            return None
        if len(found) > 1:
            errors.add(r.number, column, f"{r.org.name}有 {len(found)} 名党员叫“{name}”，无法确定是哪一位，请在平台中逐条登记")
            return None
        return found[0]

    for r in ready:
        if r.host_name:
            r.host = find(r, r.host_name, HEADERS["host"], "主持人")
        r.absentees = [m for m in (find(r, n, HEADERS["absentees"], "缺席人员") for n in r.absentee_names) if m]


def _key(org_id: int, held_on: dt.date, kinds, topic: str) -> tuple:
    return org_id, held_on, tuple(sorted(kinds)), topic


def _check_duplicates(rows: list[Row], errors: xlsx.Errors) -> None:
    ready = [r for r in rows if r.org is not None and r.held_on is not None and r.kinds]
    first: dict[tuple, int] = {}
    for r in ready:
        key = _key(r.org.pk, r.held_on, r.kinds, r.topic)
        if key in first:
            errors.add(r.number, HEADERS["topic"],
                       f"与第 {first[key]} 行重复（同一组织、日期、类型和主题），同一次活动只能填写一行")
        else:
            first[key] = r.number
    if not ready:
        return
    org_ids = sorted({r.org.pk for r in ready})
    days = sorted({r.held_on for r in ready})
    existing: dict[int, tuple] = {}
    for chunk in _chunks(org_ids):
        qs = Activity.objects.filter(org_id__in=chunk, held_on__gte=days[0], held_on__lte=days[-1],
                                     status=Activity.Status.ACTIVE)
        existing.update((pk, (org, day, topic)) for pk, org, day, topic in qs.values_list("pk", "org_id", "held_on", "topic"))
    kinds: dict[int, list[str]] = {}
    for chunk in _chunks(sorted(existing)):
        for pk, kind in ActivityKind.objects.filter(activity_id__in=chunk).values_list("activity_id", "kind"):
            kinds.setdefault(pk, []).append(kind)
    held = {_key(org, day, kinds.get(pk, []), topic): pk for pk, (org, day, topic) in existing.items()}
    for r in ready:
        pk = held.get(_key(r.org.pk, r.held_on, r.kinds, r.topic))
        if pk is not None:
            errors.add(r.number, HEADERS["topic"],
                       f"{r.held_on:%Y-%m-%d}“{r.topic or '（无主题）'}”的同类记录已经存在（编号 {pk}），请勿重复导入")


# ---- import ----------------------------------------------------------------------------

def import_activities(path, user=None, dry_run: bool = False, progress=None, today: dt.date | None = None) -> dict:
    """Check the whole file, then (unless `dry_run` or any error) write it in one transaction
    and recompute compliance once. `user` None means an administrator at the command line.
    Returns the report: {"ok", "created", "updated", "errors"}."""
    today = today or timezone.localdate()
    progress = progress or (lambda done, total, message="": None)
    progress(0, 0, "正在读取文件")
    try:
        sheet = xlsx.read(path, COLUMNS, progress)
    except xlsx.FileProblem as exc:
        return xlsx.result(errors=exc.errors)
    errors = xlsx.Errors(COLUMNS)
    total = len(sheet.rows)
    rows = [_parse(number, raw, today, errors) for number, raw in sheet.rows]
    progress(total // 2, total, "正在校验")
    _resolve_orgs(rows, user, errors)
    _resolve_people(rows, errors)
    _check_duplicates(rows, errors)
    if errors:
        return xlsx.result(errors=errors.as_list())
    if dry_run:
        progress(total, total, "校验完成（未写入）")
        return xlsx.result(len(rows))
    try:
        _write(rows, user)
    except IntegrityError:
        return xlsx.result(errors=[{"row": xlsx.FILE_ROW, "column": "",
                                    "message": "导入期间数据被其他操作修改，未写入任何数据，请重新导入"}])
    progress(total, total, "正在重新计算合规情况")
    compliance.refresh_stale(today=today)  # the import already runs in the background
    progress(total, total, "导入完成")
    return xlsx.result(len(rows))


def _activity(r: Row, user) -> Activity:
    figures = {"expected_count": r.expected, "present_count": r.present}
    if "general_meeting" in r.kinds:
        figures.update(voting_expected=r.expected, voting_present=r.present)
    if "committee_meeting" in r.kinds:
        figures.update(committee_expected=r.expected, committee_present=r.present)
    return Activity(org=r.org, held_on=r.held_on, month=periods.month_key(r.held_on), topic=r.topic, host=r.host,
                    source=Activity.Source.IMPORTED,
                    recorded_by=user if user is not None and user.is_authenticated else None, **figures)


def _write(rows: list[Row], user) -> None:
    actor = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        # Organizations are locked as record_activity locks them, so a dissolution cannot
        # slip in between the checks and the write.
        org_ids = sorted({r.org.pk for r in rows})
        for chunk in _chunks(org_ids):
            states = Organization.objects.select_for_update().filter(pk__in=chunk).values_list("status", flat=True)
            if any(s != Organization.Status.ACTIVE for s in states):
                raise IntegrityError("organization dissolved during import")
        for r in rows:
            r.activity = _activity(r, user)
        activities = [r.activity for r in rows]
        if connection.features.can_return_rows_from_bulk_insert:
            for chunk in _chunks(activities, 1000):
                Activity.objects.bulk_create(chunk)
        else:
            for a in activities:
                a.save()
        ActivityKind.objects.bulk_create([k for r in rows for k in kind_rows(r.activity, r.kinds)], batch_size=1000)
        Attendance.objects.bulk_create(
            [Attendance(activity_id=r.activity.pk, member_id=m.pk, status=Attendance.Status.ABSENT)
             for r in rows for m in r.absentees], batch_size=1000)
        entries = [audit.entry(user, r.activity, None, "create",
                               AUDIT_NOTE + "；类型：" + "、".join(KIND_LABELS[k] for k in r.kinds)) for r in rows]
        entries += [AuditEntry(table="activities.attendance", object_id=r.activity.pk, action="create",
                               changes={str(m.pk): [None, Attendance.Status.ABSENT] for m in r.absentees},
                               user=actor, note="出席情况（" + AUDIT_NOTE + "）") for r in rows if r.absentees]
        AuditEntry.objects.bulk_create(entries, batch_size=1000)
        compliance.mark_stale({r.org.pk for r in rows}, min(r.held_on for r in rows), max(r.held_on for r in rows))


def write_template(out) -> None:
    xlsx.write(out, COLUMNS, [[c.example for c in COLUMNS]], notes=xlsx.notes_for(COLUMNS, NOTES),
               title="组织生活记录")

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

from django.db import IntegrityError, connection
from django.db.models import Count, Q
from django.utils import timezone

from dangjian.core import audit, periods, xlsx
from dangjian.core.models import AuditEntry
from dangjian.core.xlsx import CellError, Column, chunks, fetch
from dangjian.members.models import Member
from dangjian.orgs.io import resolve_org_codes
from dangjian.orgs.models import CommitteeSeat, Organization, SeatRole

from . import checks, compliance
from .checks import FIELD_LABELS, ActivityError, member_scope_path
from .models import KIND_LABELS, Activity, ActivityKind, Attendance, kind_rows

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


def _message(exc: ActivityError) -> str:
    """A service message without its field label: the report's column already names it."""
    label = FIELD_LABELS.get(exc.field, "")
    return exc.message.removeprefix(f"{label}：") if label else exc.message


# ---- checks ----------------------------------------------------------------------------

def _resolve_people(rows: list[Row], importer: ActivityImporter) -> None:
    """Hosts and absentees by name among the members of each row's meetings (the rule of
    record_activity: a 党小组 meets with its branch's members)."""
    ready = [r for r in rows if r.org is not None and (r.host_name or r.absentee_names)]
    if not ready:
        return
    parents = {pk: o.path for pk, o in fetch(Organization.objects.only("pk", "path"), "pk",
                                             [r.org.parent_id for r in ready if r.org.kind == "cell"], CHUNK).items()}
    by_name: dict[str, list[Member]] = {}
    for chunk in chunks(sorted({n for r in ready for n in [r.host_name, *r.absentee_names] if n}), CHUNK):
        for m in Member.objects.filter(name__in=chunk, status=Member.Status.ACTIVE).select_related("org"):
            by_name.setdefault(m.name, []).append(m)

    def find(r: Row, name: str, key: str, what: str) -> Member | None:
        path = member_scope_path(r.org, parents.get(r.org.parent_id))
        found = [m for m in by_name.get(name, []) if path is None or m.org.path.startswith(path)]
        if not found:
            importer.fail(r.number, key, f"{what}“{name}”不是{r.org.name}的在册党员")
            return None
        if len(found) > 1:
            importer.fail(r.number, key, f"{r.org.name}有 {len(found)} 名党员叫“{name}”，无法确定是哪一位，请在平台中逐条登记")
            return None
        return found[0]

    for r in ready:
        if r.host_name:
            r.host = find(r, r.host_name, "host", "主持人")
        r.absentees = [m for m in (find(r, n, "absentees", "缺席人员") for n in r.absentee_names) if m]


def _key(org_id: int, held_on: dt.date, kinds, topic: str) -> tuple:
    return org_id, held_on, tuple(sorted(kinds)), topic


def _check_duplicates(rows: list[Row], importer: ActivityImporter) -> None:
    ready = [r for r in rows if r.org is not None and r.held_on is not None and r.kinds]
    first: dict[tuple, int] = {}
    for r in ready:
        key = _key(r.org.pk, r.held_on, r.kinds, r.topic)
        if key in first:
            importer.fail(r.number, "topic", f"与第 {first[key]} 行重复（同一组织、日期、类型和主题），同一次活动只能填写一行")
        else:
            first[key] = r.number
    if not ready:
        return
    org_ids = sorted({r.org.pk for r in ready})
    days = sorted({r.held_on for r in ready})
    existing: dict[int, tuple] = {}
    for chunk in chunks(org_ids, CHUNK):
        qs = Activity.objects.filter(org_id__in=chunk, held_on__gte=days[0], held_on__lte=days[-1],
                                     status=Activity.Status.ACTIVE)
        existing.update((pk, (org, day, topic)) for pk, org, day, topic in qs.values_list("pk", "org_id", "held_on", "topic"))
    kinds: dict[int, list[str]] = {}
    for chunk in chunks(sorted(existing), CHUNK):
        for pk, kind in ActivityKind.objects.filter(activity_id__in=chunk).values_list("activity_id", "kind"):
            kinds.setdefault(pk, []).append(kind)
    held = {_key(org, day, kinds.get(pk, []), topic): pk for pk, (org, day, topic) in existing.items()}
    for r in ready:
        pk = held.get(_key(r.org.pk, r.held_on, r.kinds, r.topic))
        if pk is not None:
            importer.fail(r.number, "topic",
                          f"{r.held_on:%Y-%m-%d}“{r.topic or '（无主题）'}”的同类记录已经存在（编号 {pk}），请勿重复导入")


# ---- import ----------------------------------------------------------------------------

class ActivityImporter(xlsx.Importer):
    """组织生活记录 of the past from Excel (see the module docstring)."""

    columns = COLUMNS
    noun = "条"
    title = "组织生活记录"
    hint = "历史组织生活记录，每次活动一行（谈心谈话除外）；已有的记录不会重复导入。导入后重新计算组织生活落实情况。"
    notes = NOTES

    def parse(self, r: xlsx.RowReader) -> Row:
        row = Row(r.number)
        row.org_code = r.cell("org", lambda v: xlsx.text(xlsx.code_text(v), "组织代码", 32, required=True)) or ""
        row.kinds = r.cell("kinds", _kinds) or []
        row.held_on = r.cell("held_on", lambda v: xlsx.date(v, "日期", required=True))
        row.topic = r.cell("topic", lambda v: xlsx.text(v, "主题")) or ""
        try:
            if row.held_on is not None:
                checks.check_date(row.held_on, self.today)
        except ActivityError as exc:
            r.fail("held_on", _message(exc))
        try:
            row.topic = checks.check_text({"topic": row.topic})["topic"]
        except ActivityError as exc:
            r.fail("topic", _message(exc))
        row.host_name = r.cell("host", lambda v: xlsx.text(v, "主持人", 50)) or ""
        row.expected = r.cell("expected_count", lambda v: _count(v, "应到人数"))
        row.present = r.cell("present_count", lambda v: _count(v, "实到人数"))
        if row.expected is not None and row.present is not None and row.present > row.expected:
            r.fail("present_count", f"实到人数（{row.present}）不能多于应到人数（{row.expected}）")
        names = xlsx.cell_text(r.raw.get("absentees"))
        row.absentee_names = list(dict.fromkeys(filter(None, _SPLIT.split(names))))
        if row.expected is not None and row.present is not None and \
                len(row.absentee_names) > row.expected - row.present:
            r.fail("absentees", f"缺席人员有 {len(row.absentee_names)} 人，多于应到与实到人数之差"
                                f"（{row.expected - row.present}）")
        return row

    def check(self, rows: list[Row]) -> None:
        resolve_org_codes(self, rows, key="org", label="组织代码", dissolved="不能再导入其组织生活记录")
        for r in rows:
            if r.org is not None and r.kinds:
                try:
                    checks.check_kinds(r.org, r.kinds)
                except ActivityError as exc:
                    self.fail(r.number, "kinds", _message(exc))
        _resolve_people(rows, self)
        _check_duplicates(rows, self)

    def write(self, rows: list[Row]) -> None:
        _write(rows, self.user)

    def after(self, rows: list[Row]) -> None:
        self.progress(len(rows), len(rows), "正在重新计算合规情况")
        compliance.refresh_stale(today=self.today)  # the import already runs in the background

    @classmethod
    def sample(cls, user) -> tuple[dict, str]:
        """A 主题党日 of last month in the first branch of the user's import scope that has
        members (two or more if any), hosted by its secretary (or a member), one member absent:
        people whose names are unique among the branch's members, as the import requires."""
        branches = (Organization.objects.visible_to(user, "import")
                    .filter(status=Organization.Status.ACTIVE, kind="branch")
                    .annotate(n=Count("members", filter=Q(members__status=Member.Status.ACTIVE))).order_by("path"))
        org = branches.filter(n__gte=2).first() or branches.filter(n__gte=1).first() or branches.first()
        if org is None:
            return {}, ""
        names = list(Member.objects.filter(org__path__startswith=member_scope_path(org), status=Member.Status.ACTIVE)
                     .order_by("org__path", "name").values_list("name", flat=True))
        unique = [n for n in dict.fromkeys(names) if names.count(n) == 1]
        secretary = (CommitteeSeat.objects.filter(org=org, role=SeatRole.SECRETARY, is_active=True,
                                                  holder__isnull=False).values_list("holder__name", flat=True).first())
        host = secretary if secretary in unique else (unique[0] if unique else "")
        absent = next((n for n in unique if n != host), "")
        day = periods.containing("month", timezone.localdate()).start - dt.timedelta(days=1)
        day = day.replace(day=min(day.day, 15))
        topic = next(c.example for c in COLUMNS if c.key == "topic")
        while Activity.objects.filter(org=org, held_on=day, topic=topic, status=Activity.Status.ACTIVE).exists():
            day -= dt.timedelta(days=1)  # never the duplicate of a record already held
        values = {"org": org.code, "held_on": day, "host": host, "absentees": absent,
                  "expected_count": len(names) if names else "",
                  "present_count": len(names) - (1 if absent else 0) if names else ""}
        people = "主持人、缺席人员是该组织的在册党员，" if host else ""
        return values, (f"示例中的组织代码“{org.code}”是您有权导入的“{org.name}”，{people}"
                        "应到、实到人数按该组织现有党员填写；请换成实际开展的活动。")


def import_activities(path, user=None, dry_run: bool = False, progress=None, today: dt.date | None = None) -> dict:
    """Check the whole file, then (unless `dry_run` or any error) write it in one transaction
    and recompute compliance once. `user` None means an administrator at the command line.
    Returns the report: {"ok", "created", "updated", "errors"} (and "normalized")."""
    return ActivityImporter(user, today=today, progress=progress).run(path, dry_run)


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
    # Organizations are locked as record_activity locks them, so a dissolution cannot
    # slip in between the checks and the write.
    org_ids = sorted({r.org.pk for r in rows})
    for chunk in chunks(org_ids, CHUNK):
        states = Organization.objects.select_for_update().filter(pk__in=chunk).values_list("status", flat=True)
        if any(s != Organization.Status.ACTIVE for s in states):
            raise IntegrityError("organization dissolved during import")
    for r in rows:
        r.activity = _activity(r, user)
    activities = [r.activity for r in rows]
    if connection.features.can_return_rows_from_bulk_insert:
        for chunk in chunks(activities, 1000):
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
    compliance.mark_days((r.org.pk, r.held_on) for r in rows)


write_template = ActivityImporter.write_template

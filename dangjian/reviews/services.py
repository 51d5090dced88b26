"""Writes of 述职评议. Each function is one transaction; every change to a review, a report or an
item is in the change history — except the casting of a ballot, which by design leaves no trace
beyond the review's vote counters and the ballot marked as used (see models.py)."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Case, Count, F, Q, Value, When
from django.utils import timezone

from dangjian.core import audit, jobs, versioning
from dangjian.core.models import AuditEntry
from dangjian.core.similarity import MAX_DOCUMENT_BYTES, DocumentError, find_copies, read_document
from dangjian.members.models import Member
from dangjian.orgs.models import CommitteeSeat, Organization
from dangjian.orgs.queries import party_group_secretary_post
from dangjian.rectification.models import Item
from dangjian.rectification.services import ItemError, open_item

from .models import (
    GRADE_LABELS,
    GRADES,
    NOT_REPORTING_KINDS,
    ORGANIZER_KINDS,
    Ballot,
    CopyFinding,
    DutyReport,
    DutyReview,
    VoteCount,
    VoterGroup,
    min_group,
)

FIELD_LABELS = {
    "org": "组织单位", "year": "年度", "title": "名称", "meeting_on": "评议会日期", "vote_share": "评议票占比",
    "run": "关联考核", "grade_points": "等次分值", "status": "状态", "name": "投票群体", "weight": "权重",
    "count": "张数", "group": "投票群体", "report_org": "述职组织", "reporter": "述职人", "text": "报告正文",
    "file": "上传文件", "code": "票码", "grades": "评议等次", "item": "点评意见", "due_on": "整改期限",
}
MAX_BALLOTS_PER_ISSUE = 500
REPORT_MAX_BYTES = 10 * 1024 * 1024
MIN_REPORT_CHARS = 50
MAX_REPORT_CHARS = 100_000
# Ballot codes: 16 symbols from 32 that cannot be mistaken for each other on paper (no 0/O,
# 1/I), 80 random bits: guessing one among a few hundred issued codes is hopeless, so no
# rate limit is needed on the voting page.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 16


class ReviewError(ValueError):
    """Bad input; `field` names the field (see FIELD_LABELS), the message is shown as is."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _fail(field: str, message: str):
    raise ReviewError(field, f"{FIELD_LABELS.get(field, field)}：{message}")


def _actor(user):
    return user if user is not None and user.is_authenticated else None


def _decimal(field: str, value, low: int, high: int) -> Decimal:
    try:
        d = Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError):
        _fail(field, f"“{value}”不是有效的数字")
    if not d.is_finite() or not low <= d <= high:
        _fail(field, f"应在 {low} 到 {high} 之间")
    if d != d.quantize(Decimal("0.01")):
        _fail(field, "最多保留两位小数")
    return d.quantize(Decimal("0.01"))


# ---- reviews ---------------------------------------------------------------------------------

def check_grade_points(points) -> dict[str, int]:
    if not isinstance(points, dict) or set(points) != set(GRADES):
        _fail("grade_points", "应分别填写好、较好、一般、差四个等次的分值")
    out = {}
    for g in GRADES:
        value = points[g]
        if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, str) and value.isdigit()):
            _fail("grade_points", f"“{GRADE_LABELS[g]}”的分值应为 0 到 100 的整数")
        value = int(value)
        if not 0 <= value <= 100:
            _fail("grade_points", f"“{GRADE_LABELS[g]}”的分值应为 0 到 100 的整数")
        out[g] = value
    values = [out[g] for g in GRADES]
    if any(a <= b for a, b in zip(values, values[1:])):
        _fail("grade_points", "分值应按好、较好、一般、差依次降低")
    return out


def _check_review_fields(org, year, title, meeting_on, vote_share, run, grade_points, today, exclude_pk=None):
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= today.year:
        _fail("year", f"应为 2000 到 {today.year} 之间的年份（不能评议将来的年度）")
    title = (title or "").strip()
    if not title:
        _fail("title", "请填写名称")
    if len(title) > 100:
        _fail("title", "不能超过 100 个字")
    same = DutyReview.objects.filter(org=org, year=year, title=title)
    if exclude_pk:
        same = same.exclude(pk=exclude_pk)
    if same.exists():
        _fail("title", f"{org.name} {year} 年度已有同名的述职评议")
    if meeting_on is not None:
        if not isinstance(meeting_on, dt.date) or isinstance(meeting_on, dt.datetime):
            _fail("meeting_on", "不是有效的日期")
        if not year <= meeting_on.year <= year + 1:
            _fail("meeting_on", f"{year} 年度的评议会应在 {year} 年或 {year + 1} 年召开")
    share = _decimal("vote_share", 50 if vote_share is None else vote_share, 0, 100)
    if run is not None and run.scheme.year != year:
        _fail("run", f"所选考核是 {run.scheme.year} 年度的，与评议年度 {year} 不一致")
    if run is not None and not run.is_final:
        # A draft has no final scores yet (assessment.services): the combined result would move.
        _fail("run", f"所选考核“{run}”是暂定结果（{'；'.join(run.draft_reasons)}），请选择已定稿的考核")
    points = check_grade_points(grade_points) if grade_points is not None else None
    return title, share, points


def create_review(user, org: Organization, year: int, title: str, *, meeting_on=None, vote_share=None, run=None,
                  grade_points=None, today: dt.date | None = None) -> DutyReview:
    today = today or timezone.localdate()
    with transaction.atomic():
        if org is None:
            _fail("org", "请选择组织单位")
        org = Organization.objects.select_for_update().get(pk=org.pk)
        if org.status != Organization.Status.ACTIVE:
            _fail("org", f"“{org.name}”已撤销")
        if org.kind not in ORGANIZER_KINDS:
            _fail("org", f"{org.get_kind_display()}不组织述职评议（由机关工委、党委、机关党委或党总支组织）")
        title, share, points = _check_review_fields(org, year, title, meeting_on, vote_share, run, grade_points,
                                                    today)
        review = DutyReview(org=org, year=year, title=title, meeting_on=meeting_on, vote_share=share, run=run,
                            created_by=_actor(user))
        if points is not None:
            review.grade_points = points
        review.save()
        audit.record(user, review, None)
        return review


def update_review(user, review: DutyReview, *, title: str, meeting_on=None, vote_share=None, run=None,
                  grade_points=None, today: dt.date | None = None, version: int | None = None) -> DutyReview:
    """Settings may change until voting opens; after that only the meeting date (what voters were
    asked and how it is counted must not change under them). `version` is the one the editor
    read (core.versioning): a save made since raises StaleVersion."""
    today = today or timezone.localdate()
    with transaction.atomic():
        review = DutyReview.objects.select_for_update().select_related("org").get(pk=review.pk)
        versioning.claim(review, version)
        if review.status == DutyReview.Status.CLOSED:
            _fail("status", "评议已结束，不能再修改")
        title, share, points = _check_review_fields(review.org, review.year, title, meeting_on, vote_share, run,
                                                    grade_points, today, exclude_pk=review.pk)
        points = points or review.points()
        if review.status != DutyReview.Status.DRAFT and (
                title != review.title or share != review.vote_share or (run.pk if run else None) != review.run_id
                or points != review.points()):
            _fail("status", "已开始投票，只能修改评议会日期")
        before = audit.snapshot(review)
        review.title, review.meeting_on, review.vote_share, review.run = title, meeting_on, share, run
        review.grade_points = points
        review.save()
        audit.record(user, review, before)
        return review


def expected_orgs(review: DutyReview):
    """The organizations expected to report: the organizer's direct subordinates, 党组 included,
    except 党小组 (see models.NOT_REPORTING_KINDS)."""
    return (Organization.objects.filter(parent_id=review.org_id, status=Organization.Status.ACTIVE)
            .exclude(kind__in=NOT_REPORTING_KINDS).order_by("path"))


def open_review(user, review: DutyReview, today: dt.date | None = None) -> DutyReview:
    today = today or timezone.localdate()
    with transaction.atomic():
        review = DutyReview.objects.select_for_update().get(pk=review.pk)
        if review.status != DutyReview.Status.DRAFT:
            _fail("status", f"评议当前为“{review.get_status_display()}”，不能开始投票")
        if not review.reports.exists():
            _fail("status", "还没有提交的述职报告，不能开始投票")
        groups = list(review.groups.annotate(issued=Count("ballots")).order_by("position", "id"))  # the first short group named
        if not groups:
            _fail("status", "请先设置投票群体（如党员代表、两代表一委员、群众代表）并生成选票")
        total = sum(g.weight for g in groups)
        if total != 100:
            _fail("status", f"各投票群体的权重之和应为 100%，现为 {total.normalize():f}%")
        least = min_group()
        for g in groups:
            if g.issued < least:
                _fail("status", f"“{g.name}”只有 {g.issued} 张选票；为保证投票匿名，每个投票群体至少需要 "
                                f"{least} 张选票")
        before = audit.snapshot(review)
        review.status = DutyReview.Status.OPEN
        review.opened_at = timezone.now()
        if review.meeting_on is None:
            review.meeting_on = today
        review.save()
        # Every counter exists before the first vote, in an order that depends on nothing voted:
        # no vote ever creates a row, so neither a row's first appearance nor its place in the
        # table says when a grade was first given.
        VoteCount.objects.bulk_create([
            VoteCount(review=review, report_id=rid, group_id=g.pk, grade=grade)
            for rid in review.reports.order_by("pk").values_list("pk", flat=True) for g in groups
            for grade in GRADES], batch_size=1000)
        audit.record(user, review, before, note="开始投票")
        return review


def close_review(user, review: DutyReview) -> DutyReview:
    """End the voting. Every counter and ballot of the review is written once more, so the rows
    kept afterwards all carry this transaction's id rather than that of the last ballot which
    changed them; after the commit the old row versions are cleared from the tables' files."""
    with transaction.atomic():
        _secure_delete()
        review = DutyReview.objects.select_for_update().get(pk=review.pk)
        if review.status != DutyReview.Status.OPEN:
            _fail("status", f"评议当前为“{review.get_status_display()}”，只有投票中的评议可以结束投票")
        before = audit.snapshot(review)
        review.status = DutyReview.Status.CLOSED
        review.closed_at = timezone.now()
        review.save()
        VoteCount.objects.filter(review=review).update(writes=F("writes") + 1)
        Ballot.objects.filter(group__review=review).update(used=F("used"))
        audit.record(user, review, before, note="结束投票")
        # In the background: it may have to wait for transactions begun before the closing.
        transaction.on_commit(lambda: jobs.start("reviews-clear", user, _clear_job))
        return review


def _secure_delete() -> None:
    """SQLite: space freed by a write is overwritten with zeros, so a copy of the database file
    holds no earlier value of a counter or a ballot."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")


# How long the clearing after closing waits for transactions begun before it (anywhere on the
# database server: their snapshots keep old row versions alive) to end.
CLEAR_WAIT_SECONDS = 300


def clear_old_versions(rebuild: bool = False, wait: float = 0) -> bool:
    """Remove the old row versions of the vote counters and ballots that a vote or the closing
    left behind: VACUUM on PostgreSQL (VACUUM FULL at closing, which writes the tables anew), a
    truncating WAL checkpoint on SQLite (the -wal file holds every earlier page otherwise), a
    table rebuild on MariaDB/MySQL at closing. Runs after the commit, outside any transaction.

    A transaction that began before the commit (another session's, even in another database of
    the same PostgreSQL server; a reader on SQLite) keeps the old versions until it ends, so this
    waits up to `wait` seconds for such transactions. Returns False when the old versions may
    still be there (inside an outer transaction, or the wait ran out) — the next vote or the
    closing clears them again."""
    if connection.in_atomic_block:
        return False
    names = [connection.ops.quote_name(m._meta.db_table) for m in (VoteCount, Ballot)]
    deadline = time.monotonic() + wait
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT clock_timestamp()")
            since = cursor.fetchone()[0]
            while _older_transactions(cursor, since) and time.monotonic() < deadline:
                time.sleep(0.5)
            cursor.execute(f"VACUUM {'FULL ' if rebuild else ''}{', '.join(names)}")
            return not _older_transactions(cursor, since)
        if connection.vendor == "sqlite":
            while True:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                if not cursor.fetchone()[0]:
                    return True
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.5)
        if connection.vendor == "mysql" and rebuild:
            cursor.execute(f"OPTIMIZE TABLE {', '.join(names)}")
            cursor.fetchall()
    return True


def _older_transactions(cursor, since) -> bool:
    """Is a transaction that began before `since` still open on the server (with an id or a
    snapshot that could keep old row versions)?"""
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                   "AND xact_start < %s AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL))", [since])
    return cursor.fetchone()[0]


def _clear_job(progress) -> dict:
    progress(0, 1, "正在清除计票表的旧版本")
    return {"cleared": clear_old_versions(rebuild=True, wait=CLEAR_WAIT_SECONDS)}


# ---- voter groups and ballots ----------------------------------------------------------------

def _editable_setup(review: DutyReview, what: str) -> None:
    if review.status != DutyReview.Status.DRAFT:
        _fail("status", f"已开始投票，不能再{what}")


def add_group(user, review: DutyReview, name: str, weight) -> VoterGroup:
    with transaction.atomic():
        review = DutyReview.objects.select_for_update().get(pk=review.pk)
        _editable_setup(review, "修改投票群体")
        name = (name or "").strip()
        if not name:
            _fail("name", "请填写投票群体名称")
        if len(name) > 40:
            _fail("name", "不能超过 40 个字")
        if review.groups.filter(name=name).exists():
            _fail("name", f"“{name}”已经设置")
        weight = _decimal("weight", weight, 0, 100)
        if weight <= 0:
            _fail("weight", "应大于 0")
        position = (review.groups.order_by("-position").values_list("position", flat=True).first() or 0) + 1
        group = VoterGroup.objects.create(review=review, name=name, weight=weight, position=position)
        audit.record(user, group, None, note=f"投票群体：{name}")
        return group


def update_group(user, group: VoterGroup, name: str, weight, version: int | None = None) -> VoterGroup:
    """`version` is the one the editor read (core.versioning): a save made since raises
    StaleVersion, so a second organizer never silently undoes the first one's weight."""
    with transaction.atomic():
        review = DutyReview.objects.select_for_update().get(pk=group.review_id)
        _editable_setup(review, "修改投票群体")
        versioning.claim(group, version)
        before = audit.snapshot(group)
        name = (name or "").strip()
        if not name:
            _fail("name", "请填写投票群体名称")
        if len(name) > 40:
            _fail("name", "不能超过 40 个字")
        if review.groups.filter(name=name).exclude(pk=group.pk).exists():
            _fail("name", f"“{name}”已经设置")
        weight = _decimal("weight", weight, 0, 100)
        if weight <= 0:
            _fail("weight", "应大于 0")
        group.name, group.weight = name, weight
        group.save()
        audit.record(user, group, before, note=f"投票群体：{name}")
        return group


def remove_group(user, group: VoterGroup) -> None:
    """Only a group without ballots, before voting opens: a configuration slip, not a record."""
    with transaction.atomic():
        review = DutyReview.objects.select_for_update().get(pk=group.review_id)
        _editable_setup(review, "删除投票群体")
        if group.ballots.exists():
            _fail("group", f"“{group.name}”已生成选票，不能删除；可调整其权重")
        AuditEntry.objects.create(table="reviews.votergroup", object_id=group.pk, action="delete",
                                  changes={"name": [group.name, None], "weight": [str(group.weight), None]},
                                  user=_actor(user), note=f"删除投票群体：{group.name}")
        group.delete()


def normalize_code(raw: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", (raw or "").upper())


def code_hash(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def display_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def issue_ballots(user, group: VoterGroup, count) -> list[str]:
    """New codes for a group, returned once (only their hashes are kept: a lost code cannot be
    shown again, only replaced by a new one)."""
    try:
        count = int(str(count).strip())
    except (TypeError, ValueError):
        _fail("count", f"“{count}”不是有效的张数")
    if not 1 <= count <= MAX_BALLOTS_PER_ISSUE:
        _fail("count", f"每次可生成 1 到 {MAX_BALLOTS_PER_ISSUE} 张")
    with transaction.atomic():
        review = DutyReview.objects.select_for_update().get(pk=group.review_id)
        if review.status == DutyReview.Status.CLOSED:
            _fail("status", "评议已结束，不能再生成选票")
        have, least = group.ballots.count(), min_group()
        if have + count < least:
            _fail("count", f"为保证投票匿名，每个投票群体至少需要 {least} 张选票；“{group.name}”"
                           f"{f'已有 {have} 张，' if have else ''}本次至少生成 {least - have} 张")
        codes = ["".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)) for _ in range(count)]
        Ballot.objects.bulk_create([Ballot(group_id=group.pk, code_hash=code_hash(c)) for c in codes])
        AuditEntry.objects.create(table="reviews.dutyreview", object_id=review.pk, action="update",
                                  changes={"ballots": [None, {"group": group.name, "count": count}]},
                                  user=_actor(user), note=f"生成选票：{group.name} {count} 张")
        return codes


# ---- voting ----------------------------------------------------------------------------------

def ballot_for_code(code: str) -> Ballot:
    """The usable ballot of a code, or ReviewError saying why it cannot be used."""
    norm = normalize_code(code)
    if not norm:
        _fail("code", "请输入选票上的票码")
    if len(norm) != CODE_LENGTH:
        _fail("code", f"票码应为 {CODE_LENGTH} 位（字母和数字，可不输入短横线），请核对")
    ballot = Ballot.objects.select_related("group__review").filter(code_hash=code_hash(norm)).first()
    if ballot is None:
        _fail("code", "票码不正确，请核对选票后重新输入")
    _check_usable(ballot, ballot.group.review)
    return ballot


def _check_usable(ballot: Ballot, review: DutyReview) -> None:
    if review.status == DutyReview.Status.DRAFT:
        _fail("code", f"“{review.title}”尚未开始投票，请在评议会宣布开始后再投票")
    if review.status == DutyReview.Status.CLOSED:
        closed = timezone.localtime(review.closed_at).strftime("%Y-%m-%d %H:%M") if review.closed_at else ""
        _fail("code", f"“{review.title}”已于 {closed} 结束投票，不能再投票")
    if ballot.used:
        _fail("code", "这张选票已经投过票，每张选票只能投一次")


def cast_ballot(code: str, grades: dict) -> int:
    """Record one ballot: a grade for every report of its review. In one transaction the ballot
    is marked used and one UPDATE adds 1 to the chosen counters of its group while rewriting
    every other counter of the review unchanged — nothing else, not even the change history.
    Each vote thus leaves every counter with the same new row version, and the versions it
    replaced are cleared after the commit (see models.py)."""
    with transaction.atomic():
        _secure_delete()
        ballot = ballot_for_code(code)
        review = DutyReview.objects.select_for_update().get(pk=ballot.group.review_id)
        _check_usable(ballot, review)
        reports = dict(DutyReport.objects.filter(review=review).values_list("pk", "org__name"))
        chosen: dict[int, str] = {}
        for key, grade in (grades or {}).items():
            try:
                rid = int(key)
            except (TypeError, ValueError):
                _fail("grades", f"“{key}”不是本次评议的述职报告")
            if rid not in reports:
                _fail("grades", f"编号为 {rid} 的述职报告不属于本次评议")
            if grade not in GRADES:
                _fail("grades", f"“{grade}”不是有效的评议等次（好、较好、一般、差）")
            chosen[rid] = grade
        missing = [name for rid, name in reports.items() if rid not in chosen]
        if missing:
            shown = "、".join(missing[:5]) + (f"等 {len(missing)} 个" if len(missing) > 5 else "")
            _fail("grades", f"请为每一份述职报告选择等次，还未选择：{shown}")
        # Conditional update: of two submissions of one code at the same moment only one counts.
        if Ballot.objects.filter(pk=ballot.pk, used=False).update(used=True) != 1:
            _fail("code", "这张选票已经投过票，每张选票只能投一次")
        raised = [pk for pk, rid, grade in VoteCount.objects.filter(review=review, group_id=ballot.group_id)
                  .values_list("pk", "report_id", "grade") if chosen.get(rid) == grade]
        if len(raised) != len(chosen):
            _fail("status", "本次评议的计票表不完整，请联系组织单位")
        VoteCount.objects.filter(review=review).update(
            count=F("count") + Case(When(pk__in=raised, then=Value(1)), default=Value(0)),
            writes=F("writes") + 1)
        transaction.on_commit(clear_old_versions)
        return len(chosen)


# ---- reports ---------------------------------------------------------------------------------

def _clean_name(name: str) -> str:
    return "".join(ch for ch in Path(name or "").name if ch.isprintable()).strip()[:200]


def size_label(n: int) -> str:
    return f"{n / 1048576:g} MB" if n >= 1048576 else f"{n // 1024} KB"


def read_upload(upload) -> tuple[str, str, bytes]:
    """(file name, extracted text, bytes) of an uploaded .txt/.docx, or ReviewError."""
    name = _clean_name(getattr(upload, "name", ""))
    ext = Path(name).suffix.lower()
    if ext == ".doc":
        _fail("file", f"“{name}”是旧版 Word 文件（.doc），请在 Word 中“另存为” .docx 后上传，或直接粘贴正文")
    if ext not in (".txt", ".docx"):
        _fail("file", f"“{name}”的类型不支持，述职报告只能上传 .txt 或 .docx 文件，或直接粘贴正文")
    size = getattr(upload, "size", None) or 0
    if size == 0:
        _fail("file", f"“{name}”是空文件")
    limit = min(REPORT_MAX_BYTES, MAX_DOCUMENT_BYTES)
    if size > limit:
        _fail("file", f"“{name}”超过 {size_label(limit)} 的上限")
    upload.seek(0)
    data = upload.read(limit + 1)
    upload.seek(0)
    if ext == ".docx" and not data.startswith(b"PK\x03\x04"):
        _fail("file", f"“{name}”不是有效的 .docx 文件（内容与扩展名不符）")
    try:
        text = read_document(name, data)
    except DocumentError as exc:
        if ext == ".txt" and "UTF-8" in str(exc):
            _fail("file", f"“{name}”不是 UTF-8 编码的文本文件，请另存为 UTF-8 编码或上传 .docx")
        _fail("file", f"“{name}”：{exc}")
    if ext == ".txt" and "\x00" in text:
        _fail("file", f"“{name}”不是文本文件")
    return name, text.lstrip("\ufeff"), data


def _check_text(text: str, field: str) -> str:
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if "\x00" in text:
        _fail(field, "含有无效字符")
    if len(re.sub(r"\s", "", text)) < MIN_REPORT_CHARS:
        _fail(field, f"报告正文过短（至少 {MIN_REPORT_CHARS} 个字）" if text else "未读到报告正文")
    if len(text) > MAX_REPORT_CHARS:
        _fail(field, f"报告正文过长（最多 {MAX_REPORT_CHARS:,} 个字）")
    return text


def _check_reporter(org: Organization, reporter) -> Member:
    if reporter is None:
        _fail("reporter", "请选择述职人")
    if not isinstance(reporter, Member):
        reporter = Member.objects.select_related("org").filter(pk=reporter).first()
        if reporter is None:
            _fail("reporter", "所选党员不存在")
    if reporter.status != Member.Status.ACTIVE:
        _fail("reporter", f"{reporter.name} 不是在册党员")
    if not reporter_candidates(org).filter(pk=reporter.pk).exists():
        _fail("reporter", f"{reporter.name} 不是{org.name}的党员或委员" if org.kind != "leading_group"
              else f"{reporter.name} 不是{org.name}的成员（委员或本单位党员领导干部）")
    return reporter


def _unit_leaders(org: Organization):
    """A 党组's people where it has no seats entered: its unit's leading cadres (党组成员 sit in the
    organ's branches for their organizational life, not on the 党组's roll)."""
    if org.kind != "leading_group" or org.unit_id is None:
        return Member.objects.none()
    return Member.objects.filter(status=Member.Status.ACTIVE, is_leader=True, org__unit_id=org.unit_id)


def reporter_candidates(org: Organization):
    """Who may report for an org: its members (whole subtree) and its committee's seat holders;
    for a 党组, also its unit's leading cadres."""
    seats = CommitteeSeat.objects.filter(org=org, is_active=True, holder__isnull=False).values("holder_id")
    return (Member.objects.filter(status=Member.Status.ACTIVE)
            .filter(Q(org__path__startswith=org.path) | Q(pk__in=seats) | Q(pk__in=_unit_leaders(org).values("pk")))
            .order_by("name", "pk"))


def default_reporter(org: Organization) -> Member | None:
    """The org's secretary (else its deputy secretary), as the one who normally reports; for a
    党组 without a secretary seat entered, its unit's leading cadre whose 职务 names the office
    (党组书记、局长), as the duty lists find the 党组书记 (rules/duties.yaml `post_keyword`)."""
    seat = (CommitteeSeat.objects.filter(org=org, is_active=True, holder__isnull=False,
                                         holder__status=Member.Status.ACTIVE,
                                         role__in=("secretary", "deputy_secretary"))
            .select_related("holder").order_by("-role").first())  # "secretary" sorts after "deputy…"
    if seat is not None:
        return seat.holder
    keyword = party_group_secretary_post()
    if not keyword:
        return None
    return _unit_leaders(org).filter(post__contains=keyword).order_by("org__path", "name", "pk").first()


def _atomic_with_file(fn):
    """The original file is stored inside the transaction; a failing write deletes it again."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        stored: list[str] = []
        try:
            with transaction.atomic():
                return fn(*args, _stored=stored, **kwargs)
        except BaseException:
            for name in stored:
                DutyReport.original.field.storage.delete(name)
            raise
    return run


@_atomic_with_file
def submit_report(user, review: DutyReview, org: Organization, reporter, *, title: str = "", text: str = "",
                  upload=None, keep_original: bool = True, version: int | None = None,
                  _stored: list) -> DutyReport:
    """Submit (or replace, before voting opens) an org's duty report: typed text or an uploaded
    .txt/.docx, never both. The check for copies runs after the commit (a background job).
    `version` is the report's as the editor read it, 0 when there was none (core.versioning):
    a report submitted or replaced since raises StaleVersion."""
    review = DutyReview.objects.select_for_update().select_related("org").get(pk=review.pk)
    if review.status != DutyReview.Status.DRAFT:
        _fail("status", f"评议{review.get_status_display()}，不能再提交或修改述职报告")
    if org is None:
        _fail("report_org", "请选择述职组织")
    org = Organization.objects.get(pk=org.pk)
    if org.status != Organization.Status.ACTIVE:
        _fail("report_org", f"“{org.name}”已撤销")
    if not org.path.startswith(review.org.path) or org.pk == review.org_id:
        _fail("report_org", f"“{org.name}”不在{review.org.name}的评议范围内")
    if org.kind == "cell":
        _fail("report_org", "党小组不单独述职")
    reporter = _check_reporter(org, reporter)
    report = DutyReport.objects.select_for_update().filter(review=review, org=org).first()
    if report is not None:
        versioning.claim(report, version)
    typed = (text or "").strip()
    if upload is not None and typed:
        _fail("text", "已上传文件时请不要再粘贴正文（以文件内容为准），请二选一")
    if upload is not None:
        name, body, data = read_upload(upload)
        body = _check_text(body, "file")
    elif not typed and report is not None:
        name, data, body = "", b"", report.text  # only the reporter or the title changes
    else:
        name, data = "", b""
        body = _check_text(text, "text")
    title = (title or "").strip() or f"{org.name}书记{review.year}年度抓基层党建工作述职报告"
    if len(title) > 200:
        _fail("title", "不能超过 200 个字")

    before = audit.snapshot(report) if report else None
    if report is None:
        report = DutyReport(review=review, org=org, submitted_by=_actor(user))
    text_changed = report.text != body
    reporter_changed = report.reporter_id != reporter.pk
    report.reporter, report.title, report.text = reporter, title, body
    old_file = report.original.name if report.original else ""
    if upload is not None and keep_original:
        report.original.save(f"{secrets.token_hex(12)}{Path(name).suffix.lower()}", ContentFile(data), save=False)
        _stored.append(report.original.name)
        report.original_name = name
    elif upload is not None or text_changed:
        # The old file no longer shows what is reported.
        report.original, report.original_name = "", ""
    if old_file and old_file != (report.original.name if report.original else ""):
        transaction.on_commit(functools.partial(DutyReport.original.field.storage.delete, old_file))
    report.save()
    note = f"上传文件：{name}" if upload is not None else ("修改正文" if before and text_changed else "")
    audit.record(user, report, before, note=note)
    if before is None or text_changed or reporter_changed:
        # The reporter decides which earlier reports are compared too.
        transaction.on_commit(functools.partial(schedule_check, user, [report.pk]))
    return report


# ---- copy detection --------------------------------------------------------------------------

def corpus_filter(reports) -> Q:
    """What the given reports are compared with: every report of the same year (all reviews),
    and the same reporter's and the same org's reports of any other year."""
    years = {r.review.year for r in reports}
    return (Q(review__year__in=years) | Q(reporter_id__in={r.reporter_id for r in reports})
            | Q(org_id__in={r.org_id for r in reports}))


def comparable(a: tuple, b: tuple) -> bool:
    """(year, reporter, org) of two reports: do they belong in each other's check?"""
    return a[0] == b[0] or a[1] == b[1] or a[2] == b[2]


def check_copies(report_ids, progress=None) -> int:
    """Compare these reports with their corpus (one run of the engine, `only` these) and replace
    their stored findings. Returns the number of pairs found."""
    ids = sorted(set(report_ids))
    reports = list(DutyReport.objects.filter(pk__in=ids).select_related("review"))
    if not reports:
        return 0
    rows = list(DutyReport.objects.filter(corpus_filter(reports))
                .values_list("pk", "review__year", "reporter_id", "org_id", "text"))
    meta = {pk: (year, reporter, org) for pk, year, reporter, org, _ in rows}
    docs = {str(pk): text for pk, *_, text in rows}
    pairs = find_copies(docs, only=[str(r.pk) for r in reports], progress=progress)
    findings = {}
    for p in pairs:
        a, b = int(p.a), int(p.b)
        if a == b or not comparable(meta[a], meta[b]):
            continue
        passages = [list(s) for s in p.passages]
        if a > b:
            a, b = b, a
            passages = [[s[2], s[3], s[0], s[1]] for s in passages]
        findings[(a, b)] = CopyFinding(report_id=a, other_id=b, score=p.score, copied=p.copied,
                                       passages=passages)
    now = timezone.now()
    with transaction.atomic():
        CopyFinding.objects.filter(Q(report_id__in=ids) | Q(other_id__in=ids)).delete()
        CopyFinding.objects.bulk_create(findings.values())
        # A plain UPDATE: saving would move `updated_at`, which says when the text changed.
        DutyReport.objects.filter(pk__in=ids).update(checked_at=now)
    return len(findings)


def _check_job(progress, report_ids) -> dict:
    return {"pairs": check_copies(report_ids, progress=lambda done, total: progress(done, total, "正在比对述职报告"))}


def schedule_check(user, report_ids):
    """Run the check in the background (inline in sync mode): the submitter does not wait for it."""
    return jobs.start("reviews-copycheck", user, _check_job, sorted(set(report_ids)))


# ---- comments to rectify ---------------------------------------------------------------------
# A 点评 is a rectification item (rectification.Item, source "review", its record the report):
# the organizer opens it on the report's problem list; the reporting organization signs for it,
# reports progress and asks for it to be closed on the item's page, and the organizer closes
# or returns it there.

# Without a 整改期限 in the comment, the item is due three months after the comment is entered
# (the time the speeches give for rectifying what a review found).
DEFAULT_DEADLINE_DAYS = 90


def comment_title(text: str) -> str:
    """The item's title: the comment's first line, cut to fit a list."""
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    return first if len(first) <= 60 else first[:59] + "…"


def add_item(user, report: DutyReport, text: str, due_on=None, today: dt.date | None = None,
             opened_on: dt.date | None = None) -> Item:
    """点评: opens a rectification item for the reporting organization, issued by the review's
    organizing side, the reporter named responsible when they belong to the organization.
    `opened_on` (default today) is the day the comment was made."""
    today = today or timezone.localdate()
    opened_on = opened_on or today
    text = (text or "").strip()
    if not text:
        _fail("item", "请填写点评意见及整改要求")
    if len(text) > 2000:
        _fail("item", "不能超过 2000 个字")
    if due_on is not None and (not isinstance(due_on, dt.date) or due_on < opened_on):
        _fail("due_on", "整改期限不能早于今天" if opened_on == today else "整改期限不能早于点评日期")
    with transaction.atomic():
        review = DutyReview.objects.select_for_update().select_related("org").get(pk=report.review_id)
        if review.status == DutyReview.Status.DRAFT:
            _fail("item", "评议会召开（开始投票）后才能录入点评意见")
        reporter = Member.objects.select_related("org").get(pk=report.reporter_id)
        org = Organization.objects.get(pk=report.org_id)
        in_org = reporter.org_id is not None and reporter.org.path.startswith(org.path)
        try:
            return open_item(user, org=org, list=Item.List.PROBLEM, title=comment_title(text), description=text,
                             source=Item.Source.REVIEW, source_id=report.pk,
                             source_label=f"{review.title}·{org.name}"[:200], issuer=review.org,
                             responsible=reporter if in_org else None,
                             deadline=due_on or opened_on + dt.timedelta(days=DEFAULT_DEADLINE_DAYS),
                             opened_on=opened_on, today=today)
        except ItemError as exc:
            raise ReviewError("due_on" if exc.field == "deadline" else "item", exc.message) from None

"""Writes to organizational life. Every function is one transaction and audited; after it
commits, the compliance rows of the affected org and periods and the stored formalism signals
of the affected years are recomputed by background jobs (inline in sync mode)."""
from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dangjian.core import audit, periods, versioning
from dangjian.core.models import AuditEntry
from dangjian.core.text import citation_problem
from dangjian.members.models import Category, Member
from dangjian.orgs.models import CommitteeSeat, Organization

from . import checks
from .checks import FIELD_LABELS, ActivityError  # noqa: F401  (callers catch services.ActivityError)
from .models import KIND_LABELS, KINDS_FOR_ORG, Activity, ActivityKind, ActivityRule, Attachment, Attendance, kind_rows

EDITABLE = ("held_on", "starts_at", "place", "topic", "host", "recorder", "lecturer", "lecturer_name",
            "minutes", "decisions")
ATTENDANCE_STATUSES = {s.value for s in Attendance.Status}
COUNT_FIELDS = ("expected_count", "present_count", "voting_expected", "voting_present",
                "committee_expected", "committee_present")

# Attachments: optional, and limited to the documents and pictures a branch actually keeps.
# settings.ACTIVITY_ATTACHMENT_MAX_BYTES overrides the size limit; it is read when a file is
# checked (attachment_max_bytes), not when this module is imported.
ATTACHMENT_MAX_BYTES = getattr(settings, "ACTIVITY_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
MAX_ATTACHMENTS_PER_SAVE = 10
ATTACHMENT_TYPES = {
    ".pdf": ("application/pdf",),
    ".jpg": ("image/jpeg",), ".jpeg": ("image/jpeg",), ".png": ("image/png",),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "application/zip"),
}
ATTACHMENT_TYPE_NAMES = "PDF、JPG、PNG、DOCX、XLSX、PPTX"
# What browsers declare is only a hint (Windows reports Office files as zip, some systems send
# nothing specific); the first bytes decide.
_LOOSE_CONTENT_TYPES = ("application/octet-stream", "application/x-zip-compressed", "image/pjpeg",
                        "application/x-pdf", "binary/octet-stream")
_MAGIC = {".pdf": b"%PDF", ".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff", ".png": b"\x89PNG",
          ".docx": b"PK\x03\x04", ".xlsx": b"PK\x03\x04", ".pptx": b"PK\x03\x04"}


def attachment_max_bytes() -> int:
    return int(getattr(settings, "ACTIVITY_ATTACHMENT_MAX_BYTES", ATTACHMENT_MAX_BYTES))


def _active_member(field: str, member) -> Member | None:
    if member is None:
        return None
    if not isinstance(member, Member):
        member = Member.objects.filter(pk=member).first()
        if member is None:
            checks.fail(field, "所选党员不存在")
    if member.status != Member.Status.ACTIVE:
        checks.fail(field, f"{member.name} 不是在册党员")
    return member


def _check_attendance(org: Organization, attendance: dict | None) -> tuple[dict[int, tuple[str, str]], dict]:
    """Normalise {member or id: status | (status, reason)}; returns it and the members by id."""
    rows: dict[int, tuple[str, str]] = {}
    for key, value in (attendance or {}).items():
        member_id = key.pk if isinstance(key, Member) else key
        try:
            member_id = int(member_id)
        except (TypeError, ValueError):
            checks.fail("attendance", f"“{key}”不是有效的党员")
        status, reason = (value, "") if isinstance(value, str) else (tuple(value) + ("",))[:2]
        reason = (reason or "").strip()
        if status not in ATTENDANCE_STATUSES:
            checks.fail("attendance", f"“{status}”不是有效的出席情况（出席、缺席、请假、列席）")
        rows[member_id] = (status, reason[:200])
    if not rows:
        return rows, {}
    members = {m.pk: m for m in Member.objects.filter(pk__in=rows).select_related("org")}
    scope = checks.member_scope_path(org)
    for member_id, (status, reason) in rows.items():
        m = members.get(member_id)
        if m is None:
            checks.fail("attendance", f"编号为 {member_id} 的党员不存在")
        if m.status != Member.Status.ACTIVE:
            checks.fail("attendance", f"{m.name} 不是在册党员，不能登记出席情况")
        if status != Attendance.Status.OBSERVER and scope is not None and not m.org.path.startswith(scope):
            checks.fail("attendance", f"{m.name} 不是{org.name}的党员，只能登记为列席")
        if status == Attendance.Status.EXCUSED and not reason:
            checks.fail("attendance", f"{m.name} 请假，请填写请假事由")
    return rows, members


def _check_talk(kinds, talk_parties, fields, attendance) -> tuple[Member | None, Member | None]:
    if "talk" not in kinds:
        if talk_parties:
            checks.fail("talk_parties", "只有谈心谈话需要填写谈话双方")
        return None, None
    parties = list(talk_parties or [])
    if len(parties) != 2:
        checks.fail("talk_parties", "谈心谈话应填写谈话双方两人")
    a = _active_member("talk_parties", parties[0])
    b = _active_member("talk_parties", parties[1])
    if a is None or b is None:
        checks.fail("talk_parties", "谈心谈话应填写谈话双方两人")
    if a.pk == b.pk:
        checks.fail("talk_parties", "谈话双方不能是同一人")
    # The platform keeps that a talk took place, never what was said.
    for name in ("minutes", "decisions"):
        if (fields.get(name) or "").strip():
            checks.fail(name, "谈心谈话只记录谈话双方和日期，不记录谈话内容")
    if attendance:
        checks.fail("attendance", "谈心谈话不登记出席情况")
    return a, b


def _check_duplicate(org, kinds, held_on, topic, exclude_pk=None) -> None:
    same = Activity.objects.filter(org=org, held_on=held_on, topic=topic, status=Activity.Status.ACTIVE)
    if exclude_pk:
        same = same.exclude(pk=exclude_pk)
    wanted = sorted(kinds)
    for pk in same.values_list("pk", flat=True):
        existing = sorted(ActivityKind.objects.filter(activity_id=pk).values_list("kind", flat=True))
        if existing == wanted:
            checks.fail("topic", f"{held_on:%Y-%m-%d}“{topic or '（无主题）'}”的同类记录已经存在（编号 {pk}），请勿重复提交")


def _counts(org: Organization, rows: dict[int, tuple[str, str]], members: dict[int, Member]) -> dict:
    """应到/实到 for the attendance list, for voting members and for the committee."""
    present = {mid for mid, (s, _) in rows.items() if s == Attendance.Status.PRESENT}
    listed = [mid for mid, (s, _) in rows.items() if s != Attendance.Status.OBSERVER]
    scope = checks.member_scope_path(org)
    if scope is None:
        voting_expected = voting_present = 0
    else:
        base = Member.objects.filter(org__path__startswith=scope, status=Member.Status.ACTIVE,
                                     category=Category.FULL)
        # Members exempt from attendance (党员教育管理工作条例 第二十三条) are not expected, but count
        # when they come.
        voting = set(base.filter(Q(is_exempt=False) | Q(pk__in=present)).values_list("pk", flat=True))
        voting_expected, voting_present = len(voting), len(voting & present)
    holders = set(CommitteeSeat.objects.filter(org=org, is_active=True, holder__isnull=False)
                  .values_list("holder_id", flat=True))
    return {
        "expected_count": len(listed), "present_count": len(present),
        "voting_expected": voting_expected, "voting_present": voting_present,
        "committee_expected": len(holders), "committee_present": len(holders & present),
    }


def _explicit_counts(counts: dict | None) -> dict:
    out = {}
    for key, value in (counts or {}).items():
        if key not in COUNT_FIELDS:
            checks.fail("counts", f"未知的人数项“{key}”")
        if value is None:
            out[key] = None
            continue
        try:
            value = int(value)
        except (TypeError, ValueError):
            checks.fail("counts", f"“{value}”不是有效的人数")
        if value < 0:
            checks.fail("counts", "人数不能为负数")
        out[key] = value
    for exp, pres in (("expected_count", "present_count"), ("voting_expected", "voting_present"),
                      ("committee_expected", "committee_present")):
        if out.get(exp) is not None and out.get(pres) is not None and out[pres] > out[exp]:
            checks.fail("counts", f"实到人数（{out[pres]}）不能多于应到人数（{out[exp]}）")
    return out


# ---- attachments ------------------------------------------------------------------------

@dataclass
class CheckedUpload:
    """An upload that passed the checks, not stored yet."""

    upload: object
    name: str
    ext: str
    size: int


def _check_upload(upload, name: str | None = None) -> CheckedUpload:
    """Size, type and content of one file; nothing is written. A renamed executable is
    refused by its first bytes, whatever the browser declares."""
    if upload is None:
        checks.fail("file", "请选择文件")
    name = "".join(ch for ch in Path(name or getattr(upload, "name", "") or "").name if ch.isprintable()).strip()
    ext = Path(name).suffix.lower()
    if ext not in ATTACHMENT_TYPES:
        checks.fail("file", f"“{name}”的类型不支持，只能上传 {ATTACHMENT_TYPE_NAMES} 文件")
    size = getattr(upload, "size", None) or 0
    if size == 0:
        checks.fail("file", f"“{name}”是空文件")
    limit = attachment_max_bytes()
    if size > limit:
        checks.fail("file", f"“{name}”超过 {size_label(limit)} 的上限，请压缩后再上传")
    content_type = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if content_type and content_type not in ATTACHMENT_TYPES[ext] + _LOOSE_CONTENT_TYPES:
        checks.fail("file", f"“{name}”的内容类型（{content_type}）与扩展名不符")
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not head.startswith(_MAGIC[ext]):
        checks.fail("file", f"“{name}”的内容与扩展名 {ext} 不符")
    return CheckedUpload(upload, name[:200], ext, size)


def size_label(n: int) -> str:
    return f"{n / 1048576:g} MB" if n >= 1048576 else f"{n / 1024:.3g} KB"


def check_uploads(uploads) -> list[CheckedUpload]:
    """Every file of one save checked before anything is written."""
    uploads = [u for u in (uploads or []) if u is not None]
    if len(uploads) > MAX_ATTACHMENTS_PER_SAVE:
        checks.fail("file", f"一次最多上传 {MAX_ATTACHMENTS_PER_SAVE} 个附件，本次选择了 {len(uploads)} 个")
    return [_check_upload(u) for u in uploads]


def _store_attachments(user, activity: Activity, checked: list[CheckedUpload], stored: list[str]) -> list[Attachment]:
    """Store the files and their rows. The stored name is generated (the original name is
    kept in the row only), so no user text reaches the file system; each stored path is
    appended to `stored` so a failing transaction can remove the files again."""
    if checked and activity.status != Activity.Status.ACTIVE:
        checks.fail("file", "该记录已撤回，不能添加附件")
    actor = user if user is not None and user.is_authenticated else None
    out = []
    for c in checked:
        att = Attachment(activity=activity, name=c.name, size=c.size, content_type=ATTACHMENT_TYPES[c.ext][0],
                         uploaded_by=actor)
        att.file.save(f"{secrets.token_hex(12)}{c.ext}", c.upload, save=False)
        stored.append(att.file.name)
        att.save()
        out.append(att)
    # The history names the file; the stored path and the uploader column add nothing to the
    # entry's own user and time.
    AuditEntry.objects.bulk_create([
        AuditEntry(table="activities.attachment", object_id=att.pk, action="create", user=actor,
                   changes={"name": [None, att.name], "size": [None, att.size],
                            "content_type": [None, att.content_type]},
                   note=f"上传附件：{att.name}"[:200])
        for att in out
    ])
    return out


def _atomic_with_files(fn):
    """One transaction for rows and files: the files a failing write already stored are
    deleted again, so a refused save leaves neither rows nor files behind. (A rollback of an
    enclosing transaction after this one returns cannot be seen here.)"""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        stored: list[str] = []
        try:
            with transaction.atomic():
                return fn(*args, _stored=stored, **kwargs)
        except BaseException:
            for name in stored:
                Attachment.file.field.storage.delete(name)
            raise
    return run


# ---- writes ----------------------------------------------------------------------------------

def _write_kinds(activity: Activity, kinds: list[str]) -> None:
    ActivityKind.objects.filter(activity=activity).delete()
    ActivityKind.objects.bulk_create(kind_rows(activity, kinds))


def _write_attendance(user, activity: Activity, rows: dict[int, tuple[str, str]]) -> None:
    old = {a.member_id: (a.status, a.reason) for a in Attendance.objects.filter(activity=activity)}
    if old == rows:
        return
    Attendance.objects.filter(activity=activity).delete()
    Attendance.objects.bulk_create([
        Attendance(activity=activity, member_id=mid, status=s, reason=r if s == "excused" else r)
        for mid, (s, r) in sorted(rows.items())
    ])
    changed = {str(mid): [old.get(mid, [None, ""])[0], rows.get(mid, [None, ""])[0]]
               for mid in set(old) | set(rows) if old.get(mid) != rows.get(mid)}
    AuditEntry.objects.create(table="activities.attendance", object_id=activity.pk,
                              action="create" if not old else "update", changes=changed,
                              user=user if user is not None and user.is_authenticated else None)


def _after_commit(user, org_ids, days, lecturer_ids=()) -> None:
    """Mark the compliance of the record's org (and of the orgs whose secretary lectured) stale
    for the periods containing its days (an edit moving a record from March to November marks
    those two months' periods, not the months between), in this transaction; recompute them once it commits, and
    refresh the stored formalism signals of those days' years."""
    from . import compliance, formalism

    orgs = {*org_ids, *compliance.secretaries_orgs(lecturer_ids)}
    compliance.mark_days((org_id, day) for org_id in orgs for day in days)
    compliance.schedule_refresh(user)
    transaction.on_commit(functools.partial(formalism.schedule, user, sorted(set(org_ids)), sorted(set(days))))


@_atomic_with_files
def record_activity(user, org: Organization, kinds, held_on: dt.date, *, starts_at=None, place="", topic="",
                    host=None, recorder=None, lecturer=None, lecturer_name="", talk_parties=None, minutes="",
                    decisions="", attendance=None, counts=None, attachments=None, source=Activity.Source.ENTERED,
                    today: dt.date | None = None, _stored: list) -> Activity:
    """Record one activity with its kinds and attendance ({member: status or (status, reason)}).

    `counts` supplies 应到/实到 figures directly (historical imports without attendance lists);
    otherwise they are taken from the attendance list and the org's members and committee.
    `attachments` are uploaded files, optional; one bad file refuses the whole record."""
    today = today or timezone.localdate()
    if org is None:
        checks.fail("org", "请选择党组织")
    org = Organization.objects.select_for_update().get(pk=org.pk)
    if org.status != Organization.Status.ACTIVE:
        checks.fail("org", f"“{org.name}”已撤销，不能再录入组织生活记录")
    kinds = checks.check_kinds(org, kinds)
    held_on = checks.check_date(held_on, today)
    text = checks.check_text(dict(place=place, topic=topic, lecturer_name=lecturer_name, minutes=minutes,
                            decisions=decisions))
    party_a, party_b = _check_talk(kinds, talk_parties, text, attendance)
    rows, members = _check_attendance(org, attendance)
    people = {name: _active_member(name, value) for name, value in
              (("host", host), ("recorder", recorder), ("lecturer", lecturer))}
    if (people["lecturer"] or text["lecturer_name"]) and "party_lecture" not in kinds:
        checks.fail("lecturer", "只有党课需要填写授课人")
    if people["lecturer"] and text["lecturer_name"]:
        checks.fail("lecturer", "授课人请在党员和非本组织人员中二选一")
    explicit = _explicit_counts(counts)
    _check_duplicate(org, kinds, held_on, text["topic"])
    files = check_uploads(attachments)

    activity = Activity(
        org=org, held_on=held_on, month=periods.month_key(held_on), starts_at=starts_at, **text, **people,
        talk_party_a=party_a, talk_party_b=party_b, source=source,
        recorded_by=user if user is not None and user.is_authenticated else None,
        **{**_counts(org, rows, members), **explicit},
    )
    activity.save()
    _write_kinds(activity, kinds)
    if rows:
        _write_attendance(user, activity, rows)
    audit.record(user, activity, None, note="类型：" + "、".join(KIND_LABELS[k] for k in kinds))
    _store_attachments(user, activity, files, _stored)
    _after_commit(user, [org.pk], [held_on], [activity.lecturer_id])
    return activity


@_atomic_with_files
def update_activity(user, activity: Activity, *, kinds=None, attendance=None, talk_parties=None, counts=None,
                    attachments=None, today: dt.date | None = None, version: int | None = None, _stored: list,
                    **fields) -> Activity:
    """Change a record. `recorded_at`, `recorded_by`, the org and the source never change;
    kinds and attendance are replaced when given; `attachments` are added. `version` is the one
    the editor read (core.versioning): the record and its attendance list are one version, and
    a save made since raises StaleVersion."""
    today = today or timezone.localdate()
    activity = Activity.objects.select_for_update().select_related("org").get(pk=activity.pk)
    versioning.claim(activity, version)
    if activity.status != Activity.Status.ACTIVE:
        checks.fail("org", "该记录已撤回，不能修改")
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        name = sorted(unknown)[0]
        checks.fail(name, "不能修改")
    org = activity.org
    if org.status != Organization.Status.ACTIVE:
        checks.fail("org", f"“{org.name}”已撤销，不能再修改其组织生活记录")
    old_kinds = activity.kind_list
    new_kinds = checks.check_kinds(org, kinds) if kinds is not None else old_kinds
    old_day, old_lecturer = activity.held_on, activity.lecturer_id
    held_on = checks.check_date(fields["held_on"], today) if "held_on" in fields else activity.held_on
    text = checks.check_text({k: fields[k] for k in ("place", "topic", "lecturer_name", "minutes", "decisions")
                        if k in fields})
    merged_text = {k: text.get(k, getattr(activity, k)) for k in ("minutes", "decisions")}
    if talk_parties is None and "talk" in new_kinds:
        talk_parties = [activity.talk_party_a, activity.talk_party_b]
    party_a, party_b = _check_talk(new_kinds, talk_parties, merged_text, attendance)
    if attendance is not None:
        rows, members = _check_attendance(org, attendance)
    else:
        rows = {a.member_id: (a.status, a.reason) for a in activity.attendances.all()}
        members = {}
    people = {name: _active_member(name, fields[name]) for name in ("host", "recorder", "lecturer")
              if name in fields}
    lecturer = people.get("lecturer", activity.lecturer)
    lecturer_name = text.get("lecturer_name", activity.lecturer_name)
    if (lecturer or lecturer_name) and "party_lecture" not in new_kinds:
        checks.fail("lecturer", "只有党课需要填写授课人")
    if lecturer and lecturer_name:
        checks.fail("lecturer", "授课人请在党员和非本组织人员中二选一")
    explicit = _explicit_counts(counts)
    _check_duplicate(org, new_kinds, held_on, text.get("topic", activity.topic), exclude_pk=activity.pk)
    files = check_uploads(attachments)

    before = audit.snapshot(activity)
    for name, value in {**text, **people, "starts_at": fields.get("starts_at", activity.starts_at)}.items():
        setattr(activity, name, value)
    activity.held_on, activity.month = held_on, periods.month_key(held_on)
    activity.talk_party_a, activity.talk_party_b = party_a, party_b
    if attendance is not None or kinds is not None or explicit:
        keep = {k: getattr(activity, k) for k in COUNT_FIELDS} if activity.source == Activity.Source.IMPORTED \
            and attendance is None else {}
        for key, value in {**_counts(org, rows, members), **keep, **explicit}.items():
            setattr(activity, key, value)
    activity.save()
    _write_kinds(activity, new_kinds)
    if attendance is not None:
        _write_attendance(user, activity, rows)
    note = "" if new_kinds == old_kinds else "类型：" + "、".join(KIND_LABELS[k] for k in new_kinds)
    e = audit.entry(user, activity, before, note=note)
    if e is not None or note:
        (e or AuditEntry(table="activities.activity", object_id=activity.pk, action="update", changes={},
                         user=user if user is not None and user.is_authenticated else None, note=note)).save()
    _store_attachments(user, activity, files, _stored)
    _after_commit(user, [org.pk], [old_day, held_on], [old_lecturer, activity.lecturer_id])
    return activity


@transaction.atomic
def withdraw_activity(user, activity: Activity, reason: str, version: int | None = None) -> Activity:
    """Records are never deleted: a withdrawn record stays visible in history and stops counting.
    `version` is the record's as the editor read it (core.versioning): a record corrected
    since raises StaleVersion, so nobody withdraws a record they have not seen as it is."""
    reason = (reason or "").strip()
    if not reason:
        checks.fail("reason", "请填写撤回原因")
    activity = Activity.objects.get(pk=activity.pk)
    versioning.claim(activity, version)
    if activity.status == Activity.Status.WITHDRAWN:
        checks.fail("reason", "该记录已经撤回")
    before = audit.snapshot(activity)
    activity.status, activity.withdrawn_reason = Activity.Status.WITHDRAWN, reason[:200]
    activity.save(update_fields=["status", "withdrawn_reason", "updated_at"])
    ActivityKind.objects.filter(activity=activity).update(is_active=False)
    audit.record(user, activity, before, action="withdraw")
    _after_commit(user, [activity.org_id], [activity.held_on], [activity.lecturer_id])
    return activity


@_atomic_with_files
def add_attachment(user, activity: Activity, upload, name: str | None = None, *, _stored: list) -> Attachment:
    """Attach one file (optional evidence) to a record."""
    checked = _check_upload(upload, name)
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    return _store_attachments(user, activity, [checked], _stored)[0]


@transaction.atomic
def remove_attachment(user, attachment: Attachment) -> Attachment:
    """History, not deletion: the file stays stored and the row stays, marked inactive, so
    the record's history still names it; it is no longer listed or served."""
    att = Attachment.objects.select_for_update().select_related("activity").get(pk=attachment.pk)
    if not att.is_active:
        checks.fail("file", f"附件“{att.name}”已经删除")
    if att.activity.status != Activity.Status.ACTIVE:
        checks.fail("file", "该记录已撤回，不能删除附件")
    att.is_active = False
    att.save(update_fields=["is_active"])
    AuditEntry.objects.create(table="activities.attachment", object_id=att.pk, action="delete", changes={},
                              user=user if user is not None and user.is_authenticated else None,
                              note=f"删除附件：{att.name}"[:200])
    return att


# ---- rules -----------------------------------------------------------------------------------

RULE_FIELDS = ("org_kinds", "condition", "period", "min_count", "quorum", "source", "confirmed", "note")
RULE_LABELS = {"effective_from": "生效日期", "org_kinds": "适用组织类别", "condition": "适用条件", "period": "周期",
               "min_count": "最少次数", "quorum": "到会要求", "source": "依据", "confirmed": "已核对原文", "note": "说明"}
# How far ahead a change may be dated: far enough to announce next year's rules, near enough
# that a typing slip (2062 for 2026) is caught.
RULE_MAX_YEARS_AHEAD = 5


def _rule_fail(field: str, message: str):
    raise ActivityError(field, f"{RULE_LABELS.get(field, field)}：{message}")


def _check_rule_fields(current: ActivityRule, fields: dict) -> dict:
    """The new version's values, normalised; each bad value names its field."""
    from dangjian.orgs.models import OrgKind

    from .models import Condition, Period, Quorum

    out = dict(fields)
    if "period" in out and out["period"] not in Period.values:
        _rule_fail("period", "应为每月、每季度、每半年或每年")
    if "quorum" in out and out["quorum"] not in Quorum.values:
        _rule_fail("quorum", "不是有效的选项")
    if "condition" in out:
        if out["condition"] not in Condition.values:
            _rule_fail("condition", "不是有效的选项")
        if out["condition"] == Condition.LECTURE_BY_SECRETARY and current.kind != "party_lecture":
            _rule_fail("condition", "“由本组织书记讲授”只适用于党课")
    if "min_count" in out:
        value = out["min_count"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 99:
            _rule_fail("min_count", "应为 0 到 99 的整数")
    if "org_kinds" in out:
        kinds = out["org_kinds"]
        if isinstance(kinds, str) or not isinstance(kinds, (list, tuple)):
            _rule_fail("org_kinds", "应为组织类别的列表")
        kinds = list(dict.fromkeys(kinds))
        if not kinds:
            _rule_fail("org_kinds", "请至少选择一种组织类别")
        labels = dict(OrgKind.choices)
        for k in kinds:
            if k not in labels:
                _rule_fail("org_kinds", f"“{k}”不是组织类别")
            if k not in KINDS_FOR_ORG[current.kind]:
                _rule_fail("org_kinds", f"{labels[k]}不开展“{KIND_LABELS[current.kind]}”")
        # An unchanged set keeps its stored order, so it compares equal to the current version.
        out["org_kinds"] = (list(current.org_kinds) if set(kinds) == set(current.org_kinds)
                            else [k for k in labels if k in kinds])
    if "source" in out:
        out["source"] = (out["source"] or "").strip()
        problem = citation_problem(out["source"])
        if problem:
            _rule_fail("source", problem)
    if "note" in out:
        out["note"] = (out["note"] or "").strip()
        if len(out["note"]) > 2000:
            _rule_fail("note", "不能超过 2000 个字")
    if "confirmed" in out:
        out["confirmed"] = bool(out["confirmed"])
    return out


@transaction.atomic
def change_rule(user, rule: ActivityRule, effective_from: dt.date, **fields) -> ActivityRule:
    """A new version of a requirement from `effective_from`; the version in force the day
    before ends then, so earlier periods are still judged by the old one. After the commit
    the compliance rows from `effective_from` on are recomputed in the background."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ActivityError(sorted(unknown)[0], f"“{sorted(unknown)[0]}”不能修改")
    if not isinstance(effective_from, dt.date) or isinstance(effective_from, dt.datetime):
        _rule_fail("effective_from", "请填写生效日期")
    current = ActivityRule.objects.select_for_update().get(pk=rule.pk)
    later = ActivityRule.objects.filter(code=current.code, effective_from__gt=current.effective_from).exists()
    if later:
        _rule_fail("effective_from", "该规则已有更新的版本，请修改最新版本")
    if effective_from <= current.effective_from:
        _rule_fail("effective_from", f"应晚于现行版本的生效日期（{current.effective_from:%Y-%m-%d}）")
    if current.effective_to is not None and effective_from > current.effective_to + dt.timedelta(days=1):
        _rule_fail("effective_from", "现行规则已失效，请修改其后的版本")
    today = timezone.localdate()
    if effective_from.year > today.year + RULE_MAX_YEARS_AHEAD:
        _rule_fail("effective_from", f"不能晚于 {today.year + RULE_MAX_YEARS_AHEAD} 年")
    fields = _check_rule_fields(current, fields)
    if all(getattr(current, k) == v for k, v in fields.items()):
        raise ActivityError("__all__", "没有修改任何内容：与现行版本相同，无需新建版本")
    before = audit.snapshot(current)
    new = ActivityRule(**{f.attname: getattr(current, f.attname) for f in current._meta.concrete_fields
                          if f.attname != "id"})
    for key, value in fields.items():
        setattr(new, key, value)
    new.effective_from, new.effective_to = effective_from, current.effective_to
    current.effective_to = effective_from - dt.timedelta(days=1)
    current.save(update_fields=["effective_to"])
    audit.record(user, current, before, note="规则调整：旧版本截止")
    new.save()
    audit.record(user, new, None, note=f"规则调整：自 {effective_from:%Y-%m-%d} 起生效")

    from . import compliance

    compliance.mark_stale(None, effective_from, max(today, effective_from))  # every org
    compliance.schedule_refresh(user)
    return new

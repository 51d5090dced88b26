"""Every write of transfers and standing: plain functions, one transaction each, audited, checked by
`checks` before anything is written. `user` None is the command line or the demo (no scope limit).

Who does what. The sending side (edit over the member's organization) issues, withdraws, records a
receipt; the receiving side (edit over the receiving organization) accepts or returns. Someone who
edits both (the working committee) may act for either.

Where a member counts. A member belongs to exactly one organization at every instant: the open
`Membership` row, which always matches `Member.org`. A letter in transit changes neither: the
member stays counted in the sending organization until the receiving one accepts, and moves on the
acceptance date (`members.services.transfer_member` closes one row and opens the next on that day,
so the history has no gap and no overlap). The rules (党员教育管理工作条例 第二十四条) keep the
sending organization responsible for the member until the receiving one has taken them in; none of
the sources in rules/defaults.yaml counts a member in no organization while in transit.

A letter to an organization outside the platform follows the same rule: the member stays on the
sending organization's roll until the receipt (回执) is back, then leaves it (已转出) on the day the
receipt records. A letter whose receipt is late shows on the overdue list, and the sending
organization follows it up; a letter never used is withdrawn and the member simply stays.
"""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from dangjian.core import audit, periods, versioning
from dangjian.core.models import AuditEntry
from dangjian.core.scoping import can
from dangjian.members import services as member_services
from dangjian.members.models import Member, Membership
from dangjian.orgs import checks as org_checks
from dangjian.orgs.models import Organization

from . import checks
from .checks import TransferError, first
from .models import Batch, Standing, Transfer

OUTSIDE = "不在您的权限范围内"


def _actor(user):
    return user if user is not None and user.is_authenticated else None


def _may_edit(user, org: Organization, field: str | None, what: str) -> None:
    if user is not None and not can(user, "edit", org.path):
        raise TransferError(field, f"{what}“{org.name}”{OUTSIDE}")


def _locked_member(member: Member) -> Member:
    """The member's row, taken for this transaction: two letters for one member take turns."""
    fresh = Member.objects.select_for_update().select_related("org").get(pk=member.pk)
    for f in member._meta.concrete_fields:
        setattr(member, f.attname, getattr(fresh, f.attname))
    member._state.fields_cache.clear()
    return member


def _open_row_start(member: Member) -> dt.date | None:
    row = member.memberships.filter(ended_on__isnull=True).first()
    return row.started_on if row else None


def _no_open_transfer(member: Member) -> None:
    other = Transfer.objects.open().filter(member=member).select_related("to_org").first()
    if other is not None:
        raise TransferError("member", f"“{member.name}”已有一封在途的介绍信（{other.letter_number}，去往"
                                      f"{other.destination}），请先办结或撤回")


def _letter_taken(from_org: Organization, number: str) -> None:
    if Transfer.objects.filter(from_org=from_org, letter_number=number).exists():
        raise TransferError("letter_number", f"介绍信编号：“{number}”已被{from_org.name}开具的另一封介绍信使用")


# ---- letters inside the platform ----------------------------------------------------------------

def issue(user, *, member: Member, to_org: Organization | None, letter_number: str, issued_on: dt.date,
          valid_days: int | None = None, reason: str = "", today: dt.date | None = None) -> Transfer:
    """开具介绍信 to an organization of the tree. The member stays where they are until accepted."""
    today = today or timezone.localdate()
    with transaction.atomic():
        _locked_member(member)
        _may_edit(user, member.org, "member", "党员所在党组织")
        first(checks.member_problem(member))
        first(checks.destination_problems(member, to_org))
        first(checks.letter_problems(letter_number=letter_number, issued_on=issued_on, valid_days=valid_days,
                                     today=today, not_before=_open_row_start(member)))
        first(checks.text_problem(reason, "reason", "转接原因", 200, required=False))
        _no_open_transfer(member)
        _letter_taken(member.org, letter_number.strip())
        t = Transfer.objects.create(
            kind=Transfer.Kind.INTERNAL, member=member, from_org=member.org, to_org=to_org,
            letter_number=letter_number.strip(), issued_on=issued_on,
            valid_until=checks.valid_until(issued_on, valid_days), reason=(reason or "").strip(),
            created_by=_actor(user))
        audit.record(user, t, None, note="开具组织关系介绍信")
    return t


def _claim_open(transfer: Transfer, version: int | None) -> None:
    versioning.claim(transfer, version)
    if not transfer.is_open:
        raise TransferError(None, f"介绍信 {transfer.letter_number} 已{transfer.status_label.removeprefix('已')}，"
                                  "不能再办理")


def _close(user, transfer: Transfer, status: str, on: dt.date, note: str, return_reason: str = "") -> None:
    before, stored = audit.snapshot(transfer), versioning.stored_values(transfer)
    transfer.status, transfer.closed_on, transfer.closed_by = status, on, _actor(user)
    transfer.return_reason = return_reason
    versioning.save_changes(transfer, stored)
    audit.record(user, transfer, before, note=note)


def accept(user, transfer: Transfer, *, on: dt.date, version: int | None = None,
           today: dt.date | None = None) -> Transfer:
    """接收: the receiving side takes the member in; they move on `on`."""
    today = today or timezone.localdate()
    if transfer.kind != Transfer.Kind.INTERNAL:
        raise TransferError(None, "只有系统内转接的介绍信由接收党组织办理接收")
    _may_edit(user, transfer.to_org, None, "接收党组织")
    with transaction.atomic():
        _claim_open(transfer, version)
        member = _locked_member(transfer.member)
        first(checks.date_problem(on, "on", "接收日期", today, not_before=transfer.issued_on,
                                  before_label="介绍信开具日期"))
        if on > transfer.valid_until:
            raise TransferError("on", f"介绍信 {transfer.letter_number} 已过有效期（有效期至 "
                                      f"{transfer.valid_until:%Y-%m-%d}），不能接收；请退回，由转出党组织重新开具")
        first(checks.member_problem(member))
        first(checks.destination_problems(member, transfer.to_org))
        try:
            member_services.transfer_member(user, member, transfer.to_org, on,
                                            reason=f"组织关系转接（介绍信 {transfer.letter_number}）")
        except member_services.MemberError as exc:
            raise TransferError("on", str(exc)) from None
        _close(user, transfer, Transfer.Status.ACCEPTED, on, "接收组织关系")
    return transfer


def return_letter(user, transfer: Transfer, *, on: dt.date, reason: str, version: int | None = None,
                  today: dt.date | None = None) -> Transfer:
    """退回: the receiving side does not take the member; they stay where they were."""
    today = today or timezone.localdate()
    if transfer.kind != Transfer.Kind.INTERNAL:
        raise TransferError(None, "只有系统内转接的介绍信由接收党组织退回")
    _may_edit(user, transfer.to_org, None, "接收党组织")
    first(checks.text_problem(reason, "reason", "退回原因", 200))
    with transaction.atomic():
        _claim_open(transfer, version)
        first(checks.date_problem(on, "on", "退回日期", today, not_before=transfer.issued_on,
                                  before_label="介绍信开具日期"))
        _close(user, transfer, Transfer.Status.RETURNED, on, "退回组织关系介绍信", reason.strip())
    return transfer


def withdraw(user, transfer: Transfer, *, on: dt.date, version: int | None = None,
             today: dt.date | None = None) -> Transfer:
    """撤回: the sending side takes back a letter not yet used."""
    today = today or timezone.localdate()
    if transfer.from_org_id is None:
        raise TransferError(None, "从系统外转入的记录没有可撤回的介绍信")
    _may_edit(user, transfer.from_org, None, "转出党组织")
    with transaction.atomic():
        _claim_open(transfer, version)
        first(checks.date_problem(on, "on", "撤回日期", today, not_before=transfer.issued_on,
                                  before_label="介绍信开具日期"))
        _close(user, transfer, Transfer.Status.WITHDRAWN, on, "撤回组织关系介绍信")
    return transfer


# ---- letters to and from outside the platform ------------------------------------------------------

def issue_out(user, *, member: Member, outside_org: str, outside_region: str, letter_number: str,
              issued_on: dt.date, valid_days: int | None = None, reason: str = "",
              today: dt.date | None = None) -> Transfer:
    """开具介绍信 to an organization outside the platform. The member stays until the receipt."""
    today = today or timezone.localdate()
    with transaction.atomic():
        _locked_member(member)
        _may_edit(user, member.org, "member", "党员所在党组织")
        first(checks.member_problem(member))
        first(checks.text_problem(outside_org, "outside_org", "接收党组织名称", 100)
              + checks.text_problem(outside_region, "outside_region", "所在地区", 60)
              + checks.letter_problems(letter_number=letter_number, issued_on=issued_on, valid_days=valid_days,
                                       today=today, not_before=_open_row_start(member))
              + checks.text_problem(reason, "reason", "转接原因", 200, required=False))
        _no_open_transfer(member)
        _letter_taken(member.org, letter_number.strip())
        t = Transfer.objects.create(
            kind=Transfer.Kind.OUT, member=member, from_org=member.org, outside_org=outside_org.strip(),
            outside_region=outside_region.strip(), letter_number=letter_number.strip(), issued_on=issued_on,
            valid_until=checks.valid_until(issued_on, valid_days), reason=(reason or "").strip(),
            created_by=_actor(user))
        audit.record(user, t, None, note="开具组织关系介绍信（转出至系统外）")
    return t


def record_receipt(user, transfer: Transfer, *, on: dt.date, version: int | None = None,
                   today: dt.date | None = None) -> Transfer:
    """回执 back: the member reported to the outside organization on `on` and leaves the roll."""
    today = today or timezone.localdate()
    if transfer.kind != Transfer.Kind.OUT:
        raise TransferError(None, "只有转出至系统外的介绍信需要登记回执")
    _may_edit(user, transfer.from_org, None, "转出党组织")
    with transaction.atomic():
        _claim_open(transfer, version)
        member = _locked_member(transfer.member)
        first(checks.date_problem(on, "on", "回执所载报到日期", today, not_before=transfer.issued_on,
                                  before_label="介绍信开具日期"))
        try:
            member_services.change_standing(user, member, on, f"组织关系转出至{transfer.outside_org}"
                                            f"（介绍信 {transfer.letter_number}，回执已返回）",
                                            status=Member.Status.TRANSFERRED_OUT, is_mobile=False)
        except member_services.MemberError as exc:
            raise TransferError("on", str(exc)) from None
        _close_standing_rows(member, on)
        _close(user, transfer, Transfer.Status.ACCEPTED, on, "登记介绍信回执")
    return transfer


def receive_from_outside(user, *, org: Organization, outside_org: str, outside_region: str,
                         letter_number: str, issued_on: dt.date, valid_until: dt.date | None,
                         arrived_on: dt.date, member_fields: dict, today: dt.date | None = None) -> Transfer:
    """A member arrives from an organization outside the platform with their letter: registered
    in `org` from `arrived_on` (through members.services.create_member), the letter recorded."""
    today = today or timezone.localdate()
    _may_edit(user, org, "org", "接收党组织")
    problems = (checks.text_problem(outside_org, "outside_org", "原所在党组织", 100)
                + checks.text_problem(outside_region, "outside_region", "所在地区", 60)
                + checks.letter_problems(letter_number=letter_number, issued_on=issued_on, valid_days=None,
                                         today=today)
                + checks.date_problem(arrived_on, "arrived_on", "报到日期", today,
                                      not_before=issued_on if isinstance(issued_on, dt.date) else None,
                                      before_label="介绍信开具日期"))
    if org.status != Organization.Status.ACTIVE:
        problems.insert(0, ("org", f"接收党组织：“{org.name}”已撤销，不能接收党员"))
    elif problem := org_checks.member_org_problem(org.kind, org.name):
        problems.insert(0, ("org", f"接收党组织：{problem}"))
    if isinstance(issued_on, dt.date) and valid_until is not None:
        if not isinstance(valid_until, dt.date) or valid_until < issued_on:
            problems.append(("valid_until", "有效期至：应不早于开具日期"))
        elif isinstance(arrived_on, dt.date) and arrived_on > valid_until:
            problems.append(("arrived_on", f"介绍信已过有效期（有效期至 {valid_until:%Y-%m-%d}），"
                                           "请党员回原党组织重新开具后再办理"))
    first(problems)
    until = valid_until or checks.valid_until(issued_on, None)
    with transaction.atomic():
        fields = {**member_fields, "org": org}
        try:
            member = member_services.create_member(
                user, since=arrived_on, reason=f"从系统外转入（{outside_org.strip()}，介绍信 {letter_number.strip()}）",
                **fields)
        except (member_services.MemberError, ValueError) as exc:
            raise TransferError("id_number", str(exc)) from None
        t = Transfer.objects.create(
            kind=Transfer.Kind.IN, member=member, to_org=org, outside_org=outside_org.strip(),
            outside_region=outside_region.strip(), letter_number=letter_number.strip(), issued_on=issued_on,
            valid_until=until, status=Transfer.Status.ACCEPTED, closed_on=arrived_on,
            created_by=_actor(user), closed_by=_actor(user))
        audit.record(user, t, None, note="从系统外转入组织关系")
    return t


# ---- bulk -------------------------------------------------------------------------------------------

class BulkError(TransferError):
    """Every member that cannot move, each with its message; nothing was written."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("members", f"有 {len(problems)} 名党员不能转接，本次未转接任何人：" +
                         "；".join(f"{name}：{message}" for name, message in problems[:5]) +
                         ("……" if len(problems) > 5 else ""))


def bulk_transfer(user, *, from_org: Organization, to_org: Organization | None, member_ids: list[int] | None,
                  moved_on: dt.date, reason: str, progress=None, today: dt.date | None = None) -> Batch:
    """整建制转接: the members of `from_org` (those of `member_ids`, or all on its roll) move to
    `to_org` on `moved_on`, all in one transaction: if one cannot move, none does, and the error
    names each one that cannot. `progress(done, total)` is told as it goes."""
    today = today or timezone.localdate()
    _may_edit(user, from_org, "from_org", "转出党组织")
    if to_org is None:
        raise TransferError("to_org", "接收党组织：必填")
    _may_edit(user, to_org, "to_org", "接收党组织")
    first(checks.date_problem(moved_on, "moved_on", "转接日期", today)
          + checks.text_problem(reason, "reason", "转接原因", 200))
    if to_org.pk == from_org.pk:
        raise TransferError("to_org", "接收党组织：与转出党组织相同，不需要转接")
    with transaction.atomic():
        rows = Member.objects.select_for_update().select_related("org").order_by("name", "id")
        problems = []
        if member_ids is not None:
            wanted = set(member_ids)
            members = list(rows.filter(pk__in=wanted))
            problems += [(f"编号 {pk}", "不是可转接的党员") for pk in sorted(wanted - {m.pk for m in members})]
        else:
            members = list(rows.filter(org=from_org, status=Member.Status.ACTIVE))
        if not members and not problems:
            raise TransferError("members", f"“{from_org.name}”没有可转接的在册党员")
        starts = dict(Membership.objects.filter(member__in=members, ended_on__isnull=True)
                      .values_list("member_id", "started_on"))
        busy = dict(Transfer.objects.open().filter(member__in=members).values_list("member_id", "letter_number"))
        for m in members:
            if m.org_id != from_org.pk:
                problems.append((m.name, f"不在“{from_org.name}”"))
            elif m.status != Member.Status.ACTIVE:
                problems.append((m.name, f"{m.get_status_display()}，不是在册党员"))
            elif m.pk in busy:
                problems.append((m.name, f"已有在途的介绍信（{busy[m.pk]}），请先办结或撤回"))
            elif (start := starts.get(m.pk)) and moved_on < start:
                problems.append((m.name, f"转接日期早于其在本组织的起始日期（{start:%Y-%m-%d}）"))
        dest = checks.destination_problems(members[0], to_org) if members else []
        if dest:
            raise TransferError(*dest[0])
        if problems:
            raise BulkError(problems)
        batch = Batch.objects.create(from_org=from_org, to_org=to_org, moved_on=moved_on, reason=reason.strip(),
                                     count=len(members), created_by=_actor(user))
        audit.record(user, batch, None, note="整建制转接")
        made = []
        for i, m in enumerate(members, 1):
            member_services.transfer_member(user, m, to_org, moved_on, reason=f"整建制转接：{reason.strip()}")
            made.append(Transfer(kind=Transfer.Kind.INTERNAL, member=m, from_org=from_org, to_org=to_org,
                                 letter_number=f"整建制-{batch.pk}-{i}", issued_on=moved_on, valid_until=moved_on,
                                 reason=reason.strip(), status=Transfer.Status.ACCEPTED, closed_on=moved_on,
                                 batch=batch, created_by=_actor(user), closed_by=_actor(user)))
            if progress is not None:
                progress(i, len(members), f"已转接 {i}/{len(members)} 人")
        Transfer.objects.bulk_create(made)
        AuditEntry.objects.bulk_create([e for t in Transfer.objects.filter(batch=batch)
                                        if (e := audit.entry(user, t, None, note="整建制转接"))])
    return batch


# ---- standing ---------------------------------------------------------------------------------------

def _standing_open(member: Member, kind: str) -> Standing | None:
    return Standing.objects.filter(member=member, kind=kind, closed_on__isnull=True).order_by("-id").first()


def _close_standing_rows(member: Member, on: dt.date) -> None:
    Standing.objects.filter(member=member, kind__in=[Standing.Kind.MOBILE, Standing.Kind.LOST],
                            closed_on__isnull=True).update(closed_on=on)


def _record(user, member: Member, kind: str, decided_on: dt.date, note: str, **fields) -> Standing:
    s = Standing.objects.create(member=member, org=member.org, kind=kind, decided_on=decided_on,
                                created_by=_actor(user), **fields)
    audit.record(user, s, None, note=Standing.Kind(kind).label)
    return s


def _standing_start(user, member: Member, version: int | None):
    _may_edit(user, member.org, "member", "党员所在党组织")
    versioning.claim(member, version)


def _change(user, member: Member, on: dt.date, note: str, **kw) -> None:
    try:
        member_services.change_standing(user, member, on, note, **kw)
    except member_services.MemberError as exc:
        raise TransferError(None, str(exc)) from None


def register_mobile(user, member: Member, *, away_since: dt.date, place: str, contact: str,
                    host_org: Organization | None = None, host_org_name: str = "", note: str = "",
                    abroad: bool = False, version: int | None = None, today: dt.date | None = None) -> Standing:
    """登记流动党员: where they went, how to reach them, where they join in (流入地党组织);
    `abroad` for one gone abroad (出国（境）) to study or settle."""
    today = today or timezone.localdate()
    with transaction.atomic():
        _standing_start(user, member, version)
        problems = (checks.date_problem(away_since, "away_since", "外出日期", today)
                    + checks.text_problem(place, "place", "外出地点", 100)
                    + checks.text_problem(contact, "contact", "联系方式", 60)
                    + checks.text_problem(host_org_name, "host_org_name", "流入地党组织（系统外）", 100, required=False)
                    + checks.text_problem(note, "note", "说明", 1000, required=False, multiline=True))
        if member.status != Member.Status.ACTIVE:
            problems.insert(0, ("member", f"“{member.name}”{member.get_status_display()}，不能登记为流动党员"))
        elif member.is_mobile or _standing_open(member, Standing.Kind.MOBILE):
            problems.insert(0, ("member", f"“{member.name}”已登记为流动党员"))
        if host_org is not None and host_org.status != Organization.Status.ACTIVE:
            problems.append(("host_org", f"流入地党组织：“{host_org.name}”已撤销"))
        if host_org is not None and (host_org_name or "").strip():
            problems.append(("host_org_name", "流入地党组织：系统内组织与系统外名称只填一项"))
        first(problems)
        _change(user, member, away_since, "登记为流动党员", is_mobile=True)
        return _record(user, member, Standing.Kind.MOBILE, today, note.strip(), away_since=away_since,
                       place=place.strip(), contact=contact.strip(), abroad=bool(abroad), host_org=host_org,
                       host_org_name=(host_org_name or "").strip())


def end_mobile(user, member: Member, *, on: dt.date, note: str = "", version: int | None = None,
               today: dt.date | None = None) -> Standing:
    today = today or timezone.localdate()
    with transaction.atomic():
        _standing_start(user, member, version)
        row = _standing_open(member, Standing.Kind.MOBILE)
        if row is None and not member.is_mobile:
            raise TransferError("member", f"“{member.name}”不是流动党员")
        first(checks.date_problem(on, "on", "返回日期", today, not_before=row.away_since if row else None,
                                  before_label="外出日期"))
        if row is not None:
            Standing.objects.filter(pk=row.pk).update(closed_on=on)
        _change(user, member, on, "流动结束", is_mobile=False)
        return _record(user, member, Standing.Kind.MOBILE_END, on, note.strip())


def register_lost(user, member: Member, *, lost_since: dt.date, efforts: str, version: int | None = None,
                  today: dt.date | None = None) -> Standing:
    """登记失联: since when, and what was done to find them. The member stays on the roll."""
    today = today or timezone.localdate()
    with transaction.atomic():
        _standing_start(user, member, version)
        problems = (checks.date_problem(lost_since, "lost_since", "失联日期", today)
                    + checks.text_problem(efforts, "efforts", "寻找情况", 2000, multiline=True))
        if member.status != Member.Status.ACTIVE:
            problems.insert(0, ("member", f"“{member.name}”{member.get_status_display()}，不能登记失联"))
        elif _standing_open(member, Standing.Kind.LOST):
            problems.insert(0, ("member", f"“{member.name}”已登记失联"))
        first(problems)
        return _record(user, member, Standing.Kind.LOST, today, "", lost_since=lost_since, efforts=efforts.strip())


def register_found(user, member: Member, *, on: dt.date, note: str, version: int | None = None,
                   today: dt.date | None = None) -> Standing:
    """恢复联系 of a member still on the roll (a suspended one is restored by a decision)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        _standing_start(user, member, version)
        row = _standing_open(member, Standing.Kind.LOST)
        if row is None:
            raise TransferError("member", f"“{member.name}”没有登记失联")
        if member.status == Member.Status.SUSPENDED:
            raise TransferError("member", f"“{member.name}”已停止党籍，恢复联系后须经支部党员大会讨论、上级党组织批准恢复党籍")
        first(checks.date_problem(on, "on", "恢复联系日期", today, not_before=row.lost_since, before_label="失联日期")
              + checks.text_problem(note, "note", "说明", 1000, required=False, multiline=True))
        Standing.objects.filter(pk=row.pk).update(closed_on=on)
        return _record(user, member, Standing.Kind.FOUND, on, note.strip())


def _decision_fields(member, approver, meeting_on, approved_on, document, note, today):
    return (checks.approver_problems(member, approver, meeting_on, approved_on, today)
            + checks.text_problem(document, "document", "决定文号", 60)
            + checks.text_problem(note, "note", "说明", 1000, required=False, multiline=True))


def suspend(user, member: Member, *, meeting_on: dt.date, approver: Organization | None, approved_on: dt.date,
            document: str, note: str = "", version: int | None = None, today: dt.date | None = None) -> Standing:
    """停止党籍: decided by the branch meeting and approved by the higher organization, for a
    member lost for at least `lost_contact_months_to_suspend` months at the meeting. Never done
    by the platform on its own: `queries.eligible_for_suspension` only lists whom to consider."""
    today = today or timezone.localdate()
    months = checks.rules().lost_contact_months_to_suspend
    with transaction.atomic():
        _standing_start(user, member, version)
        problems = _decision_fields(member, approver, meeting_on, approved_on, document, note, today)
        lost = _standing_open(member, Standing.Kind.LOST)
        if member.status != Member.Status.ACTIVE:
            problems.insert(0, ("member", f"“{member.name}”{member.get_status_display()}，不能停止党籍"))
        elif lost is None:
            problems.insert(0, ("member", f"“{member.name}”没有登记失联，不能停止党籍"))
        elif isinstance(meeting_on, dt.date) and lost.lost_since > periods.months_before(meeting_on, months):
            problems.insert(0, ("meeting_on", f"支部党员大会日期：“{member.name}”自 {lost.lost_since:%Y-%m-%d} 失联，"
                                              f"至 {meeting_on:%Y-%m-%d} 不满 {months} 个月，尚不能停止党籍"))
        first(problems)
        _change(user, member, approved_on, f"停止党籍（{document.strip()}）", status=Member.Status.SUSPENDED)
        return _record(user, member, Standing.Kind.SUSPEND, approved_on, note.strip(), meeting_on=meeting_on,
                       approver=approver, approved_on=approved_on, document=document.strip())


def restore(user, member: Member, *, meeting_on: dt.date, approver: Organization | None, approved_on: dt.date,
            document: str, note: str = "", version: int | None = None, today: dt.date | None = None) -> Standing:
    """恢复党籍: the branch meeting's decision approved by the higher organization; the member's
    lost-contact record ends on the approval date."""
    today = today or timezone.localdate()
    with transaction.atomic():
        _standing_start(user, member, version)
        problems = _decision_fields(member, approver, meeting_on, approved_on, document, note, today)
        if member.status != Member.Status.SUSPENDED:
            problems.insert(0, ("member", f"“{member.name}”没有被停止党籍，不需要恢复"))
        first(problems)
        Standing.objects.filter(member=member, kind=Standing.Kind.LOST, closed_on__isnull=True).update(
            closed_on=approved_on)
        _change(user, member, approved_on, f"恢复党籍（{document.strip()}）", status=Member.Status.ACTIVE)
        return _record(user, member, Standing.Kind.RESTORE, approved_on, note.strip(), meeting_on=meeting_on,
                       approver=approver, approved_on=approved_on, document=document.strip())


def _no_letter_in_transit(member: Member) -> None:
    t = Transfer.objects.open().filter(member=member).first()
    if t is not None:
        raise TransferError("member", f"“{member.name}”有在途的介绍信（{t.letter_number}），请先撤回")


def record_death(user, member: Member, *, died_on: dt.date, note: str = "", version: int | None = None,
                 today: dt.date | None = None) -> Standing:
    today = today or timezone.localdate()
    with transaction.atomic():
        _standing_start(user, member, version)
        first(checks.date_problem(died_on, "died_on", "去世日期", today, not_before=member.joined_on,
                                  before_label="入党日期")
              + checks.text_problem(note, "note", "说明", 1000, required=False, multiline=True))
        _no_letter_in_transit(member)
        _change(user, member, died_on, "去世", status=Member.Status.DECEASED, is_mobile=False)
        _close_standing_rows(member, died_on)
        return _record(user, member, Standing.Kind.DEATH, died_on, note.strip())


REMOVAL_KINDS = dict(Standing._meta.get_field("removal_kind").choices)


def remove(user, member: Member, *, removal_kind: str, meeting_on: dt.date, approver: Organization | None,
           approved_on: dt.date, document: str, note: str = "", version: int | None = None,
           today: dt.date | None = None) -> Standing:
    """出党 (开除党籍, 除名, 退党, 自行脱党): by the decision of people, recorded with its number."""
    today = today or timezone.localdate()
    with transaction.atomic():
        _standing_start(user, member, version)
        problems = _decision_fields(member, approver, meeting_on, approved_on, document, note, today)
        if removal_kind not in REMOVAL_KINDS:
            problems.insert(0, ("removal_kind", "出党方式：请选择开除党籍、除名、退党或自行脱党"))
        first(problems)
        _no_letter_in_transit(member)
        _change(user, member, approved_on, f"{REMOVAL_KINDS[removal_kind]}（{document.strip()}）",
                status=Member.Status.REMOVED, is_mobile=False)
        _close_standing_rows(member, approved_on)
        return _record(user, member, Standing.Kind.REMOVAL, approved_on, note.strip(), meeting_on=meeting_on,
                       approver=approver, approved_on=approved_on, document=document.strip(),
                       removal_kind=removal_kind)

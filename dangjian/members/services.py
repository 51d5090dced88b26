"""Writes to member records. Transactional, audited; 身份证号 only ever stored encrypted."""
import datetime as dt

from django.db import transaction

from dangjian.core import audit, crypto, idcard, versioning
from dangjian.core.text import pinyin_full, pinyin_initials
from dangjian.orgs import checks as org_checks
from dangjian.orgs import departments
from dangjian.orgs import services as org_services
from dangjian.orgs.models import CommitteeSeat

from .checks import ID_NOT_USABLE
from .models import Member, Membership


class MemberError(ValueError):
    """Broken rule; the message is shown to the user."""


def set_id_number(member: Member, id_number: str) -> None:
    value = idcard.validate(id_number)
    member.id_number_enc = crypto.encrypt(value)
    member.id_hash = crypto.lookup_hash(value)
    member.id_mask = idcard.mask(value)


def set_name(member: Member, name: str) -> None:
    member.name = name.strip()
    member.name_pinyin = pinyin_full(member.name)
    member.name_initials = pinyin_initials(member.name)


def prepare(member: Member, fields: dict) -> Member:
    """Apply plain fields plus the derived ones (name → pinyin, 身份证号 → cipher/hash/mask)."""
    fields = dict(fields)
    if "id_number" in fields:
        set_id_number(member, fields.pop("id_number"))
    if "name" in fields:
        set_name(member, fields.pop("name"))
    for key, value in fields.items():
        setattr(member, key, value)
    return member


@transaction.atomic
def create_member(user, since: dt.date | None = None, reason: str = "新增", **fields) -> Member:
    member = prepare(Member(), fields)
    if Member.objects.by_id_number(idcard.normalize(fields.get("id_number", ""))).exists():
        raise MemberError(ID_NOT_USABLE)
    member.save()
    Membership.objects.create(member=member, org=member.org, started_on=since or member.joined_on, reason=reason)
    departments.touch([member.org.path])
    audit.record(user, member, None)
    return member


@transaction.atomic
def update_member(user, member: Member, on: dt.date | None = None, version: int | None = None, **fields) -> Member:
    """Update a member; a change of org goes through transfer (a dated membership row).
    `version` is the one the editor read (core.versioning): a save made since raises
    StaleVersion. Only the columns that change are written."""
    new_org = fields.pop("org", None)
    versioning.claim(member, version)
    before = audit.snapshot(member)
    stored = versioning.stored_values(member)
    prepare(member, fields)
    if "id_number_enc" in stored and member.id_hash == stored["id_hash"]:
        # The same number again: a fresh ciphertext of it is no change.
        member.id_number_enc = stored["id_number_enc"]
    number = fields.get("id_number")
    if number and Member.objects.by_id_number(idcard.normalize(number)).exclude(pk=member.pk).exists():
        raise MemberError(ID_NOT_USABLE)
    versioning.save_changes(member, stored, always=["updated_at"])
    audit.record(user, member, before)
    departments.touch([member.org.path])  # counts, categories and ranks feed the cached figures
    if new_org is not None and new_org.pk != member.org_id:
        transfer_member(user, member, new_org, on or dt.date.today())
    return member


@transaction.atomic
def transfer_member(user, member: Member, to_org, on: dt.date, reason: str = "组织关系转接",
                    version: int | None = None) -> Member:
    """`version` is the member's as the editor read it (core.versioning): a member transferred
    or edited since raises StaleVersion, so a second transfer from an old page never moves
    them on from where someone else has just put them."""
    if to_org.status != "active":
        raise MemberError(f"“{to_org.name}”已撤销，不能转入")
    problem = org_checks.member_org_problem(to_org.kind, to_org.name)
    if problem:
        raise MemberError(problem)
    versioning.claim(member, version)  # two transfers of one member take turns
    if to_org.pk == member.org_id:
        raise MemberError("转入组织与当前组织相同")
    open_row = member.memberships.filter(ended_on__isnull=True).first()
    if open_row and on < open_row.started_on:
        raise MemberError("转接日期不能早于在当前组织的起始日期")
    before = audit.snapshot(member)
    if open_row:
        open_row.ended_on = on
        open_row.save(update_fields=["ended_on"])
    Membership.objects.create(member=member, org=to_org, started_on=on, reason=reason)
    departments.touch([member.org.path, to_org.path])
    member.org = to_org
    member.save(update_fields=["org", "updated_at"])
    audit.record(user, member, before, note=reason)
    for seat in CommitteeSeat.objects.filter(is_active=True, holder=member).select_related("org"):
        if not org_services.keeps_seat(seat.org.path, to_org.path):
            org_services.vacate_seat(user, seat, on)
    return member


@transaction.atomic
def change_standing(user, member: Member, on: dt.date, reason: str, *, status: str | None = None,
                    is_mobile: bool | None = None, version: int | None = None) -> Member:
    """A dated decision about a member's standing, taken by people elsewhere (a branch meeting,
    an approving organization) and recorded here: `status` (在册, 停止党籍, 已转出, 已去世, 已出党)
    and/or `is_mobile` (流动党员). Leaving the roll (转出, 去世, 出党) closes the open membership
    row on `on` and gives up the member's committee seats; 停止党籍 keeps the row (the branch
    still keeps the member's relation until restoration or removal). `version` as in
    `transfer_member`."""
    if status is not None and status not in Member.Status.values:
        raise MemberError(f"状态“{status}”不在可选范围内")
    versioning.claim(member, version)
    if member.status in Member.LEFT:
        raise MemberError(f"“{member.name}”已{member.get_status_display().removeprefix('已')}，不能再变更状态")
    before = audit.snapshot(member)
    stored = versioning.stored_values(member)
    if status is not None:
        member.status = status
    if is_mobile is not None:
        member.is_mobile = is_mobile
    if status in Member.LEFT:
        open_row = member.memberships.filter(ended_on__isnull=True).first()
        if open_row is not None:
            if on < open_row.started_on:
                raise MemberError(f"日期不能早于在当前组织的起始日期（{open_row.started_on:%Y-%m-%d}）")
            open_row.ended_on = on
            open_row.save(update_fields=["ended_on"])
        for seat in CommitteeSeat.objects.filter(is_active=True, holder=member).select_related("org"):
            org_services.vacate_seat(user, seat, on)
    versioning.save_changes(member, stored, always=["updated_at"])
    audit.record(user, member, before, note=reason)
    departments.touch([member.org.path])
    return member

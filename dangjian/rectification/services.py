"""Writes of rectification items. Each move is one transaction, audited, a step on the item's
timeline, and refused in Chinese (naming the field) with nothing written when the user's side may
not make it, the item is not in a state that allows it, or the input is bad.

Who may do what (`can_forward`, `can_issue`):
- the responsible side — those who may edit the responsible organization, and the member named
  responsible — signs for the item (签收), reports progress, and asks for it to be closed
  (申请销号) with the evidence;
- the issuing side — those who may edit the issuing organization — closes it (销号) after
  checking the evidence, returns it (退回) with the reason, refers it to another organization
  (转办) and changes its deadline. An inspection team member, who may not edit, opens items
  from findings but never closes them.

A deadline is a date, or a number of working days from the day the item is opened, counted on
the working-day calendar (core.workdays): a year whose holidays are not entered is refused, never
counted as if every weekday worked.
"""
from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.utils import timezone

from dangjian.core import audit, scoping, versioning, workdays
from dangjian.orgs.models import Organization

from .models import Item, ItemEvent, ItemFile
from .signals import item_changed

TITLE_MAX = 200
TEXT_MAX = 4000
DESCRIPTION_MAX = 10_000


class ItemError(ValueError):
    """Bad input or a move not allowed; `field` names the form field, `message` is Chinese."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


# ---- who may move an item -------------------------------------------------------------------

def can_forward(user, item: Item) -> bool:
    """The responsible side: edit over the responsible organization, or the person named."""
    scope = scoping.scope_of(user)
    return scope.allows("edit", item.org.path) or (
        item.responsible_id is not None and scope.member_id == item.responsible_id)


def can_issue(user, item: Item) -> bool:
    """The issuing side: edit over the organization that issued the item."""
    return scoping.scope_of(user).allows("edit", item.issuer.path)


def moves(user, item: Item) -> list[str]:
    """The moves `user` may make on `item` now (event kinds), for the page's buttons."""
    out = []
    forward, issue = can_forward(user, item), can_issue(user, item)
    if forward and item.status == Item.Status.PENDING:
        out.append(ItemEvent.Kind.SIGN)
    if (forward or issue) and item.is_open:
        out.append(ItemEvent.Kind.NOTE)
    if forward and item.status == Item.Status.RECTIFYING:
        out.append(ItemEvent.Kind.REQUEST)
    if issue and item.status == Item.Status.CLOSING:
        out += [ItemEvent.Kind.CLOSE, ItemEvent.Kind.RETURN]
    if issue and item.status in (Item.Status.PENDING, Item.Status.RECTIFYING):
        out += [ItemEvent.Kind.REFER, ItemEvent.Kind.EDIT]
    return out


# ---- checks ---------------------------------------------------------------------------------

def _text(value, field: str, label: str, limit: int, *, required: bool = True) -> str:
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not value:
        raise ItemError(field, f"{label}：必填")
    if len(value) > limit:
        raise ItemError(field, f"{label}：过长（最多 {limit} 个字，现有 {len(value)} 个字）")
    return value


def _date(value, field: str, label: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ItemError(field, f"{label}：必填（格式：2026-01-31）")
    return value


def _org(org, field: str, label: str) -> Organization:
    if not isinstance(org, Organization):
        raise ItemError(field, f"{label}：必填，请从组织列表中选择")
    if org.status != Organization.Status.ACTIVE:
        raise ItemError(field, f"{label}：“{org.name}”已撤销")
    return org


def deadline_of(opened_on: dt.date, deadline=None, workdays_=None) -> tuple[dt.date, int | None]:
    """The deadline from a date or from a number of working days after `opened_on`; refused
    when both or neither are given, when it falls before the day the item is opened, or when the
    calendar of a year it spans is not entered."""
    if workdays_ not in (None, ""):
        if deadline is not None:
            raise ItemError("deadline", "整改时限：填写日期或工作日天数其中一项")
        try:
            n = int(workdays_)
        except (TypeError, ValueError):
            raise ItemError("workdays", "时限（工作日）：应为整数") from None
        if not 1 <= n <= 250:
            raise ItemError("workdays", "时限（工作日）：应为 1 到 250 之间的整数")
        try:
            return workdays.add(opened_on, n), n
        except workdays.WorkdayError as e:
            raise ItemError("workdays", f"时限（工作日）：{e.message}") from None
    deadline = _date(deadline, "deadline", "整改时限")
    if deadline < opened_on:
        raise ItemError("deadline", f"整改时限：不能早于交办日期（{opened_on:%Y-%m-%d}）")
    return deadline, None


def _responsible(member, org: Organization):
    if member is None:
        return None
    if member.org_id is None or not member.org.path.startswith(org.path):
        raise ItemError("responsible", f"责任人：{member.name}不在“{org.name}”及其下级组织中")
    return member


def _event(user, item: Item, kind: str, on: dt.date, text: str = "") -> ItemEvent:
    return ItemEvent.objects.create(item=item, kind=kind, on=on, text=text,
                                    user=user if user is not None and user.is_authenticated else None)


def _changed(item: Item, event: ItemEvent) -> None:
    transaction.on_commit(lambda: item_changed.send(sender=Item, item=item, event=event))


def _allowed(allowed: bool, doing: str) -> None:
    if not allowed:
        raise ItemError("status", f"您所在的一方不能{doing}")


def _state(item: Item, states, doing: str) -> None:
    if item.status not in states:
        raise ItemError("status", f"该事项{item.get_status_display()}，不能{doing}")


# ---- opening --------------------------------------------------------------------------------

def open_item(user, *, org, list=Item.List.PROBLEM, title, description="", source, source_id=None, source_label="",
              issuer, responsible=None, deadline=None, workdays=None, opened_on=None, today=None) -> Item:
    """交办: a new item for `org` from `issuer`. The caller has checked that the user may
    open items for the source (an inspection's team, the issuing side of a review …)."""
    today = today or timezone.localdate()
    opened_on = opened_on or today
    _date(opened_on, "opened_on", "交办日期")
    if opened_on > today:
        raise ItemError("opened_on", "交办日期：不能晚于今天")
    org = _org(org, "org", "责任单位")
    issuer = _org(issuer, "issuer", "交办单位")
    if list not in Item.List.values:
        raise ItemError("list", "清单：请选择问题清单、任务清单或建议清单")
    if source not in Item.Source.values:
        raise ItemError("source", "来源：不是可识别的来源")
    title = _text(title, "title", "事项", TITLE_MAX)
    description = _text(description, "description", "具体内容及整改要求", DESCRIPTION_MAX, required=False)
    source_label = _text(source_label, "source_label", "来源说明", 200, required=False)
    due, n = deadline_of(opened_on, deadline, workdays)
    responsible = _responsible(responsible, org)
    with transaction.atomic():
        item = Item.objects.create(
            list=list, source=source, source_id=source_id, source_label=source_label, title=title,
            description=description, org=org, responsible=responsible, issuer=issuer, opened_on=opened_on,
            deadline=due, workdays=n, created_by=user if user is not None and user.is_authenticated else None)
        audit.record(user, item, None, note="交办整改事项")
        _changed(item, _event(user, item, ItemEvent.Kind.OPEN, opened_on, description))
    return item


def assign(user, *, issuer, org, list, title, description="", deadline=None, workdays=None,
           source=Item.Source.MANUAL, source_id=None, source_label="") -> Item:
    """工委交办 (or a compliance failure put on the list): the user, who may edit the issuing
    organization, gives an item to an organization of its subtree — the one path for the new-item
    page and the API."""
    if issuer is None or not Organization.objects.visible_to(user, "edit").filter(pk=issuer.pk).exists():
        raise ItemError("issuer", "交办单位：不在您的管理范围内")
    if org is None or not org.path.startswith(issuer.path):
        name = org.name if org is not None else ""
        raise ItemError("org", f"责任单位：“{name}”不在交办单位“{issuer.name}”的下级组织中")
    if source not in (Item.Source.MANUAL, Item.Source.COMPLIANCE):
        raise ItemError("source", "来源：只能是工委交办或组织生活落实情况")
    if deadline is None and workdays is None:
        raise ItemError("deadline", "整改时限：请填写日期或工作日天数")
    return open_item(user, org=org, list=list, title=title, description=description, source=source,
                     source_id=source_id, source_label=source_label, issuer=issuer, deadline=deadline,
                     workdays=workdays)


# ---- the responsible side -----------------------------------------------------------------

def _move(user, item: Item, version, *, states, doing: str, side, kind: str, text: str, on: dt.date,
          status: str | None = None, **fields) -> Item:
    with transaction.atomic():
        versioning.claim(item, version)
        _state(item, states, doing)
        _allowed(side(user, item), doing)
        before = audit.snapshot(item)
        if status is not None:
            item.status = status
        for name, value in fields.items():  # a callable is applied to the record as stored
            setattr(item, name, value(item) if callable(value) else value)
        item.save()
        audit.record(user, item, before, note=ItemEvent.Kind(kind).label)
        item.last_event = _event(user, item, kind, on, text)
        _changed(item, item.last_event)
    return item


def _day(on, item: Item, today: dt.date, label: str = "日期") -> dt.date:
    on = _date(on or today, "on", label)
    if on > today:
        raise ItemError("on", f"{label}：不能晚于今天")
    if on < item.opened_on:
        raise ItemError("on", f"{label}：不能早于交办日期（{item.opened_on:%Y-%m-%d}）")
    return on


def sign(user, item: Item, *, text: str = "", on=None, today=None, version=None) -> Item:
    """签收: the responsible organization takes the item on; rectification starts."""
    today = today or timezone.localdate()
    text = _text(text, "text", "签收意见", TEXT_MAX, required=False)
    return _move(user, item, version, states=(Item.Status.PENDING,), doing="签收", side=can_forward,
                 kind=ItemEvent.Kind.SIGN, text=text, on=_day(on, item, today), status=Item.Status.RECTIFYING)


def add_note(user, item: Item, *, text: str, on=None, today=None) -> ItemEvent:
    """整改进展 (or a remark of the issuing side) on an open item; the state does not move."""
    today = today or timezone.localdate()
    text = _text(text, "text", "整改进展", TEXT_MAX)
    on = _day(on, item, today)
    with transaction.atomic():
        item = Item.objects.select_for_update().get(pk=item.pk)
        _state(item, Item.OPEN, "填写进展")
        _allowed(can_forward(user, item) or can_issue(user, item), "填写进展")
        event = _event(user, item, ItemEvent.Kind.NOTE, on, text)
        audit.record(user, event, None, note="整改进展")
        _changed(item, event)
    return event


def request_close(user, item: Item, *, evidence: str, files=(), on=None, today=None, version=None) -> Item:
    """申请销号: the responsible side says it is done and shows how (the evidence text is
    required; files of evidence are optional, checked like a record's attachments, and a photo
    is never required)."""
    today = today or timezone.localdate()
    evidence = (evidence or "").strip()
    if not evidence:
        raise ItemError("text", "整改情况及佐证：必填，申请销号须写明整改措施、成效和佐证材料")
    evidence = _text(evidence, "text", "整改情况及佐证", TEXT_MAX)
    checked = _checked_files(files)
    on = _day(on, item, today)
    stored: list[str] = []
    try:
        with transaction.atomic():
            item = _move(user, item, version, states=(Item.Status.RECTIFYING,), doing="申请销号", side=can_forward,
                         kind=ItemEvent.Kind.REQUEST, text=evidence, on=on, status=Item.Status.CLOSING)
            _store_files(user, item, item.last_event, checked, stored)
    except BaseException:
        for name in stored:
            ItemFile.file.field.storage.delete(name)
        raise
    return item


def _checked_files(files) -> list:
    """The files of one step checked (size, type, content) before anything is written, by the
    same rules as a record's attachments."""
    from dangjian.activities.checks import ActivityError
    from dangjian.activities.services import check_uploads

    try:
        return check_uploads(list(files or ()))
    except ActivityError as e:
        raise ItemError("files", str(e).replace("附件：", "佐证材料：", 1)) from None


def _store_files(user, item: Item, event: ItemEvent, checked: list, stored: list[str]) -> list[ItemFile]:
    from dangjian.activities.services import ATTACHMENT_TYPES

    actor = user if user is not None and user.is_authenticated else None
    out = []
    for c in checked:
        f = ItemFile(item=item, event=event, name=c.name, size=c.size, content_type=ATTACHMENT_TYPES[c.ext][0],
                     uploaded_by=actor)
        f.file.save(f"{secrets.token_hex(12)}{c.ext}", c.upload, save=False)
        stored.append(f.file.name)
        f.save()
        audit.record(user, f, None, note=f"上传佐证材料：{f.name}"[:200])
        out.append(f)
    return out


# ---- the issuing side -----------------------------------------------------------------------

def close(user, item: Item, *, verification: str, on=None, today=None, version=None) -> Item:
    """销号: the issuing side checked the evidence; the day closes the item (on time or late)."""
    today = today or timezone.localdate()
    verification = (verification or "").strip()
    if not verification:
        raise ItemError("text", "核查意见：必填，销号须写明对整改情况和佐证材料的核查结论")
    verification = _text(verification, "text", "核查意见", TEXT_MAX)
    on = _day(on, item, today, "销号日期")
    return _move(user, item, version, states=(Item.Status.CLOSING,), doing="销号", side=can_issue,
                 kind=ItemEvent.Kind.CLOSE, text=verification, on=on, status=Item.Status.CLOSED, closed_on=on)


def return_item(user, item: Item, *, reason: str, on=None, today=None, version=None) -> Item:
    """退回: the evidence does not show the problem solved; rectification goes on."""
    today = today or timezone.localdate()
    reason = _text(reason, "text", "退回原因", TEXT_MAX)
    return _move(user, item, version, states=(Item.Status.CLOSING,), doing="退回", side=can_issue,
                 kind=ItemEvent.Kind.RETURN, text=reason, on=_day(on, item, today),
                 status=Item.Status.RECTIFYING, returned_count=lambda stored: stored.returned_count + 1)


def change_deadline(user, item: Item, *, deadline=None, workdays=None, reason: str, today=None,
                    version=None) -> Item:
    """调整时限: the issuing side moves the deadline, with the reason on the timeline."""
    today = today or timezone.localdate()
    reason = _text(reason, "text", "调整原因", TEXT_MAX)
    due, n = deadline_of(item.opened_on, deadline, workdays)
    text = f"整改时限调整为 {due:%Y年%m月%d日}：{reason}"
    return _move(user, item, version, states=(Item.Status.PENDING, Item.Status.RECTIFYING), doing="调整时限",
                 side=can_issue, kind=ItemEvent.Kind.EDIT, text=text, on=today, deadline=due, workdays=n)


def refer(user, item: Item, *, to_org, reason: str, deadline=None, workdays=None, today=None,
          version=None) -> Item:
    """转办: the item belongs to another organization. The original is marked 已转办 and points
    to a new item for `to_org` (same issuer, list and source), which names the original; the
    answer is followed from either end. Returns the new item."""
    today = today or timezone.localdate()
    to_org = _org(to_org, "to_org", "转办至")
    if to_org.pk == item.org_id:
        raise ItemError("to_org", f"转办至：事项已由“{to_org.name}”负责，请选择其他单位")
    reason = _text(reason, "text", "转办说明", TEXT_MAX)
    if deadline is None and workdays in (None, ""):
        due, n = item.deadline, None
        if due < today:
            raise ItemError("deadline", "整改时限：原时限已过，转办须重新确定时限")
    else:
        due, n = deadline_of(today, deadline, workdays)
    with transaction.atomic():
        _move(user, item, version, states=(Item.Status.PENDING, Item.Status.RECTIFYING), doing="转办",
              side=can_issue, kind=ItemEvent.Kind.REFER, text=f"转办至“{to_org.name}”：{reason}", on=today,
              status=Item.Status.REFERRED)
        new = Item.objects.create(
            list=item.list, source=item.source, source_id=item.source_id, source_label=item.source_label,
            title=item.title, description=item.description, org=to_org, issuer=item.issuer, opened_on=today,
            deadline=due, workdays=n, referred_from=item,
            created_by=user if user is not None and user.is_authenticated else None)
        audit.record(user, new, None, note=f"由“{item.org.name}”转办")
        _changed(new, _event(user, new, ItemEvent.Kind.RECEIVE, today, f"由“{item.org.name}”转来：{reason}"))
    return new


# ---- following the source record ------------------------------------------------------------
# An app whose own record carries the item (an overhaul plan revised, a case withdrawn) changes
# the item through these, inside its own transaction, after checking its own permissions: the
# item's timeline says what changed and why.

def revise(user, item: Item, *, description=None, deadline=None, reason: str, today=None) -> Item:
    """调整: the source record changed the item's requirements or its deadline (a date)."""
    today = today or timezone.localdate()
    reason = _text(reason, "text", "调整原因", TEXT_MAX)
    fields = {}
    if description is not None:
        fields["description"] = _text(description, "description", "具体内容及整改要求", DESCRIPTION_MAX,
                                      required=False)
    if deadline is not None:
        fields["deadline"], fields["workdays"] = deadline_of(item.opened_on, deadline)
    with transaction.atomic():
        versioning.claim(item)
        _state(item, Item.OPEN, "调整")
        changed = {k: v for k, v in fields.items() if getattr(item, k) != v}
        before = audit.snapshot(item)
        for name, value in changed.items():
            setattr(item, name, value)
        item.save()
        if not changed:
            return item
        text = reason + (f"；整改时限调整为 {item.deadline:%Y年%m月%d日}" if "deadline" in changed else "")
        audit.record(user, item, before, note="调整")
        _changed(item, _event(user, item, ItemEvent.Kind.EDIT, today, text))
    return item


def withdraw(user, item: Item, *, reason: str, today=None) -> Item:
    """撤销: the source record itself was withdrawn, so nothing is owed; the item leaves the open
    list and the figures, its timeline kept with the reason."""
    today = today or timezone.localdate()
    reason = _text(reason, "text", "撤销原因", TEXT_MAX)
    with transaction.atomic():
        versioning.claim(item)
        _state(item, Item.OPEN, "撤销")
        before = audit.snapshot(item)
        item.status = Item.Status.WITHDRAWN
        item.save()
        audit.record(user, item, before, note="撤销")
        _changed(item, _event(user, item, ItemEvent.Kind.WITHDRAW, today, reason))
    return item


# ---- reminders and escalation ---------------------------------------------------------------

def remind_workdays() -> int:
    """How many working days before the deadline the reminder (催办) comes: the rule
    `rectification.remind_workdays` of the regulation defaults (3 unless changed there)."""
    from dangjian.core import defaults

    try:
        n = int(defaults.section("rectification").get("remind_workdays", 3))
    except (TypeError, ValueError):
        n = 3
    return max(0, min(n, 30))


def sweep(today: dt.date, *, days: int | None = None) -> dict:
    """The daily pass, run on working days: one 催办 for each open item whose deadline comes
    within `days` working days (the rule above), and one 督办 for each open item past its
    deadline — on the first working day after it, or the first sweep after that. Each item gets
    each at most once, however often the sweep runs; the events are written in bulk with their
    audit entries, and nothing is written on a day that is not a working day.

    Returns the counts written: {"remind": n, "escalate": m, "workday": bool}."""
    from dangjian.core.models import AuditEntry

    if not workdays.is_workday(today):
        return {"remind": 0, "escalate": 0, "workday": False}
    n = remind_workdays() if days is None else days
    window_end = workdays.add(today, n)
    live = Item.objects.filter(status__in=Item.OPEN)
    remind = list(live.filter(deadline__gte=today, deadline__lte=window_end)
                  .exclude(events__kind=ItemEvent.Kind.REMIND)
                  .values_list("pk", "deadline"))
    escalate = list(live.filter(deadline__lt=today).exclude(events__kind=ItemEvent.Kind.ESCALATE)
                    .values_list("pk", "deadline"))
    rows = [ItemEvent(item_id=pk, kind=ItemEvent.Kind.REMIND, on=today,
                      text=f"整改时限为 {due:%Y年%m月%d日}，请按时完成整改并申请销号")
            for pk, due in remind]
    rows += [ItemEvent(item_id=pk, kind=ItemEvent.Kind.ESCALATE, on=today,
                       text=f"已超过整改时限（{due:%Y年%m月%d日}），由上级党组织督促办理")
             for pk, due in escalate]
    with transaction.atomic():
        made = ItemEvent.objects.bulk_create(rows, batch_size=1000)
        # bulk_create answers the ids on PostgreSQL and SQLite, not on MariaDB: the audit names the
        # item, which every database knows, and the event by its kind and day.
        AuditEntry.objects.bulk_create([
            AuditEntry(table="rectification.item", object_id=e.item_id, action="update", user=None,
                       changes={}, note=f"{ItemEvent.Kind(e.kind).label}（{today:%Y-%m-%d}）")
            for e in made], batch_size=1000)
    return {"remind": len(remind), "escalate": len(escalate), "workday": True}

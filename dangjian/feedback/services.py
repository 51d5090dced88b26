"""Every write of visits and feedback: plain functions, one transaction each, audited, checked by
`checks` before anything is written. `user` None is the command line or the demo (no scope
limit).

Who may do what:
- record or change a visit: `edit` over the organizing organization;
- send a feedback (党员提出, 投诉建议): anyone logged in, about an organization they may address
  (`may_concern`);
- answer one, or turn it into a rectification item: `edit` over the organization it concerns
  (the working committee's staff hold it over every organization).

An anonymous complaint is written with no actor at all — not on the record, not in its change
history — and the sender is given a follow-up code, of which only a hash is kept.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dangjian.core import audit, defaults, versioning, workdays
from dangjian.core.models import AuditEntry
from dangjian.core.scoping import WORKING_COMMITTEE, can, scope_of
from dangjian.core.text import unsafe_characters_problem
from dangjian.orgs.models import Organization
from dangjian.rectification import services as items
from dangjian.rectification.models import Item

from .checks import FeedbackError, feedback_problems, first, issue_lines, text_problem, visit_problems
from .models import Channel, Feedback, Visit

OUTSIDE = "不在您的权限范围内"
DEFAULT_ANSWER_WORKDAYS = 5
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or copied by hand
CODE_LENGTH = 12


def answer_workdays() -> int:
    """The working days a feedback is answered within (rules: feedback.answer_workdays)."""
    value = defaults.section("feedback").get("answer_workdays", DEFAULT_ANSWER_WORKDAYS)
    return int(value)


def deadline_for(received_on: dt.date) -> dt.date:
    try:
        return workdays.add(received_on, answer_workdays())
    except workdays.WorkdayError as exc:
        raise FeedbackError("received_on", f"答复期限无法计算：{exc.message}") from None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_hash(code: str) -> str:
    normal = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return hashlib.sha256(f"feedback-receipt:{normal}".encode()).hexdigest()


def _actor(user):
    return user if user is not None and user.is_authenticated else None


def may_concern(user, org: Organization) -> bool:
    """A feedback may concern an organization the user sees, one of the organizations the user
    belongs to (their branch and every organization above it), or a working committee at the
    top of the tree (the committee receives complaints about anything)."""
    if user is None:
        return True
    scope = scope_of(user)
    if scope.allows("view", org.path):
        return True
    if scope.member_org_path and scope.member_org_path.startswith(org.path):
        return True
    return org.kind == WORKING_COMMITTEE and org.parent_id is None


def addressable(user):
    """The organizations a feedback from `user` may concern, beside those in their view scope:
    their own branch and its ancestors, and the working committees at the top (one query)."""
    scope = scope_of(user)
    q = Q(kind=WORKING_COMMITTEE, parent__isnull=True)
    own = scope.member_org_path
    if own:
        chain = [own[: i + 9] for i in range(0, len(own), 9)]
        q |= Q(path__in=chain)
    return Organization.objects.active().filter(q).order_by("path")


def _may_edit(user, org: Organization, field: str, what: str) -> None:
    if user is not None and not can(user, "edit", org.path):
        raise FeedbackError(field, f"{what}“{org.name}”{OUTSIDE}")


# ---- feedback -------------------------------------------------------------------------------------

def submit(user, *, channel: str, org: Organization, text: str, anonymous: bool = False,
           received_on: dt.date | None = None, visit: Visit | None = None,
           today: dt.date | None = None) -> tuple[Feedback, str]:
    """A feedback sent by `user` (党员提出 or 投诉建议; 走访收集 comes with a visit). Returns the
    record and, for an anonymous complaint, the follow-up code to show its sender once ("" else)."""
    today = today or timezone.localdate()
    received_on = received_on or today
    anonymous = bool(anonymous)
    first(feedback_problems(channel=channel, org=org, text=text, anonymous=anonymous,
                            received_on=received_on, today=today))
    if channel == Channel.MEMBER and user is not None and scope_of(user).member_id is None:
        raise FeedbackError("channel", "来源渠道：“党员提出”只能由党员本人提出，您的账号没有关联党员信息，请选择投诉建议")
    if channel == Channel.VISIT and visit is None:
        raise FeedbackError("channel", "来源渠道：走访收集的问题请在走访记录中登记")
    if not may_concern(user, org):
        raise FeedbackError("org", f"涉及的党组织“{org.name}”{OUTSIDE}，请选择您所在的党组织或机关工委")
    deadline = deadline_for(received_on)
    code = new_code() if anonymous else ""
    with transaction.atomic():
        fb = Feedback.objects.create(
            channel=channel, org=org, visit=visit, text=text.strip(), anonymous=anonymous,
            submitter=None if anonymous else _actor(user), receipt_hash=code_hash(code) if code else "",
            received_on=received_on, deadline=deadline)
        # An anonymous complaint's entry names no one: who sent it is not kept anywhere.
        audit.record(None if anonymous else user, fb, None,
                     note="收到匿名投诉建议" if anonymous else f"收到{fb.get_channel_display()}")
    return fb, code


def by_code(code: str) -> Feedback | None:
    """The anonymous complaint a follow-up code opens, or None."""
    normal = "".join(ch for ch in (code or "") if ch.isalnum())
    if len(normal) != CODE_LENGTH:
        return None
    return (Feedback.objects.filter(receipt_hash=code_hash(normal), anonymous=True)
            .select_related("org").first())


def answer(user, fb: Feedback, *, text: str, version: int | None = None,
           today: dt.date | None = None) -> Feedback:
    """已答复: the answer's text goes to the submitter; the problem counts as solved today."""
    today = today or timezone.localdate()
    _may_edit(user, fb.org, "org", "涉及的党组织")
    if problem := text_problem(text, "答复内容"):
        raise FeedbackError("answer", problem)
    with transaction.atomic():
        versioning.claim(fb, version)
        if fb.status != Feedback.Status.PENDING:
            raise FeedbackError(None, f"该意见建议已{fb.get_status_display()}，不能再答复")
        before, stored = audit.snapshot(fb), versioning.stored_values(fb)
        fb.status, fb.answer, fb.answered_on = Feedback.Status.ANSWERED, text.strip(), today
        fb.answered_by, fb.resolved_on = _actor(user), today
        versioning.save_changes(fb, stored)
        audit.record(user, fb, before, note="答复意见建议")
    return fb


def issuing_side(user, fb: Feedback) -> Organization:
    """The organization an item opened from `fb` by `user` is issued by (and closed by): the
    widest organization the user manages above the one the feedback concerns; for the command
    line and the demo, the top of the tree."""
    prefixes = [p for p in scope_of(user).prefixes("edit") if fb.org.path.startswith(p)] if user is not None else []
    path = min(prefixes, key=len) if prefixes else fb.org.path[:9]
    return Organization.objects.get(path=path)


def turn_into_item(user, fb: Feedback, *, org: Organization | None = None, list: str = Item.List.PROBLEM,
                   title: str = "", description: str = "", workdays: int | None = None, deadline=None,
                   responsible=None, version: int | None = None, today: dt.date | None = None) -> Item:
    """已转为整改事项: a rectification item for `org` (the organization concerned unless told),
    issued by the handler's side; the feedback is answered when the item is closed (销号). Both
    writes or neither."""
    today = today or timezone.localdate()
    org = org or fb.org
    _may_edit(user, fb.org, "org", "涉及的党组织")
    _may_edit(user, org, "item_org", "责任单位")
    title = (title or "").strip() or fb.text.strip().splitlines()[0][:60]
    with transaction.atomic():
        versioning.claim(fb, version)
        if fb.status != Feedback.Status.PENDING:
            raise FeedbackError(None, f"该意见建议已{fb.get_status_display()}，不能再转为整改事项")
        try:
            item = items.open_item(
                user, org=org, list=list, title=title, description=description or fb.text,
                source=Item.Source.FEEDBACK, source_id=fb.pk,
                source_label=f"{fb.get_channel_display()}（{fb.received_on:%Y-%m-%d}）",
                issuer=issuing_side(user, fb), responsible=responsible, deadline=deadline, workdays=workdays,
                opened_on=today, today=today)
        except items.ItemError as exc:
            raise FeedbackError(f"item_{exc.field}" if exc.field else None, exc.message) from None
        before, stored = audit.snapshot(fb), versioning.stored_values(fb)
        fb.status, fb.answered_on, fb.answered_by = Feedback.Status.ITEM, today, _actor(user)
        versioning.save_changes(fb, stored)
        audit.record(user, fb, before, note=f"转为整改事项“{item.title}”")
    return item


def follow_item(item: Item) -> int:
    """An item opened from a feedback changed: the feedback counts as solved from the day the
    item answering now (after any referral) was closed, and as not solved while it is open."""
    if item.source != Item.Source.FEEDBACK or item.source_id is None:
        return 0
    current = item.final()
    closed_on = current.closed_on if current.status == Item.Status.CLOSED else None
    return Feedback.objects.filter(pk=item.source_id, status=Feedback.Status.ITEM).update(resolved_on=closed_on)


# ---- visits ---------------------------------------------------------------------------------------

def record_visit(user, *, org: Organization, visited_on: dt.date, kind: str, place: str, households: int,
                 people: int, participants: list, issues: str | list[str] = "", note: str = "",
                 today: dt.date | None = None) -> Visit:
    """A visit with its participants; each issue raised (one a line) becomes a feedback of the
    channel 走访收集 about the organizing organization, sent by the one who records the visit."""
    today = today or timezone.localdate()
    lines = issues if isinstance(issues, list) else issue_lines(issues)
    participants = list({m.pk: m for m in participants}.values())
    first(visit_problems(org=org, visited_on=visited_on, kind=kind, place=place, households=households,
                         people=people, participants=participants, issues=lines, today=today))
    if problem := _note_problem(note):
        raise FeedbackError("note", problem)
    _may_edit(user, org, "org", "组织走访的党组织")
    deadline = deadline_for(visited_on) if lines else None
    with transaction.atomic():
        visit = Visit.objects.create(org=org, visited_on=visited_on, kind=kind, place=place.strip(),
                                     households=households, people=people, note=(note or "").strip(),
                                     created_by=_actor(user))
        visit.participants.set(participants)
        audit.record(user, visit, None, note=f"登记走访（参加党员 {len(participants)} 名）")
        _add_issues(user, visit, lines, deadline)
    return visit


def _add_issues(user, visit: Visit, lines: list[str], deadline: dt.date | None) -> list[Feedback]:
    if not lines:
        return []
    made = Feedback.objects.bulk_create([
        Feedback(channel=Channel.VISIT, org=visit.org, visit=visit, text=line, submitter=_actor(user),
                 received_on=visit.visited_on, deadline=deadline) for line in lines])
    saved = list(Feedback.objects.filter(visit=visit).order_by("-id")[: len(made)])
    AuditEntry.objects.bulk_create([audit.entry(user, fb, None, note="收到走访收集的问题") for fb in saved])
    return saved


def _note_problem(note) -> str:
    note = (note or "").strip() if isinstance(note, str) else ""
    if len(note) > 2000:
        return "走访情况：过长（最多 2000 个字）"
    return unsafe_characters_problem(note, "走访情况", multiline=True)


def update_visit(user, visit: Visit, *, visited_on: dt.date, kind: str, place: str, households: int, people: int,
                 participants: list, note: str = "", new_issues: str | list[str] = "", version: int | None = None,
                 today: dt.date | None = None) -> Visit:
    """Change a visit (the issues already registered stay feedback of their own; new lines
    are added as further feedback)."""
    today = today or timezone.localdate()
    lines = new_issues if isinstance(new_issues, list) else issue_lines(new_issues)
    participants = list({m.pk: m for m in participants}.values())
    _may_edit(user, visit.org, "org", "组织走访的党组织")
    first(visit_problems(org=visit.org, visited_on=visited_on, kind=kind, place=place, households=households,
                         people=people, participants=participants, issues=lines, today=today))
    if problem := _note_problem(note):
        raise FeedbackError("note", problem)
    deadline = deadline_for(visited_on) if lines else None
    with transaction.atomic():
        versioning.claim(visit, version)
        before, stored = audit.snapshot(visit), versioning.stored_values(visit)
        visit.visited_on, visit.kind, visit.place = visited_on, kind, place.strip()
        visit.households, visit.people, visit.note = households, people, (note or "").strip()
        versioning.save_changes(visit, stored)
        old = set(visit.participants.values_list("pk", flat=True))
        new = {m.pk for m in participants}
        if old != new:
            visit.participants.set(participants)
        audit.record(user, visit, before, note="修改走访记录" + ("（调整参加党员）" if old != new else ""))
        _add_issues(user, visit, lines, deadline)
    return visit

"""Every write of commendation: plain functions, one transaction each, audited, checked by
`checks` before anything is written. `user` None is the command line or the demo (no scope
limit); a user must hold `edit` over the issuer and over every organization honoured."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from dangjian.core import audit, versioning
from dangjian.core.models import AuditEntry
from dangjian.core.scoping import can, is_committee_staff
from dangjian.orgs.models import Organization

from .checks import CommendationError, commendation_problems, decision_problems, first, honour_problems
from .models import Commendation, Decision, Honour

OUTSIDE = "不在您的权限范围内"


def _actor(user):
    return user if user is not None and user.is_authenticated else None


def _may_edit(user, org: Organization, field: str, what: str) -> None:
    if user is not None and not can(user, "edit", org.path):
        raise CommendationError(field, f"{what}“{org.name}”{OUTSIDE}")


def create_honour(user, *, name: str, recipient: str) -> Honour:
    """The working committee's own title."""
    if user is not None and not is_committee_staff(user):
        raise CommendationError(None, "只有机关工委工作人员可以增设荣誉称号")
    first(honour_problems(name, recipient))
    with transaction.atomic():
        honour = Honour.objects.create(name=name.strip(), recipient=recipient)
        audit.record(user, honour, None, note="增设荣誉称号")
    return honour


def create_decision(user, *, issuer: Organization, number: str, decided_on: dt.date, title: str, year: int,
                    today: dt.date | None = None) -> Decision:
    """起草: a draft decision, without entries yet."""
    today = today or timezone.localdate()
    first(decision_problems(number=number, decided_on=decided_on, title=title, year=year, issuer=issuer,
                            today=today))
    _may_edit(user, issuer, "issuer", "发文党组织")
    with transaction.atomic():
        decision = Decision.objects.create(issuer=issuer, number=number.strip(), decided_on=decided_on,
                                           title=title.strip(), year=year, created_by=_actor(user))
        audit.record(user, decision, None, note="起草表彰决定")
    return decision


def _draft(decision: Decision) -> None:
    if decision.is_published:
        raise CommendationError(None, f"表彰决定 {decision.number} 已印发，不能修改；如需更正，请另行起草表彰决定")


def update_decision(user, decision: Decision, *, number: str, decided_on: dt.date, title: str, year: int,
                    version: int | None = None, today: dt.date | None = None) -> Decision:
    today = today or timezone.localdate()
    _may_edit(user, decision.issuer, "issuer", "发文党组织")
    with transaction.atomic():
        versioning.claim(decision, version)
        _draft(decision)
        first(decision_problems(number=number, decided_on=decided_on, title=title, year=year,
                                issuer=decision.issuer, today=today, exclude_pk=decision.pk))
        before, stored = audit.snapshot(decision), versioning.stored_values(decision)
        decision.number, decision.decided_on, decision.title, decision.year = (
            number.strip(), decided_on, title.strip(), year)
        versioning.save_changes(decision, stored)
        audit.record(user, decision, before)
    return decision


def add_commendations(user, decision: Decision, items: list[tuple]) -> list[Commendation]:
    """Give each (honour, org, member) of `items` (member None for an organization's honour):
    all of them, or none when one is wrong (its message names it)."""
    if not items:
        raise CommendationError(None, "请至少选择一个表彰对象")
    with transaction.atomic():
        # One writer per decision at a time: the duplicate checks below read what is stored.
        Decision.objects.select_for_update().filter(pk=decision.pk).first()
        decision.refresh_from_db(fields=["status"])
        taken = list(decision.commendations.select_related("honour"))
        position = max((c.position for c in taken), default=0)
        made = []
        for honour, org, member in items:
            first(commendation_problems(decision, honour, org, member, taken))
            org = member.org if member is not None else org
            _may_edit(user, org, "member" if member is not None else "org", "党组织")
            position += 1
            c = Commendation(decision=decision, honour=honour, org=org, member=member, position=position)
            taken.append(c)
            made.append(c)
        Commendation.objects.bulk_create(made)
        saved = list(Commendation.objects.filter(decision=decision, position__gt=position - len(made)))
        AuditEntry.objects.bulk_create([audit.entry(user, c, None, note=f"列入表彰决定 {decision.number}")
                                              for c in saved])
    return saved


def remove_commendation(user, commendation: Commendation) -> None:
    decision = commendation.decision
    _may_edit(user, decision.issuer, "issuer", "发文党组织")
    with transaction.atomic():
        Decision.objects.select_for_update().filter(pk=decision.pk).first()
        decision.refresh_from_db(fields=["status"])
        _draft(decision)
        audit.record(user, commendation, audit.snapshot(commendation), action="delete",
                     note=f"移出表彰决定 {decision.number}")
        commendation.delete()


def delete_draft(user, decision: Decision, version: int | None = None) -> None:
    _may_edit(user, decision.issuer, "issuer", "发文党组织")
    with transaction.atomic():
        versioning.claim(decision, version)
        _draft(decision)
        audit.record(user, decision, audit.snapshot(decision), action="delete", note="删除表彰决定草稿")
        decision.delete()


def publish(user, decision: Decision, version: int | None = None) -> Decision:
    """印发: from now on the decision is read-only and counts."""
    _may_edit(user, decision.issuer, "issuer", "发文党组织")
    with transaction.atomic():
        versioning.claim(decision, version)
        _draft(decision)
        if not decision.commendations.exists():
            raise CommendationError(None, "表彰决定还没有表彰对象，不能印发")
        before, stored = audit.snapshot(decision), versioning.stored_values(decision)
        decision.status = Decision.Status.PUBLISHED
        decision.published_at = timezone.now()
        decision.published_by = _actor(user)
        versioning.save_changes(decision, stored)
        audit.record(user, decision, before, note="印发表彰决定")
    return decision

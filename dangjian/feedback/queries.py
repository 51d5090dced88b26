"""Reads of visits and feedback for the pages, the export, the API and the command: every one
through `visible_to`, a fixed number of queries whatever the number of rows.

Who sees what: a visit by those who view its organization; a feedback by those who view the
organization it concerns (its handlers hold `edit` there); a sender reads their own feedback
(`mine`), and an anonymous complaint is read with its follow-up code only.
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, Prefetch, Q

from dangjian.core.scoping import get_visible_or_404
from dangjian.members.models import Member
from dangjian.orgs.models import Organization
from dangjian.rectification.models import Item
from dangjian.rectification.queries import items_for_source

from .models import Feedback, Visit


def visits(user, *, root: Organization | None = None, start: dt.date | None = None, end: dt.date | None = None,
           kind: str = "", q: str = ""):
    qs = Visit.objects.visible_to(user)
    if root is not None:
        qs = qs.filter(org__path__startswith=root.path)
    if start is not None:
        qs = qs.filter(visited_on__gte=start)
    if end is not None:
        qs = qs.filter(visited_on__lte=end)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(Q(place__icontains=q) | Q(note__icontains=q) | Q(org__name__icontains=q))
    return (qs.select_related("org").annotate(taking_part=Count("participants", distinct=True),
                                              issues=Count("feedback", distinct=True))
            .order_by("-visited_on", "-id"))


def visit_or_404(user, pk, capability: str = "view") -> Visit:
    return get_visible_or_404(
        Visit.objects.select_related("org", "created_by__member").prefetch_related(
            Prefetch("participants", queryset=Member.objects.select_related("org").order_by("name", "id"))),
        user, pk, capability)


def feedback(user, *, root: Organization | None = None, channel: str = "", status: str = "",
             overdue: bool = False, today: dt.date | None = None, q: str = "",
             start: dt.date | None = None, end: dt.date | None = None):
    qs = Feedback.objects.visible_to(user)
    if root is not None:
        qs = qs.filter(org__path__startswith=root.path)
    if channel:
        qs = qs.filter(channel=channel)
    if status:
        qs = qs.filter(status=status)
    if overdue:
        qs = qs.overdue(today)
    if start is not None:
        qs = qs.filter(received_on__gte=start)
    if end is not None:
        qs = qs.filter(received_on__lte=end)
    if q:
        qs = qs.filter(Q(text__icontains=q) | Q(answer__icontains=q) | Q(org__name__icontains=q))
    return qs.select_related("org", "submitter__member").order_by("status", "deadline", "-id")


def feedback_or_404(user, pk, capability: str = "view") -> Feedback:
    return get_visible_or_404(
        Feedback.objects.select_related("org", "visit", "submitter__member", "answered_by__member"),
        user, pk, capability)


def mine(user):
    """What the user sent under their name (an anonymous complaint is not theirs to list)."""
    return (Feedback.objects.filter(submitter=user).select_related("org", "answered_by__member")
            .order_by("-received_on", "-id"))


def mine_or_404(user, pk) -> Feedback:
    from django.http import Http404

    from dangjian.core.scoping import NOT_FOUND

    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404(NOT_FOUND) from None
    found = mine(user).filter(pk=pk).first()
    if found is None:
        raise Http404(NOT_FOUND)
    return found


def overdue_count(user, today: dt.date) -> int:
    return Feedback.objects.visible_to(user, "edit").overdue(today).count()


def items_of(rows) -> dict[int, Item]:
    """For each feedback of `rows` turned into an item: the item answering now (after any
    referral). One query, plus one per referral followed."""
    ids = [fb.pk for fb in rows if fb.status == Feedback.Status.ITEM]
    if not ids:
        return {}
    out = {}
    for fb_id, found in items_for_source(Item.Source.FEEDBACK, ids).items():
        first = next((i for i in found if i.referred_from_id is None), found[0])
        out[fb_id] = first.final()
    return out

"""Reads of rectification items: every list through `Item.objects.visible_to`, filtered in the
database, in a fixed number of queries whatever the number of items."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, F, Q

from dangjian.core.scoping import get_visible_or_404
from dangjian.orgs.models import Organization, OrgKind

from .models import Item, ItemEvent

# The `status` filter of the lists, the API and `dangjian items`: three words a user asks with,
# then each stored status by its own value.
STATUS_FILTERS = {
    "open": "未销号",
    "overdue": "已超期",
    "closed": "已销号",
}


def status_q(status: str, today: dt.date) -> Q | None:
    """The condition of a status filter; None for an unknown word (the caller refuses it)."""
    if status == "open":
        return Q(status__in=Item.OPEN)
    if status == "overdue":
        return Q(status__in=Item.OPEN, deadline__lt=today)
    if status == "closed":
        return Q(status=Item.Status.CLOSED)
    if status in Item.Status.values:
        return Q(status=status)
    return None


def visible(user, capability: str = "view"):
    return Item.objects.visible_to(user, capability)


def filtered(items, *, today: dt.date, list_=None, status=None, org=None, source=None, source_id=None, q=None):
    """`items` narrowed by the list filters; `org` is a subtree (its path)."""
    if list_:
        items = items.filter(list=list_)
    if status:
        cond = status_q(status, today)
        if cond is not None:
            items = items.filter(cond)
    if org is not None:
        items = items.filter(org__path__startswith=org.path)
    if source:
        items = items.filter(source=source)
    if source_id:
        items = items.filter(source_id=source_id)
    if q:
        items = items.filter(Q(title__icontains=q) | Q(description__icontains=q) | Q(org__name__icontains=q))
    return items


def get(user, pk) -> Item:
    return get_visible_or_404(Item.objects.select_related("org", "issuer", "responsible"), user, pk)


def timeline(item: Item) -> list[ItemEvent]:
    return list(item.events.select_related("user__member").order_by("at", "id"))


def chain(item: Item) -> tuple[list[Item], list[Item]]:
    """The items this one was referred from (oldest first) and those it was referred to, each
    followed one query per step; a referral chain is a handful of steps, not a list."""
    before, after = [], []
    current = item
    while current.referred_from_id and len(before) < 20:
        current = Item.objects.select_related("org").get(pk=current.referred_from_id)
        before.insert(0, current)
    current = item
    while current.status == Item.Status.REFERRED and len(after) < 20:
        nxt = Item.objects.select_related("org").filter(referred_from=current).first()
        if nxt is None:
            break
        after.append(nxt)
        current = nxt
    return before, after


def items_for_source(source: str, ids) -> dict[int, list[Item]]:
    """The items opened from each source record, in one query (referred items included, each
    under the record it came from)."""
    out: dict[int, list[Item]] = defaultdict(list)
    for item in (Item.objects.filter(source=source, source_id__in=list(ids)).select_related("org")
                 .order_by("opened_on", "id")):
        out[item.source_id].append(item)
    return dict(out)


def counts(items, today: dt.date) -> dict:
    """Items, open, overdue, closed, closed on time and returned over `items`, in one query. A
    referred item is counted once, by the item it was referred to; a withdrawn one not at all."""
    live = items.exclude(status__in=Item.UNCOUNTED)
    return live.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status__in=Item.OPEN)),
        overdue=Count("id", filter=Q(status__in=Item.OPEN, deadline__lt=today)),
        closed=Count("id", filter=Q(status=Item.Status.CLOSED)),
        on_time=Count("id", filter=Q(status=Item.Status.CLOSED, closed_on__lte=F("deadline"))),
        returned=Count("id", filter=Q(returned_count__gt=0)),
    )


def by_unit(items, today: dt.date) -> list[dict]:
    """`counts` per unit (the responsible organization's top-level organization), in one query."""
    live = items.exclude(status__in=Item.UNCOUNTED)
    rows = (live.values("org__top_org", "org__top_org__name", "org__top_org__path")
            .annotate(total=Count("id"),
                      open=Count("id", filter=Q(status__in=Item.OPEN)),
                      overdue=Count("id", filter=Q(status__in=Item.OPEN, deadline__lt=today)),
                      closed=Count("id", filter=Q(status=Item.Status.CLOSED)),
                      on_time=Count("id", filter=Q(status=Item.Status.CLOSED, closed_on__lte=F("deadline"))),
                      returned=Count("id", filter=Q(returned_count__gt=0)))
            .order_by("org__top_org__path"))
    return [{"org_id": r["org__top_org"], "name": r["org__top_org__name"], **{
        k: r[k] for k in ("total", "open", "overdue", "closed", "on_time", "returned")}} for r in rows]


def with_overdue(items, today: dt.date) -> list[Item]:
    """`items` as a list, each with `late`: its calendar days past the deadline (for the pages of
    the records the items came from)."""
    items = list(items)
    for item in items:
        item.late = item.overdue_days(today)
    return items


def committee_of(org: Organization) -> Organization:
    """The working committee over `org` (the nearest one above it, else the root of its tree):
    the issuing side of the items the committee's own work opens — an admonition's measures, a
    weak organization's overhaul."""
    prefixes = [org.path[:i] for i in range(9, len(org.path) + 1, 9)]
    found = (Organization.objects.filter(path__in=prefixes, kind=OrgKind.WORKING_COMMITTEE)
             .order_by("-path").first())
    return found or Organization.objects.get(path=org.path[:9])


def _under(field: str, prefixes) -> Q:
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(**{f"{field}__startswith": prefix})
    return q


def todo(user, today: dt.date, limit: int = 10) -> dict:
    """The home page's items, in one query (at most `limit` per list, oldest deadline first):
    - `act`: waiting for the user's side — 待签收 or 退回 on the responsible side (those who edit
      the responsible organization, or the person named), 申请销号 on the issuing side;
    - `remind`: open items of the responsible side in their reminder window (a 催办 written by
      the daily sweep) and not escalated yet;
    - `escalate`: for a superior, the overdue items (督办) of the organizations below the ones the
      user keeps — not the user's own organization's, which are on the first two lists."""
    from django.db.models import Exists, OuterRef

    from dangjian.core.scoping import scope_of

    scope = scope_of(user)
    edit = scope.prefixes("edit")
    forward = _under("org__path", edit)
    if scope.member_id:
        forward |= Q(responsible_id=scope.member_id)
    issue = _under("issuer__path", edit)
    below = Q(pk__in=[])
    for prefix in edit:
        below |= Q(org__path__startswith=prefix) & ~Q(org__path=prefix)
    waiting = Q(status=Item.Status.PENDING) | Q(status=Item.Status.RECTIFYING, returned_count__gt=0)
    events = ItemEvent.objects.filter(item=OuterRef("pk"))
    rows = (Item.objects.select_related("org", "issuer")
            .annotate(reminded=Exists(events.filter(kind=ItemEvent.Kind.REMIND)),
                      escalated=Exists(events.filter(kind=ItemEvent.Kind.ESCALATE)))
            .filter((forward & waiting) | (issue & Q(status=Item.Status.CLOSING))
                    | (forward & Q(status__in=Item.OPEN, reminded=True, escalated=False))
                    | (below & Q(status__in=Item.OPEN, deadline__lt=today, escalated=True)))
            .order_by("deadline", "id")[:3 * limit])
    out = {"act": [], "remind": [], "escalate": []}

    def kept(item, field):
        path = getattr(item, field).path
        return [p for p in edit if path.startswith(p)]

    for item in rows:
        fwd = bool(kept(item, "org")) or (scope.member_id is not None and item.responsible_id == scope.member_id)
        if (fwd and (item.status == Item.Status.PENDING or (item.status == Item.Status.RECTIFYING
                                                            and item.returned_count))) \
                or (item.status == Item.Status.CLOSING and kept(item, "issuer")):
            out["act"].append(item)
        if fwd and item.is_open and item.reminded and not item.escalated:
            out["remind"].append(item)
        if (item.is_open and item.deadline < today and item.escalated
                and any(p != item.org.path for p in kept(item, "org"))):
            out["escalate"].append(item)
    return {k: v[:limit] for k, v in out.items()}


def files_by_event(item: Item) -> dict[int, list]:
    """The evidence files of an item by the step they came with, in one query."""
    out: dict[int, list] = defaultdict(list)
    for f in item.files.order_by("uploaded_at", "id"):
        out[f.event_id].append(f)
    return dict(out)


# ---- per-unit figures (the assessment metrics) ----------------------------------------------

def due_between(start: dt.date, end: dt.date):
    """Items whose deadline falls in [start, end]; a referred item is left out (the item it was
    referred to counts, at its own organization), and so is a withdrawn one (nothing is owed)."""
    return Item.objects.exclude(status__in=Item.UNCOUNTED).filter(deadline__gte=start, deadline__lte=end)


def on_time_rows(items, day: dt.date):
    """(responsible org's path, "on_time" | "other", count) over `items`, in one query: closed on
    or before the deadline (and by `day`) is on time."""
    from django.db.models import Case, CharField, Value, When

    key = Case(When(Q(status=Item.Status.CLOSED, closed_on__lte=F("deadline")) & Q(closed_on__lte=day),
                    then=Value("on_time")), default=Value("other"), output_field=CharField())
    return items.annotate(key=key).values_list("org__path", "key").annotate(n=Count("id")).order_by()


def overdue_rows(items, day: dt.date):
    """(responsible org's path, "overdue" | "clear", count) over `items`, in one query: overdue on
    `day` is past the deadline and not closed by then."""
    from django.db.models import Case, CharField, Value, When

    closed_by = Q(status=Item.Status.CLOSED, closed_on__lte=day)
    key = Case(When(Q(deadline__lt=day) & ~closed_by, then=Value("overdue")), default=Value("clear"),
               output_field=CharField())
    return items.annotate(key=key).values_list("org__path", "key").annotate(n=Count("id")).order_by()

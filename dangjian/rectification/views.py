"""Rectification screens: the one list of items (filtered, paginated) and an item's page with its
referral chain and timeline. Reads through `queries`, scoped; outside the scope is 404."""
from __future__ import annotations

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dangjian.core.scoping import can_anywhere, require
from dangjian.core.views import QueryParams, paginate

from . import queries
from .models import SOURCE_URLS, Item


class _Params(QueryParams):
    def __init__(self, request):
        super().__init__(request)
        statuses = {**queries.STATUS_FILTERS, **dict(Item.Status.choices)}
        self.list = self._coded("list", dict(Item.List.choices), "清单")
        self.status = self._coded("status", statuses, "状态")
        self.source = self._coded("source", dict(Item.Source.choices), "来源")
        self.source_id = self._int("source_id", "来源记录")
        self.q = self._raw("q")[:50]


@require_GET
def item_list(request):
    require(can_anywhere(request.user, "view") or can_anywhere(request.user, "self"))
    p = _Params(request)
    today = timezone.localdate()
    items = queries.filtered(queries.visible(request.user), today=today, list_=p.list, status=p.status,
                             source=p.source, source_id=p.source_id, q=p.q)
    page, base = paginate(request, items.select_related("org", "issuer").order_by("deadline", "id"))
    return render(request, "rectification/list.html", {
        "page_obj": page, "base": base, "p": p, "today": today, "lists": Item.List.choices,
        "statuses": [*queries.STATUS_FILTERS.items(), *Item.Status.choices], "sources": Item.Source.choices})


def source_link(item: Item) -> str | None:
    name = SOURCE_URLS.get(item.source)
    if not name or item.source_id is None:
        return None
    try:
        return reverse(name, args=[item.source_id])
    except NoReverseMatch:
        return None


@require_GET
def item_detail(request, pk):
    item = queries.get(request.user, pk)
    before, after = queries.chain(item)
    return render(request, "rectification/detail.html", {
        "item": item, "today": timezone.localdate(), "events": queries.timeline(item), "before": before,
        "after": after, "source_link": source_link(item), "overdue_days": item.overdue_days(timezone.localdate())})

"""Formalism signals (形式主义提示): the working committee's list of records to check, with evidence.

The page opens on a summary: one row per unit of the org being looked at (its own records,
then each sub-organization's subtree) with the signals counted by kind; a row drills down
(`?org=CODE`) to that unit's sub-units and, at the bottom (a branch, an org's own records, or
any unit asked for by kind or `list=1`), to the signal cards with their evidence. Everything
is read from the stored signals (formalism.py); a page that finds them out of date says so and
leaves the recomputation to a background job.
"""
import datetime as dt
from urllib.parse import urlencode

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from dangjian.core.scoping import require
from dangjian.core.views import QueryParams, paginate

from .. import formalism
from .records import _year


class _Choice(QueryParams):
    """The page's parameters, each checked: a bad one is dropped with a message."""

    def __init__(self, request, today: dt.date):
        super().__init__(request)
        self.year = _year(request, today.year)
        self.kind = self._coded("kind", formalism.KINDS, "提示类型")
        self.code = self._raw("org")[:32]
        self.own = self._raw("own") == "1"
        self.listing = self._raw("list") == "1"

    def params(self, **changes) -> dict:
        """The checked filters as query parameters (what links and the export carry)."""
        values = {"year": self.year, "org": self.code, "own": "1" if self.own else "", "kind": self.kind,
                  "list": "1" if self.listing else "", **changes}
        return {k: v for k, v in values.items() if v not in (None, "")}


def _frame(request, choice: _Choice):
    """The viewer's frame; 404 for anyone who oversees no organizations (core.scoping.oversees)."""
    frame = formalism.Frame(request.user, choice.code, choice.own)
    require(frame.allowed)
    if frame.unknown:
        # The same words for a code that does not exist and one outside the scope.
        choice.problems.append(f"组织代码“{frame.unknown}”不存在或不在您的查看范围内，已显示全部范围")
        choice.code, choice.own = "", False
    elif frame.node is None:
        choice.own = False
    return frame


def _title(frame) -> str:
    if frame.node is not None:
        return f"{frame.node.name}（本级）" if frame.own else frame.node.name
    return "、".join(r.name for r in frame.roots)


@require_safe
def signals(request):
    user = request.user
    today = timezone.localdate()
    choice = _Choice(request, today)
    frame = _frame(request, choice)
    state = formalism.year_state(choice.year, user)
    page_query = urlencode(choice.params())
    status_query = urlencode({**choice.params(), "part": "status"})
    if request.GET.get("part") == "status":
        return render(request, "activities/_formalism_status.html",
                      {"state": state, "status_query": status_query, "page_query": page_query, "polled": True})
    units, totals = formalism.summary(frame, choice.year)
    listing = frame.is_bottom or bool(choice.kind) or choice.listing
    ctx = {
        "choice": choice, "year": choice.year, "kind": choice.kind, "state": state, "status_query": status_query,
        "page_query": page_query,
        "years": range(today.year, today.year - 6, -1), "kinds": formalism.KINDS,
        "crumbs": frame.crumbs(), "title": _title(frame), "org_code": choice.code, "units": frame.choices(),
        "counts": [(k, label, totals[k]) for k, label in formalism.KINDS.items()], "total": sum(totals.values()),
        "listing": listing, "bottom": frame.is_bottom,
        # the node's crumb leads to its summary, or to all its signals, unless that is this page
        "crumb_link": choice.own or (listing and not (frame.is_bottom and not choice.kind)),
        "here": urlencode(choice.params(kind="", list="")),
        "thresholds": formalism.Thresholds.from_defaults(),
    }
    if listing:
        page_obj, qs_base = paginate(request, formalism.stored_signals(frame, choice.year, choice.kind))
        ctx.update(page_obj=page_obj, qs_base=qs_base, items=formalism.describe(page_obj.object_list, frame, user))
    else:
        ctx.update(rows=units, unit_base=urlencode({"year": choice.year}))
    return render(request, "activities/formalism.html", ctx)

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from dangjian.core.scoping import can_anywhere
from dangjian.members.models import Member
from dangjian.orgs import queries as org_queries


def paginate(request, qs, per_page: int | None = None):
    """A page of `qs` plus the query string without `page` (for the page links) and
    without `part` (which only selects an HTMX fragment and must not end up in the address)."""
    page = Paginator(qs, per_page or settings.PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("part", None)
    base = params.urlencode()
    return page, (base + "&" if base else "")


def is_htmx(request) -> bool:
    """A partial is wanted for HTMX swaps, but not when HTMX restores history."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def home(request):
    user = request.user
    today = timezone.localdate()
    ctx = {"today": today}
    if can_anywhere(user, "view"):
        ctx["counts"] = org_queries.counts_for(user)
        ctx["term_count"], ctx["term_alerts"] = org_queries.term_alerts(user, today)
        ctx["vacancy_count"], ctx["vacancy_alerts"] = org_queries.vacancy_alerts(user, today)
        for seat in ctx["vacancy_alerts"]:
            seat.days_vacant = seat.vacant_days(today)
        for t in ctx["term_alerts"]:
            t.days = t.days_left(today)
        ctx["roots"] = org_queries.roots_for(user)[:10]
    if user.member_id:
        ctx["me"] = (
            Member.objects.visible_to(user).filter(pk=user.member_id).select_related("org", "org__unit").first()
        )
    return render(request, "core/home.html", ctx)

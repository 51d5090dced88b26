"""The home page. It sits above every app (like urls.py): each figure comes from the app that
owns it, and the page only puts them together for the person who logs in."""
from django.shortcuts import render
from django.utils import timezone

from dangjian.core.scoping import can_anywhere
from dangjian.members.models import Member
from dangjian.orgs import queries as org_queries
from dangjian.orgs.alerts import Thresholds


def home(request):
    user = request.user
    today = timezone.localdate()
    ctx = {"today": today}
    if can_anywhere(user, "view"):
        ctx["counts"] = org_queries.org_counts(user)
        ctx["term_count"], ctx["term_alerts"] = org_queries.term_alerts(user, today)
        ctx["vacancy_count"], ctx["vacancy_alerts"] = org_queries.vacancy_alerts(user, today)
        ctx["limits"] = Thresholds.from_defaults()
        for seat in ctx["vacancy_alerts"]:
            seat.days_vacant = seat.vacant_days(today)
        for t in ctx["term_alerts"]:
            t.days = t.days_left(today)
        ctx["roots"] = org_queries.roots_for(user).order_by("path")[:10]
    if user.member_id:
        ctx["me"] = (
            Member.objects.visible_to(user).filter(pk=user.member_id).select_related("org", "org__unit").first()
        )
    return render(request, "home.html", ctx)

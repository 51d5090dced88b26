"""The home page. It sits above every app (like urls.py): each figure comes from the app that
owns it, and the page only puts together what the person who logs in needs first —
- a member: their record, their own organizational life this year, what their branch's
  requirements of this period still ask, and their duty list if they hold a role;
- whoever keeps a branch's records (edit over a branch or a 党总支): that branch's to-do —
  requirements due, structure alerts — first on the page, and the member's own branch's
  requirements only there (a secretary is also a member of the branch they keep);
- the rectification items waiting for the user's side (待签收, 退回, 申请销号), those in their
  reminder window (催办), and for a superior the overdue items below (督办);
- whoever views a part of the tree: its figures and the alerts on terms and vacant seats, each
  list linking to the full one.
"""
from django.shortcuts import render
from django.utils import timezone

from dangjian.activities import queries as activity_queries
from dangjian.core.scoping import can_anywhere, scope_of
from dangjian.duties import completion
from dangjian.duties import queries as duty_queries
from dangjian.members.models import Member
from dangjian.orgs import queries as org_queries
from dangjian.orgs.alerts import Thresholds, structure_alerts
from dangjian.orgs.models import Organization
from dangjian.rectification import queries as item_queries

LIST_LIMIT = 20  # a home list longer than this links to the full list
KEPT_ORGS = 3  # the branches whose to-do list the home page shows (a secretary keeps one or two)
RECORD_KINDS = ("branch", "cell", "general_branch")  # where meetings are recorded week by week


def home(request):
    user = request.user
    today = timezone.localdate()
    ctx = {"today": today}
    kept = []
    edited = scope_of(user).prefixes("edit")
    if edited:
        kept = list(Organization.objects.filter(path__in=edited, kind__in=RECORD_KINDS, status="active")
                    .order_by("path")[:KEPT_ORGS])
        ctx["todo"] = [{"org": org, "branch": activity_queries.requirements_now(org, today),
                        "alerts": structure_alerts(org=org, today=today)} for org in kept]
    if edited or user.member_id:
        items = item_queries.todo(user, today)
        if any(items.values()):
            ctx["items"] = items
    if user.member_id:
        me = Member.objects.visible_to(user).filter(pk=user.member_id).select_related("org", "org__unit").first()
        if me is not None:
            ctx["me"] = me
            ctx["life"] = list(activity_queries.member_attendance(me.pk, year=today.year)[:5])
            ctx["life_counts"] = activity_queries.attendance_counts(me.pk, today.year)
            # A secretary's own branch is already on the to-do card above: not twice.
            if me.org_id not in {org.pk for org in kept}:
                ctx["branch"] = activity_queries.requirements_now(me.org, today)
            roles = completion.holders(member_ids=[me.pk])
            if roles:
                ctx["duties"] = duty_queries.person(user, me.pk, today.year, today, roles, member=me)["todo"]
    if can_anywhere(user, "view"):
        ctx["counts"] = org_queries.org_counts(user)
        ctx["term_count"], ctx["term_alerts"] = org_queries.term_alerts(user, today, LIST_LIMIT)
        ctx["vacancy_count"], ctx["vacancy_alerts"] = org_queries.vacancy_alerts(user, today, LIST_LIMIT)
        ctx["limits"] = Thresholds.from_defaults()
        for seat in ctx["vacancy_alerts"]:
            seat.days_vacant = seat.vacant_days(today)
        for t in ctx["term_alerts"]:
            t.days = t.days_left(today)
        ctx["roots"] = org_queries.roots_for(user).order_by("path")[:10]
    return render(request, "home.html", ctx)

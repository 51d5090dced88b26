"""An org's compliance with the frequency rules: the year table and the month calendar."""
import datetime as dt

from django.shortcuts import render
from django.utils import timezone

from dangjian.core.scoping import can
from dangjian.orgs.models import Organization

from .. import queries
from .records import _year


def compliance(request, org_pk):
    user = request.user
    org = queries.org_or_404(user, org_pk)
    today = timezone.localdate()
    year = _year(request, today.year)
    rows = queries.org_compliance(org, year, today)
    ctx = {
        "org": org, "year": year, "rows": rows, "rules": queries.rule_sources(rows),
        "summary": queries.summary(rows), "years": range(today.year, today.year - 6, -1),
    }
    return render(request, "activities/compliance.html", ctx)


def month_calendar(request, org_pk):
    user = request.user
    org = queries.org_or_404(user, org_pk)
    today = timezone.localdate()
    year, month = today.year, today.month
    raw = (request.GET.get("month") or "").strip()
    error = ""
    if raw:
        try:
            chosen = dt.datetime.strptime(raw, "%Y-%m").date()
            if chosen.year < 1921:
                raise ValueError
            year, month = chosen.year, chosen.month
        except ValueError:
            error = f"月份：“{raw}”格式不正确，应为 2026-11"
    cal = queries.month_calendar(org, year, month, today)
    ctx = {"org": org, "cal": cal, "error": error, "weekdays": "一二三四五六日",
           "can_edit": can(user, "edit", org.path) and org.status == Organization.Status.ACTIVE}
    return render(request, "activities/calendar.html", ctx)



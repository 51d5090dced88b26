"""An org's compliance with the frequency rules: the year table and the month calendar."""
import datetime as dt
import re

from django.shortcuts import render
from django.utils import timezone

from dangjian.core.scoping import can, require, scope_of
from dangjian.orgs.models import Organization

from .. import queries
from .records import _year


def compliance(request, org_pk):
    user = request.user
    # The verdicts name every record of the org as evidence: a plain member, who opens only the
    # meetings they were asked to attend, sees their branch's requirements on their own page.
    org = queries.org_or_404(user, org_pk)
    require(can(user, "view", org.path))
    today = timezone.localdate()
    year = _year(request, today.year)
    rows = queries.org_compliance(org, year, today)
    ctx = {
        "org": org, "year": year, "rows": rows, "rules": queries.rule_sources(rows),
        "summary": queries.summary(rows), "years": range(today.year, today.year - 6, -1),
        # The side above the organization may put a failed requirement on the rectification list.
        "can_follow_up": any(org.path.startswith(p) and org.path != p for p in scope_of(user).prefixes("edit")),
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
            year, month = _month(raw, today)
        except ValueError as exc:
            error = f"{exc}，已显示本月"
    cal = queries.month_calendar(org, year, month, today, user=user)
    ctx = {"org": org, "cal": cal, "error": error, "weekdays": "一二三四五六日",
           "member_only": not can(user, "view", org.path),
           "can_edit": can(user, "edit", org.path) and org.status == Organization.Status.ACTIVE}
    return render(request, "activities/calendar.html", ctx)


FIRST_YEAR = 1921  # no party organization kept records before the Party was founded
MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def _month(raw: str, today: dt.date) -> tuple[int, int]:
    """(year, month) of a `?month=` value written 年-月; a ValueError says in Chinese what is wrong,
    with an example taken from today, so it never reads like the answer."""
    shown = raw[:20]
    found = MONTH.fullmatch(raw)
    if found is None:
        raise ValueError(f"月份“{shown}”的写法不对，应为“年-月”，如 {today:%Y-%m}")
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"月份“{shown}”中的 {month} 月不存在，月份应在 1 到 12 之间")
    if year < FIRST_YEAR:
        raise ValueError(f"月份“{shown}”早于 {FIRST_YEAR} 年，没有可查看的记录")
    return year, month

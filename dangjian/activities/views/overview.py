"""The working committee's overview of organizational life: units × months of one year,
the requirements not met (应开未开), the structure alerts, and the same as one workbook.

Who sees it is decided by the scope alone: a user whose highest viewable organizations
include one above branch level (工委 staff and leaders: the whole tree; a unit's party
officer: their unit) compares the units below it. A branch secretary has no units to
compare — their branch's page is its work calendar, so they are sent there; a plain member
(no `view` anywhere) gets 404 like any page outside their scope.
"""
import datetime as dt
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dangjian.core import audit, periods, xlsx
from dangjian.core.views import BoundedPaginator, QueryParams, paginate
from dangjian.orgs.alerts import ALERT_KINDS

from .. import queries
from ..models import KIND_LABELS

TABS = ("missing", "alerts")
FIRST_YEAR = 1921
# The heatmap shows this many units a page (the totals are over all of them): a province's
# working committee compares thousands of departments, which no page can draw at once.
UNITS_PER_PAGE = 30


class _Choice(QueryParams):
    """The page's parameters, each checked (see QueryParams)."""

    def __init__(self, request, today: dt.date):
        super().__init__(request)
        self.year = self._year(today)
        self.org_pk = self._int("org", "组织")
        self.month = self._month()
        self.kind = self._coded("kind", KIND_LABELS, "组织生活类型", "全部类型")
        self.alert = self._coded("alert", ALERT_KINDS, "预警类型", "全部类型")
        self.tab = self.get.get("list") if self.get.get("list") in TABS else "missing"
        self.unit_pk = self._int("unit", "单位")

    def _year(self, today: dt.date) -> int:
        raw = self._raw("year")
        if not raw:
            return today.year
        if not raw.isdigit() or len(raw) != 4:
            self.problems.append(f"年度“{raw[:20]}”格式不正确，应为四位年份（如 {today.year}），已显示 {today.year} 年")
            return today.year
        if not FIRST_YEAR <= int(raw) <= today.year + 1:
            self.problems.append(f"年度 {raw} 超出范围（{FIRST_YEAR}—{today.year + 1}），已显示 {today.year} 年")
            return today.year
        return int(raw)

    def _month(self) -> int | None:
        raw = self._raw("month")
        if not raw:
            return None
        if not raw.isdigit() or not 1 <= int(raw) <= 12:
            self.problems.append(f"月份“{raw[:20]}”无效，应为 1—12，已显示全年")
            return None
        return int(raw)


def _frame(user, choice: _Choice):
    """The roots and units the user compares; None for a branch secretary, 404 for a user
    who may view no organization (see the module doc)."""
    home = queries.overview_roots(user)
    if not home:
        raise Http404
    if all(r.kind in queries.BRANCH_KINDS for r in home):
        return None
    roots, crumbs = home, []
    if choice.org_pk is not None:
        chosen = queries.overview_roots(user, choice.org_pk)
        if chosen:
            roots, crumbs = chosen, queries.overview_crumbs(user, chosen[0])
        else:
            # The same words for an org that does not exist and one outside the scope.
            choice.problems.append(f"未找到编号为 {choice.org_pk} 的党组织，或您无权查看，已显示全部")
            choice.org_pk = None
    return queries.overview_scope(user, roots, choice.year), crumbs


def _export_params(choice: _Choice) -> dict:
    """The checked filters of the page, for the export link and the audit note."""
    values = {"year": choice.year, "org": choice.org_pk, "unit": choice.unit_pk, "kind": choice.kind,
              "month": choice.month, "alert": choice.alert}
    return {k: v for k, v in values.items() if v not in (None, "")}


def _unit(choice: _Choice, scope):
    unit = scope.unit(choice.unit_pk)
    if choice.unit_pk is not None and unit is None:
        choice.problems.append("所选单位不在本页范围内，已显示全部单位")
        choice.unit_pk = None
    return unit


@require_GET
def overview(request):
    user = request.user
    today = timezone.localdate()
    choice = _Choice(request, today)
    framed = _frame(user, choice)
    if framed is None:
        return redirect("activities:home")
    scope, crumbs = framed
    totals = queries.overview_heatmap(scope, choice.year, today)
    unit = _unit(choice, scope)
    missing = queries.overview_missing_list(scope, choice.year, unit=unit, kind=choice.kind, month=choice.month,
                                            today=today)
    alert_counts = queries.overview_alert_counts(scope, unit=unit, today=today)
    if choice.tab == "alerts":
        alerts = queries.overview_alerts(user, scope, unit=unit, kind=choice.alert, today=today)
        page_obj, qs_base = paginate(request, alerts)
        page_obj.object_list = queries.describe_alerts(page_obj.object_list, scope)
        missing_count = BoundedPaginator(missing, 1).count_text
    else:
        page_obj, qs_base = paginate(request, missing)
        page_obj.object_list = queries.describe_missing(page_obj.object_list, scope)
        missing_count = page_obj.paginator.count_text
    base = {"year": choice.year}
    if choice.org_pk is not None:
        base["org"] = choice.org_pk
    with_unit = {**base, "unit": choice.unit_pk} if choice.unit_pk is not None else base
    units_page = Paginator(scope.units, UNITS_PER_PAGE).get_page(request.GET.get("upage"))
    units = list(units_page.object_list)
    # The unit filter offers the units shown, and the one chosen wherever it is.
    choosable = units + ([unit] if unit is not None and unit not in units else [])
    upage_params = request.GET.copy()
    upage_params.pop("upage", None)
    ctx = {
        "choice": choice, "units": units, "choosable": choosable, "units_page": units_page,
        "upage_base": upage_params.urlencode() + "&" if upage_params else "",
        "units_total": len(scope.units), "crumbs": crumbs, "totals": totals,
        "chart": queries.overview_chart(scope, units), "chart_height": 70 + 26 * max(1, len(units)),
        "years": range(today.year, today.year - 6, -1), "months": queries.MONTHS,
        "kinds": list(KIND_LABELS.items()),
        "alert_kinds": [(k, label, alert_counts[k]) for k, label in ALERT_KINDS.items()],
        "page_obj": page_obj, "qs_base": qs_base,
        "cell_base": urlencode({**base, "list": "missing", **({"kind": choice.kind} if choice.kind else {})}),
        "tab_base": urlencode(with_unit) + "&", "tab_reset": urlencode(base) + "&",
        "export_query": urlencode(_export_params(choice)),
        "missing_count": missing_count, "alert_count": sum(alert_counts.values()) if not choice.alert
        else alert_counts[choice.alert], "today": today,
        "title_org": crumbs[-1].name if crumbs else "、".join(r.name for r in scope.roots),
    }
    return render(request, "activities/overview.html", ctx)


PCT = "0.0%"
RATE_COLUMNS = [
    xlsx.Column("单位（党组织）", "unit", width=30),
    xlsx.Column("组织代码", "code", width=14, text=True),
    *[xlsx.Column(f"{m}月", f"m{m}", width=9, number_format=PCT) for m in queries.MONTHS],
    xlsx.Column("全年", "year", width=9, number_format=PCT),
    xlsx.Column("已完成（项）", "met", width=12),
    xlsx.Column("应完成（项）", "required", width=12),
    xlsx.Column("应开未开（项）", "missing", width=14),
]
MISSING_COLUMNS = [
    xlsx.Column("党组织", "org", width=30),
    xlsx.Column("组织代码", "code", width=14, text=True),
    xlsx.Column("所属单位", "unit", width=30),
    xlsx.Column("组织生活类型", "kind", width=18),
    xlsx.Column("要求", "rule", width=30),
    xlsx.Column("周期", "period", width=16),
    xlsx.Column("周期截止", "period_end", width=12),
    xlsx.Column("应开（次）", "required", width=10),
    xlsx.Column("已开（次）", "held", width=10),
    xlsx.Column("差（次）", "shortfall", width=10),
]
ALERT_COLUMNS = [
    xlsx.Column("党组织", "org", width=30),
    xlsx.Column("组织代码", "code", width=14, text=True),
    xlsx.Column("所属单位", "unit", width=30),
    xlsx.Column("预警类型", "kind", width=20),
    xlsx.Column("情况", "message", width=60),
    xlsx.Column("起始日期", "since", width=12),
]
RUNNING = "进行中"


def _rate_rows(scope, totals):
    for u in scope.units:
        yield [u.label, u.code,
               *[c.rate if c.rate is not None else (RUNNING if not c.closed and c.required else "") for c in u.cells],
               u.rate if u.rate is not None else "", u.met, u.required, u.missing]
    yield ["合计", "", *[c.rate if c.rate is not None else (RUNNING if not c.closed and c.required else "")
                        for c in totals["months"]],
           totals["rate"] if totals["rate"] is not None else "", totals["met"], totals["required"], totals["missing"]]


def _missing_rows(items):
    for m in items:
        r = m["row"]
        yield [m["org"].name, m["org"].code, m["unit"].label if m["unit"] else "", m["kind_label"], m["rule_text"],
               periods.name_of(r.period), r.period_end, r.required, r.held, m["shortfall"]]


def _alert_rows(alerts):
    for a in alerts:
        yield [a["org_name"], a["org_code"], a["unit_label"], a["kind_label"], a["message"], a["since"] or ""]


@require_GET
def export(request):
    user = request.user
    today = timezone.localdate()
    choice = _Choice(request, today)
    framed = _frame(user, choice)
    if framed is None:
        raise Http404
    scope, crumbs = framed
    totals = queries.overview_heatmap(scope, choice.year, today)
    unit = _unit(choice, scope)
    missing = queries.describe_missing(
        queries.overview_missing(scope, choice.year, unit=unit, kind=choice.kind, month=choice.month, today=today)
        .iterator(chunk_size=2000), scope)
    alerts = queries.overview_alerts(user, scope, unit=unit, kind=choice.alert, today=today)
    name = crumbs[-1].name if crumbs else (scope.roots[0].name if len(scope.roots) == 1 else "")
    filters = {k: str(v) for k, v in _export_params(choice).items()}

    def write(out):
        xlsx.write(out, RATE_COLUMNS, _rate_rows(scope, totals), title="完成率",
                   sheets=[("应开未开", MISSING_COLUMNS, _missing_rows(missing)),
                           ("结构预警", ALERT_COLUMNS, _alert_rows(queries.describe_alerts(alerts, scope)))])
        return len(missing)

    return xlsx.workbook_response(write, f"{name}组织生活落实情况（{choice.year}年）.xlsx",
                                  lambda n: audit.record_export(user, "activity_overview", "组织生活落实情况", n, filters))

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

from dangjian.core import audit, xlsx
from dangjian.core.scoping import SUPERVISING, oversees, require
from dangjian.core.views import QueryParams, paginate
from dangjian.orgs.fields import OrgFilterForm
from dangjian.orgs.models import Organization

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
    page_query = urlencode(choice.params())
    status_query = urlencode({**choice.params(), "part": "status"})
    if request.GET.get("part") == "status":  # the note's poll while a refresh runs
        require(oversees(user))
        return render(request, "activities/_formalism_status.html",
                      {"state": formalism.year_state(choice.year, user), "status_query": status_query,
                       "page_query": page_query, "polled": True})
    frame = _frame(request, choice)
    state = formalism.year_state(choice.year, user)
    units, totals = formalism.summary(frame, choice.year)
    listing = frame.is_bottom or bool(choice.kind) or choice.listing
    ctx = {
        "choice": choice, "year": choice.year, "kind": choice.kind, "state": state, "status_query": status_query,
        "page_query": page_query,
        "years": range(today.year, today.year - 6, -1), "kinds": formalism.KINDS,
        "crumbs": frame.crumbs(), "title": _title(frame), "org_code": choice.code,
        "counts": [(k, label, totals[k]) for k, label in formalism.KINDS.items()], "total": sum(totals.values()),
        # The scope filter offers the supervising orgs (those with others below them) as an
        # autocomplete: no option per org, however large the tree.
        "org_filter": OrgFilterForm({"org": choice.code}, Organization.objects.visible_to(request.user), auto_id="f-%s",
                                    kinds=SUPERVISING, placeholder="可查看的全部组织"),
        "listing": listing, "bottom": frame.is_bottom,
        # the node's crumb leads to its summary, or to all its signals, unless that is this page
        "crumb_link": choice.own or (listing and not (frame.is_bottom and not choice.kind)),
        "here": urlencode(choice.params(kind="", list="")), "export_query": urlencode(choice.params(list="")),
        "thresholds": formalism.Thresholds.from_defaults(),
    }
    if listing:
        page_obj, qs_base = paginate(request, formalism.stored_signals(frame, choice.year, choice.kind))
        ctx.update(page_obj=page_obj, qs_base=qs_base, items=formalism.describe(page_obj.object_list, frame, user))
    else:
        drawn = formalism.chart(units)
        if len(drawn["units"]) < 2:
            drawn = None  # one bar says nothing the table does not
        ctx.update(rows=units, chart=drawn, chart_height=90 + 24 * len(drawn["units"]) if drawn else 0,
                   unit_base=urlencode({"year": choice.year}))
    return render(request, "activities/formalism.html", ctx)


# ---- the workbook ---------------------------------------------------------------------------

SUMMARY_COLUMNS = [
    xlsx.Column("单位（党组织）", "unit", width=36),
    xlsx.Column("组织代码", "code", width=16, text=True),
    *[xlsx.Column(label, kind, width=14) for kind, label in formalism.KINDS.items()],
    xlsx.Column("合计", "total", width=10),
]
SIGNAL_COLUMNS = [
    xlsx.Column("提示类型", "kind", width=14),
    xlsx.Column("党组织", "org", width=30),
    xlsx.Column("组织代码", "code", width=16, text=True),
    xlsx.Column("所属单位", "unit", width=30),
    xlsx.Column("活动日期", "held_on", width=12),
    xlsx.Column("录入日期", "recorded_on", width=12),
    xlsx.Column("依据记录", "records", width=50),
    xlsx.Column("说明", "message", width=80),
]
NOTE_COLUMNS = [xlsx.Column("项目", "item", width=14), xlsx.Column("内容", "text", width=100)]


def _summary_rows(units, totals):
    for u in units:
        yield [u.label, u.org.code, *[u.counts[k] for k in formalism.KINDS], u.total]
    yield ["合计", "", *[totals[k] for k in formalism.KINDS], sum(totals.values())]


def _evidence(item) -> str:
    shown = [f"{r['held_on']:%Y-%m-%d} {r['topic'] or '组织生活记录'}（记录编号 {r['id']}）"
             for r in item["records"] if r["visible"]]
    if len(shown) < len(item["records"]):
        shown.append("另一条记录在您的查看范围以外")
    return "；".join(shown)


def _signal_rows(items, frame):
    for item in items:
        s = item["signal"]
        unit = frame.unit_of(s.org_id)
        first = s.records[0]
        yield [s.kind_label, s.org_name, s.org_code, unit.name if unit else "", first.held_on, first.recorded_on,
               _evidence(item), item["message"]]


def _note_rows(choice, frame, state, t):
    when = f"{timezone.localtime(state.computed_at):%Y-%m-%d %H:%M}" if state.computed_at else "尚未计算"
    yield ["年度", f"{choice.year} 年"]
    yield ["范围", _title(frame)]
    yield ["提示类型", formalism.KINDS.get(choice.kind, "全部")]
    yield ["计算时间", when + ("" if state.current else "（正在更新，以上为此前的计算结果，最近保存的记录稍后计入）")]
    yield ["说明", "提示不等于问题定性，不作为扣分、通报或问责的直接依据；核实后属正常情况的无需处理。"]
    yield ["录入滞后", f"活动后超过 {t.late_entry_days} 天才录入平台的记录（历史导入的记录不计）"]
    yield ["期末集中录入", f"某月最后 {t.burst_window_days} 天内，同一组织集中录入此前活动的记录 {t.burst_min_records} 条以上，"
           "且活动日期分布在两个月以上"]
    yield ["会议记录雷同", "两条会议记录有较长段落相同或基本相同（通用表述不计）"]
    yield ["出席名单雷同", f"列入 {t.same_attendance_min_members} 人以上的会议中，同一组织 {t.same_attendance_min_meetings} 次以上"
           f"不同日期的会议出席名单完全相同，且缺席或请假 {t.same_attendance_min_away} 人以上"]


@require_safe
def export(request):
    """The summary and the signals of what the page shows (all pages), as one workbook; the
    export is recorded in the change history."""
    user = request.user
    choice = _Choice(request, timezone.localdate())
    frame = _frame(request, choice)
    state = formalism.year_state(choice.year, user)
    units, totals = formalism.summary(frame, choice.year)
    items = formalism.describe(formalism.stored_signals(frame, choice.year, choice.kind), frame, user, page=False)
    filters = {k: str(v) for k, v in choice.params().items()}
    t = formalism.Thresholds.from_defaults()

    def write(out):
        xlsx.write(out, SUMMARY_COLUMNS, _summary_rows(units, totals), title="汇总",
                   sheets=[("提示明细", SIGNAL_COLUMNS, _signal_rows(items, frame)),
                           ("说明", NOTE_COLUMNS, _note_rows(choice, frame, state, t))])
        return len(items)

    name = frame.node.name if frame.node is not None else ""
    return xlsx.workbook_response(write, f"{name}形式主义问题提示（{choice.year}年）.xlsx",
                                  lambda n: audit.record_export(user, "formalism_signals", "形式主义问题提示", n,
                                                                filters))

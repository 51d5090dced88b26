"""The working committee's overview: the heatmap's figures against a reference computed here
from the stored compliance rows, the missing-items and alert lists, scoping per persona, the
query count, the workbook, and bad parameters."""
import datetime as dt
import io
import json
import re
from collections import defaultdict

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dangjian.activities import compliance
from dangjian.activities import services as acts
from dangjian.activities.models import ComplianceRow
from dangjian.core.models import AuditEntry
from dangjian.orgs.models import Organization
from tests import factories
from tests.factories import branch_with, login
from tests.factories import page_text as text

TODAY = timezone.localdate()
LAST = TODAY.year - 1  # a year whose periods are all over
URL = "/activities/overview/"
EXPORT = "/activities/overview/export.xlsx"



def chart(response) -> dict:
    raw = re.search(r'<script id="overview-data" type="application/json">(.*?)</script>', text(response), re.S)
    return json.loads(raw.group(1))


def recompute(year, today=TODAY, **kw):
    compliance.recompute(dt.date(year, 1, 1), dt.date(year, 12, 31), today=today, **kw)


def record(org, kinds, day):
    return acts.record_activity(None, org, kinds, day, topic="学习", attendance={m.pk: "present" for m in org.people})


@pytest.fixture
def city(tree):
    """Two units with branches and a year of records with gaps: 市财政局 (a) keeps up better
    than 市教育局 (b)."""
    a, b = tree["a"], tree["b"]
    a2 = branch_with(a, full=4, code="CZ02", name="财政局第二党支部")
    a3 = branch_with(a, full=3, code="CZ03", name="财政局第三党支部")
    b2 = branch_with(b, full=4, code="JY02", name="教育局第二党支部")
    for month in (1, 2, 3, 5):
        record(a2, ["theme_day"], dt.date(LAST, month, 10))
    record(a2, ["general_meeting", "party_lecture"], dt.date(LAST, 3, 28))  # counts at the quarter's end
    record(a3, ["theme_day", "general_meeting"], dt.date(LAST, 3, 5))
    record(b2, ["theme_day"], dt.date(LAST, 1, 15))
    record(a2, ["theme_day"], TODAY)  # met in a period that is still running
    recompute(LAST)
    recompute(TODAY.year)
    return {**tree, "a2": a2, "a3": a3, "b2": b2}


def reference(root, year, today=TODAY) -> dict:
    """(unit pk, month) → [met, missing, running], from the stored rows, each org climbing its
    parents (not the path) to the unit under `root`; the root's own rows are its own unit."""
    orgs = {o.pk: o for o in Organization.objects.all()}

    def unit_of(org_id):
        o = orgs[org_id]
        if o.pk == root.pk:
            return root.pk
        while o.parent_id is not None and o.parent_id != root.pk:
            o = orgs[o.parent_id]
        return o.pk if o.parent_id == root.pk else None

    out = defaultdict(lambda: [0, 0, 0])
    for row in ComplianceRow.objects.filter(period_end__year=year).exclude(status="not_applicable"):
        unit = unit_of(row.org_id)
        if unit is None:
            continue
        cell = out[(unit, row.period_end.month)]
        if row.period_end >= today:
            cell[2] += 1
        elif row.status == "met":
            cell[0] += 1
        else:  # missing, or a stored due whose period is over
            cell[1] += 1
    return out


def page_figures(data) -> dict:
    out = {}
    for c in data["cells"]:
        assert c["value"][2] == round(c["met"] / c["required"] * 100, 1)
        out[(c["unit"], c["month"])] = [c["met"], c["required"] - c["met"], 0]
    for c in data["running"]:
        out[(c["unit"], c["month"])] = [0, 0, c["required"]]
    return out


def test_figures_match_the_stored_rows(city, personas):
    wc = city["wc"]
    c = login(personas["wc_admin"])
    for year in (LAST, TODAY.year):
        r = c.get(f"{URL}?year={year}")
        assert r.status_code == 200
        data = chart(r)
        expected = {k: v for k, v in reference(wc, year).items() if any(v)}
        assert page_figures(data) == expected
        assert data["units"][:2] == ["市财政局机关党委", "市教育局机关党委"]
    # a quarter's end gathers the monthly and the quarterly requirements
    ref = reference(wc, LAST)
    march = ComplianceRow.objects.filter(period_end=dt.date(LAST, 3, 31), org__path__startswith=city["a"].path)
    assert {f"{LAST}Q1", f"{LAST}-03"} <= set(march.values_list("period", flat=True))
    assert sum(ref[(city["a"].pk, 3)][:2]) > sum(ref[(city["a"].pk, 2)][:2])
    # the unit that kept up shows better than the one that did not, in the months with records
    a, b = ref[(city["a"].pk, 2)], ref[(city["b"].pk, 2)]
    assert a[0] / sum(a[:2]) > b[0] / sum(b[:2])
    # the month now running is shown as running, never as a failure
    data = chart(c.get(f"{URL}?year={TODAY.year}"))
    running = {(x["unit"], x["month"]) for x in data["running"]}
    assert (city["a"].pk, TODAY.month) in running
    assert not any(x["month"] >= TODAY.month for x in data["cells"])


def test_a_stored_due_whose_period_ended_counts_as_missing(city, personas):
    a2 = city["a2"]
    # stored while June was running: July–December are `due`, all long over now
    recompute(LAST, today=dt.date(LAST, 6, 15), org_ids=[a2.pk])
    assert ComplianceRow.objects.filter(org=a2, status="due", period_end__lt=TODAY).exists()
    c = login(personas["wc_admin"])
    data = chart(c.get(f"{URL}?year={LAST}&org={city['a'].pk}"))
    figures = page_figures(data)
    assert figures == {k: v for k, v in reference(city["a"], LAST).items() if any(v)}
    assert figures[(a2.pk, 9)] == [0, ComplianceRow.objects.filter(org=a2, period_end=dt.date(LAST, 9, 30))
                                   .exclude(status="not_applicable").count(), 0]
    page = text(c.get(f"{URL}?year={LAST}&org={city['a'].pk}&unit={a2.pk}&month=9"))
    assert f'data-period="{LAST}-09"' in page


def test_the_fallback_table_has_the_same_numbers(city, personas):
    r = login(personas["wc_admin"]).get(f"{URL}?year={LAST}")
    page = text(r)
    ref = reference(city["wc"], LAST)
    met, missing, _ = ref[(city["b"].pk, 1)]
    assert f"已完成 {met} / 应完成 {met + missing}，应开未开 {missing}" in page
    share = f"{met / (met + missing) * 100:.1f}".removesuffix(".0") + "%"
    assert f"unit={city['b'].pk}&amp;month=1#overview-lists\">{share}</a>" in page
    # the chart comes from the bundled file, never from a CDN
    assert "/static/vendor/echarts.min.js" in page and "/static/js/overview.js" in page
    assert not re.search(r'<script[^>]+src="(https?:)?//', page)


def test_missing_list_filters_links_and_pages(city, personas, settings):
    settings.PAGE_SIZE = 5
    c = login(personas["wc_admin"])
    a2 = city["a2"]
    missing = ComplianceRow.objects.filter(period_end__year=LAST, status="missing")
    page = text(c.get(f"{URL}?year={LAST}&list=missing"))
    assert f'应开未开 <span class="badge text-bg-danger">{missing.count()}</span>' in page
    assert "下一页" in page and page.count("<tr data-org=") == 5
    settings.PAGE_SIZE = 100
    # a cell's filter: one unit (its whole subtree), one month
    page = text(c.get(f"{URL}?year={LAST}&unit={city['b'].pk}&month=2"))
    rows = re.findall(r'<tr data-org="([^"]+)" data-code="([^"]+)" data-period="([^"]+)"', page)
    expected = missing.filter(org__path__startswith=city["b"].path, period_end__month=2)
    assert sorted(rows) == sorted(expected.values_list("org__code", "code", "period"))
    assert rows and all(code.startswith("JY") for code, _, _ in rows)
    # kind filter, and the link to the org's compliance page
    page = text(c.get(f"{URL}?year={LAST}&unit={city['a'].pk}&kind=theme_day&month=4"))
    rows = re.findall(r'<tr data-org="([^"]+)" data-code="([^"]+)" data-period="([^"]+)"', page)
    assert rows and {k for _, k, _ in rows} == {"theme_day"}
    assert (a2.code, "theme_day", f"{LAST}-04") in rows and (city["a3"].code, "theme_day", f"{LAST}-04") in rows
    page = text(c.get(f"{URL}?year={LAST}&unit={city['a'].pk}&kind=theme_day&month=3"))
    assert f'data-org="{a2.code}"' not in page and f'data-org="{city["a1"].code}"' in page
    listed = page.split('class="table table-sm align-middle missing-list"')[1]
    assert f'/activities/org/{city["a1"].pk}/compliance/?year={LAST}' in listed


def test_missing_pages_read_a_period_at_a_time_are_the_ordered_list(city, personas, settings):
    """The page counts the list per period and reads only the periods a page spans (a
    province's year is too many rows to sort whole for fifty): page after page, it is exactly
    the rows of the subtree not met, newest period first, then by org path."""
    from dangjian.activities import queries

    c = login(personas["wc_admin"])
    year_end = dt.date(LAST, 12, 31)
    ordered = [(r.org.code, r.code, r.period) for r in ComplianceRow.objects.filter(
        period_end__year=LAST).not_met_on(TODAY).select_related("org", "rule").order_by(
        "-period_end", "org__path", "rule__position", "code", "pk")]
    assert len(ordered) > 12 and len({p for _, _, p in ordered}) > 3 and year_end < TODAY
    row = re.compile(r'<tr data-org="([^"]+)" data-code="([^"]+)" data-period="([^"]+)"')
    for size in (1, 4, 7):
        settings.PAGE_SIZE = size
        pages, n = [], 1
        while True:
            page = text(c.get(f"{URL}?year={LAST}&list=missing&page={n}"))
            assert f'应开未开 <span class="badge text-bg-danger">{len(ordered)}</span>' in page
            pages += row.findall(page)
            if "下一页" not in page:
                break
            n += 1
        assert pages == ordered, size
    # one unit's subtree (a department: by its rows' top_org) and a unit's own rows
    b = city["b"]
    settings.PAGE_SIZE = 1000
    page = text(c.get(f"{URL}?year={LAST}&list=missing&unit={b.pk}"))
    assert row.findall(page) == [r for r in ordered if r[0].startswith("JY")]
    rows = queries.overview_missing_list(queries.overview_scope(
        personas["wc_admin"], queries.overview_roots(personas["wc_admin"], b.pk), LAST), LAST, today=TODAY)
    assert [(r.org.code, r.code, r.period) for r in rows[0:1000]] == [r for r in ordered if r[0].startswith("JY")]
    # a department as the root: its units are deeper than the top org (by path within it)
    a, a2 = city["a"], city["a2"]
    page = text(c.get(f"{URL}?year={LAST}&list=missing&org={a.pk}&unit={a2.pk}"))
    assert row.findall(page) == [r for r in ordered if r[0] == a2.code] != []
    page = text(c.get(f"{URL}?year={LAST}&list=missing&org={a.pk}&unit={a.pk}"))
    assert row.findall(page) == [r for r in ordered if r[0] == a.code]
    with pytest.raises(TypeError):
        rows[3]


def test_the_missing_count_stops_at_the_limit_and_pages_as_far(city, personas, settings, monkeypatch):
    from dangjian.core.views import BoundedPaginator

    ordered = [(r.org.code, r.code, r.period) for r in ComplianceRow.objects.filter(
        period_end__year=LAST).not_met_on(TODAY).select_related("org", "rule").order_by(
        "-period_end", "org__path", "rule__position", "code", "pk")]
    assert len(ordered) > 7
    row = re.compile(r'<tr data-org="([^"]+)" data-code="([^"]+)" data-period="([^"]+)"')
    settings.PAGE_SIZE = 5
    monkeypatch.setattr(BoundedPaginator, "limit", 6)
    c = login(personas["wc_admin"])
    page = text(c.get(f"{URL}?year={LAST}&list=missing&page=2"))
    assert '应开未开 <span class="badge text-bg-danger">6+</span>' in page
    assert row.findall(page) == ordered[5:6]  # the sixth row counted is the last page's
    assert "下一页" not in page
    page = text(c.get(f"{URL}?year={LAST}&list=alerts"))
    assert '应开未开 <span class="badge text-bg-danger">6+</span>' in page


def test_alerts_list_scope_and_kind_filter(city, personas):
    c = login(personas["wc_admin"])
    page = text(c.get(f"{URL}?list=alerts"))
    # 财政局第一党支部 and 教育局第一党支部 have one member each
    small = re.findall(r'<tr data-org="([^"]+)" data-kind="branch_too_small"', page)
    assert {"CZ01", "JY01"} <= set(small)
    page = text(c.get(f"{URL}?list=alerts&alert=branch_too_small&unit={city['b'].pk}"))
    assert re.findall(r'<tr data-org="([^"]+)" data-kind="([^"]+)"', page) == [("JY01", "branch_too_small")]
    page = text(login(personas["unit_admin_a"]).get(f"{URL}?list=alerts"))
    codes = set(re.findall(r'<tr data-org="([^"]+)"', page))
    assert "CZ01" in codes and not any(code.startswith("JY") for code in codes)


@pytest.mark.parametrize("who, status", [("wc_admin", 200), ("leader", 200), ("unit_admin_a", 200),
                                         ("secretary_a1", 302), ("member_a", 404)])
def test_who_sees_what(city, personas, who, status):
    c = login(personas[who])
    r = c.get(f"{URL}?year={LAST}")
    assert r.status_code == status
    export = c.get(f"{EXPORT}?year={LAST}")
    assert export.status_code == (200 if status == 200 else 404)
    if who == "secretary_a1":
        # a branch has no units to compare: its page is its calendar
        assert r["Location"] == "/activities/"
    if who == "unit_admin_a":
        units = chart(r)["units"]
        # the unit's own requirements (本级), then its branches
        assert units == ["市财政局机关党委（本级）", "财政局第一党支部", "财政局第二党支部", "财政局第三党支部"]
        page = text(r)
        assert "教育局" not in page and "JY0" not in page
        # another unit asked for by number: the same words as for one that does not exist
        other = text(c.get(f"{URL}?year={LAST}&org={city['b'].pk}"))
        missing = text(c.get(f"{URL}?year={LAST}&org=999999999"))
        assert f"未找到编号为 {city['b'].pk} 的党组织，或您无权查看" in other and "教育局" not in other
        assert "未找到编号为 999999999 的党组织，或您无权查看" in missing
        book = openpyxl.load_workbook(io.BytesIO(b"".join(export.streaming_content)))
        cells = [str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v]
        assert not any("教育局" in v or v.startswith("JY") for v in cells)


def test_drill_down_and_breadcrumbs(city, personas):
    c = login(personas["wc_admin"])
    r = c.get(f"{URL}?year={LAST}&org={city['a'].pk}")
    assert chart(r)["units"] == ["市财政局机关党委（本级）", "财政局第一党支部", "财政局第二党支部", "财政局第三党支部"]
    crumbs = text(r).split('<ol class="breadcrumb">')[1].split("</ol>")[0]
    assert f'href="?year={LAST}&amp;org={city["wc"].pk}">示例市直机关工委</a>' in crumbs
    assert "市财政局机关党委</li>" in crumbs
    # from the top, a unit with branches drills down; a branch opens its compliance page
    top = text(c.get(f"{URL}?year={LAST}"))
    assert f'href="?year={LAST}&amp;org={city["a"].pk}"' in top
    assert f'href="/activities/org/{city["a2"].pk}/compliance/?year={LAST}"' in text(r)


def test_export_workbook(city, personas, settings):
    settings.PAGE_SIZE = 5
    user = personas["wc_admin"]
    r = login(user).get(f"{EXPORT}?year={LAST}&unit={city['a'].pk}")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    assert book.sheetnames == ["完成率", "应开未开", "结构预警"]
    rates = {row[0]: row for row in book["完成率"].iter_rows(min_row=2, values_only=True)}
    ref = reference(city["wc"], LAST)
    for unit in (city["a"], city["b"]):
        for month in range(1, 13):
            met, missing, _ = ref[(unit.pk, month)]
            assert rates[unit.name][1 + month] == pytest.approx(met / (met + missing)), (unit.name, month)
        total_met = sum(ref[(unit.pk, m)][0] for m in range(1, 13))
        total_missing = sum(ref[(unit.pk, m)][1] for m in range(1, 13))
        assert rates[unit.name][15:] == (total_met, total_met + total_missing, total_missing)
    assert book["完成率"]["C2"].number_format == "0.0%"
    assert "合计" in rates
    # every missing item of the filter, not one page of it
    missing = list(book["应开未开"].iter_rows(min_row=2, values_only=True))
    expected = ComplianceRow.objects.filter(period_end__year=LAST, status="missing",
                                            org__path__startswith=city["a"].path)
    assert len(missing) == expected.count() > 5
    assert {row[1] for row in missing} == set(expected.values_list("org__code", flat=True))
    alerts = list(book["结构预警"].iter_rows(min_row=2, values_only=True))
    assert ("财政局第一党支部", "CZ01") in {row[:2] for row in alerts}
    assert all(row[1].startswith("CZ") for row in alerts)
    entry = AuditEntry.objects.get(action="export")
    assert entry.user == user and entry.changes["kind"] == "activity_overview"
    assert entry.changes["count"] == len(missing) and entry.changes["filters"]["unit"] == str(city["a"].pk)


@pytest.mark.parametrize("query, message", [
    ("year=abc", "年度“abc”格式不正确"),
    ("year=1800", "年度 1800 超出范围"),
    ("year=99999999999999999999", "格式不正确"),
    ("org=CZ", "组织参数“CZ”无效"),
    ("org=-1", "组织参数“-1”无效"),
    ("unit=x1", "单位参数“x1”无效"),
    ("unit=999999", "所选单位不在本页范围内"),
    ("month=13", "月份“13”无效"),
    ("kind=bogus", "组织生活类型“bogus”不存在"),
    ("alert=bogus&list=alerts", "预警类型“bogus”不存在"),
])
def test_bad_parameters_fall_back_with_a_message(city, personas, query, message):
    c = login(personas["wc_admin"])
    r = c.get(f"{URL}?{query}&page=zz")
    assert r.status_code == 200 and message in text(r)
    assert chart(r)["units"]  # the page still shows the default view
    assert c.get(f"{EXPORT}?{query}").status_code == 200


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
        if r.streaming:
            b"".join(r.streaming_content)
        assert r.status_code == 200
    return len(ctx)


def test_query_count_does_not_grow_with_units_and_branches(city, personas):
    c = login(personas["wc_admin"])
    urls = [f"{URL}?year={LAST}", f"{URL}?year={LAST}&list=alerts", f"{URL}?year={LAST}&org={city['a'].pk}",
            f"{URL}?year={LAST}&unit={city['a'].pk}&month=3", f"{EXPORT}?year={LAST}"]
    small = {u: _count(c, u) for u in urls}
    for parent in (city["a"], city["b"]):
        for i in range(3):
            b = branch_with(parent, full=3 + i, code=f"{parent.code}X{i}")
            record(b, ["theme_day"], dt.date(LAST, 2 + i, 9))
    for n in range(4):
        organ = factories.org(city["wc"], kind="organ_committee", name=f"新增单位{n}机关党委", code=f"NEW{n}")
        for i in range(2):
            branch_with(organ, full=4, code=f"NEW{n}{i}")
    recompute(LAST)
    large = {u: _count(c, u) for u in urls}
    assert len(chart(c.get(f"{URL}?year={LAST}"))["units"]) == 6
    assert large == small


def test_table_cells_are_the_markup_the_template_loop_wrote():
    """`{% overview_cells %}` writes in Python what the table's loop wrote: the same bytes for
    a judged month, a running one and an empty one, with a base that needs escaping."""
    from django.template import Context, Template

    from dangjian.activities.queries import OverviewCell

    cells = [OverviewCell(month=1, closed=True, unit=7, met=2, missing=1),
             OverviewCell(month=2, closed=True, unit=7, met=3),
             OverviewCell(month=3, closed=True, unit=7),
             OverviewCell(month=4, closed=False, unit=7, met=1, due=2),
             OverviewCell(month=5, closed=False, unit=7),
             OverviewCell(month=6, closed=True, unit=7, met=0, missing=3)]
    loop = Template(
        """{% for c in u.cells %}<td title="{{ c.tip }}"{% if c.rate is not None %} data-rate="{{ c.rate|stringformat:'.4f' }}"{% endif %}>"""  # noqa: E501
        """{% if c.rate is not None %}<a href="?{{ cell_base }}&amp;{{ c.query }}#overview-lists">{{ c.pct }}</a>"""
        """{% else %}<span class="text-muted">{{ c.text }}</span>{% endif %}</td>{% endfor %}""")
    tag = Template("{% load overview %}{% overview_cells u.cells cell_base %}")
    context = {"u": {"cells": cells}, "cell_base": "year=2026&list=missing&kind=<x>"}
    expected = loop.render(Context(context))
    assert tag.render(Context(context)) == expected
    assert expected.count("data-rate=") == 3 and "&amp;kind=&lt;x&gt;" in expected


def test_alert_counts_and_pages_per_department_are_the_whole_list(city, personas, monkeypatch):
    """The overview counts alerts from per-department counts and reads the list a page at a
    time from the departments the page spans: for the whole scope, a unit, a root's own row and
    a department as the root, and for each kind, the counts and every page are those of the
    whole list filtered here, and a page reads only the departments it spans."""
    from collections import Counter

    from dangjian.activities import queries
    from dangjian.orgs import departments
    from dangjian.orgs.alerts import ALERT_KINDS, scope_alerts
    from dangjian.orgs.models import top_path

    user = personas["wc_admin"]
    every = scope_alerts([r.path for r in queries.overview_roots(user)], TODAY)
    assert len({a.kind for a in every}) >= 2 and len({top_path(a.org_path) for a in every}) >= 2
    asked = []
    read_parts = departments.read_parts
    monkeypatch.setattr(departments, "read_parts", lambda name, parts, *a, **kw: (
        asked.append((name, list(parts))), read_parts(name, parts, *a, **kw))[1])
    for org_pk in (None, city["a"].pk):
        scope = queries.overview_scope(user, queries.overview_roots(user, org_pk), LAST)
        for unit in [None, *scope.units]:
            prefixes = [unit.path] if unit else [r.path for r in scope.roots]
            whole = [a for a in scope_alerts(prefixes, TODAY) if unit is None or unit.matches(a.org_path)]
            expected = {k: 0 for k in ALERT_KINDS} | Counter(a.kind for a in whole)
            assert queries.overview_alert_counts(scope, unit=unit, today=TODAY) == expected, (org_pk, unit)
            for kind in ["", *sorted({a.kind for a in whole})]:
                reference = [a for a in whole if not kind or a.kind == kind]
                listed = queries.overview_alerts(user, scope, unit=unit, kind=kind, today=TODAY)
                assert len(listed) == len(reference) and list(listed) == reference, (org_pk, unit, kind)
                for size in (1, 3, 7):
                    for start in range(0, len(reference) + 1, size):
                        asked.clear()
                        assert listed[start:start + size] == reference[start:start + size], (unit, kind, size)
                        spanned = {top_path(a.org_path) for a in reference[start:start + size]}
                        assert all(set(parts) == spanned for name, parts in asked if name == "alerts"), asked
                if reference:
                    assert listed[-1] == reference[-1] and listed[0] == reference[0]
    whole_scope = queries.overview_scope(user, queries.overview_roots(user), LAST)
    page = text(login(user).get(f"{URL}?year={LAST}"))
    counts = queries.overview_alert_counts(whole_scope, today=TODAY)
    assert sum(counts.values()) > 0
    assert f'结构预警 <span class="badge text-bg-warning">{sum(counts.values())}</span>' in page

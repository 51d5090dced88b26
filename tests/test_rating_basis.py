"""A star rating never judges branches on absent data: a year whose basis has no results is
refused with what is missing (and nothing is written), the compliance rate counts only the
periods the platform's records cover, runs computed while their period was running are not
averaged, a branch without any result is 未评定 with the reason, and the pages offer only the
years that can be rated."""
import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from dangjian.activities import compliance
from dangjian.activities.models import ComplianceRow
from dangjian.assessment import services as assessment_services
from dangjian.assessment.models import Run, TargetScore
from dangjian.ratings import rules, services
from dangjian.ratings.models import Rating, RatingRun, RatingScheme, WeakOrg
from dangjian.ratings.rules import RatingError
from tests.factories import branch_with, everyone, login, record
from tests.factories import page_text as text

YEAR = 2025
AFTER = dt.date(2026, 3, 1)  # the year is over
OCTOBER = dt.date(YEAR, 10, 1)


def nothing_written():
    return not (RatingScheme.objects.exists() or RatingRun.objects.exists() or Rating.objects.exists()
                or WeakOrg.objects.exists())


def reference(code: str, since: dt.date) -> tuple[int, int]:
    """(met, missing) of a branch over the stored rows of the year's periods from `since`,
    judged one row at a time."""
    met = missing = 0
    for row in ComplianceRow.objects.filter(org__code=code, period_start__gte=since, period_end__lte=dt.date(YEAR, 12, 31)):
        status = compliance.current_status(row, AFTER)
        met += status == "met"
        missing += status == "missing"
    return met, missing


def test_a_year_without_any_record_is_refused_and_nothing_is_written(tree, personas):
    with pytest.raises(RatingError, match="没有任何组织生活记录") as refused:
        services.run_rating(None, YEAR - 1, today=AFTER)
    assert f"{YEAR - 1} 年" in refused.value.message and nothing_written()
    with pytest.raises(CommandError, match="没有任何组织生活记录"):
        call_command("ratings", "--year", str(YEAR - 1), "--today", AFTER.isoformat())
    assert nothing_written()
    # the page: a message saying what is missing, nothing saved, nothing spread to other pages
    c = login(personas["wc_admin"])
    r = c.post("/ratings/run/", {"year": str(YEAR - 1)}, follow=True)
    assert "没有任何组织生活记录" in text(r) and nothing_written()
    page = text(c.get(f"/ratings/org/{tree['a1'].pk}/"))
    assert "后进" not in re.sub(r"<(script|select)\b.*?</\1>", "", page, flags=re.S)


def test_compliance_counts_only_the_periods_the_records_cover(tree):
    full = branch_with(tree["a"], full=5, code="C1")
    half = branch_with(tree["b"], full=5, code="C2")
    for day in (dt.date(YEAR, 10, 10), dt.date(YEAR, 11, 10), dt.date(YEAR, 12, 10)):
        record(full, ["theme_day", "general_meeting", "party_lecture"], day, today=AFTER,
               attendance=everyone(full), lecturer=full.people[0])
    record(half, ["theme_day"], dt.date(YEAR, 10, 12), today=AFTER)
    services.save_scheme(None, YEAR, {**rules.default_rules().as_fields(), "basis": "compliance"})
    run = services.run_rating(None, YEAR, today=AFTER)
    got = {r.org.code: r for r in Rating.objects.filter(year=YEAR).select_related("org")}
    assert "2025年10月10日" in run.basis_text and "不计入" in run.basis_text
    line = rules.default_rules().thresholds["star1"]
    for code in ("C1", "C2", "CZ01", "JY01"):
        met, missing = reference(code, OCTOBER)
        assert got[code].missing_count == missing, code
        assert got[code].score == (Decimal(met * 100) / (met + missing)).quantize(Decimal("0.01")), code
    # the branch that held everything since the records began is not judged on the months before
    whole_year = reference("C1", dt.date(YEAR, 1, 1))
    assert Decimal(whole_year[0] * 100) / sum(whole_year) < line  # what it would have been
    assert got["C1"].score >= line and got["C1"].level != "lagging"
    assert got["C2"].score < got["C1"].score


def test_a_rating_day_before_any_period_has_ended_is_refused(tree):
    b = branch_with(tree["a"], full=5, code="C1")
    record(b, ["theme_day"], dt.date(YEAR, 12, 3), today=dt.date(YEAR, 12, 5))
    with pytest.raises(RatingError, match="还没有此后开始并已结束的组织生活要求"):
        services.run_rating(None, YEAR, today=dt.date(YEAR, 12, 5))
    assert nothing_written()


def quarterly(year, totals: dict, cycles=("quarterly",)):
    scheme = assessment_services.create_scheme(None, code=f"ZB{year}", name=f"{year} 年党支部考核", year=year,
                                               level="branch")
    runs = []
    for q, month in enumerate((1, 4, 7, 10), 1):
        end = (dt.date(year, month + 2, 28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        run = Run.objects.create(scheme=scheme, period=f"{year}Q{q}", cycle="quarterly",
                                 period_start=dt.date(year, month, 1), period_end=end)
        TargetScore.objects.bulk_create([TargetScore(run=run, org=org, total=t[q - 1], grade="good", place=1)
                                         for org, t in totals.items()])
        runs.append(run)
    services.save_scheme(None, year, {**rules.default_rules().as_fields(), "cycles": list(cycles),
                                      "assessment_scheme": scheme, "quotas": {}})
    return scheme, runs


def test_assessment_basis_names_the_cycles_without_results_and_skips_interim_runs(tree):
    b = branch_with(tree["a"], full=5, code="A1")
    _scheme, runs = quarterly(YEAR, {b: [90, 90, 90, 10]}, cycles=("monthly", "quarterly"))
    # the fourth quarter was computed in the middle of November, before it ended (a draft): not counted
    Run.objects.filter(pk=runs[3].pk).update(computed_at=timezone.make_aware(dt.datetime(YEAR, 11, 15, 9, 0)),
                                             status=Run.Status.DRAFT, period_open=True)
    run = services.run_rating(None, YEAR, today=AFTER, refresh=False)
    r = Rating.objects.get(year=YEAR, org=b)
    assert r.score == Decimal("90.00") and r.runs_counted == 3
    assert "月度考评本年度没有结果，未计入" in run.basis_text and f"{YEAR}Q4" not in run.basis_text
    # a branch absent from every counted run is 未评定 with the reason, not 后进 with 0
    unscored = Rating.objects.get(year=YEAR, org=tree["a1"])
    assert unscored.level == "unrated" and unscored.score is None
    assert "没有考核结果" in unscored.reasons[0]["text"]


def test_assessment_basis_without_results_is_refused_naming_the_cycles(tree):
    b = branch_with(tree["a"], full=5, code="A1")
    _scheme, runs = quarterly(YEAR, {b: [90, 90, 90, 90]})
    Run.objects.filter(pk__in=[r.pk for r in runs]).update(cycle="monthly")  # only monthly results
    with pytest.raises(RatingError, match="还没有季度分级考核结果") as refused:
        services.run_rating(None, YEAR, today=AFTER, refresh=False)
    assert "已结束的周期" in refused.value.message
    assert not RatingRun.objects.exists() and not Rating.objects.exists()


def test_the_pages_offer_only_the_years_that_can_be_rated(tree, personas):
    today = timezone.localdate()
    b = branch_with(tree["a"], full=5, code="Y1")
    for month in (3, 4, 5):
        record(b, ["theme_day"], dt.date(YEAR, month, 10))
    assert services.rateable_years(today) == [YEAR]
    assert services.basis_problem(YEAR - 1, today) and services.basis_problem(today.year, today)
    c = login(personas["wc_admin"])
    page = text(c.get("/ratings/"))
    offered = re.findall(r'<option value="(\d{4})"', page.split('id="f-year"')[1].split("</select>")[0])
    assert offered == [str(YEAR)]  # not this year (nothing recorded), not the years before
    assert f"{YEAR} 年党支部星级评定" in page and "run-rating" in page
    page = text(c.get(f"/ratings/?year={YEAR - 1}"))
    assert f"{YEAR - 1}（无可评定的数据）" in page and "不能评定" in page and "run-rating" not in page
    # the same years in the weak-organization and commendation pages
    for url in ("/ratings/weak/?tab=candidates", "/ratings/commendation/"):
        page = text(c.get(url))
        assert f'<option value="{YEAR}"' in page and f'<option value="{YEAR - 1}"' not in page, url


def test_rateable_years_reads_one_row_per_month_not_per_record(tree):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    b = branch_with(tree["a"], full=5, code="Y2")
    for day in (3, 10, 17, 24):
        record(b, ["theme_day"], dt.date(YEAR, 3, day))
    with CaptureQueriesContext(connection) as ctx:
        services.rateable_years(timezone.localdate())
    distinct = [q["sql"] for q in ctx.captured_queries if "DISTINCT" in q["sql"] and "activities_activity" in q["sql"]]
    assert distinct
    with connection.cursor() as cursor:
        cursor.execute(distinct[0])
        assert len(cursor.fetchall()) == 1  # the one month, whatever the number of its records


def test_the_overview_judges_each_years_basis_once(tree, personas, monkeypatch):
    b = branch_with(tree["a"], full=5, code="Y3")
    for month in (3, 4):
        record(b, ["theme_day"], dt.date(YEAR, month, 10))
    asked = []
    original = services.basis_problem

    def counting(year, today):
        asked.append(year)
        return original(year, today)

    monkeypatch.setattr(services, "basis_problem", counting)
    page = text(login(personas["wc_admin"]).get(f"/ratings/?year={YEAR}"))
    assert str(YEAR) in page and asked and len(asked) == len(set(asked)), asked

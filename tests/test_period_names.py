"""A period is shown to people by its Chinese name (2025年第二季度, 2025年6月, 2025年), never by its
stored code (2025Q2, 2025-06): on the calendar, the compliance and overview lists, assessment
runs and admonitions, duty marks and the messages that confirm them."""
import datetime as dt
import importlib
import re

import pytest
from django.apps import apps

from dangjian.assessment import services
from dangjian.assessment.models import Admonition
from dangjian.core import periods
from tests.factories import TODAY, login, page_text, scheme, score_manual, visible_text

# A period code as stored: 2025Q2, 2025H1, 2025-06 (not a date 2025-06-30).
CODE = re.compile(r"(?<![\d-])20\d\d(?:Q[1-4]|H[12]|-(?:0[1-9]|1[0-2])(?![\d-]))")


def codes_in(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return CODE.findall(visible_text(page_text(response)))


@pytest.mark.parametrize("code, name", [
    ("2025-06", "2025年6月"), ("2025Q2", "2025年第二季度"), ("2025H1", "2025年上半年"), ("2025", "2025年"),
    (periods.Period("quarter", 2026, 4), "2026年第四季度"), ("不是周期", "不是周期"), (None, ""),
])
def test_name_of_reads_a_code_or_a_period(code, name):
    assert periods.name_of(code) == name


@pytest.fixture
def run(city):
    s = scheme(admonish_below=99)
    score_manual(s, "2025-06")  # final: only a final run lists anyone for 约谈
    return services.run_evaluation(None, s, "2025-06", today=TODAY)


def test_organizational_life_pages_name_periods_in_chinese(city, personas):
    branch = city["branches"][2]
    staff = login(personas["wc_admin"])
    calendar = staff.get(f"/activities/org/{branch.pk}/calendar/?month=2025-06")
    assert codes_in(calendar) == []
    assert "2025年6月" in visible_text(page_text(calendar)) and "2025年第二季度" in visible_text(page_text(calendar))
    compliance = staff.get(f"/activities/org/{branch.pk}/compliance/?year=2025")
    assert codes_in(compliance) == [] and "2025年第一季度" in visible_text(page_text(compliance))
    overview = staff.get("/activities/overview/?year=2025")
    assert codes_in(overview) == [] and re.search(r"2025年\d+月\s*\d{4}年\d+月\d+日截止", visible_text(page_text(overview)))


def test_assessment_pages_name_the_period_once(run, city, personas):
    staff = login(personas["wc_admin"])
    adm = Admonition.objects.filter(run=run).first()
    assert adm.reason.startswith("考评得分 ")  # the run names the period
    for url in [f"/assessment/runs/{run.pk}/", f"/assessment/runs/{run.pk}/targets/{city['a'].pk}/",
                "/assessment/admonitions/", f"/assessment/admonitions/{adm.pk}/", f"/assessment/schemes/{run.scheme_id}/",
                "/assessment/"]:
        assert codes_in(staff.get(url)) == [], url
    text = visible_text(page_text(staff.get(f"/assessment/admonitions/{adm.pk}/")))
    assert text.count("2025年6月") == 1 and f"2025年6月 · {adm.reason}" in text
    r = staff.post(f"/assessment/schemes/{run.scheme_id}/run/", {"period": "2025-06", "replace": "1"},
                   follow=True)
    assert "2025年6月重新考评完成" in visible_text(page_text(r))


def test_old_admonition_reasons_lose_their_period_code(run):
    adm = Admonition.objects.filter(run=run).first()
    Admonition.objects.filter(pk=adm.pk).update(reason="2025-06 考评得分 80 分，低于约谈分数线 99 分")
    migration = importlib.import_module("dangjian.assessment.migrations.0002_admonition_reason_without_period_code")
    migration.forwards(apps, None)
    assert Admonition.objects.get(pk=adm.pk).reason == "考评得分 80 分，低于约谈分数线 99 分"


def test_an_export_of_missing_meetings_names_the_period(city, personas):
    import io

    import openpyxl

    r = login(personas["wc_admin"]).get("/activities/overview/export.xlsx?year=2025")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content) if r.streaming else r.content))
    sheet = book["应开未开"]
    header = [c.value for c in sheet[1]]
    shown = {row[header.index("周期")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert shown and not any(CODE.search(str(s)) for s in shown), shown
    assert dt.date(2025, 1, 1).year and all(str(s).startswith("2025年") for s in shown)

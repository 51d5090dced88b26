"""An evaluation is run only for a period that has ended, and a period already evaluated is
evaluated again only when asked for (the page's confirmation, the command's --replace). A run
stored before that rule, computed while its period was still running, is marked 期中 on its
page, its bulletin (page, .docx, archive), its Excel export and the bulletin command."""
import datetime as dt
import io
import re

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from docx import Document

from dangjian.assessment import bulletin, services
from dangjian.assessment.models import Run
from tests.factories import TODAY, login, scheme
from tests.factories import page_text as text


def test_the_last_day_of_a_period_is_still_within_it(city):
    s = scheme()
    last_day = dt.date(2025, 7, 31)
    with pytest.raises(services.AssessmentError, match="2025年7月尚未结束") as refused:
        services.run_evaluation(None, s, "2025-07", today=last_day)
    assert "2025-08-01 及以后" in refused.value.message and not Run.objects.exists()
    run = services.run_evaluation(None, s, "2025-07", today=last_day + dt.timedelta(days=1))
    assert run.period == "2025-07" and not run.is_interim


def test_the_page_refuses_a_period_not_yet_ended(city, personas):
    today = timezone.localdate()
    s = scheme(code=f"NOW{today.year}", year=today.year)
    c = login(personas["wc_admin"])
    page = text(c.get(f"/assessment/schemes/{s.pk}/"))
    assert f'value="{today:%Y-%m}"' not in page  # a month still running is not offered
    r = c.post(f"/assessment/schemes/{s.pk}/run/", {"period": f"{today:%Y-%m}"}, follow=True)
    assert "请从列表中选择已经结束的考评周期" in text(r)
    assert not Run.objects.exists()
    # The service refuses it too, saying when it can be run (the command line's door).
    with pytest.raises(services.AssessmentError, match="尚未结束.*不能考评"):
        services.run_evaluation(None, s, f"{today:%Y-%m}", today=today)


def test_the_page_asks_before_replacing_a_run_and_shows_when_it_was_computed(city, personas):
    s = scheme()
    first = services.run_evaluation(None, s, "2025-06", today=TODAY)
    c = login(personas["wc_admin"])
    url = f"/assessment/schemes/{s.pk}/run/"
    r = c.post(url, {"period": "2025-06"})
    page = text(r)
    assert r.status_code == 200 and "重新考评" in page
    assert timezone.localtime(first.computed_at).strftime("%Y-%m-%d %H:%M") in page
    assert 'name="replace" value="1"' in page and f"/assessment/runs/{first.pk}/bulletin/" in page
    assert Run.objects.get().computed_at == first.computed_at  # nothing replaced by asking
    r = c.post(url, {"period": "2025-06", "replace": "1"})
    again = Run.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/assessment/runs/{again.pk}/"
    assert again.pk == first.pk and again.computed_at > first.computed_at
    # a new period needs no confirmation
    assert c.post(url, {"period": "2025-05"}).status_code == 302 and Run.objects.count() == 2


def test_the_command_replaces_a_run_only_with_replace(city):
    s = scheme(code="UNIT2025")
    first = services.run_evaluation(None, s, "2025-06", today=TODAY)
    args = ("assess", "--scheme", "UNIT2025", "--period", "2025-06", "--today", TODAY.isoformat())
    with pytest.raises(CommandError, match="--replace") as refused:
        call_command(*args, stdout=io.StringIO())
    assert refused.value.returncode == 2 and "原结果未改动" in str(refused.value)
    assert timezone.localtime(first.computed_at).strftime("%Y-%m-%d %H:%M") in str(refused.value)
    assert Run.objects.get().computed_at == first.computed_at
    out = io.StringIO()
    call_command(*args, "--replace", stdout=out)
    assert "已重新考评，替换原结果" in out.getvalue() and Run.objects.get().computed_at > first.computed_at
    # an unfinished period is refused, with or without --replace
    with pytest.raises(CommandError, match="尚未结束"):
        call_command("assess", "--scheme", "UNIT2025", "--period", "2025-08", "--today", TODAY.isoformat(),
                     "--replace", stdout=io.StringIO())


@pytest.fixture
def interim(city):
    """A run stored before runs were limited to ended periods: computed in the middle of June."""
    s = scheme(code="OLD")
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    Run.objects.filter(pk=run.pk).update(computed_at=timezone.make_aware(dt.datetime(2025, 6, 20, 10, 0)))
    return Run.objects.select_related("scheme").get(pk=run.pk)


def test_an_interim_run_is_marked_wherever_it_is_shown(interim, personas, tmp_path):
    assert interim.is_interim
    c = login(personas["wc_admin"])
    assert "期中（周期尚未结束）" in text(c.get(f"/assessment/runs/{interim.pk}/"))
    assert "期中" in text(c.get(f"/assessment/schemes/{interim.scheme.pk}/"))
    doc = bulletin.for_run(interim)
    assert doc.interim and doc.title.endswith("（期中，周期尚未结束）")
    assert doc.blocks[0].kind == "note" and "计算于 2025-06-20" in doc.blocks[0].text
    page = text(c.get(f"/assessment/runs/{interim.pk}/bulletin/"))
    assert doc.title in page and "计算于 2025-06-20" in page
    docx = Document(io.BytesIO(c.get(f"/assessment/runs/{interim.pk}/bulletin.docx").getvalue()))
    words = "\n".join(p.text for p in docx.paragraphs)
    assert "期中，周期尚未结束" in words and "计算于 2025-06-20" in words
    assert doc.title in text(c.get("/assessment/bulletins/"))
    r = c.get(f"/assessment/runs/{interim.pk}/export.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    assert "期中" in wb.sheetnames[0]
    out = io.StringIO()
    call_command("bulletin", "--run", str(interim.pk), "--out", str(tmp_path / "通报.docx"), stdout=out)
    assert "期中，周期尚未结束" in out.getvalue()
    # re-run after the period ended, it is the period's run again
    again = services.run_evaluation(None, interim.scheme, "2025-06", today=TODAY, replace=True)
    assert not again.is_interim and not re.search("期中", bulletin.for_run(again).text)

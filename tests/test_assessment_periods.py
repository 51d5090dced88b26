"""Draft (暂定) and final (定稿) runs. A run whose period has not ended, or whose manual scores
are not all entered, is a draft: it keeps its scores but has no grade, lists nobody for 约谈 and
no bulletin is issued from it; it is marked as such on its page, the run lists, the trend, the
bulletin page, the export and the commands. It becomes final when computed complete after its
period, or by the committee staff's 定稿, which is refused (nothing written) while scores are
missing or the period is open. A period already evaluated is evaluated again only when asked
for (the page's confirmation, the command's --replace)."""
import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from dangjian.activities.models import Attendance
from dangjian.assessment import bulletin, queries, services
from dangjian.assessment.metrics import Target, Value
from dangjian.assessment.models import Admonition, Indicator, Level, ManualScore, Run, TargetScore
from dangjian.core.models import AuditEntry
from tests.factories import TODAY, login, scheme, score_manual
from tests.factories import page_text as text


def test_the_last_day_of_a_period_is_still_within_it(city):
    s = scheme(admonish_below=100)  # everybody below the line: only a final run admonishes
    score_manual(s, "2025-07")
    last_day = dt.date(2025, 7, 31)
    run = services.run_evaluation(None, s, "2025-07", today=last_day)
    assert not run.is_final and run.period_open and run.pending_manual == 0
    assert "计算时考评周期尚未结束（至 2025-07-31）" in run.draft_text
    assert not Admonition.objects.exists() and set(run.scores.values_list("grade", flat=True)) == {""}
    run = services.run_evaluation(None, s, "2025-07", today=last_day + dt.timedelta(days=1), replace=True)
    assert run.is_final and not run.period_open and not run.is_interim
    assert Admonition.objects.filter(run=run).count() == run.target_count


def test_a_running_period_is_evaluated_as_a_draft_from_the_page(city, personas):
    today = timezone.localdate()
    s = scheme(code=f"NOW{today.year}", year=today.year, admonish_below=100)
    score_manual(s, f"{today:%Y-%m}")
    c = login(personas["wc_admin"])
    page = text(c.get(f"/assessment/schemes/{s.pk}/"))
    assert f'value="{today:%Y-%m}"' in page and "结果为暂定" in page  # 每月一考评 mid-month, said to be a draft
    r = c.post(f"/assessment/schemes/{s.pk}/run/", {"period": f"{today:%Y-%m}"}, follow=True)
    run = Run.objects.get()
    assert "暂定" in text(r) and not run.is_final and not Admonition.objects.exists()
    # a period not yet begun is refused, saying so
    with pytest.raises(services.AssessmentError, match="尚未开始"):
        services.run_evaluation(None, s, f"{today.year}-12", today=dt.date(today.year, 11, 30))


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
    # an unfinished period gives a draft, said in the table; one not yet begun is refused
    out = io.StringIO()
    call_command("assess", "--scheme", "UNIT2025", "--period", "2025-08", "--today", TODAY.isoformat(), stdout=out)
    assert "暂定" in out.getvalue() and "计算时考评周期尚未结束（至 2025-08-31）" in out.getvalue()
    assert "0 个列入约谈" in out.getvalue()
    with pytest.raises(CommandError, match="尚未开始"):
        call_command("assess", "--scheme", "UNIT2025", "--period", "2025-09", "--today", TODAY.isoformat(),
                     stdout=io.StringIO())


def test_the_json_rows_say_final_and_a_drafts_grade_is_null(city):
    s = scheme(code="UNIT2025")
    out = io.StringIO()
    call_command("assess", "--scheme", "UNIT2025", "--period", "2025-08", "--format", "json",
                 "--today", TODAY.isoformat(), stdout=out)
    rows = json.loads(out.getvalue())
    stored = {t.org.code: t for t in TargetScore.objects.select_related("org")}
    assert rows and all(r["final"] is False and r["grade"] is None for r in rows)
    assert {r["target_code"]: Decimal(str(r["score"])) for r in rows} == {c: t.total for c, t in stored.items()}
    assert all(set(r) == {"target_code", "target_name", "score", "grade", "place", "final", "indicators"} for r in rows)
    score_manual(s, "2025-06")
    out = io.StringIO()
    call_command("assess", "--scheme", "UNIT2025", "--period", "2025-06", "--format", "json",
                 "--today", TODAY.isoformat(), stdout=out)
    rows = json.loads(out.getvalue())
    assert all(r["final"] is True and r["grade"] in {"excellent", "good", "fair", "poor"} for r in rows)


@pytest.fixture
def draft(city):
    """A June run with the assessors' scores not all entered, everybody below the line."""
    s = scheme(code="DRAFT", admonish_below=100)
    manual = s.indicators.get(method="manual")
    services.enter_manual_score(None, manual, "2025-06", city["a"], 4, "材料齐全")
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    return Run.objects.select_related("scheme").get(pk=run.pk)


def test_a_draft_is_marked_wherever_it_is_shown_and_issues_no_bulletin(draft, personas, tmp_path):
    assert not draft.is_final and draft.is_interim and draft.pending_manual == 1
    assert not Admonition.objects.exists()
    c = login(personas["wc_admin"])
    page = text(c.get(f"/assessment/runs/{draft.pk}/"))
    assert "暂定（阶段性结果）" in page and "“党建与业务融合”1 个考核对象" in page and "定稿" in page
    assert "暂定" in text(c.get(f"/assessment/schemes/{draft.scheme.pk}/"))
    assert "暂定" in text(c.get("/assessment/"))
    trend = queries.trend(draft, personas["wc_admin"])
    assert [t["final"] for t in trend] == [False] and trend[0]["period"].endswith("（暂定）")
    # the bulletin: refused on the page, the .docx and the command; not in the archive
    page = text(c.get(f"/assessment/runs/{draft.pk}/bulletin/"))
    assert "不能据此印发通报" in page and "关于2025年6月" not in page
    r = c.get(f"/assessment/runs/{draft.pk}/bulletin.docx")
    assert r.status_code == 302 and r["Location"] == f"/assessment/runs/{draft.pk}/bulletin/"
    assert f"/assessment/runs/{draft.pk}/bulletin/" not in text(c.get("/assessment/bulletins/"))
    with pytest.raises(CommandError, match="不能据此印发通报") as refused:
        call_command("bulletin", "--run", str(draft.pk), "--out", str(tmp_path / "通报.docx"), stdout=io.StringIO())
    assert refused.value.returncode == 2 and not (tmp_path / "通报.docx").exists()
    r = c.get(f"/assessment/runs/{draft.pk}/export.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    assert "暂定" in wb.sheetnames[0]
    assert {row[4] for row in wb.active.iter_rows(min_row=2, values_only=True) if row[1]} == {"暂定"}
    # the scores in and computed again: final, graded, admonished, a bulletin issued
    score_manual(draft.scheme, "2025-06")
    again = services.run_evaluation(None, draft.scheme, "2025-06", today=TODAY, replace=True)
    assert again.is_final and Admonition.objects.filter(run=again).count() == again.target_count
    doc = bulletin.for_run(again)
    assert "暂定" not in doc.text and doc.title == "关于2025年6月党建工作考评情况的通报"
    assert c.get(f"/assessment/runs/{again.pk}/bulletin.docx").status_code == 200


def test_finalizing_is_refused_until_the_data_is_complete_then_accepted_once(draft, personas):
    c = login(personas["wc_admin"])
    url = f"/assessment/runs/{draft.pk}/finalize/"
    before = (AuditEntry.objects.count(), Run.objects.get(pk=draft.pk).computed_at)
    # scores missing: refused, saying which, nothing written
    r = c.post(url, {"confirm": "1"}, follow=True)
    assert "考核组评分尚未录入齐全，不能定稿：“党建与业务融合”1 个考核对象未评分" in text(r)
    assert (AuditEntry.objects.count(), Run.objects.get(pk=draft.pk).computed_at) == before
    assert not Run.objects.get(pk=draft.pk).is_final and not Admonition.objects.exists()
    # the button asks first, saying why it cannot be done; a GET does nothing
    page = text(c.post(url, {}))
    assert "考核组评分尚未录入齐全" in page and "确认定稿" not in page
    assert c.get(url).status_code == 405 and (AuditEntry.objects.count(),) == before[:1]
    # an open period: refused
    score_manual(draft.scheme, "2025-08")
    open_run = services.run_evaluation(None, draft.scheme, "2025-08", today=TODAY)
    with pytest.raises(services.AssessmentError, match="2025年8月尚未结束（至 2025-08-31），不能定稿"):
        services.finalize(None, open_run, today=TODAY)
    assert not Run.objects.get(pk=open_run.pk).is_final
    # the scores in: accepted after confirming, audited, graded, admonished
    score_manual(draft.scheme, "2025-06")
    assert not Run.objects.get(pk=draft.pk).is_final  # entering scores changes no stored result
    page = text(c.post(url, {}))
    assert "确认定稿" in page and 'name="confirm" value="1"' in page
    assert not Run.objects.get(pk=draft.pk).is_final and Run.objects.get(pk=draft.pk).computed_at == before[1]
    r = c.post(url, {"confirm": "1"}, follow=True)
    run = Run.objects.get(pk=draft.pk)
    assert "已定稿" in text(r) and run.is_final and run.finalized_by == personas["wc_admin"]
    assert AuditEntry.objects.filter(table="assessment.run", object_id=str(run.pk), note__startswith="定稿").exists()
    assert Admonition.objects.filter(run=run).count() == run.target_count
    # twice: refused
    n = AuditEntry.objects.count()
    r = c.post(url, {"confirm": "1"}, follow=True)
    assert "不能重复定稿" in text(r) and AuditEntry.objects.count() == n
    # a member of a unit cannot finalize
    assert login(personas["unit_admin_a"]).post(url, {"confirm": "1"}).status_code == 404


def test_held_admonitions_stay_when_a_final_run_is_computed_again_as_a_draft(city):
    s = scheme(code="HELD", admonish_below=100)
    score_manual(s, "2025-06")
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    held, pending = list(Admonition.objects.filter(run=run).order_by("pk"))[:2]
    services.record_admonition(None, held, talked_on=dt.date(2025, 7, 10), talked_with="书记", talked_by="副书记",
                               outcome="提出整改要求", deadline=dt.date(2025, 8, 10))
    # a score withdrawn makes the run a draft again: the pending admonition goes, the held one stays
    ManualScore.objects.filter(org=city["a"]).delete()
    again = services.run_evaluation(None, s, "2025-06", today=TODAY, replace=True)
    assert not again.is_final and again.finalized_at is None
    assert list(Admonition.objects.filter(run=run).values_list("pk", "status")) == [(held.pk, "done")]


# ---- 不适用: nothing to measure is never full marks --------------------------------------------------

def _indicator(pk, weight, method="metric"):
    return Indicator(pk=pk, name=f"指标{pk}", category="类", weight=Decimal(weight), method=method,
                     max_score=Decimal(10) if method == "manual" else None)


def test_a_not_applicable_indicators_weight_goes_to_the_others_in_proportion():
    t = Target(1, "X", "某党支部", "00000001/")
    inds = [_indicator(1, 40), _indicator(2, 30), _indicator(3, 30)]
    values = {1: {1: Value(0.5, 1, 2)}, 2: {1: Value(None, 0, 0, "考核期内没有到期的要求")}, 3: {1: Value(1.0, 3, 3)}}
    rows = []
    total, pending = services._scored(t, inds, values, {}, breakdown=rows)
    # by hand: 40 + 30 = 70 counted, scaled to 100 → 0.5 × 40 × 100/70 = 28.57, 1 × 30 × 100/70 = 42.86
    assert [r["score"] for r in rows] == ["28.57", None, "42.86"] and total == Decimal("71.43") and pending == 0
    assert [r["applied_weight"] for r in rows] == ["57.14", "0.00", "42.86"]
    assert rows[1]["not_applicable"] and rows[1]["note"] == "本项不适用，分值按比例分配至其他指标"
    # nothing applicable at all: no score, neither 0 nor full marks
    none = {1: {1: Value(None)}, 2: {1: Value(None)}, 3: {1: Value(None)}}
    assert services._scored(t, inds, none, {}, breakdown=None) == (None, 0)
    # an unscored manual indicator is left out the same way, never a 0
    manual = [_indicator(1, 40), _indicator(2, 60, "manual")]
    total, pending = services._scored(t, manual, {1: {1: Value(0.5, 1, 2)}}, {}, breakdown=None)
    assert (total, pending) == (Decimal("50.00"), 1)


def test_a_target_with_nothing_to_measure_has_no_score_grade_place_or_admonition(city, personas):
    s = services.create_scheme(None, code="ATT", name="到会考评", year=2025, level=Level.BRANCH, admonish_below=100)
    services.save_indicators(None, s, [dict(category="组织生活", name="党员到会", weight=100, method="metric",
                                            metric="attendance_rate")])
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    assert run.is_final
    # reference: branches with no attendance recorded in June have nothing to measure
    held = set(Attendance.objects.filter(activity__held_on__range=(run.period_start, run.period_end))
               .values_list("activity__org_id", flat=True))
    scores = {t.org_id: t for t in TargetScore.objects.filter(run=run)}
    empty = {o for o in scores if o not in held}
    assert empty and empty != set(scores)
    for o, t in scores.items():
        assert (t.total is None) == (o in empty)
        if o in empty:
            assert t.grade == "" and t.place is None
    assert set(Admonition.objects.filter(run=run).values_list("org_id", flat=True)) == set(scores) - empty
    c = login(personas["wc_admin"])
    assert "无得分" in text(c.get(f"/assessment/runs/{run.pk}/"))
    org = next(iter(empty))
    assert "各项指标对本考核对象均不适用" in text(c.get(f"/assessment/runs/{run.pk}/targets/{org}/"))
    assert bulletin.for_run(run).figures.assessed == len(scores) - len(empty)

"""Assessment: forbidden indicators, weights, each metric against a naive reference on generated
data, grading with ties and quotas, evaluation runs, admonitions and the `assess` command."""
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.activities import compliance
from dangjian.activities.models import Attendance, ComplianceRow
from dangjian.assessment import checks, metrics, queries, services
from dangjian.assessment.models import Admonition, Indicator, Level, ManualScore, Run, Scheme, TargetScore
from dangjian.core.models import AuditEntry
from dangjian.orgs.alerts import structure_alerts
from dangjian.orgs.models import Organization
from tests.factories import MANUAL, METRIC_INDICATORS, TODAY, branch_with, record, scheme, score_manual

# ---- what an indicator may be based on ------------------------------------------------------

@pytest.mark.parametrize("name", ["学习强国学习时长", "党员在线时长", "转发文章次数", "活动照片数量", "支部会议次数",
                                  "学习笔记字数", "点赞数", "党员积分排名", "每日打卡", "应用安装率"])
def test_forbidden_indicator_refused_citing_the_rule(tree, name):
    s = services.create_scheme(None, code="F", name="方案", year=2025, level="unit")
    with pytest.raises(services.AssessmentError) as exc:
        services.save_indicators(None, s, [dict(category="学习教育", name=name, weight=100, method="manual")])
    assert "减负" in exc.value.message and "《整治形式主义为基层减负若干规定》" in exc.value.message
    assert "burden_reduction" not in exc.value.message and ".yaml" not in exc.value.message
    assert not Indicator.objects.filter(scheme=s).exists()


def test_forbidden_basis_also_in_the_scoring_standard(tree):
    s = services.create_scheme(None, code="F", name="方案", year=2025, level="unit")
    with pytest.raises(services.AssessmentError, match="学习时长"):
        services.save_indicators(None, s, [dict(category="学习教育", name="理论学习", weight=100, method="manual",
                                                note="按人均学习时长排序计分")])


def test_no_registered_metric_is_based_on_a_forbidden_basis():
    for m in metrics.REGISTRY.values():
        assert checks.forbidden_basis(m.label, m.measures) is None, m.code


def test_weights_must_add_up_to_the_total_and_nothing_is_written(tree):
    s = services.create_scheme(None, code="W", name="方案", year=2025, level="unit")
    with pytest.raises(services.AssessmentError, match="合计 90.00 分，应等于方案总分 100.00 分"):
        services.save_indicators(None, s, METRIC_INDICATORS)
    assert not Indicator.objects.filter(scheme=s).exists()
    with pytest.raises(services.AssessmentError, match="请选择计算指标，可选：“组织生活按规定落实率”"):
        services.save_indicators(None, s, [dict(category="x", name="y", weight=100, method="metric", metric="online")])
    with pytest.raises(services.AssessmentError, match="所选的组织生活要求不存在或已停止执行"):
        services.save_indicators(None, s, [dict(category="x", name="y", weight=100, method="metric",
                                                metric="compliance_rate", params={"rule": "nope"})])


def test_save_indicators_updates_in_place_and_keeps_scored_ones(city):
    s = scheme()
    inds = list(s.indicators.all())
    specs = [dict(id=i.pk, category=i.category, name=i.name, weight=i.weight, method=i.method, metric=i.metric,
                  params=i.params, max_score=i.max_score, note=i.note) for i in inds]
    # swap two names: the unique constraint must not get in the way
    specs[0]["name"], specs[1]["name"] = specs[1]["name"], specs[0]["name"]
    services.save_indicators(None, s, specs)
    assert Indicator.objects.get(pk=inds[0].pk).name == inds[1].name
    manual = s.indicators.get(method="manual")
    services.enter_manual_score(None, manual, "2025-07", city["a"], 4, "材料齐全")
    keep = [sp for sp in specs if sp["id"] != manual.pk]
    keep[0]["weight"] = Decimal(keep[0]["weight"]) + manual.weight
    with pytest.raises(services.AssessmentError, match="已有考核组评分，不能删除"):
        services.save_indicators(None, s, keep)
    assert s.indicators.count() == 5


def test_copy_last_years_scheme(city):
    old = scheme(quotas={"excellent": 0.3})
    new = services.copy_scheme(None, old, code="S2026", year=2026)
    assert new.year == 2026 and new.copied_from == old and new.quotas == {"excellent": 0.3}
    assert [(i.name, i.weight, i.metric, i.params) for i in new.indicators.all()] == \
        [(i.name, i.weight, i.metric, i.params) for i in old.indicators.all()]


# ---- metrics against naive references -------------------------------------------------------

def _subtree(target):
    return list(Organization.objects.filter(path__startswith=target.path))


def test_compliance_rate_matches_a_naive_reference(city):
    start, end = dt.date(2025, 4, 1), dt.date(2025, 6, 30)
    for level in (Level.UNIT, Level.BRANCH):
        targets = queries.targets(level)
        got = metrics.compute("compliance_rate", targets, start, end, {}, TODAY)
        got_theme = metrics.compute("compliance_rate", targets, start, end, {"rule": "theme_day"}, TODAY)
        for t in targets:
            met = due = met_t = due_t = 0
            for org in _subtree(t):
                for row in ComplianceRow.objects.filter(org=org):
                    if not start <= row.period_end <= end or row.status == "not_applicable":
                        continue
                    status = compliance.current_status(row, TODAY)
                    if status == "due":
                        continue
                    due += 1
                    met += status == "met"
                    if row.code == "theme_day":
                        due_t += 1
                        met_t += status == "met"
            assert (got[t.org_id].numerator, got[t.org_id].denominator) == (met, due), t.code
            assert (got_theme[t.org_id].numerator, got_theme[t.org_id].denominator) == (met_t, due_t)
            assert got[t.org_id].ratio == (met / due if due else None)
    assert any(v.ratio not in (None, 1.0) for v in got.values())  # the data has shortfalls


def test_attendance_rate_matches_a_naive_reference(city):
    start, end = dt.date(2025, 2, 1), dt.date(2025, 5, 31)
    targets = queries.targets(Level.UNIT) + queries.targets(Level.BRANCH)
    got = metrics.compute("attendance_rate", targets, start, end, {}, TODAY)
    for t in targets:
        present = expected = 0
        for org in _subtree(t):
            for a in Attendance.objects.filter(activity__org=org, activity__status="active"):
                if start <= a.activity.held_on <= end and a.status != "observer":
                    expected += 1
                    present += a.status == "present"
        assert (got[t.org_id].numerator, got[t.org_id].denominator) == (present, expected), t.code
    assert 0 < got[city["a"].pk].ratio < 1


def test_alerts_clear_matches_a_naive_reference(city):
    targets = queries.targets(Level.UNIT)
    got = metrics.compute("alerts_clear", targets, dt.date(2025, 7, 1), dt.date(2025, 7, 31), {}, TODAY)
    alerted = {a.org_id for a in structure_alerts(today=dt.date(2025, 7, 31))}
    for t in targets:
        orgs = [o for o in _subtree(t) if o.status == "active"]
        clear = sum(o.pk not in alerted for o in orgs)
        assert (got[t.org_id].numerator, got[t.org_id].denominator) == (clear, len(orgs))


def test_metric_queries_do_not_grow_with_the_tree(city):
    def count():
        targets = queries.targets(Level.BRANCH)
        with CaptureQueriesContext(connection) as ctx:
            for code in ("compliance_rate", "attendance_rate"):
                metrics.compute(code, targets, dt.date(2025, 1, 1), dt.date(2025, 6, 30), {}, TODAY)
        return len(ctx)

    before = count()
    for _ in range(4):
        b = branch_with(city["b"], full=4)
        record(b, ["theme_day"], dt.date(2025, 3, 3), attendance={m.pk: "present" for m in b.people})
    compliance.recompute(dt.date(2025, 1, 1), TODAY, today=TODAY)
    assert count() == before


# ---- grading ----------------------------------------------------------------------------------

def _grades(totals, **kw):
    s = Scheme(code="G", name="g", year=2025, level="unit", total=Decimal(100), thresholds={}, **{"quotas": {}, **kw})
    return services.grade_all({i: Decimal(t) for i, t in enumerate(totals)}, s)


def test_grades_by_thresholds():
    assert list(_grades([95, 90, 89.99, 80, 79, 60, 59.99]).values()) == \
        ["excellent", "excellent", "good", "good", "fair", "fair", "poor"]


def test_quota_is_never_exceeded_and_ties_drop_together():
    # 5 targets, 好 capped at 40% → 2 places; the 2nd and 3rd tie, so both drop to 较好.
    g = _grades([97, 93, 93, 91, 70], quotas={"excellent": 0.4})
    assert g == {0: "excellent", 1: "good", 2: "good", 3: "good", 4: "fair"}
    # no tie at the cap: exactly two
    g = _grades([97, 94, 93, 91, 70], quotas={"excellent": 0.4})
    assert [g[i] for i in range(5)] == ["excellent", "excellent", "good", "good", "fair"]
    # cascading: those dropped to 较好 are capped by its own quota
    g = _grades([97, 96, 95, 94, 93], quotas={"excellent": 0.2, "good": 0.4})
    assert [g[i] for i in range(5)] == ["excellent", "good", "good", "fair", "fair"]


def test_bad_grading_settings_refused(tree):
    with pytest.raises(services.AssessmentError, match="好 > 较好 > 一般"):
        services.create_scheme(None, code="X", name="x", year=2025, level="unit", thresholds={"good": 95})
    with pytest.raises(services.AssessmentError, match="应为 0 到 1"):
        services.create_scheme(None, code="X", name="x", year=2025, level="unit", quotas={"excellent": 3})
    assert not Scheme.objects.exists()


# ---- runs -------------------------------------------------------------------------------------

def _reference(s, run, manual_scores: dict) -> dict:
    """Totals computed another way: per target, the indicators with a ratio (a metric with
    something due, a manual score entered) share the scheme's total in proportion to their
    weights; a target with none has no total."""
    values = {i.pk: metrics.compute(i.metric, queries.targets(s.level), run.period_start, run.period_end,
                                    i.params, TODAY) for i in s.indicators.filter(method="metric")}
    out = {}
    for t in queries.targets(s.level):
        ratios = {}
        for ind in s.indicators.all():
            if ind.method == "metric":
                r = values[ind.pk][t.org_id].ratio
                ratios[ind] = None if r is None else Decimal(str(r))
            else:
                got = manual_scores.get(t.org_id)
                ratios[ind] = None if got is None else Decimal(got) / ind.max_score
        counted = sum((ind.weight for ind, r in ratios.items() if r is not None), Decimal(0))
        out[t.org_id] = None if not counted else sum(
            ((r * ind.weight * s.total / counted).quantize(Decimal("0.01")) for ind, r in ratios.items() if r is not None),
            Decimal(0))
    return out


def test_run_scores_every_target_and_explains_each_score(city):
    s = scheme(level=Level.BRANCH, admonish_below=80)
    manual = s.indicators.get(method="manual")
    first = city["branches"][2]
    services.enter_manual_score(None, manual, "2025Q2", first, 4, "材料齐全，融合有特色")
    run = services.run_evaluation(None, s, "2025Q2", today=TODAY)
    assert run.cycle == Run.Cycle.QUARTERLY and run.target_count == len(city["branches"])
    assert run.pending_manual == len(city["branches"]) - 1
    # Manual scores pending: a draft, no grade, nobody admonished, and what is missing is said.
    assert not run.is_final and run.pending_detail == [dict(indicator_id=manual.pk, name=manual.name,
                                                            targets=len(city["branches"]) - 1)]
    assert "考核组评分尚有" in run.draft_text and "党建与业务融合" in run.draft_text
    scores = {t.org_id: t for t in TargetScore.objects.filter(run=run)}
    assert set(scores) == {b.pk for b in city["branches"]}
    assert {t.grade for t in scores.values()} == {""} and not Admonition.objects.filter(run=run).exists()
    reference = _reference(s, run, {first.pk: 4})
    for org_id, ts in scores.items():
        assert ts.total == reference[org_id]
        assert ts.total == sum((Decimal(r["score"]) for r in ts.breakdown if r["score"] is not None), Decimal(0))
        pending = [r for r in ts.breakdown if r.get("pending")]
        assert (org_id == first.pk) == (not pending)  # an unscored item is never a 0
        assert all(r["score"] is None and "暂不计入" in r["note"] for r in pending)
    assert scores[first.pk].breakdown[-1]["detail"] == "材料齐全，融合有特色"
    # The scores in, computed again: final, graded, and the admonitions follow the totals.
    score_manual(s, "2025Q2", score=1, comment="融合不够")
    services.enter_manual_score(None, manual, "2025Q2", first, 4, "材料齐全，融合有特色")
    run = services.run_evaluation(None, s, "2025Q2", today=TODAY, replace=True)
    assert run.is_final and run.pending_manual == 0 and run.finalized_at is not None
    scores = {t.org_id: t for t in TargetScore.objects.filter(run=run)}
    reference = _reference(s, run, {b.pk: 4 if b == first else 1 for b in city["branches"]})
    assert {o: t.total for o, t in scores.items()} == reference
    assert all(t.grade for t in scores.values())
    ordered = sorted(scores.values(), key=lambda t: -t.total)
    assert ordered[0].place == 1
    below = {o for o, t in scores.items() if t.total < 80}
    assert set(Admonition.objects.filter(run=run).values_list("org_id", flat=True)) == below
    assert below


def test_rerun_replaces_scores_and_keeps_held_admonitions(city):
    s = scheme(level=Level.BRANCH, admonish_below=95)
    score_manual(s, "2025-06", score=0, comment="未见成效")
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    adm = Admonition.objects.filter(run=run).first()
    services.record_admonition(None, adm, talked_on=dt.date(2025, 7, 10), talked_with="支部书记", talked_by="工委副书记",
                               outcome="提出整改要求三条", deadline=dt.date(2025, 8, 10))
    with pytest.raises(services.AssessmentError, match="已于 .* 考评过") as refused:
        services.run_evaluation(None, s, "2025-06", today=TODAY)  # not without asking for it
    assert refused.value.field == "replace" and Run.objects.get(pk=run.pk).computed_at == run.computed_at
    again = services.run_evaluation(None, s, "2025-06", today=TODAY, replace=True)
    assert again.pk == run.pk and again.computed_at > run.computed_at and TargetScore.objects.filter(run=run).count() == len(city["branches"])
    assert Admonition.objects.get(pk=adm.pk).status == "done"


def test_a_rerun_records_the_admonitions_it_drops(city):
    s = scheme(level=Level.BRANCH, admonish_below=95)
    score_manual(s, "2025-06", score=0, comment="未见成效")
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    pending = set(Admonition.objects.filter(run=run).values_list("pk", flat=True))
    assert pending
    Scheme.objects.filter(pk=s.pk).update(admonish_below=0)
    services.run_evaluation(None, Scheme.objects.get(pk=s.pk), "2025-06", today=TODAY, replace=True)
    assert not Admonition.objects.filter(run=run).exists()
    gone = AuditEntry.objects.filter(table="assessment.admonition", action="delete")
    assert set(gone.values_list("object_id", flat=True)) == pending


def test_bad_runs_are_refused(city):
    s = scheme()
    # TODAY is in August: August and the third quarter have not ended
    for period, message in [("2024-10", "没有适用的考核方案"), ("2025H1", "按月"), ("2025-13", "格式不正确"),
                            ("2025-09", "尚未开始")]:
        with pytest.raises(services.AssessmentError, match=message):
            services.run_evaluation(None, s, period, today=TODAY)
    empty = services.create_scheme(None, code="E", name="空方案", year=2025, level="unit")
    with pytest.raises(services.AssessmentError, match="还没有指标"):
        services.run_evaluation(None, empty, "2025-06", today=TODAY)
    assert not Run.objects.exists()


def test_manual_scores_checked(city):
    s = scheme()
    manual = s.indicators.get(method="manual")
    auto = s.indicators.filter(method="metric").first()
    with pytest.raises(services.AssessmentError, match="应为 0 到 5.00"):
        services.enter_manual_score(None, manual, "2025-06", city["a"], 6, "超出")
    with pytest.raises(services.AssessmentError, match="评分说明：必填"):
        services.enter_manual_score(None, manual, "2025-06", city["a"], 3, " ")
    with pytest.raises(services.AssessmentError, match="不是本方案的考核对象"):
        services.enter_manual_score(None, manual, "2025-06", city["a1"], 3, "x")
    with pytest.raises(services.AssessmentError, match="不能人工评分"):
        services.enter_manual_score(None, auto, "2025-06", city["a"], 3, "x")
    assert not ManualScore.objects.exists()


def test_admonition_talk_checked(city):
    s = scheme(admonish_below=100)
    score_manual(s, "2025-06", score=0, comment="未见成效")
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    adm = Admonition.objects.filter(run=run).first()
    with pytest.raises(services.AssessmentError, match="约谈情况及整改要求：必填"):
        services.record_admonition(None, adm, talked_on=dt.date(2025, 7, 1), talked_with="a", talked_by="b", outcome="")
    assert Admonition.objects.get(pk=adm.pk).status == "pending"


def test_assess_command_json(city):
    scheme(code="UNIT2025")
    out = io.StringIO()
    call_command("assess", "--scheme", "UNIT2025", "--period", "2025-06", "--format", "json", "--today",
                 TODAY.isoformat(), stdout=out)
    rows = json.loads(out.getvalue())
    assert {r["target_code"] for r in rows} == {"CZ", "JY"}
    for r in rows:  # manual scores pending: a draft, its grade null, its score and indicators kept
        assert set(r) >= {"target_code", "score", "grade", "indicators", "final"}
        assert r["final"] is False and r["grade"] is None and r["score"] is not None
        assert round(sum(i["score"] for i in r["indicators"] if i["score"] is not None), 2) == r["score"]
    score_manual(Scheme.objects.get(code="UNIT2025"), "2025-06")
    out = io.StringIO()
    call_command("assess", "--scheme", "UNIT2025", "--period", "2025-06", "--format", "json", "--today",
                 TODAY.isoformat(), "--replace", stdout=out)
    rows = json.loads(out.getvalue())
    for r in rows:
        assert r["final"] is True
        assert r["grade"] in {"excellent", "good", "fair", "poor"}
        assert round(sum(i["score"] for i in r["indicators"] if i["score"] is not None), 2) == r["score"]
        assert [i["indicator"] for i in r["indicators"]] == [i["name"] for i in [*METRIC_INDICATORS, MANUAL]]
    with pytest.raises(CommandError, match="没有适用的考核方案"):
        call_command("assess", "--scheme", "UNIT2025", "--period", "2024-06", "--today", TODAY.isoformat())
    with pytest.raises(CommandError, match="不存在"):
        call_command("assess", "--scheme", "NOPE", "--period", "2025-06")


def test_admonitions_recorded_in_one_batch_like_one_by_one(city):
    from dangjian.core import audit as core_audit
    from dangjian.core.models import AuditEntry

    s = scheme(level=Level.BRANCH, admonish_below=95)
    score_manual(s, "2025-06", score=0, comment="未见成效")
    run = services.run_evaluation(None, s, "2025-06", today=TODAY)
    pending = list(Admonition.objects.filter(run=run).select_related("run").order_by("pk"))
    assert len(pending) >= 2
    talk = dict(talked_with="支部书记", talked_by="工委副书记", outcome="提出整改要求三条")
    with pytest.raises(services.AssessmentError, match="不能早于"):
        services.record_admonitions(None, [(pending[0], dt.date(2025, 5, 1))], **talk)
    assert services.record_admonitions(None, [(a, dt.date(2025, 7, 10 + i)) for i, a in enumerate(pending)],
                                       **talk) == len(pending)
    for i, a in enumerate(Admonition.objects.filter(run=run).order_by("pk")):
        assert (a.status, a.talked_on, a.outcome, a.version) == ("done", dt.date(2025, 7, 10 + i), "提出整改要求三条", 2)
        entry = AuditEntry.objects.filter(table="assessment.admonition", object_id=a.pk, action="update").get()
        assert entry.changes["status"] == ["pending", "done"]
    assert core_audit.verify()["ok"]

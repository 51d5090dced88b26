"""Star ratings: levels against hand-computed expectations (lines, caps, 示范, quotas with ties,
the lowest share), the rules' checks, a rating run over assessment results and over compliance,
weak-organization cases tracked to closure, the pages by persona, query counts that do not grow
with the tree, the `ratings` command and the demo."""
import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.activities import compliance
from dangjian.activities.models import ComplianceRow
from dangjian.assessment import services as assessment_services
from dangjian.assessment.models import Run, TargetScore
from dangjian.core.models import AuditEntry
from dangjian.orgs import services as org_services
from dangjian.ratings import demo, levels, rules, services
from dangjian.ratings.models import Rating, RatingRun, RatingScheme, WeakOrg
from dangjian.ratings.rules import RatingError
from dangjian.rectification.models import Item, ItemEvent
from tests import factories
from tests.factories import branch_with, everyone, login, record
from tests.factories import page_text as text

YEAR = 2025
AFTER = dt.date(2026, 3, 1)  # the year is over: every period is judged
QUARTERS = [(dt.date(YEAR, m, 1), dt.date(YEAR, m + 2, 30 if m + 2 in (6, 9) else 31)) for m in (1, 4, 7, 10)]



def base_rules(**over) -> dict:
    """Plain rules: the usual lines, no quota, no cap."""
    data = {"basis": "assessment", "cycles": ["quarterly"],
            "thresholds": {"star5": 95, "star4": 85, "star3": 75, "star2": 65, "star1": 60},
            "quotas": {}, "lagging_share": None, "caps": [],
            "commendation": {"levels": ["model", "star5"], "no_alerts": True},
            "weak_candidates": {"levels": ["lagging"]}}
    data.update(over)
    return data


def assign(scores, alerts=None, missing=None, weak=None, **over):
    figs = [levels.Figures(i, None if s is None else Decimal(str(s)), alerts=(alerts or {}).get(i, []),
                           missing=(missing or {}).get(i, 0), weak=(weak or {}).get(i, ""))
            for i, s in enumerate(scores)]
    return levels.assign(figs, rules.check(base_rules(**over)))


def level_list(results) -> list[str]:
    return [results[i].level for i in sorted(results)]


# ---- levels by hand ----------------------------------------------------------------------------

def test_lines_give_the_base_level_and_unrated_is_not_lagging():
    got = assign([96, 95, 94.99, 85, 75, 65, 60, 59.99, None])
    # five-star and no cap: 示范 (no quota here)
    assert level_list(got) == ["model", "model", "star4", "star4", "star3", "star2", "star1", "lagging", "unrated"]
    assert [got[i].qualified for i in range(9)] == [True] * 7 + [False, False]
    assert "低于达标线（一星线）60 分" in got[7].reasons[1]["text"]
    assert got[8].score is None and got[8].reasons[0]["kind"] == "score"


def test_model_line_and_the_tie_at_a_quota_drop_together():
    # 示范 needs 97: the 96 stays five-star.
    assert level_list(assign([98, 96], thresholds={**base_rules()["thresholds"], "model": 97})) == ["model", "star5"]
    # 10 rated, 示范 ≤ 20% → 2 places; 99, then 98 and 98 tie at the cut: both stay five-star.
    got = assign([99, 98, 98, 97, 50, 50, 50, 50, 50, 50], quotas={"model": 0.2})
    assert level_list(got)[:4] == ["model", "star5", "star5", "star5"]
    assert any("得分 98 与分界线得分并列，一同降为五星" in r["text"] for r in got[1].reasons if r["kind"] == "quota")
    assert any("未进入比例" in r["text"] for r in got[3].reasons)


def test_quotas_cascade_from_the_top_and_are_never_exceeded():
    scores = [99, 98, 98, 97, 95.5, 87, 75, 65, 60, 55]
    # 示范 ≤ 20% (2), 五星及以上 ≤ 40% (4)
    got = assign(scores, quotas={"model": 0.2, "star5": 0.4})
    # 示范: 99 (98 and 98 tie at the cut); 五星及以上: 99 + three more, so 95.5 drops to 四星.
    assert level_list(got) == ["model", "star5", "star5", "star5", "star4", "star4", "star3", "star2", "star1", "lagging"]
    # 五星及以上 ≤ 30% (3): after 示范 99, room for two: 98 and 98; 97 and 95.5 drop to 四星.
    got = assign(scores, quotas={"model": 0.2, "star5": 0.3})
    assert level_list(got)[:5] == ["model", "star5", "star5", "star4", "star4"]
    # 五星及以上 ≤ 20% (2): room for one after 示范, but 98 and 98 tie: both drop, 五星 stays empty.
    got = assign(scores, quotas={"model": 0.2, "star5": 0.2})
    assert level_list(got)[:5] == ["model", "star4", "star4", "star4", "star4"]
    # a 五星 quota alone also bounds 示范 (it counts the level and above)
    got = assign(scores, quotas={"star5": 0.2})
    assert sum(1 for r in got.values() if r.level in ("model", "star5")) <= 2
    assert level_list(got)[:3] == ["model", "star4", "star4"]


def test_caps_lower_the_level_with_their_evidence():
    caps = [{"alert": "term_expired", "max_level": "star3"}, {"missing_above": 3, "max_level": "star3"},
            {"missing_above": 8, "max_level": "star1"}, {"weak": True, "max_level": "star1"}]
    got = assign([97, 97, 97, 97, 70, 97], caps=caps,
                 alerts={0: [("term_expired", "本届任期已于 2024年06月30日 届满，超期未换届")],
                         4: [("term_expired", "本届任期已于 2024年06月30日 届满，超期未换届")],
                         5: [("branch_oversized", "有党员 60 名")]},
                 missing={1: 4, 2: 9}, weak={3: "2025年05月01日认定，尚未销号"})
    assert level_list(got) == ["star3", "star3", "star1", "star1", "star2", "model"]
    cap = [r for r in got[0].reasons if r["kind"] == "cap"][0]
    assert cap["binding"] and "超期未换届" in cap["text"] and "由五星降为三星" in cap["text"]
    assert got[0].capped and not got[4].capped  # 二星 is already below the 三星 cap
    assert "未低于现有等级" in [r for r in got[4].reasons if r["kind"] == "cap"][0]["text"]
    assert [r["binding"] for r in got[2].reasons if r["kind"] == "cap"] == [True, True]
    assert "软弱涣散" in [r for r in got[3].reasons if r["kind"] == "cap"][0]["text"]
    # 示范 needs no cap condition, and a capped branch never competes for it
    assert not any(r["kind"] == "model" for r in got[0].reasons)
    # commendation: 示范 with an alert of any kind is not put forward (no_alerts)
    assert not got[5].commendable


def test_the_lowest_share_is_lagging_but_not_those_tied_at_the_cut():
    # 10 rated, 30% → 3 lagging: 50 already, then 61 and 61 (70 is the first that does not fit).
    got = assign([50, 61, 61, 70, 80, 90, 90, 90, 90, 90], lagging_share=0.3)
    assert level_list(got)[:4] == ["lagging", "lagging", "lagging", "star2"]
    assert "最低的 30%" in got[1].reasons[-2]["text"]
    # 50, 61, then 62 and 62 tie at the cut: they stay out (2 lagging, not 4).
    got = assign([50, 61, 62, 62, 80, 90, 90, 90, 90, 90], lagging_share=0.3)
    assert level_list(got)[:4] == ["lagging", "lagging", "star1", "star1"]


def test_commendation_needs_the_level_no_alerts_and_no_weak_case():
    got = assign([99, 96, 96, 90], commendation={"levels": ["model", "star5"], "no_alerts": True},
                 alerts={1: [("branch_too_small", "正式党员仅 2 名")]}, weak={2: "认定"},
                 caps=[{"weak": True, "max_level": "star5"}])
    assert [got[i].commendable for i in range(4)] == [True, False, False, False]
    assert got[2].level == "star5"  # weak, capped at 五星 by this scheme: not 示范, not put forward


@pytest.mark.parametrize("over, field, message", [
    (dict(thresholds={"star5": 90, "star4": 92, "star3": 75, "star2": 65, "star1": 60}), "thresholds",
     "五星 > 四星 > 三星 > 二星 > 一星"),
    (dict(thresholds={"star5": 95, "star4": 85, "star3": 75, "star2": 65}), "thresholds", "一星线必填"),
    (dict(thresholds={"star5": 95, "star4": 85, "star3": 75, "star2": 65, "star1": "六十"}), "thresholds", "不是数字"),
    (dict(thresholds={"model": 90, "star5": 95, "star4": 85, "star3": 75, "star2": 65, "star1": 60}), "thresholds",
     "示范线：不能低于五星线"),
    (dict(quotas={"model": 1.5}), "quotas", "应为 0 到 1"),
    (dict(quotas={"model": 0.3, "star5": 0.1}), "quotas", "示范（30%）不能高于五星及以上（10%）"),
    (dict(quotas={"lagging": 0.1}), "quotas", "只能限定"),
    (dict(lagging_share=0.8), "lagging_share", "应为 0 到 0.5"),
    (dict(caps=[{"alert": "nope", "max_level": "star3"}]), "caps", "预警类型“nope”不存在"),
    (dict(caps=[{"alert": "term_expired", "max_level": "model"}]), "caps", "最高等级应为"),
    (dict(caps=[{"alert": "term_expired", "missing_above": 3, "max_level": "star3"}]), "caps", "三者之一"),
    (dict(caps=[{"missing_above": 3, "max_level": "star3"}, {"missing_above": 3, "max_level": "star1"}]), "caps",
     "重复设置"),
    (dict(caps=[{"missing_above": "多", "max_level": "star3"}]), "caps", "不是整数"),
    (dict(cycles=[]), "cycles", "至少选择一类"),
    (dict(basis="votes"), "basis", "评定依据"),
    (dict(commendation={"levels": ["lagging"]}), "commendation", "不是可选的等级"),
])
def test_bad_rules_are_refused_naming_the_field(over, field, message):
    with pytest.raises(RatingError) as exc:
        rules.check(base_rules(**over))
    assert exc.value.field == field and message in exc.value.message


def test_defaults_come_from_the_rules_file_with_their_source():
    r = rules.default_rules()
    assert r.thresholds["star1"] == 60 and r.quotas == {"model": Decimal("0.05"), "star5": Decimal("0.1")}
    assert {c.code for c in r.caps} >= {"alert:term_expired", "alert:no_committee", "weak"}
    source = rules.default_source()
    assert source.startswith("本地默认值") and "原文待核对" in source
    assert not any(word in source for word in ("star_rating", "defaults.yaml", "SOURCES.md", "7.6", "7.7"))


# ---- a rating run over assessment results -------------------------------------------------------

def quarterly_scores(year: int, totals: dict, code: str = "ZB", full=100):
    """A branch-level scheme with its quarterly runs and, per branch, the total of each quarter
    (None: not scored that quarter)."""
    scheme = assessment_services.create_scheme(None, code=f"{code}{year}", name=f"{year} 年党支部考核", year=year,
                                               level="branch", total=full)
    for q, (start, end) in enumerate(QUARTERS, 1):
        run = Run.objects.create(scheme=scheme, period=f"{year}Q{q}", cycle="quarterly",
                                 period_start=start.replace(year=year), period_end=end.replace(year=year))
        TargetScore.objects.bulk_create([
            TargetScore(run=run, org=org, total=Decimal(str(t[q - 1])), grade="good", place=1)
            for org, t in totals.items() if t[q - 1] is not None])
    return scheme


def set_rules(year: int, scheme=None, **over):
    return services.save_scheme(None, year, {**base_rules(**over), "assessment_scheme": scheme})


@pytest.fixture
def ten(tree):
    """Ten branches with quarterly totals whose averages are 99, 98, 98, 97, 95.5, 87, 75, 65, 60,
    55 (the last scored in three quarters only); the fourth's term ended in 2024."""
    quarters = [[99, 99, 99, 99], [98, 98, 97, 99], [96, 100, 98, 98], [97, 97, 97, 97], [95, 96, 95, 96],
                [90, 88, 86, 84], [80, 70, 75, 75], [65, 64, 66, 65], [60, 61, 59, 60], [50, 60, 55, None]]
    branches = [branch_with(tree["a" if i % 2 else "b"], full=5, code=f"R{i:02d}") for i in range(10)]
    org_services.set_current_term(None, branches[3], dt.date(2021, 7, 1), dt.date(2024, 6, 30))
    scheme = quarterly_scores(YEAR, dict(zip(branches, quarters)))
    return {**tree, "branches": branches, "scheme": scheme}


def stored(year=YEAR) -> dict[str, Rating]:
    return {r.org.code: r for r in Rating.objects.filter(year=year).select_related("org")}


def test_run_rates_every_branch_from_the_averaged_runs(ten):
    set_rules(YEAR, ten["scheme"], quotas={"model": 0.2, "star5": 0.4},
              caps=[{"alert": "term_expired", "max_level": "star3"}])
    run = services.run_rating(None, YEAR, today=AFTER, refresh=False)
    got = stored()
    expected = {"R00": ("99.00", "model"), "R01": ("98.00", "star5"), "R02": ("98.00", "star5"),
                "R03": ("97.00", "star3"), "R04": ("95.50", "star5"), "R05": ("87.00", "star4"),
                "R06": ("75.00", "star3"), "R07": ("65.00", "star2"), "R08": ("60.00", "star1"),
                "R09": ("55.00", "lagging")}
    assert {c: (str(r.score), r.level) for c, r in got.items() if c.startswith("R")} == expected
    # the tree's own two branches have no score: 未评定, not counted in the quotas
    assert got["CZ01"].level == got["JY01"].level == "unrated" and got["CZ01"].score is None
    assert run.target_count == 12 and run.counts["model"] == 1 and run.counts["unrated"] == 2
    assert run.assessment_runs and len(run.assessment_runs) == 4
    assert got["R09"].runs_counted == 3 and "3 次平均 55.00 分" in got["R09"].reasons[0]["text"]
    assert got["R03"].capped and got["R03"].alert_kinds == ["term_expired"]
    assert any("超期未换届" in r["text"] and r.get("binding") for r in got["R03"].reasons)
    assert sorted(c for c, r in got.items() if r.commendable) == ["R00", "R01", "R02", "R04"]
    # a tighter 五星 quota, re-rated: the same run is replaced, not added
    set_rules(YEAR, ten["scheme"], quotas={"model": 0.2, "star5": 0.3},
              caps=[{"alert": "term_expired", "max_level": "star3"}])
    again = services.run_rating(None, YEAR, today=AFTER, refresh=False)
    assert again.pk == run.pk and Rating.objects.filter(year=YEAR).count() == 12
    assert stored()["R04"].level == "star4" and any(r["kind"] == "quota" for r in stored()["R04"].reasons)
    assert AuditEntry.objects.filter(table="ratings.ratingrun", object_id=run.pk).count() == 2


def test_scores_are_percentages_of_the_schemes_full_marks(tree):
    b = branch_with(tree["a"], full=5, code="P1")
    scheme = quarterly_scores(YEAR, {b: [108, 114, 120, 102]}, code="ZB150", full=120)
    set_rules(YEAR, scheme)
    services.run_rating(None, YEAR, today=AFTER, refresh=False)
    r = stored()["P1"]
    # (90 + 95 + 100 + 85) / 4 = 92.50
    assert r.score == Decimal("92.50") and r.level == "star4" and "折合百分制" in r.reasons[0]["text"]


def test_history_across_years_and_the_weak_cap(ten):
    b0 = ten["branches"][0]
    prev = quarterly_scores(YEAR - 1, {b0: [88, 88, 88, 88]}, code="ZB")
    set_rules(YEAR - 1, prev)
    services.run_rating(None, YEAR - 1, today=AFTER, refresh=False)
    weak = services.identify_weak(None, b0, identified_on=dt.date(YEAR, 5, 1), reasons="书记长期空缺", today=AFTER)
    set_rules(YEAR, ten["scheme"], caps=[{"weak": True, "max_level": "star1"}])
    services.run_rating(None, YEAR, today=AFTER, refresh=False)
    r = stored()["R00"]
    assert (r.previous_level, r.base_level, r.level, r.weak, r.trend) == ("star4", "star5", "star1", True, "down")
    assert any("软弱涣散" in x["text"] and "2025年05月01日认定" in x["text"] for x in r.reasons)
    assert not r.commendable
    # a case closed before the year began, or withdrawn, no longer caps it
    services.withdraw_weak(None, weak, reason="认定有误")
    services.run_rating(None, YEAR, today=AFTER, refresh=False)
    assert stored()["R00"].level == "model" and not stored()["R00"].weak


def test_a_refused_run_leaves_no_new_scheme_behind(tree):
    scheme = assessment_services.create_scheme(None, code="Q", name="考核", year=YEAR, level="branch")
    run = Run.objects.create(scheme=scheme, period=f"{YEAR}-03", cycle="monthly", period_start=dt.date(YEAR, 3, 1),
                             period_end=dt.date(YEAR, 3, 31))
    TargetScore.objects.create(run=run, org=tree["a1"], total=90, grade="good", place=1)
    # the new scheme would average the quarterly runs; there are only monthly ones
    with pytest.raises(RatingError, match="还没有季度分级考核结果"):
        services.run_rating(None, YEAR, today=AFTER, refresh=False)
    assert not RatingScheme.objects.exists() and not RatingRun.objects.exists()


def test_without_assessment_results_the_run_is_refused_and_nothing_written(tree):
    scheme = assessment_services.create_scheme(None, code="EMPTY", name="空考核", year=YEAR, level="branch")
    set_rules(YEAR, scheme)
    with pytest.raises(RatingError, match="还没有季度分级考核结果"):
        services.run_rating(None, YEAR, today=AFTER, refresh=False)
    assert not RatingRun.objects.exists() and not Rating.objects.exists()
    with pytest.raises(RatingError, match="尚未开始"):
        services.run_rating(None, AFTER.year + 1, today=AFTER)
    with pytest.raises(RatingError, match="必须选择党支部考核方案"):
        set_rules(YEAR, None)
    unit_scheme = assessment_services.create_scheme(None, code="U", name="单位考核", year=YEAR, level="unit")
    with pytest.raises(RatingError, match="不是 2025 年的党支部考核方案"):
        set_rules(YEAR, unit_scheme)


def test_a_new_years_scheme_starts_from_the_defaults_then_from_last_year(tree):
    # no branch assessment results: the basis is the compliance rate, and the note says why
    first = services.ensure_scheme(None, YEAR - 1)
    assert first.basis == "compliance" and "没有 2024 年党支部考核结果" in first.note
    assert first.thresholds["star5"] == 95 and first.source == rules.default_source()
    changed = services.save_scheme(None, YEAR - 1, {**base_rules(basis="compliance", quotas={"star5": 0.2}),
                                                    "source": "市直机关工委 2024 年 5 号文"})
    entry = AuditEntry.objects.filter(table="ratings.ratingscheme", object_id=changed.pk).order_by("-id").first()
    assert "比例上限" in entry.note and "依据" in entry.note
    nxt = services.ensure_scheme(None, YEAR)
    assert nxt.quotas == {"star5": 0.2} and nxt.source == "市直机关工委 2024 年 5 号文"


def test_compliance_basis_matches_a_reference_over_the_stored_rows(tree):
    full = branch_with(tree["a"], full=5, code="C1")
    half = branch_with(tree["b"], full=5, code="C2")
    for month in range(1, 13):
        record(full, ["theme_day", "general_meeting", "party_lecture"], dt.date(YEAR, month, 10), today=AFTER,
               attendance=everyone(full), lecturer=full.people[0])
        if month <= 6:
            record(half, ["theme_day"], dt.date(YEAR, month, 10), today=AFTER)
    record(full, ["org_life_meeting", "member_appraisal"], dt.date(YEAR, 12, 5), today=AFTER)
    record(full, ["talk"], dt.date(YEAR, 6, 5), today=AFTER, talk_parties=full.people[:2])
    services.save_scheme(None, YEAR, base_rules(basis="compliance", caps=[{"missing_above": 3, "max_level": "star3"}]))
    services.run_rating(None, YEAR, today=AFTER)  # refreshes the year's compliance rows first
    got = stored()
    for code in ("C1", "C2", "CZ01", "JY01"):
        met = missing = 0
        for row in ComplianceRow.objects.filter(org__code=code, period_start__year=YEAR):
            status = compliance.current_status(row, AFTER)
            met += status == "met"
            missing += status == "missing"
        r = got[code]
        assert r.missing_count == missing, code
        assert r.score == (Decimal(met * 100) / (met + missing)).quantize(Decimal("0.01")), code
        if missing > 3:
            assert r.level not in ("model", "star5", "star4"), code
    assert got["C1"].level == "model" and got["C2"].level == "lagging"


# ---- weak organizations ------------------------------------------------------------------------

def test_weak_case_is_tracked_to_closure_and_cannot_close_without_verification(tree, personas):
    staff = personas["wc_admin"]
    w = services.identify_weak(staff, tree["a1"], identified_on=dt.date(2026, 1, 10), reasons="连续三个月未开展组织生活",
                               today=AFTER)
    assert w.status == "identified" and w.source == "manual" and w.identified_by == staff
    with pytest.raises(RatingError, match="已有未销号的软弱涣散整顿"):
        services.identify_weak(staff, tree["a1"], identified_on=dt.date(2026, 1, 11), reasons="重复", today=AFTER)
    with pytest.raises(RatingError, match="尚未制定整顿方案，不能销号"):
        services.close_weak(staff, w, closed_on=AFTER, verification="已验收", today=AFTER)
    with pytest.raises(RatingError, match="整顿时限：不能早于认定日期"):
        services.set_plan(staff, w, measures="配齐班子", responsible="张某", deadline=dt.date(2025, 12, 1), today=AFTER)
    services.set_plan(personas["unit_admin_a"], w, measures="补选支部委员；每月主题党日固定时间", responsible="机关党委副书记 张某",
                      deadline=dt.date(2026, 6, 30), today=AFTER)
    assert w.status == "overhauling"
    services.add_note(personas["unit_admin_a"], w, noted_on=dt.date(2026, 2, 1), text="已召开党员大会补选委员", today=AFTER)
    item = Item.objects.get(source="overhaul", source_id=w.pk)
    assert (item.org_id, item.list, item.deadline, item.opened_on) == (w.org_id, "task", dt.date(2026, 6, 30),
                                                                       dt.date(2026, 1, 10))
    assert "机关党委副书记 张某" in item.description and item.issuer == tree["wc"]
    with pytest.raises(RatingError, match="须由整顿单位申请销号后方可验收销号"):
        services.close_weak(staff, w, closed_on=AFTER, verification="已验收", today=AFTER)
    with pytest.raises(RatingError, match="整改情况及佐证：必填"):
        services.request_close(personas["unit_admin_a"], w, evidence=" ", today=AFTER)
    assert Item.objects.get(pk=item.pk).status == "pending"  # nothing partial: not even signed
    services.request_close(personas["unit_admin_a"], w, evidence="委员已补齐，会议记录附后", today=AFTER)
    assert Item.objects.get(pk=item.pk).status == "closing"
    before = (AuditEntry.objects.count(), WeakOrg.objects.get(pk=w.pk).status)
    for verification in ("", "   "):
        with pytest.raises(RatingError) as exc:
            services.close_weak(staff, w, closed_on=AFTER, verification=verification, today=AFTER)
        assert exc.value.field == "verification" and "验收意见：必填" in exc.value.message
    with pytest.raises(RatingError, match="销号日期：不能晚于今天"):
        services.close_weak(staff, w, closed_on=AFTER + dt.timedelta(days=1), verification="已验收", today=AFTER)
    w.refresh_from_db()
    assert (AuditEntry.objects.count(), w.status) == before and w.closed_on is None and w.verification == ""
    services.close_weak(staff, w, closed_on=AFTER, verification="实地查看会议记录，访谈党员 5 名，整顿措施全部完成", today=AFTER)
    w.refresh_from_db()
    assert (w.status, w.closed_on, w.closed_by) == ("closed", AFTER, staff)
    item.refresh_from_db()
    assert (item.status, item.closed_on) == ("closed", AFTER)
    assert [e.kind for e in item.events.order_by("id")] == ["open", "note", "sign", "request", "close"]
    for write in (lambda: services.add_note(staff, w, noted_on=AFTER, text="x", today=AFTER),
                  lambda: services.withdraw_weak(staff, w, reason="x")):
        with pytest.raises(RatingError, match="已销号，不能"):
            write()
    notes = {e.note for e in AuditEntry.objects.filter(table="ratings.weakorg", object_id=w.pk)}
    assert notes == {"认定为软弱涣散党组织", "制定整顿方案", "验收销号"}
    # closed: a new case may be opened later
    services.identify_weak(staff, tree["a1"], identified_on=AFTER, reasons="再次出现问题", today=AFTER)


def test_weak_identification_checks(tree):
    with pytest.raises(RatingError, match="针对基层党组织"):
        services.identify_weak(None, tree["wc"], identified_on=AFTER, reasons="x", today=AFTER)
    with pytest.raises(RatingError, match="认定原因：必填"):
        services.identify_weak(None, tree["a1"], identified_on=AFTER, reasons=" ", today=AFTER)
    with pytest.raises(RatingError, match="不能早于组织成立日期"):
        services.identify_weak(None, tree["a1"], identified_on=dt.date(2010, 1, 1), reasons="x", today=AFTER)
    assert not WeakOrg.objects.exists()


# ---- pages -------------------------------------------------------------------------------------

@pytest.fixture
def rated(ten):
    set_rules(YEAR, ten["scheme"], quotas={"model": 0.2, "star5": 0.4},
              caps=[{"alert": "term_expired", "max_level": "star3"}])
    services.run_rating(None, YEAR, today=AFTER, refresh=False)
    return ten


def ratings_urls(tree, weak_pk):
    return [f"/ratings/?year={YEAR}", f"/ratings/export.xlsx?year={YEAR}", f"/ratings/org/{tree['a1'].pk}/",
            f"/ratings/org/{tree['a'].pk}/", "/ratings/weak/", "/ratings/weak/?tab=candidates&year=2025",
            f"/ratings/weak/{weak_pk}/", f"/ratings/commendation/?year={YEAR}",
            f"/ratings/commendation/export.xlsx?year={YEAR}", f"/ratings/rules/?year={YEAR}",
            "/ratings/weak/export.xlsx"]


def test_pages_by_persona(rated, personas):
    tree = rated
    w = services.identify_weak(None, tree["a1"], identified_on=AFTER, reasons="书记空缺超过三个月", today=AFTER)
    urls = ratings_urls(tree, w.pk)
    for who in ("wc_admin", "leader", "unit_admin_a"):
        c = login(personas[who])
        for url in urls:
            assert c.get(url).status_code == 200, (who, url)
    for who in ("secretary_a1", "member_a"):
        c = login(personas[who])
        for url in urls + ["/ratings/weak/new/"]:
            assert c.get(url).status_code == 404, (who, url)
    # unitb: 教育局's branches only; 财政局's org pages and case are 404
    c = login(personas["unit_admin_b"])
    page = text(c.get(f"/ratings/?year={YEAR}"))
    odd = [b.code for i, b in enumerate(tree["branches"]) if i % 2]
    even = [b.code for i, b in enumerate(tree["branches"]) if not i % 2]
    assert all(f'data-org="{code}"' in page for code in even)
    assert not any(f'data-org="{code}"' in page for code in odd) and "财政局" not in page
    for url in (f"/ratings/org/{tree['a1'].pk}/", f"/ratings/org/{tree['a'].pk}/", f"/ratings/weak/{w.pk}/"):
        assert c.get(url).status_code == 404, url
    assert c.get(f"/ratings/org/{tree['b1'].pk}/").status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(c.get(f"/ratings/export.xlsx?year={YEAR}").getvalue()))
    codes = {row[1] for row in book.active.iter_rows(min_row=2, values_only=True)}
    assert codes == set(even) | {"JY01"}


def test_overview_counts_filters_and_export(rated, personas):
    c = login(personas["wc_admin"])
    page = text(c.get(f"/ratings/?year={YEAR}"))
    assert 'data-level="model"' in page and "ratings-chart" in page and "vendor/echarts.min.js" in page
    chart = json.loads(page.split('id="ratings-chart" type="application/json">')[1].split("</script>")[0])
    assert dict(zip(chart["codes"], chart["counts"])) == {
        "model": 1, "star5": 3, "star4": 1, "star3": 2, "star2": 1, "star1": 1, "lagging": 1, "unrated": 2}
    filtered = text(c.get(f"/ratings/?year={YEAR}&level=star3"))
    assert 'data-org="R03"' in filtered and 'data-org="R06"' in filtered and 'data-org="R00"' not in filtered
    capped = text(c.get(f"/ratings/?year={YEAR}&flag=capped"))
    assert 'data-org="R03"' in capped and 'data-org="R06"' not in capped
    bad = text(c.get("/ratings/?year=20x5&level=nine&flag=odd&unit=abc"))
    assert "年度“20x5”无效" in bad and "星级“nine”不存在" in bad and "单位参数“abc”无效" in bad
    r = c.get(f"/ratings/export.xlsx?year={YEAR}&level=star5")
    rows = list(openpyxl.load_workbook(io.BytesIO(r.getvalue())).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("党支部", "组织代码", "所属单位", "得分", "星级")
    assert sorted(row[1] for row in rows[1:]) == ["R01", "R02", "R04"]
    assert AuditEntry.objects.filter(table="core.export", action="export").count() == 1
    # no rating for the year yet, and nothing to rate it by: the page says why, offers no button
    page = text(c.get("/ratings/?year=2024"))
    assert "2024 年没有任何组织生活记录" in page and "不能评定" in page and "run-rating" not in page
    assert "2024 年尚未进行星级评定" in text(login(personas["leader"]).get("/ratings/?year=2024"))
    assert c.get("/ratings/export.xlsx?year=2024").status_code == 302


def test_org_history_and_commendation_pages(rated, personas):
    c = login(personas["leader"])
    b0 = rated["branches"][0]
    page = text(c.get(f"/ratings/org/{b0.pk}/"))
    assert 'data-year="2025" data-level="model"' in page and "3 次平均" not in page and "4 次平均 99.00 分" in page
    unit = text(c.get(f"/ratings/org/{rated['b'].pk}/"))
    assert "下属党支部历年星级分布" in unit and 'data-year="2025"' in unit
    listing = text(c.get(f"/ratings/commendation/?year={YEAR}"))
    assert all(f'data-org="{code}"' in listing for code in ("R00", "R01", "R02", "R04"))
    assert 'data-org="R03"' not in listing
    book = openpyxl.load_workbook(io.BytesIO(c.get(f"/ratings/commendation/export.xlsx?year={YEAR}").getvalue()))
    assert len(list(book.active.iter_rows(min_row=2))) == 4


def test_only_committee_staff_rate_and_change_the_rules(rated, personas):
    for who in ("unit_admin_a", "leader"):
        c = login(personas[who])
        assert c.post("/ratings/run/", {"year": str(YEAR)}).status_code == 404
        page = text(c.get(f"/ratings/rules/?year={YEAR}"))
        assert "保存评定办法" not in page and "五星 95 分" in page
        before = RatingScheme.objects.get(year=YEAR).thresholds
        assert c.post("/ratings/rules/", {"year": str(YEAR), "basis": "compliance"}).status_code == 404
        assert RatingScheme.objects.get(year=YEAR).thresholds == before
    c = login(personas["wc_admin"])
    assert "保存评定办法" in text(c.get(f"/ratings/rules/?year={YEAR}"))
    data = {"year": str(YEAR), "basis": "assessment", "assessment_scheme": str(rated["scheme"].pk),
            "cycles": ["quarterly"], "line_star5": "95", "line_star4": "85", "line_star3": "75", "line_star2": "65",
            "line_star1": "60", "quota_model": "20", "quota_star5": "40", "alert_term_expired": "star3",
            "missing_above_1": "3", "missing_level_1": "star3", "weak_cap": "star1",
            "commendation_levels": ["model", "star5"], "commendation_no_alerts": "on", "weak_levels": ["lagging"],
            "source": "市直机关工委 2025 年 3 号文"}
    bad = c.post("/ratings/rules/", {**data, "line_star4": "96"})
    assert bad.status_code == 200 and "五星 &gt; 四星" in text(bad)
    assert c.post("/ratings/rules/", {**data, "missing_level_1": ""}).status_code == 200
    assert RatingScheme.objects.get(year=YEAR).source != data["source"]
    ok = c.post("/ratings/rules/", data)
    assert ok.status_code == 302
    scheme = RatingScheme.objects.get(year=YEAR)
    assert scheme.source == data["source"] and {"missing_above": 3, "max_level": "star3"} in scheme.caps
    assert scheme.quotas == {"model": 0.2, "star5": 0.4}
    assert "市直机关工委 2025 年 3 号文" in text(c.get(f"/ratings/rules/?year={YEAR}"))
    r = c.post("/ratings/run/", {"year": str(YEAR)})
    assert r.status_code == 302 and r["Location"] == f"/ratings/?year={YEAR}"
    assert RatingRun.objects.get(year=YEAR).computed_by == personas["wc_admin"]
    msg = c.post("/ratings/run/", {"year": "2030"}, follow=True)
    assert "尚未开始，不能评定" in text(msg)


def test_weak_pages_identify_plan_note_close(rated, personas):
    staff = login(personas["wc_admin"])
    r9 = rated["branches"][9]
    candidates = text(staff.get(f"/ratings/weak/?tab=candidates&year={YEAR}"))
    assert f'data-org="{r9.code}"' in candidates and "研究认定" in candidates
    form = text(staff.get(f"/ratings/weak/new/?org={r9.pk}&year={YEAR}"))
    assert f'value="{r9.code}"' in form and "2025 年星级评定为后进" in form
    bad = staff.post("/ratings/weak/new/", {"org_code": "NOPE", "identified_on": AFTER.isoformat(), "reasons": "x"})
    assert bad.status_code == 200 and "未找到组织代码“NOPE”，或不在您的管理范围内" in text(bad)
    r = staff.post("/ratings/weak/new/", {"org_code": r9.code, "identified_on": AFTER.isoformat(),
                                          "reasons": "后进，组织生活不正常", "rating_year": str(YEAR)})
    assert r.status_code == 302
    w = WeakOrg.objects.get(org=r9)
    assert (w.source, w.rating_year) == ("rating", YEAR)
    assert f'data-org="{r9.code}"' not in text(staff.get(f"/ratings/weak/?tab=candidates&year={YEAR}"))

    unit = login(personas["unit_admin_b"] if r9.parent_id == rated["b"].pk else personas["unit_admin_a"])
    page = text(unit.get(f"/ratings/weak/{w.pk}/"))
    assert "保存整顿方案" in page and "验收销号" not in page
    bad = unit.post(f"/ratings/weak/{w.pk}/plan/", {"measures": "", "responsible": "张某", "deadline": "2026-06-30"})
    assert bad.status_code == 200 and "请填写整顿措施" in text(bad)
    assert unit.post(f"/ratings/weak/{w.pk}/plan/", {"measures": "配齐班子", "responsible": "张某",
                                                     "deadline": "2026-06-30"}).status_code == 302
    assert unit.post(f"/ratings/weak/{w.pk}/note/", {"noted_on": "2026-03-01", "text": "补选委员"}).status_code == 302
    closing = {"closed_on": "2026-03-01", "verification": "x"}
    assert unit.post(f"/ratings/weak/{w.pk}/close/", closing).status_code == 404
    leader = login(personas["leader"])
    assert leader.post(f"/ratings/weak/{w.pk}/note/", {"noted_on": "2026-03-01", "text": "x"}).status_code == 404
    assert leader.post(f"/ratings/weak/{w.pk}/request/", {"evidence": "x"}).status_code == 404
    assert ItemEvent.objects.filter(item__source="overhaul", item__source_id=w.pk, kind="note").count() == 1
    early = staff.post(f"/ratings/weak/{w.pk}/close/", {"closed_on": "2026-03-01", "verification": "查看记录"})
    assert early.status_code == 200 and "须由整顿单位申请销号" in text(early)
    bad = unit.post(f"/ratings/weak/{w.pk}/request/", {"evidence": ""})
    assert bad.status_code == 200 and "请填写整顿情况及佐证" in text(bad)
    assert unit.post(f"/ratings/weak/{w.pk}/request/", {"evidence": "班子配齐，记录附后"}).status_code == 302
    page = text(unit.get(f"/ratings/weak/{w.pk}/"))
    assert "申请销号" in page and "班子配齐，记录附后" in page and "/items/" in page
    refused = staff.post(f"/ratings/weak/{w.pk}/close/", {"closed_on": "2026-03-01", "verification": ""})
    assert refused.status_code == 200 and "请填写验收意见" in text(refused)
    assert WeakOrg.objects.get(pk=w.pk).status == "overhauling"
    assert staff.post(f"/ratings/weak/{w.pk}/close/", {"closed_on": "2026-03-01",
                                                       "verification": "查看记录，访谈党员，整顿完成"}).status_code == 302
    page = text(staff.get(f"/ratings/weak/{w.pk}/"))
    assert 'data-status="closed"' in page and "查看记录，访谈党员，整顿完成" in page and "验收销号" in page
    listing = text(staff.get("/ratings/weak/?status=closed"))
    assert f'data-org="{r9.code}" data-status="closed"' in listing


def test_an_inspector_names_weak_organizations_of_its_assigned_units_only(rated):
    """督查考核员: an inspection team names a weak organization in the units it is assigned to;
    another unit's organization is outside its scope, and closing a case stays the committee's."""
    tree = rated
    r9 = rated["branches"][9]
    unit = rated["b"] if r9.parent_id == rated["b"].pk else rated["a"]
    other = next(b for b in rated["branches"] if b.parent_id != unit.pk)
    inspector = login(factories.user("inspector", unit, username="inspector_unit"))
    page = text(inspector.get("/ratings/weak/"))
    assert 'href="/ratings/weak/new/"' in page
    assert inspector.get("/ratings/weak/new/").status_code == 200
    # The form's autocomplete offers the inspector's units' organizations only.
    found = text(inspector.get(f"/orgs/lookup/?capability=inspect&kind=branch&q={r9.code}"))
    assert r9.name in found
    assert other.name not in text(inspector.get(f"/orgs/lookup/?capability=inspect&kind=branch&q={other.code}"))
    refused = inspector.post("/ratings/weak/new/", {"org_code": other.code, "identified_on": AFTER.isoformat(),
                                                   "reasons": "组织生活不正常"})
    assert refused.status_code == 200 and "不在您的管理范围内" in text(refused)
    assert not WeakOrg.objects.filter(org=other).exists()
    done = inspector.post("/ratings/weak/new/", {"org_code": r9.code, "identified_on": AFTER.isoformat(),
                                                "reasons": "督查发现：组织生活不正常，书记长期空缺"})
    assert done.status_code == 302
    w = WeakOrg.objects.get(org=r9)
    assert w.identified_by.username == "inspector_unit" and w.source == "manual"
    closing = {"closed_on": "2026-03-01", "verification": "整顿完成"}
    assert inspector.post(f"/ratings/weak/{w.pk}/close/", closing).status_code == 404
    assert inspector.post(f"/ratings/weak/{w.pk}/withdraw/", {"reason": "x"}).status_code == 404
    assert WeakOrg.objects.get(pk=w.pk).is_open
    # A leader (read-only) still names nothing.
    leader = login(factories.user("leader", tree["wc"], username="leader_ro"))
    assert leader.get("/ratings/weak/new/").status_code == 404


# ---- set-based: query counts do not grow -------------------------------------------------------

def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx)


def test_query_counts_do_not_grow_with_the_tree(rated, personas):
    c = login(personas["wc_admin"])
    w = services.identify_weak(None, rated["a1"], identified_on=AFTER, reasons="x", today=AFTER)
    services.set_plan(None, w, measures="m", responsible="r", deadline=AFTER, today=AFTER)
    services.add_note(personas["wc_admin"], w, noted_on=AFTER, text="n", today=AFTER)
    urls = [u for u in ratings_urls(rated, w.pk)]

    def measure():
        pages = {u: _count(lambda u=u: c.get(u)) for u in urls}
        rating = _count(lambda: services.run_rating(None, YEAR, today=AFTER, refresh=False))
        return pages, rating

    services.run_rating(None, YEAR, today=AFTER, refresh=False)
    small = measure()
    more = [branch_with(rated["a" if i % 2 else "b"], full=4) for i in range(14)]
    for i, b in enumerate(more):
        for run in Run.objects.filter(scheme=rated["scheme"]):
            TargetScore.objects.create(run=run, org=b, total=Decimal(60 + 3 * i), grade="fair", place=1)
        if i % 3 == 0:
            services.identify_weak(None, b, identified_on=AFTER, reasons="x", today=AFTER)
    org_services.set_current_term(None, more[0], dt.date(2021, 1, 1), dt.date(2024, 1, 1))
    services.run_rating(None, YEAR, today=AFTER, refresh=False)
    large = measure()
    assert Rating.objects.filter(year=YEAR).count() == 26
    assert large == small


# ---- the command and the demo ------------------------------------------------------------------

def test_ratings_command_json(rated):
    out = io.StringIO()
    call_command("ratings", "--year", str(YEAR), "--format", "json", "--today", AFTER.isoformat(), "--no-refresh",
                 stdout=out)
    rows = json.loads(out.getvalue())
    assert len(rows) == 12
    for r in rows:
        assert set(r) == {"org_code", "org_name", "level", "score", "reasons"}
        assert isinstance(r["reasons"], list) and all(isinstance(x, str) for x in r["reasons"])
    by_code = {r["org_code"]: r for r in rows}
    assert by_code["R00"]["level"] == "model" and by_code["R00"]["score"] == 99.0
    assert by_code["CZ01"]["score"] is None and by_code["CZ01"]["level"] == "unrated"
    table = io.StringIO()
    call_command("ratings", "--year", str(YEAR), "--today", AFTER.isoformat(), "--no-refresh", stdout=table)
    assert "示范 1" in table.getvalue() and "R00" in table.getvalue()
    with pytest.raises(CommandError, match="不是有效的年份"):
        call_command("ratings", "--year", "二〇二五")
    with pytest.raises(CommandError, match="尚未开始"):
        call_command("ratings", "--year", "2030", "--today", AFTER.isoformat())


def test_demo_rates_the_years_with_data_and_opens_weak_cases(tree, personas):
    today = dt.date(2025, 11, 20)
    branches = [branch_with(tree["a" if i % 2 else "b"], full=5, code=f"D{i:02d}") for i in range(8)]
    for i, b in enumerate(branches):
        for month in range(1, 11):
            if month % (i + 1) == 0 or i < 3:
                record(b, ["theme_day", "committee_meeting"], dt.date(2025, month, 12), today=today)
    compliance.recompute(dt.date(2025, 1, 1), today, today=today)
    out = demo.build(today)
    assert list(out["years"]) == [2025] and not out["years"][2025]["from_assessment"]
    assert "按组织生活按规定落实率评定" in out["message"]
    assert out["years"][2025]["branches"] == 10
    statuses = dict(WeakOrg.objects.values_list("org__code", "status"))
    assert statuses and set(statuses.values()) <= {"identified", "overhauling", "closed"}
    closed = WeakOrg.objects.filter(status="closed")
    assert all(w.verification for w in closed)
    assert out["weak"]["cases"] == len(statuses)
    # the weak cases of the year cap the re-rated levels
    assert all(Rating.objects.get(year=2025, org__code=code).weak for code in statuses)


def test_demo_without_data_says_so(db):
    out = demo.build(dt.date(2025, 11, 20))
    assert out["years"] == {} and "未进行星级评定" in out["message"]



def test_reasons_are_the_markup_the_template_loop_wrote():
    """ratings/_reasons.html writes the reasons through `{% rating_reasons %}`: the same bytes
    the loop it replaces wrote, binding reasons in bold, values escaped."""
    from django.template import Context, Template
    from django.template.loader import get_template

    loop = Template('<ol class="small mb-0 ps-3 reasons">{% for x in r.reasons %}<li data-kind="{{ x.kind }}"'
                    '{% if x.binding %} class="fw-semibold"{% endif %}>{{ x.text }}</li>{% endfor %}</ol>\n')
    for reasons in ([], [{"kind": "score", "text": "得分 86.5 <分> & “优秀”"},
                         {"kind": "cap's", "text": "封顶", "binding": True}, {"kind": "x", "text": "", "binding": False}]):
        r = {"reasons": reasons}
        assert get_template("ratings/_reasons.html").render({"r": r}) == loop.render(Context({"r": r}))

"""Rule pages show Chinese labels and cite regulations by name and article — never a code
(`general_meeting`) or a file name (`rules/defaults.yaml`, `SOURCES.md`) — and so do the other pages
that show a rule or its source (ratings rules, assessment schemes, duty items). Sources seeded with
the old wording are corrected where staff left them as seeded; a file name typed as a source is
refused in Chinese."""
import datetime as dt
import html
import importlib
import re
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from dangjian.activities import seed as rule_defaults
from dangjian.activities.models import KIND_LABELS, ActivityRule
from dangjian.assessment import services as assessment_services
from dangjian.core import text as core_text
from dangjian.core.models import AuditEntry
from dangjian.ratings import rules as rating_rules
from dangjian.ratings import services as rating_services
from dangjian.ratings.models import RatingScheme
from tests.factories import login

TODAY = timezone.localdate()
FILE_WORDS = ("defaults.yaml", "duties.yaml", "SOURCES.md", ".yaml", ".md", "star_rating", "burden_reduction")
RULE_CODES = tuple(spec["code"] for spec in rule_defaults.rule_specs())
# A regulation cited by its full name in 《》 and an article: “《中国共产党支部工作条例（试行）》第十一条”.
CITATION = re.compile(r"《[^》]+》第[一二三四五六七八九十]+条")


def visible(page: str) -> str:
    """What a reader sees: the text, and the attributes shown as text (titles, placeholders, labels)."""
    shown = re.findall(r'(?:title|placeholder|aria-label)="([^"]*)"', page)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + " ".join(shown))


def assert_no_codes(text: str, codes=RULE_CODES):
    for word in (*FILE_WORDS, *codes):
        assert word not in text, word


# ---- the rule pages --------------------------------------------------------------------------------

def test_every_seeded_rule_cites_a_regulation_by_name_and_article(db):
    for spec in rule_defaults.rule_specs():
        assert "《" in spec["source"] and "》" in spec["source"], spec["code"]
        assert not core_text.file_name_in(spec["source"]), spec["code"]
        if spec["confirmed"] and spec["code"] != "democratic_life_meeting":  # its article is not known
            assert CITATION.search(spec["source"]), spec["code"]
    assert ActivityRule.objects.get(code="general_meeting").source == "《中国共产党支部工作条例（试行）》第十一条"


@pytest.mark.parametrize("who", ["wc_admin", "member_a"])
def test_rule_list_and_rule_pages_show_no_code_or_file_name(personas, who):
    c = login(personas[who])
    listing = c.get("/activities/rules/").content.decode()
    # Not even in the markup: the list and the rule's page carry ids, not codes.
    assert_no_codes(listing)
    assert "《中国共产党支部工作条例（试行）》第十一条" in visible(listing)
    for rule in ActivityRule.objects.all():
        page = c.get(f"/activities/rules/{rule.pk}/").content.decode()
        assert_no_codes(page)
        assert KIND_LABELS[rule.kind] in visible(page)
    secretary_lecture = ActivityRule.objects.get(code="party_lecture_by_secretary")
    page = visible(c.get(f"/activities/rules/{secretary_lecture.pk}/").content.decode())
    assert "由本组织书记讲授" in page  # told apart from the other 党课 requirement by words, not its code


def test_rule_change_form_shows_no_code_or_file_name(personas):
    rule = ActivityRule.objects.get(code="general_meeting")
    page = visible(login(personas["wc_admin"]).get(f"/activities/rules/{rule.pk}/change/").content.decode())
    assert_no_codes(page)
    assert "如“《中国共产党支部工作条例（试行）》第十一条”" in page


def test_a_file_name_as_a_source_is_refused_in_chinese(personas):
    rule = ActivityRule.objects.get(code="theme_day")
    month = TODAY.replace(day=1) + dt.timedelta(days=40)
    data = {"effective_from": month.replace(day=1).isoformat(), "period": rule.period, "min_count": "2",
            "quorum": rule.quorum, "org_kinds": list(rule.org_kinds), "condition": rule.condition,
            "source": "rules/defaults.yaml", "note": ""}
    before = ActivityRule.objects.count()
    r = login(personas["wc_admin"]).post(f"/activities/rules/{rule.pk}/change/", data)
    assert r.status_code == 200
    assert "依据：请写法规或文件的名称和条款，不要写文件名（“rules/defaults.yaml”）" in html.unescape(r.content.decode())
    assert ActivityRule.objects.count() == before


def test_compliance_page_cites_rules_without_codes(tree, personas):
    page = visible(login(personas["wc_admin"]).get(
        f"/activities/org/{tree['a1'].pk}/compliance/?year={TODAY.year}").content.decode())
    assert "《中国共产党党员教育管理工作条例》第十六条" in page
    assert_no_codes(page)


# ---- ratings rules, assessment schemes --------------------------------------------------------------

def test_ratings_rules_page_cites_no_file(tree, personas):
    for year in (TODAY.year, TODAY.year + 1):  # one stored, one proposed from the defaults
        if year == TODAY.year:
            rating_services.ensure_scheme(None, year)
        page = visible(login(personas["wc_admin"]).get(f"/ratings/rules/?year={year}").content.decode())
        assert "依据：本地默认值（国家未规定星级评定标准）" in page
        assert_no_codes(page, codes=("star5", "term_expired", "quarterly"))
    assert rating_services.proposed(TODAY.year + 1)[1] in ("按平台默认值建立", f"复制自 {TODAY.year} 年办法")


def test_a_file_name_in_the_rating_source_is_refused(tree):
    with pytest.raises(rating_rules.RatingError, match="依据：请写法规或文件的名称和条款，不要写文件名"):
        rating_services.save_scheme(None, TODAY.year, {
            **rating_rules.default_rules().as_fields(), "assessment_scheme": None, "basis": "compliance",
            "source": "见 SOURCES.md 7.6"})


def test_assessment_pages_show_labels_not_codes(tree, personas):
    s = assessment_services.create_scheme(None, code="K", name="考核方案", year=2025, level="unit")
    assessment_services.save_indicators(None, s, [
        dict(category="组织生活", name="主题党日按月开展", weight=60, method="metric", metric="compliance_rate",
             params={"rule": "theme_day"}),
        dict(category="组织建设", name="组织设置规范", weight=40, method="metric", metric="alerts_clear")])
    c = login(personas["wc_admin"])
    metric_codes = ("compliance_rate", "attendance_rate", "alerts_clear")
    detail = visible(c.get(f"/assessment/schemes/{s.pk}/").content.decode())
    assert "限于：主题党日（每月）" in detail
    assert_no_codes(detail, codes=RULE_CODES + metric_codes)
    editor = visible(c.get(f"/assessment/schemes/{s.pk}/indicators/").content.decode())
    assert "组织生活按规定落实率" in editor and "主题党日（每月）" in editor
    assert_no_codes(editor, codes=RULE_CODES + metric_codes + ("mode=",))


def test_indicator_errors_name_no_codes(tree):
    s = assessment_services.create_scheme(None, code="E", name="方案", year=2025, level="unit")
    for spec, words in [
        (dict(metric="online"), "请选择计算指标，可选：“组织生活按规定落实率”"),
        (dict(metric="alerts_clear", params={"rule": "theme_day"}), "“组织设置规范率”不能限定组织生活要求"),
        (dict(metric="compliance_rate", params={"rule": "nope"}), "所选的组织生活要求不存在或已停止执行"),
    ]:
        with pytest.raises(assessment_services.AssessmentError) as exc:
            assessment_services.save_indicators(None, s, [dict(category="组织生活", name="指标", weight=100,
                                                               method="metric", **spec)])
        assert words in exc.value.message
        assert not re.search(r"[a-z_]{4,}", exc.value.message), exc.value.message


# ---- seeded wording corrected on existing installations ----------------------------------------

def _migration(app, name):
    return importlib.import_module(f"dangjian.{app}.migrations.{name}")


def _run(function):
    from django.apps import apps

    function(apps, SimpleNamespace(connection=connection))


def test_rule_sources_seeded_before_are_corrected_unless_staff_edited_them(db):
    m = _migration("activities", "0004_rule_sources_cite_regulations")
    for code, (_old, new) in m.SOURCES.items():
        spec = next(s for s in rule_defaults.rule_specs() if s["code"] == code)
        assert spec["source"] == new, code  # the migration writes what a fresh install is seeded with
    ActivityRule.objects.filter(code="general_meeting").update(source="支部工作条例(2018) 第十一条")
    ActivityRule.objects.filter(code="theme_day").update(source="市直机关工委 2026 年 3 号文")  # a staff edit
    _run(m.cite_in_full)
    assert ActivityRule.objects.get(code="general_meeting").source == "《中国共产党支部工作条例（试行）》第十一条"
    assert ActivityRule.objects.get(code="theme_day").source == "市直机关工委 2026 年 3 号文"
    entry = AuditEntry.objects.get(table="activities.activityrule")
    assert entry.user is None and entry.changes["source"][1].startswith("《") and "法规全称" in entry.note
    _run(m.cite_in_full)  # again: nothing left to correct
    assert AuditEntry.objects.filter(table="activities.activityrule").count() == 1


def test_rating_sources_written_with_file_names_are_corrected(db):
    m = _migration("ratings", "0002_scheme_source_without_file_names")
    assert m.NEW == rating_rules.default_source()
    RatingScheme.objects.create(year=2024, basis="compliance", source=m.OLD)
    RatingScheme.objects.create(year=2025, basis="compliance", source="市直机关工委 2025 年 5 号文")
    _run(m.without_file_names)
    assert RatingScheme.objects.get(year=2024).source == m.NEW
    assert RatingScheme.objects.get(year=2025).source == "市直机关工委 2025 年 5 号文"
    assert AuditEntry.objects.filter(table="ratings.ratingscheme").count() == 1

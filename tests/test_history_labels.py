"""Change histories read in Chinese only: every field by its Chinese label, JSON values as the words
their codes stand for, internal and derived columns (ordering positions, codes, hashes, paths,
computed stamps) never, and no field without a Chinese name — on every page that shows a history."""
import datetime as dt
import html
import re
from decimal import Decimal

from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.utils import timezone

from dangjian.activities import services as acts
from dangjian.activities.models import ActivityRule
from dangjian.assessment import services as assessment_services
from dangjian.core import history
from dangjian.core.models import AuditEntry
from dangjian.duties import services as duty_services
from dangjian.duties.models import DutyItem
from dangjian.members import services as member_services
from dangjian.orgs import services as org_services
from dangjian.ratings import services as rating_services
from dangjian.reviews import services as review_services
from dangjian.reviews.models import VoterGroup
from tests.factories import login

TODAY = timezone.localdate()
MONTH_START = TODAY.replace(day=1)
# What a history must never print: Python's dict/list syntax, quotes, and English words (codes,
# attribute names). Usernames are the only Latin text a history table holds (its 操作人 column),
# and file types read as their common names.
PYTHON = re.compile(r"[{}\[\]'\"]")
LATIN = re.compile(r"[A-Za-z_]{2,}")
ALLOWED_LATIN = {"PDF", "JPG", "PNG", "Word", "Excel", "PowerPoint"}


def changes_text(rows: list[dict]) -> str:
    """Everything a history shows but the user column: object, action, note, each change."""
    out = []
    for r in rows:
        out += [r["object"], r["action"], r["note"]]
        out += [f"{c['label']}：{c['before']} → {c['after']}" for c in r["changes"]]
    return "\n".join(out)


def assert_readable(text: str, data: tuple[str, ...] = ()):
    """No Python syntax and no Latin words but the `data` users typed (an organization's code)."""
    assert not PYTHON.search(text), PYTHON.search(text).group(0) + " in " + text
    latin = set(LATIN.findall(text)) - ALLOWED_LATIN - set(data)
    assert not latin, f"{latin} in {text}"


def history_of(page: str) -> str:
    """The history table of a page, its 操作人 column dropped, as text."""
    table = re.search(r'<table class="[^"]*\bhistory\b[^"]*">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    kept = [c[:1] + c[2:] for c in cells if c]
    return html.unescape(re.sub(r"<[^>]+>", " ", "\n".join(" ".join(c) for c in kept)))


# ---- the formatter -------------------------------------------------------------------------------

def test_every_shown_json_field_is_read_by_its_model():
    """A JSON field a history would show needs its model to say how it reads (else it is left out):
    the check that no model of the project forgets one."""
    missing = []
    for model in apps.get_models():
        if not model.__module__.startswith("dangjian."):
            continue
        for f in model._meta.concrete_fields:
            if isinstance(f, models.JSONField) and history.shown(model, f) \
                    and f.attname not in getattr(model, "AUDIT_EXCLUDE", ()):
                if not hasattr(model, "history_display"):
                    missing.append(f"{model._meta.label}.{f.name}")
    assert not missing


def test_fields_without_a_chinese_name_and_internal_columns_are_never_shown():
    shown = {(m._meta.label, f.name) for m in apps.get_models() if m.__module__.startswith("dangjian.")
             for f in m._meta.concrete_fields if history.shown(m, f)}
    for label, name in [("reviews.VoterGroup", "position"), ("activities.ActivityRule", "position"),
                        ("activities.ActivityRule", "code"), ("assessment.Indicator", "position"),
                        ("assessment.Indicator", "scheme"), ("duties.DutyItem", "code"),
                        ("duties.DutyItem", "position"), ("orgs.Organization", "path"),
                        ("members.Member", "id_hash"), ("activities.Activity", "month"),
                        ("assessment.Run", "period_start"), ("ratings.RatingRun", "applied")]:
        assert (label, name) not in shown, (label, name)
    assert ("members.Member", "id_mask") in shown  # not editable, but what the history shows of the number
    for model_label, name in shown:
        label = history.label_of(apps.get_model(model_label)._meta.get_field(name))
        assert label and not LATIN.search(label), (model_label, name, label)


def test_unknown_json_is_left_out_and_unknown_fields_are_not_named(tree):
    org = tree["a1"]
    entry = AuditEntry.objects.create(table="orgs.organization", object_id=org.pk, action="update",
                                      changes={"name": ["旧名称", "新名称"], "path": ["0001/", "0002/"],
                                               "no_such_field": [1, 2]})
    rows = history.describe([entry])
    assert [(c["label"], c["before"], c["after"]) for c in rows[0]["changes"]] == [("组织名称", "旧名称", "新名称")]
    gone = AuditEntry.objects.create(table="nosuch.model", object_id=1, action="update", changes={"x": [1, 2]})
    row = history.describe([gone])[0]
    assert row["object"] == "记录" and row["changes"] == []


def test_number_and_percent_helpers():
    assert history.number(Decimal("90.00")) == "90" and history.number(92.5) == "92.5" and history.number("80") == "80"
    assert history.percent(0.3) == "30%" and history.percent("0.125") == "12.5%"


# ---- each page that shows a history ----------------------------------------------------------------

def test_rule_history_reads_org_kinds_and_hides_code_and_position(personas):
    rule = ActivityRule.objects.get(code="general_meeting", effective_to__isnull=True)
    new = acts.change_rule(None, rule, MONTH_START + dt.timedelta(days=40), org_kinds=["branch", "general_branch"],
                           period="month")
    page = login(personas["wc_admin"]).get(f"/activities/rules/{new.pk}/").content.decode()
    text = history_of(page)
    # a new version lists what differs from the one before (its kinds in the list's order)
    assert "适用组织类别：党总支、党支部" in text and "周期：每月" in text and "失效日期：（空） →" in text
    assert_readable(text)
    assert "general_meeting" not in text and "position" not in text and "规则代码" not in text


def test_review_history_reads_grade_points_and_hides_group_positions(tree, personas):
    review = review_services.create_review(None, tree["wc"], TODAY.year, "年度述职评议",
                                           grade_points={"excellent": 100, "good": 80, "fair": 60, "poor": 40})
    review_services.add_group(None, review, "党员代表", 60)
    review_services.update_review(None, review, title="年度述职评议",
                                  grade_points={"excellent": 95, "good": 80, "fair": 60, "poor": 40})
    rows = history.describe(history.entries_for({"reviews.dutyreview": [review.pk],
                                                 "reviews.votergroup": [g.pk for g in VoterGroup.objects.all()]}))
    text = changes_text(rows)
    assert "等次分值：好 100 分、较好 80 分、一般 60 分、差 40 分 → 好 95 分、较好 80 分、一般 60 分、差 40 分" in text
    assert_readable(text)
    page = login(personas["wc_admin"]).get(f"/reviews/{review.pk}/").content.decode()
    shown = history_of(page)
    assert "等次分值" in shown and "excellent" not in shown and "position" not in shown
    assert_readable(shown)


def test_rating_rules_history_reads_every_rule_in_words(tree, personas):
    year = TODAY.year
    rating_services.ensure_scheme(None, year)
    rating_services.save_scheme(None, year, {
        "basis": "compliance", "cycles": ["quarterly", "monthly"],
        "thresholds": {"model": 98, "star5": 95, "star4": 85, "star3": 75, "star2": 65, "star1": 60},
        "quotas": {"model": 0.05, "star5": 0.2}, "lagging_share": "0.1",
        "caps": [{"alert": "term_expired", "max_level": "star3"}, {"missing_above": 3, "max_level": "star2"},
                 {"weak": True, "max_level": "star1"}],
        "commendation": {"levels": ["model"], "no_alerts": True}, "weak_candidates": {"levels": ["lagging"]},
        "source": "市直机关工委 2026 年 5 号文", "assessment_scheme": None})
    page = login(personas["wc_admin"]).get(f"/ratings/rules/?year={year}").content.decode()
    text = history_of(page)
    for words in ("有“超期未换届”预警，最高三星", "应开未开超过 3 项，最高二星", "本年度被认定为软弱涣散党组织，最高一星",
                  "示范 98 分", "五星及以上不超过 20%", "后进最低比例", "10%", "评先推荐条件", "按平台默认值建立"):
        assert words in text, words
    assert_readable(text)
    for code in ("term_expired", "star3", "missing_above", "quarterly", "model", "lagging"):
        assert code not in text


def test_rating_rules_written_with_file_names_read_without_them(tree, personas):
    """Schemes and histories written before sources stopped naming files read without them."""
    year = TODAY.year
    scheme = rating_services.ensure_scheme(None, year)
    legacy = ("rules/defaults.yaml star_rating（本地默认值，原文待核对）：本地默认值：分数线与五星比例参照 SOURCES.md 7.6 "
              "所列地方星级评定做法")
    AuditEntry.objects.create(table="ratings.ratingscheme", object_id=scheme.pk, action="update",
                              changes={"source": [legacy, "市直机关工委 2026 年 5 号文"]},
                              note="按 rules/defaults.yaml 默认值建立")
    type(scheme).objects.filter(pk=scheme.pk).update(source=legacy)
    page = login(personas["wc_admin"]).get(f"/ratings/rules/?year={year}").content.decode()
    for word in ("defaults.yaml", "SOURCES.md", "star_rating", "7.6"):
        assert word not in page, word
    assert "按平台默认值建立" in history_of(page)


def test_assessment_scheme_page_shows_its_history_in_words(tree, personas):
    s = assessment_services.create_scheme(None, code="H", name="考核方案", year=2025, level="unit",
                                          thresholds={"excellent": 85, "good": 75, "fair": 60},
                                          quotas={"excellent": Decimal("0.3")})
    assessment_services.save_indicators(None, s, [
        dict(category="组织生活", name="主题党日按月开展", weight=60, method="metric", metric="compliance_rate",
             params={"rule": "theme_day"}),
        dict(category="组织建设", name="组织设置规范", weight=40, method="metric", metric="alerts_clear")])
    page = login(personas["wc_admin"]).get(f"/assessment/schemes/{s.pk}/").content.decode()
    text = history_of(page)
    for words in ("等次分数线：好 ≥ 85%、较好 ≥ 75%、一般 ≥ 60%", "等次比例上限：好不超过 30%",
                  "计算指标：组织生活按规定落实率", "计算参数：限于组织生活要求：主题党日（每月）", "指标（组织设置规范）"):
        assert words in text, words
    assert_readable(text)
    for code in ("theme_day", "compliance_rate", "alerts_clear", "excellent", "序号"):
        assert code not in text


def test_duty_item_history_reads_kinds_and_the_shared_mark(personas):
    item = DutyItem.objects.filter(code="lm_branch_life").order_by("-from_year").first()
    duty_services.change_item(None, item, 2000, kinds=["general_meeting", "theme_day"], min_count=2)
    manual = DutyItem.objects.filter(code="pgs_pledge").order_by("-from_year").first()
    duty_services.change_item(None, manual, 2000, fact="organ_committee_report", per="unit")
    admin = login(personas["wc_admin"])
    text = history_of(admin.get(f"/duties/items/edit/?item={item.pk}").content.decode())
    assert "计入的组织生活类型：支部党员大会、主题党日、党课、党小组会 → 支部党员大会、主题党日" in text
    assert "每周期至少次数：1 → 2" in text
    assert_readable(text)
    assert "general_meeting" not in text and "条目代码" not in text and "排序" not in text
    text = history_of(admin.get(f"/duties/items/edit/?item={manual.pk}").content.decode())
    assert "共用标记：（空） → 与党组书记“每半年至少听取一次机关党委工作汇报" in text
    assert "标记范围：每人分别标记 → 同一单位共用一次标记" in text
    assert_readable(text)
    assert "organ_committee_report" not in text and "条目代码" not in text and "排序" not in text


def test_weak_org_history_names_no_attribute(tree, personas):
    weak = rating_services.identify_weak(None, tree["a1"], identified_on=TODAY, reasons="书记空缺超过三个月")
    rating_services.set_plan(None, weak, measures="配齐支部班子", responsible="机关党委副书记", deadline=TODAY)
    rating_services.add_note(personas["wc_admin"], weak, noted_on=TODAY, text="召开支委会研究整顿方案")
    page = login(personas["wc_admin"]).get(f"/ratings/weak/{weak.pk}/").content.decode()
    text = history_of(page)
    assert "整顿措施：（空） → 配齐支部班子" in text and "召开支委会研究整顿方案" in page
    assert "weak" not in text
    assert_readable(text)


def test_activity_history_reads_attachment_types(tree, personas, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    a = acts.record_activity(None, tree["a1"], ["theme_day"], MONTH_START, topic="主题党日",
                             attachments=[SimpleUploadedFile("签到表.pdf", b"%PDF-1.4 test", "application/pdf")])
    text = history_of(login(personas["wc_admin"]).get(f"/activities/{a.pk}/").content.decode())
    assert "文件类型：PDF 文档" in text and "签到表.pdf" in text
    assert "application" not in text


def test_member_and_org_histories_read_in_chinese(tree, personas):
    member = tree["ma"]
    member_services.update_member(None, member, post="副处长", is_leader=True)
    org_services.update_org(None, tree["a1"], name="财政局机关第一党支部")
    org_services.fill_seat(None, tree["a1"], "secretary", member, MONTH_START)
    c = login(personas["wc_admin"])
    member_text = history_of(c.get(f"/members/{member.pk}/").content.decode())
    assert "职务：科员 → 副处长" in member_text and "领导干部：否 → 是" in member_text and "身份证号：" in member_text
    assert_readable(member_text)
    org_text = history_of(c.get(f"/orgs/{tree['a1'].pk}/").content.decode())
    assert "组织名称：财政局第一党支部 → 财政局机关第一党支部" in org_text and "委员职位（书记）" in org_text
    assert_readable(org_text, data=("CZ",))  # the code the organization was given


def test_duty_mark_history_reads_its_period_in_words(tree, personas):
    from tests.test_activities import branch_with

    b = branch_with(tree["a"], full=3, code="HM01")
    secretary = b.people[0]
    duty_services.mark_done(None, secretary, "bs_duty_report", str(TODAY.year), TODAY, "向机关党委述职", today=TODAY)
    page = login(personas["wc_admin"]).get(f"/duties/member/{secretary.pk}/?year={TODAY.year}").content.decode()
    text = history_of(page)
    assert f"周期：{TODAY.year}年度" in text and "完成情况：向机关党委述职" in text
    assert_readable(text)

"""The three older follow-up flows on the one rectification item: a 述职评议 comment, an
admonition's 整改要求 and a weak organization's overhaul. Their records so far are moved onto items
by migrations (checked here by migrating back, writing old rows and migrating forward), each
flow's page lists its items linked to the item's page, the weak case closes when its item is
closed wherever that is done, and bad input writes nothing."""
import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from dangjian.assessment import services as assessment_services
from dangjian.assessment.models import Admonition, Run, Scheme
from dangjian.core.models import AuditEntry
from dangjian.ratings import services as rating_services
from dangjian.ratings.models import WeakOrg
from dangjian.rectification import queries as rectification_queries
from dangjian.rectification import services as rectify
from dangjian.rectification.models import Item, ItemEvent
from dangjian.reviews import services as review_services
from dangjian.reviews.models import DutyReport, DutyReview
from tests.factories import login, page_text

TODAY = timezone.localdate()
BEFORE = [("reviews", "0007_report_version"), ("assessment", "0006_run_draft_and_final"),
          ("ratings", "0004_weakorg_version"), ("rectification", "0002_item_withdrawn")]


def _events(item) -> list[tuple[str, dt.date, str]]:
    return [(e.kind, e.on, e.text) for e in ItemEvent.objects.filter(item=item).order_by("id")]


def _run(tree, period="2025-06"):
    scheme = Scheme.objects.create(code="M2025", name="2025 年考核方案", year=2025, level="unit")
    return Run.objects.create(scheme=scheme, period=period, cycle="monthly", period_start=dt.date(2025, 6, 1),
                              period_end=dt.date(2025, 6, 30))


# ---- the data migrations -------------------------------------------------------------------------

def test_the_old_records_are_moved_onto_items_with_their_history(transactional_db, tree):
    executor = MigrationExecutor(connection)
    latest = [node for app in ("reviews", "assessment", "ratings", "rectification")
              for node in executor.loader.graph.leaf_nodes(app)]
    executor.migrate(BEFORE)
    old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    ReviewItem, WeakNote, OldWeak = (old.get_model(*m) for m in (("reviews", "ReviewItem"), ("ratings", "WeakNote"),
                                                                 ("ratings", "WeakOrg")))
    OldReview, OldReport = old.get_model("reviews", "DutyReview"), old.get_model("reviews", "DutyReport")

    # 述职评议: one comment open with a deadline, one done without one.
    review = OldReview.objects.create(org_id=tree["wc"].pk, year=2025, title="2025年度述职评议", status="closed")
    report = OldReport.objects.create(review=review, org_id=tree["a1"].pk, reporter_id=tree["ma"].pk, title="述职报告",
                                      text="正文")
    ReviewItem.objects.create(report=report, text="三会一课记录不全\n请补齐台账", due_on=dt.date(2026, 3, 1))
    ReviewItem.objects.create(report=report, text="谈心谈话未覆盖全体党员", status="done", done_note="已完成谈心谈话 20 人次",
                              done_at=timezone.make_aware(dt.datetime(2026, 2, 10, 9)))
    ReviewItem.objects.update(created_at=timezone.make_aware(dt.datetime(2026, 1, 5, 10)))  # entered in January
    opened = dt.date(2026, 1, 5)

    # 约谈: one held with its requirements, one held without, one pending.
    run = _run(tree)
    held = Admonition.objects.create(run=run, org=tree["a"], reason="得分低于约谈分数线", status="done",
                                     talked_on=dt.date(2025, 7, 10), talked_with="党组书记", talked_by="工委副书记",
                                     outcome="要求一个月内整改组织生活")
    Admonition.objects.create(run=run, org=tree["b"], reason="得分低于约谈分数线", status="done",
                              talked_on=dt.date(2025, 7, 11), talked_with="党组书记", talked_by="工委副书记")
    pending = Admonition.objects.create(run=_run_other(run), org=tree["a"], reason="得分低于约谈分数线")

    # 软弱涣散: one in overhaul with notes, one closed, one withdrawn without a plan, one just identified.
    def weak(org, **kw):
        return OldWeak.objects.create(org_id=org.pk, source="manual", identified_on=dt.date(2025, 9, 1),
                                      reasons="组织生活不正常", **kw)

    overhauling = weak(tree["a1"], status="overhauling", measures="补选委员", responsible="机关党委副书记 张某",
                       deadline=dt.date(2025, 12, 31))
    WeakNote.objects.create(weak=overhauling, noted_on=dt.date(2025, 10, 1), text="已召开党员大会补选委员")
    WeakNote.objects.create(weak=overhauling, noted_on=dt.date(2025, 11, 1), text="支委会按月召开")
    closed = weak(tree["b1"], status="closed", measures="配齐班子", responsible="支部书记", deadline=dt.date(2025, 11, 30),
                  closed_on=dt.date(2025, 12, 5), verification="实地核查，整顿完成")
    withdrawn = weak(tree["a"], status="withdrawn", withdrawn_reason="认定有误")
    WeakNote.objects.create(weak=withdrawn, noted_on=dt.date(2025, 9, 5), text="核实情况")
    identified = weak(tree["b"], status="identified")

    MigrationExecutor(connection).migrate(latest)
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "reviews_reviewitem" not in tables and "ratings_weaknote" not in tables

    comments = {i.description: i for i in Item.objects.filter(source="review")}
    first, second = comments["三会一课记录不全\n请补齐台账"], comments["谈心谈话未覆盖全体党员"]
    assert (first.source_id, first.org_id, first.issuer_id, first.list, first.status, first.deadline, first.title) == (
        report.pk, tree["a1"].pk, tree["wc"].pk, "problem", "rectifying", dt.date(2026, 3, 1), "三会一课记录不全")
    assert first.responsible_id == tree["ma"].pk  # the reporter belongs to the reporting branch
    assert [k for k, _, _ in _events(first)] == ["open"]
    assert (second.status, second.closed_on, second.deadline) == ("closed", dt.date(2026, 2, 10),
                                                                 opened + dt.timedelta(days=90))
    assert [(k, on) for k, on, _ in _events(second)] == [("open", opened), ("request", dt.date(2026, 2, 10)),
                                                        ("close", dt.date(2026, 2, 10))]
    assert _events(second)[1][2] == "已完成谈心谈话 20 人次"
    assert rectification_queries.items_for_source("review", [report.pk])[report.pk] == [first, second]

    talk = Item.objects.get(source="admonition")
    assert (talk.source_id, talk.org_id, talk.issuer_id, talk.list, talk.opened_on, talk.deadline, talk.description) == (
        held.pk, tree["a"].pk, tree["wc"].pk, "task", dt.date(2025, 7, 10), dt.date(2025, 10, 8), "要求一个月内整改组织生活")
    assert "2025年6月" in talk.source_label and not Item.objects.filter(source_id=pending.pk, source="admonition")

    cases = {i.source_id: i for i in Item.objects.filter(source="overhaul")}
    assert set(cases) == {overhauling.pk, closed.pk, withdrawn.pk} and identified.pk not in cases
    o = cases[overhauling.pk]
    assert (o.status, o.list, o.org_id, o.issuer_id, o.opened_on, o.deadline) == (
        "rectifying", "task", tree["a1"].pk, tree["wc"].pk, dt.date(2025, 9, 1), dt.date(2025, 12, 31))
    assert o.description == "补选委员\n整顿责任人：机关党委副书记 张某"
    assert [(k, on, t) for k, on, t in _events(o)][1:] == [("note", dt.date(2025, 10, 1), "已召开党员大会补选委员"),
                                                          ("note", dt.date(2025, 11, 1), "支委会按月召开")]
    c = cases[closed.pk]
    assert (c.status, c.closed_on) == ("closed", dt.date(2025, 12, 5)) and c.overdue_days(TODAY) == 5
    assert [k for k, _, _ in _events(c)] == ["open", "request", "close"] and _events(c)[2][2] == "实地核查，整顿完成"
    w = cases[withdrawn.pk]
    assert (w.status, w.deadline) == ("withdrawn", dt.date(2025, 11, 30))
    assert [k for k, _, _ in _events(w)] == ["open", "note", "withdraw"]
    assert rectification_queries.counts(Item.objects.filter(source="overhaul"), TODAY)["total"] == 2


def _run_other(run):
    return Run.objects.create(scheme=run.scheme, period="2025-07", cycle="monthly", period_start=dt.date(2025, 7, 1),
                              period_end=dt.date(2025, 7, 31))


# ---- each flow's page ------------------------------------------------------------------------------

def _review(tree):
    review = review_services.create_review(None, tree["wc"], TODAY.year, "年度述职评议")
    report = review_services.submit_report(None, review, tree["a"], tree["ma"], text="本单位抓基层党建工作情况。" * 20)
    group = review_services.add_group(None, review, "党员代表", 100)
    review_services.issue_ballots(None, group, review_services.min_group())
    review_services.open_review(None, review)
    return DutyReview.objects.get(pk=review.pk), DutyReport.objects.get(pk=report.pk)


def test_a_report_lists_its_comments_items_with_their_state(tree, personas):
    _, report = _review(tree)
    items = [review_services.add_item(personas["wc_admin"], report, f"第{i}条点评意见") for i in range(3)]
    rectify.sign(personas["unit_admin_a"], items[0])
    rectify.request_close(personas["unit_admin_a"], items[0], evidence="整改完成")
    rectify.close(personas["wc_admin"], items[0], verification="核查属实")
    page = page_text(login(personas["unit_admin_a"]).get(f"/reviews/reports/{report.pk}/"))
    for item in items:
        assert f'href="/items/{item.pk}/"' in page and item.title in page
    assert page.count("已销号") == 1 and page.count("待签收") == 2
    assert f"/items/?source=review&amp;source_id={report.pk}" in page
    # Someone outside both sides sees neither the report nor its items.
    assert login(personas["unit_admin_b"]).get(f"/reviews/reports/{report.pk}/").status_code == 404
    assert not Item.objects.visible_to(personas["unit_admin_b"]).exists()


def test_an_admonition_lists_its_item_and_recording_again_revises_it(tree, personas):
    adm = Admonition.objects.create(run=_run(tree), org=tree["a"], reason="得分低于约谈分数线")
    talk = dict(talked_on=dt.date(2025, 7, 10), talked_with="党组书记", talked_by="工委副书记")
    assessment_services.record_admonition(personas["wc_admin"], adm, outcome="整改要求一", workdays=10, **talk)
    item = Item.objects.get(source="admonition", source_id=adm.pk)
    assert item.workdays == 10 and item.deadline > item.opened_on == dt.date(2025, 7, 10)
    adm.refresh_from_db()
    assessment_services.record_admonition(personas["wc_admin"], adm, outcome="整改要求二",
                                          deadline=dt.date(2025, 9, 30), version=adm.version, **talk)
    item.refresh_from_db()
    assert (item.description, item.deadline, Item.objects.filter(source="admonition").count()) == (
        "整改要求二", dt.date(2025, 9, 30), 1)
    assert [e.kind for e in item.events.order_by("id")] == ["open", "edit"]
    page = page_text(login(personas["unit_admin_a"]).get(f"/assessment/admonitions/{adm.pk}/"))
    assert f'href="/items/{item.pk}/"' in page and "整改要求二" in page and "2025-09-30" in page
    listing = page_text(login(personas["wc_admin"]).get("/assessment/admonitions/"))
    assert f'href="/items/{item.pk}/"' in listing and "整改事项：待签收" in listing


def test_a_weak_case_closes_when_its_item_is_closed_on_the_item_page(tree, personas, django_capture_on_commit_callbacks):
    staff, unit = personas["wc_admin"], personas["unit_admin_a"]
    weak = rating_services.identify_weak(staff, tree["a1"], identified_on=TODAY, reasons="书记空缺")
    rating_services.set_plan(unit, weak, measures="补选书记", responsible="机关党委副书记", deadline=TODAY + dt.timedelta(days=60))
    item = Item.objects.get(source="overhaul", source_id=weak.pk)
    assert item.issuer == tree["wc"] and item.status == "pending"
    rating_services.add_note(unit, weak, noted_on=TODAY, text="已推荐书记人选")
    rectify.sign(unit, item)
    rectify.request_close(unit, item, evidence="书记已选出，附选举记录")
    with django_capture_on_commit_callbacks(execute=True):
        rectify.close(staff, item, verification="查阅选举记录，书记到位")
    weak.refresh_from_db()
    assert (weak.status, weak.closed_on, weak.verification, weak.closed_by) == ("closed", TODAY, "查阅选举记录，书记到位",
                                                                               staff)
    page = page_text(login(staff).get(f"/ratings/weak/{weak.pk}/"))
    assert 'data-status="closed"' in page and f'href="/items/{item.pk}/"' in page and "已推荐书记人选" in page
    listing = page_text(login(staff).get("/ratings/weak/?status=closed"))
    assert f'data-org="{tree["a1"].code}" data-status="closed"' in listing and f'href="/items/{item.pk}/"' in listing
    # The rating's view of the year follows: the case counts as closed on the item's day.
    assert "销号" in rating_services._weak_cases(TODAY.year)[tree["a1"].pk]


def test_a_returned_overhaul_stays_open_and_a_withdrawn_case_withdraws_its_item(tree, personas):
    staff, unit = personas["wc_admin"], personas["unit_admin_a"]
    weak = rating_services.identify_weak(staff, tree["a1"], identified_on=TODAY, reasons="书记空缺")
    rating_services.set_plan(unit, weak, measures="补选书记", responsible="张某", deadline=TODAY + dt.timedelta(days=30))
    item = rating_services.request_close(unit, weak, evidence="已补选")
    rectify.return_item(staff, item, reason="缺少选举记录")
    weak.refresh_from_db()
    assert weak.status == "overhauling" and Item.objects.get(pk=item.pk).returned_count == 1
    weak = rating_services.withdraw_weak(staff, weak, reason="认定有误", version=weak.version)
    item.refresh_from_db()
    assert (weak.status, item.status) == ("withdrawn", "withdrawn") and item.overdue_days(TODAY) == 0
    assert "撤销软弱涣散认定：认定有误" in item.events.get(kind="withdraw").text
    assert not Item.objects.open().filter(pk=item.pk).exists()


# ---- nothing partial ------------------------------------------------------------------------------

def test_bad_input_writes_nothing_on_any_flow(tree, personas):
    staff = personas["wc_admin"]
    _, report = _review(tree)
    before = (Item.objects.count(), ItemEvent.objects.count(), AuditEntry.objects.count())
    for text, due, message in (("", None, "请填写点评意见及整改要求"), ("x" * 2001, None, "不能超过 2000 个字"),
                               ("点评", TODAY - dt.timedelta(days=1), "整改期限不能早于今天")):
        with pytest.raises(review_services.ReviewError, match=message):
            review_services.add_item(staff, report, text, due)
    adm = Admonition.objects.create(run=_run(tree), org=tree["a"], reason="得分低于约谈分数线")
    talk = dict(talked_on=dt.date(2025, 7, 10), talked_with="党组书记", talked_by="工委副书记", outcome="整改要求")
    for extra, field in (({}, "deadline"), ({"deadline": dt.date(2025, 7, 1)}, "deadline"),
                         ({"workdays": 0}, "workdays"), ({"deadline": dt.date(2025, 8, 1), "workdays": 5}, "deadline")):
        with pytest.raises(assessment_services.AssessmentError) as exc:
            assessment_services.record_admonition(staff, adm, **talk, **extra)
        assert exc.value.field == field
    assert Admonition.objects.get(pk=adm.pk).status == "pending"
    weak = rating_services.identify_weak(staff, tree["a1"], identified_on=TODAY, reasons="书记空缺")
    before = (Item.objects.count(), ItemEvent.objects.count(), AuditEntry.objects.count())
    with pytest.raises(rating_services.RatingError, match="尚未制定整顿方案，不能填写整顿进展"):
        rating_services.add_note(staff, weak, noted_on=TODAY, text="进展")
    with pytest.raises(rating_services.RatingError, match="尚未制定整顿方案，不能申请销号"):
        rating_services.request_close(staff, weak, evidence="完成")
    with pytest.raises(rating_services.RatingError, match="整顿措施：必填"):
        rating_services.set_plan(staff, weak, measures="", responsible="张某", deadline=TODAY)
    assert (Item.objects.count(), ItemEvent.objects.count(), AuditEntry.objects.count()) == before
    assert WeakOrg.objects.get(pk=weak.pk).status == "identified"
    # Over the pages: a request without evidence leaves the item as it was.
    rating_services.set_plan(staff, weak, measures="补选书记", responsible="张某", deadline=TODAY)
    item = Item.objects.get(source="overhaul", source_id=weak.pk)
    r = login(personas["unit_admin_a"]).post(f"/ratings/weak/{weak.pk}/request/", {"evidence": "  "})
    assert r.status_code == 200 and Item.objects.get(pk=item.pk).status == "pending"
    assert not ItemEvent.objects.filter(item=item, kind__in=("sign", "request")).exists()

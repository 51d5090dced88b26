"""督查: plans, the random draw, 四不两直 visibility, the team's on-site records, outside
evaluators' one-time codes, the exports and the API."""
import datetime as dt
import io
import random

import docx
import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dangjian.core.models import AuditEntry
from dangjian.inspections import draw, queries, services
from dangjian.inspections.checks import InspectionError
from dangjian.inspections.models import Evaluation, EvaluationCode, Finding, Inspection, Target
from tests import factories

TODAY = dt.date(2026, 5, 20)


def plan(issuer, targets, *, unannounced=False, kind="daily", team=(), user=None, title="2026年第二季度督查", **kw):
    return services.create_inspection(user, title=title, kind=kind, unannounced=unannounced, issuer=issuer,
                                      starts_on=kw.pop("starts_on", dt.date(2026, 5, 1)),
                                      ends_on=kw.pop("ends_on", dt.date(2026, 5, 31)), team=team,
                                      targets=targets, **kw)


def visit(target, user=None, day=dt.date(2026, 5, 10)):
    return services.record_visit(user, target, visited_on=day, today=TODAY)


# ---- the random draw ------------------------------------------------------------------------------

@pytest.fixture
def branches(tree):
    return [tree["a1"], tree["b1"]] + [factories.org(tree[u], kind="branch") for u in "aabbab"]


def test_the_same_seed_draws_the_same_targets_whatever_the_pool_order(tree, branches):
    pool = draw.pool(tree["wc"], ["branch"])
    assert {o.pk for o in pool} == {o.pk for o in branches}
    first = draw.sample(pool, 3, 4242)
    shuffled = list(pool)
    random.Random(1).shuffle(shuffled)
    assert shuffled != pool
    assert [o.pk for o in draw.sample(shuffled, 3, 4242)] == [o.pk for o in first]
    assert [o.pk for o in draw.sample(list(reversed(pool)), 3, 4242)] == [o.pk for o in first]
    # Another seed draws from the same pool too, but not always the same three.
    others = {tuple(o.pk for o in draw.sample(pool, 3, s)) for s in range(1, 30)}
    assert len(others) > 1
    # The recorded pool (codes in path order) re-runs to the same codes.
    assert draw.rerun([o.code for o in pool], 3, 4242) == [o.code for o in first]


def test_a_random_plan_records_seed_and_pool_and_the_command_rechecks_it(tree, branches):
    inspection = plan(tree["wc"], [], kind="random",
                      draw_spec={"under": None, "kinds": ["branch"], "count": 3, "seed": 777})
    recorded = sorted(inspection.targets.values_list("org__code", flat=True))
    assert inspection.draw_seed == 777 and inspection.draw_count == 3 and len(inspection.draw_pool) == len(branches)
    assert recorded == sorted(o.code for o in draw.sample(draw.pool(tree["wc"], ["branch"]), 3, 777))
    code, out = factories.cli_json("inspections", "draw", str(inspection.pk))
    assert code == 0 and out["same"] is True and sorted(out["drawn"]) == recorded
    # Someone changes the targets behind the plan's back: the check says so.
    Target.objects.filter(inspection=inspection).first().delete()
    code, _, err = factories.cli("inspections", "draw", str(inspection.pk))
    assert code == 1 and "不一致" in err


def test_a_draw_larger_than_its_pool_is_refused_and_writes_nothing(tree, branches):
    with pytest.raises(InspectionError) as exc:
        plan(tree["a"], [], kind="random", draw_spec={"under": None, "kinds": ["branch"], "count": 50, "seed": 1})
    assert exc.value.field == "draw_count" and "只有" in exc.value.message
    assert not Inspection.objects.exists()


# ---- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("over,field,words", [
    ({"title": "  "}, "title", "名称：必填"),
    ({"ends_on": dt.date(2026, 4, 1)}, "ends_on", "早于开始日期"),
    ({"starts_on": None}, "starts_on", "计划开始日期：必填"),
])
def test_bad_plans_are_refused_in_chinese_with_nothing_written(tree, over, field, words):
    with pytest.raises(InspectionError) as exc:
        plan(tree["wc"], [tree["a1"]], **over)
    assert exc.value.field == field and words in exc.value.message
    assert not Inspection.objects.exists() and not Target.objects.exists()


def test_a_target_outside_the_issuers_subtree_is_refused(tree, personas, login_as):
    with pytest.raises(InspectionError) as exc:
        plan(tree["a"], [tree["a1"], tree["b1"]])
    assert exc.value.field == "targets" and "教育局第一党支部" in exc.value.message
    # Through the form: 财政局's officer cannot even name 教育局's branch, and nothing is written.
    c = login_as("unita")
    r = c.post("/inspections/new/", {"title": "督查", "kind": "daily", "issuer": "CZ", "starts_on": "2026-05-01",
                                     "ends_on": "2026-05-31", "targets": "CZ01 JY01"})
    assert r.status_code == 200 and "找不到组织代码“JY01”" in factories.page_text(r)
    r = c.post("/inspections/new/", {"title": "督查", "kind": "daily", "issuer": "CZ", "starts_on": "2026-05-31",
                                     "ends_on": "2026-05-01", "targets": "CZ01"})
    assert "早于开始日期" in factories.page_text(r)
    assert not Inspection.objects.exists()
    r = c.post("/inspections/new/", {"title": "财政局支部督查", "kind": "daily", "issuer": "CZ",
                                     "starts_on": "2026-05-01", "ends_on": "2026-05-31", "targets": "CZ01"})
    assert r.status_code == 302
    assert list(Inspection.objects.get().targets.values_list("org__code", flat=True)) == ["CZ01"]


# ---- 四不两直 ---------------------------------------------------------------------------------------

def test_an_unannounced_plan_is_hidden_from_its_targets_until_their_visit(tree, personas, login_as):
    inspection = plan(tree["wc"], [tree["a1"], tree["b1"]], unannounced=True, title="四不两直督查")
    a1, b1 = (inspection.targets.get(org=tree[k]) for k in ("a1", "b1"))
    for who in ("seca1", "unita", "unitb"):
        c = login_as(who)
        assert "四不两直督查" not in factories.page_text(c.get("/inspections/"))
        assert c.get(f"/inspections/{inspection.pk}/").status_code == 404
        assert c.get(f"/inspections/targets/{a1.pk}/").status_code == 404
    # The issuing side sees the whole plan all along.
    c = login_as("wcadmin")
    assert c.get(f"/inspections/{inspection.pk}/").status_code == 200
    visit(a1)
    # 财政局's people now see the plan, their own target and its findings; 教育局's still nothing.
    services.record_findings(None, a1, [{"item": None, "text": "三会一课记录不全", "list": "problem"}])
    for who in ("seca1", "unita"):
        c = login_as(who)
        assert "四不两直督查" in factories.page_text(c.get("/inspections/"))
        text = factories.page_text(c.get(f"/inspections/{inspection.pk}/"))
        assert "财政局第一党支部" in text and "三会一课记录不全" in text and "教育局第一党支部" not in text
        assert c.get(f"/inspections/targets/{a1.pk}/").status_code == 200
        assert c.get(f"/inspections/targets/{b1.pk}/").status_code == 404
    c = login_as("unitb")
    assert c.get(f"/inspections/{inspection.pk}/").status_code == 404
    api = APIClient()
    api.force_authenticate(personas["secretary_a1"])
    rows = api.get("/api/inspections/").json()["results"]
    assert [t["org_code"] for t in rows[0]["targets"]] == ["CZ01"]
    assert rows[0]["targets"][0]["findings"][0]["text"] == "三会一课记录不全"
    api.force_authenticate(personas["unit_admin_b"])
    assert api.get("/api/inspections/").json()["results"] == []
    assert api.get(f"/api/inspections/{inspection.pk}/").status_code == 404


def test_an_announced_plan_is_seen_by_its_targets_before_the_visit(tree, personas, login_as):
    inspection = plan(tree["wc"], [tree["a1"], tree["b1"]], title="日常督查")
    c = login_as("seca1")
    text = factories.page_text(c.get(f"/inspections/{inspection.pk}/"))
    assert "财政局第一党支部" in text and "教育局第一党支部" not in text
    assert login_as("mema").get(f"/inspections/{inspection.pk}/").status_code == 404


# ---- roles ---------------------------------------------------------------------------------------

def test_the_team_records_on_site_and_others_may_not(tree, personas, login_as):
    inspector = factories.user("inspector", tree["wc"], username="insp")
    outsider = factories.user("inspector", tree["wc"], username="insp2")
    inspection = plan(tree["wc"], [tree["a1"]], unannounced=True, team=[inspector])
    services.add_checklist(None, inspection, texts=["组织生活：三会一课按期召开", "党费按月收缴"])
    target = inspection.targets.get()
    item = inspection.checklist.first()
    c = factories.login(inspector)
    assert c.get(f"/inspections/targets/{target.pk}/").status_code == 200
    r = c.post(f"/inspections/targets/{target.pk}/", {"step": "visit", "visited_on": "2026-05-10"})
    assert r.status_code == 302
    r = c.post(f"/inspections/targets/{target.pk}/", {
        "step": "findings", f"text_{item.pk}": "上季度支委会未召开", f"list_{item.pk}": "problem",
        "text_free": "建议建立台账", "list_free": "suggestion",
        "attachment": SimpleUploadedFile("记录.pdf", b"%PDF-1.4 x", "application/pdf")})
    assert r.status_code == 302
    found = list(Finding.objects.order_by("id"))
    assert [(f.item_id, f.list) for f in found] == [(item.pk, "problem"), (None, "suggestion")]
    assert found[0].attachment_name == "记录.pdf" and found[0].recorded_by == inspector
    # The team member edits nothing of the plan; another inspector is not on the team.
    assert c.get(f"/inspections/{inspection.pk}/edit/").status_code == 404
    assert c.post(f"/inspections/{inspection.pk}/codes/", {"group": "public", "count": 5}).status_code == 404
    o = factories.login(outsider)
    r = o.post(f"/inspections/targets/{target.pk}/", {"step": "findings", "text_free": "越权", "list_free": "task"})
    assert r.status_code == 404
    with pytest.raises(InspectionError):
        services.record_findings(outsider, target, [{"item": None, "text": "越权", "list": "task"}])
    # The target's secretary reads the findings but records none.
    s = login_as("seca1")
    assert "上季度支委会未召开" in factories.page_text(s.get(f"/inspections/targets/{target.pk}/"))
    assert s.post(f"/inspections/targets/{target.pk}/", {"step": "findings", "text_free": "x"}).status_code == 404
    # 财政局's officer sees it as a target, but cannot run 工委's plan.
    u = login_as("unita")
    assert u.get(f"/inspections/{inspection.pk}/edit/").status_code == 404
    assert Finding.objects.count() == 2


def test_a_findings_form_without_any_text_says_so(tree, personas, login_as):
    inspection = plan(tree["wc"], [tree["a1"]])
    target = inspection.targets.get()
    c = login_as("wcadmin")
    r = c.post(f"/inspections/targets/{target.pk}/", {"step": "findings", "text_free": "  "})
    assert r.status_code == 400 and "发现情况：请至少填写一条" in factories.page_text(r)
    r = c.post(f"/inspections/targets/{target.pk}/", {"step": "findings", "text_free": "x", "list_free": "bogus"})
    assert r.status_code == 400 and "请选择问题清单" in factories.page_text(r)
    r = c.post(f"/inspections/targets/{target.pk}/", {"step": "visit", "visited_on": "2099-01-01"})
    assert r.status_code == 400 and "晚于今天" in factories.page_text(r)
    r = c.post(f"/inspections/targets/{target.pk}/", {"step": "findings", "text_free": "x", "attachment":
                                                        SimpleUploadedFile("a.exe", b"MZ", "application/x-msdownload")})
    assert r.status_code == 400 and "附件：只接受" in factories.page_text(r)
    assert not Finding.objects.exists()


def test_a_reported_plan_takes_no_more_findings(tree):
    inspection = plan(tree["wc"], [tree["a1"]])
    with pytest.raises(InspectionError) as exc:
        services.advance(None, Inspection.objects.get(pk=inspection.pk))
        services.advance(None, Inspection.objects.get(pk=inspection.pk))
    assert "还没有记录任何一次督查走访" in exc.value.message
    visit(inspection.targets.get())
    services.advance(None, Inspection.objects.get(pk=inspection.pk))
    with pytest.raises(InspectionError) as exc:
        services.record_findings(None, inspection.targets.get(), [{"item": None, "text": "迟到", "list": "problem"}])
    assert "已通报" in exc.value.message


# ---- outside evaluators ----------------------------------------------------------------------------

def test_an_evaluation_code_is_used_once_and_bad_codes_are_answered_in_chinese(tree, personas, login_as, settings):
    settings.INSPECTION_MIN_GROUP = 2
    inspection = plan(tree["wc"], [tree["a1"], tree["b1"]], unannounced=True)
    a1, b1 = (inspection.targets.get(org=tree[k]) for k in ("a1", "b1"))
    visit(a1)
    c = login_as("wcadmin")
    r = c.post(f"/inspections/{inspection.pk}/codes/", {"group": "public", "count": 3})
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    codes = [c_ for c_ in r.context["codes"]]
    assert len(codes) == 3 and EvaluationCode.objects.count() == 3
    assert not EvaluationCode.objects.filter(code_hash__in=[services.normalize_code(x) for x in codes]).exists()
    anon = factories.Client()
    r = anon.get("/inspections/evaluate/")
    assert r.status_code == 200
    r = anon.post("/inspections/evaluate/", {"code": codes[0]})
    text = factories.page_text(r)
    # Only the visited target is named: the unvisited 四不两直 target stays unnamed.
    assert "财政局第一党支部" in text and "教育局第一党支部" not in text
    r = anon.post("/inspections/evaluate/", {"code": codes[0], "step": "submit"})
    assert r.status_code == 400 and "请对每个督查对象作出评价" in factories.page_text(r)
    r = anon.post("/inspections/evaluate/", {"code": codes[0].lower(), "step": "submit", f"grade_{a1.pk}": "basic",
                                             f"comment_{a1.pk}": "台账还需完善"})
    assert "评价已提交" in factories.page_text(r)
    r = anon.post("/inspections/evaluate/", {"code": codes[0], "step": "submit", f"grade_{a1.pk}": "satisfied"})
    assert r.status_code == 400 and "已经使用过" in factories.page_text(r)
    for bad, words in (("", "请输入评价码"), ("ABC", "应为 12 位"), ("ZZZZ-ZZZZ-ZZZZ", "评价码不正确")):
        r = anon.post("/inspections/evaluate/", {"code": bad})
        assert r.status_code == 400 and words in factories.page_text(r)
    assert Evaluation.objects.count() == 1
    # One evaluation is too few to show; with a second the grades and comments appear.
    res = queries.results(inspection, [a1, b1])
    assert res["rows"][0]["total"] == 1 and res["rows"][0]["grades"] == [] and res["rows"][0]["comments"] == []
    services.evaluate(codes[1], {a1.pk: "satisfied"})
    res = queries.results(inspection, [a1, b1])
    assert dict(res["rows"][0]["grades"]) == {"满意": 1, "基本满意": 1, "不满意": 0}
    assert res["rows"][0]["comments"] == ["台账还需完善"] and res["rows"][0]["rate"] == 100.0
    assert "台账还需完善" in factories.page_text(c.get(f"/inspections/{inspection.pk}/results/"))


# ---- lists, exports, API ---------------------------------------------------------------------------

def test_the_list_page_takes_the_same_number_of_queries_as_plans_grow(tree, personas, login_as):
    c = login_as("wcadmin")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/inspections/?year=2026").status_code == 200
        return len(ctx.captured_queries)

    plan(tree["wc"], [tree["a1"]])
    few = count()
    for i in range(12):
        p = plan(tree["wc"], [tree["a1"], tree["b1"]], title=f"督查{i}", unannounced=i % 2 == 0)
        visit(p.targets.first())
    assert count() == few


def test_findings_export_and_report(tree, personas, login_as):
    inspection = plan(tree["wc"], [tree["a1"], tree["b1"]])
    a1 = inspection.targets.get(org=tree["a1"])
    visit(a1)
    services.record_findings(None, a1, [{"item": None, "text": "=1+1 发展党员程序不规范", "list": "problem"}])
    c = login_as("wcadmin")
    r = c.get(f"/inspections/findings.xlsx?inspection={inspection.pk}")
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][3] == "财政局第一党支部" and rows[1][8] == "=1+1 发展党员程序不规范"
    assert ws.cell(2, 9).data_type == "s"
    assert AuditEntry.objects.filter(action="export", changes__kind="inspection-findings").exists()
    r = c.get(f"/inspections/{inspection.pk}/report.docx")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(b"".join(r.streaming_content))).paragraphs)
    assert "整改情况的报告" in text and "发展党员程序不规范" in text and "已走访1个" in text
    # 教育局's officer exports nothing of it.
    r = login_as("unitb").get("/inspections/findings.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    assert ws.max_row == 1


def test_the_api_filters_by_kind_and_answers_bad_values_in_chinese(tree, personas):
    plan(tree["wc"], [tree["a1"]], kind="special", title="专项督查")
    api = APIClient()
    api.force_authenticate(personas["wc_admin"])
    assert [r["title"] for r in api.get("/api/inspections/?kind=special").json()["results"]] == ["专项督查"]
    assert api.get("/api/inspections/?kind=daily").json()["results"] == []
    r = api.get("/api/inspections/?kind=bogus")
    assert r.status_code == 400 and "督查方式" in r.content.decode()


# ---- findings become rectification items ----------------------------------------------------------

def test_findings_become_rectification_items_once_and_the_report_follows_them(tree, personas, login_as):
    from dangjian.rectification import services as item_services
    from dangjian.rectification.models import Item

    inspector = factories.user("inspector", tree["wc"], username="insp")
    inspection = plan(tree["wc"], [tree["a1"], tree["b1"]], team=[inspector])
    a1 = inspection.targets.get(org=tree["a1"])
    visit(a1)
    found = services.record_findings(None, a1, [{"item": None, "text": "三会一课记录不全", "list": "problem"},
                                                {"item": None, "text": "建议建立党员积分台账以外的学习档案", "list": "suggestion"}])
    c = factories.login(inspector)
    # A bad deadline is refused in Chinese and nothing is opened.
    r = c.post(f"/inspections/{inspection.pk}/items/", {"finding": [found[0].pk], "deadline": "2020-01-01"})
    assert r.status_code == 400 and "整改时限：不能早于交办日期" in factories.page_text(r)
    r = c.post(f"/inspections/{inspection.pk}/items/", {"finding": [found[0].pk]})
    assert r.status_code == 400 and "请填写日期或工作日天数" in factories.page_text(r)
    assert not Item.objects.exists()
    r = c.post(f"/inspections/{inspection.pk}/items/", {"finding": [f.pk for f in found], "workdays": "10"})
    assert r.status_code == 302
    items = list(Item.objects.order_by("id"))
    assert [(i.source, i.source_id, i.list, i.org_id, i.issuer_id) for i in items] == [
        ("inspection", inspection.pk, "problem", tree["a1"].pk, tree["wc"].pk),
        ("inspection", inspection.pk, "suggestion", tree["a1"].pk, tree["wc"].pk)]
    assert items[0].title == "三会一课记录不全" and items[0].workdays == 10
    assert [f.rectification_item_id for f in Finding.objects.order_by("id")] == [i.pk for i in items]
    # Twice is refused.
    r = c.post(f"/inspections/{inspection.pk}/items/", {"finding": [found[0].pk], "workdays": "5"})
    assert r.status_code == 400 and "不能重复交办" in factories.page_text(r)
    assert Item.objects.count() == 2
    # The target's secretary signs for the item; the plan page and the report show where it is.
    item_services.sign(personas["secretary_a1"], items[0])
    w = login_as("wcadmin")
    text = factories.page_text(w.get(f"/inspections/{inspection.pk}/"))
    state = Item.objects.get(pk=items[0].pk).get_status_display()
    assert state == "整改中" and state in text
    r = w.get(f"/inspections/{inspection.pk}/report.docx")
    doc = "\n".join(p.text for p in docx.Document(io.BytesIO(b"".join(r.streaming_content))).paragraphs)
    assert f"三会一课记录不全。整改情况：{state}。" in doc
    # The item's source leads back to the plan.
    from dangjian.rectification.models import SOURCE_URLS
    assert SOURCE_URLS["inspection"] == "inspections:detail"


# ---- on a phone -----------------------------------------------------------------------------------

@pytest.mark.browser
def test_an_inspector_records_a_visit_and_a_finding_on_a_phone(transactional_db, live_server, tree, browser_page):
    inspector = factories.user("inspector", tree["wc"], username="insp")
    inspection = plan(tree["wc"], [tree["a1"]], unannounced=True, team=[inspector],
                      starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 1, 31))
    services.add_checklist(None, inspection, texts=["组织生活：“三会一课”按期召开、记录完整，支委会研究事项有记录可查"])
    item = inspection.checklist.get()
    target = inspection.targets.get()
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    factories.browser_login(page, live_server.url, "insp")
    page.goto(f"{live_server.url}/inspections/targets/{target.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("input[name=visited_on]", "2026-01-15")
    page.click("text=记录走访")
    page.wait_for_selector("text=已记录对财政局第一党支部的督查走访")
    page.fill(f"textarea[name=text_{item.pk}]", "支委会会议记录缺少表决情况")
    page.select_option(f"select[name=list_{item.pk}]", "task")
    page.click("text=保存督查发现")
    page.wait_for_selector("text=已记录督查发现 1 条")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    f = Finding.objects.get()
    assert (f.item_id, f.list, f.text, f.recorded_by_id) == (item.pk, "task", "支委会会议记录缺少表决情况", inspector.pk)
    assert Target.objects.get().visited_on == dt.date(2026, 1, 15)

"""An inspection run through the API only, from the plan to the close-out of its items: the 工委's
staff plans a 四不两直 inspection with an inspector on the team, the inspector records the visit
and two findings and turns them into items, the target's unit admin (who could not see the plan
before the visit) signs and asks for closing with the evidence, the staff returns one and closes
the other, and the item figures show it. Bad input is answered in Chinese with nothing written, a
move of another side is 403 (404 where the plan is not seen). Then the feedback API: sending,
anonymity, answering and turning into an item."""
import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from dangjian.core.models import AuditEntry
from dangjian.feedback.models import Feedback
from dangjian.feedback.services import CODE_LENGTH, by_code
from dangjian.inspections.models import ChecklistItem, Finding, Inspection, Target
from dangjian.rectification.models import Item
from tests import factories

CJK = re.compile(r"[\u4e00-\u9fff]")


def token_client(username: str) -> APIClient:
    out = io.StringIO()
    call_command("token", username, stdout=out, stderr=io.StringIO())
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    return c


def refused(r, field: str, words: str = "") -> None:
    """400 in the one Chinese shape, the message under `field` and repeated in `detail`."""
    assert r.status_code == 400, (r.status_code, r.content.decode()[:300])
    body = r.json()
    assert field in body["errors"], body
    assert CJK.search(body["detail"]) and CJK.search(body["errors"][field][0])
    assert words in body["errors"][field][0], body


def counts() -> tuple:
    return (Inspection.objects.count(), Target.objects.count(), ChecklistItem.objects.count(),
            Finding.objects.count(), Item.objects.count(), Feedback.objects.count())


@pytest.fixture
def inspector(tree):
    return factories.user("inspector", tree["wc"], username="insp")


def plan_body(**over) -> dict:
    today = timezone.localdate()
    body = {"title": "2026年基层党组织建设四不两直督查", "kind": "special", "unannounced": True, "issuer": "WC",
            "starts_on": (today - dt.timedelta(days=10)).isoformat(),
            "ends_on": (today + dt.timedelta(days=20)).isoformat(),
            "note": "三会一课、主题党日落实情况", "team": ["insp"], "targets": ["CZ01"]}
    body.update(over)
    return body


# ---- the whole run --------------------------------------------------------------------------------

def test_an_unannounced_inspection_runs_from_plan_to_close_out_through_the_api(tree, personas, inspector):
    staff, insp, unit, other = (token_client(u) for u in ("wcadmin", "insp", "unita", "unitb"))
    today = timezone.localdate()

    # The plan: the 工委 staff issues it, the inspector is on its team.
    r = staff.post("/api/inspections/", plan_body(team=[inspector.pk]), format="json")
    assert r.status_code == 201, r.json()
    plan = r.json()
    pk = plan["id"]
    assert (plan["kind"], plan["unannounced"], plan["issuer"], plan["status"]) == ("special", True, "WC", "planned")
    assert [t["org_code"] for t in plan["targets"]] == ["CZ01"]
    assert list(Inspection.objects.get(pk=pk).team.all()) == [inspector]
    r = staff.post(f"/api/inspections/{pk}/targets/", {"targets": ["JY01"]}, format="json")
    assert r.status_code == 200 and [t["org_code"] for t in r.json()["targets"]] == ["CZ01", "JY01"]
    r = staff.post(f"/api/inspections/{pk}/checklist/",
                   {"texts": ["组织生活：“三会一课”按期召开、记录完整", "主题党日每月开展"]}, format="json")
    assert r.status_code == 200
    checklist = r.json()["checklist"]
    assert [(c["category"], c["text"]) for c in checklist] == [("组织生活", "“三会一课”按期召开、记录完整"),
                                                               ("", "主题党日每月开展")]

    # 四不两直: before the visit the target's unit admin sees nothing of the plan, by any door.
    assert unit.get(f"/api/inspections/{pk}/").status_code == 404
    assert pk not in [p["id"] for p in unit.get("/api/inspections/").json()["results"]]
    assert unit.post(f"/api/inspections/{pk}/findings/", {}, format="json").status_code == 404

    # On site: the inspector records the visit and two findings and turns them into items.
    target = next(t for t in plan["targets"] if t["org_code"] == "CZ01")["id"]
    r = insp.post(f"/api/inspections/{pk}/visit/", {"target": "CZ01", "visited_on": today.isoformat(),
                                                     "note": "直奔支部，查阅会议记录"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "in_progress"
    r = insp.post(f"/api/inspections/{pk}/findings/", {"target": target, "findings": [
        {"item": checklist[0]["id"], "text": "支委会会议记录缺少表决情况", "list": "problem"},
        {"text": "主题党日学习内容与本单位业务结合不够", "list": "task"}]}, format="json")
    assert r.status_code == 201, r.json()
    found = sorted(next(t for t in r.json()["targets"] if t["id"] == target)["findings"], key=lambda f: f["id"])
    assert [(f["list"], f["item"], f["rectification_item"]) for f in found] == [
        ("problem", "“三会一课”按期召开、记录完整", None), ("task", None, None)]
    deadline = today + dt.timedelta(days=30)
    r = insp.post(f"/api/inspections/{pk}/items/", {"findings": [f["id"] for f in found],
                                                     "deadline": deadline.isoformat()}, format="json")
    assert r.status_code == 201, r.json()
    first, second = r.json()["items"]
    items = {i.pk: i for i in Item.objects.all()}
    assert set(items) == {first, second}
    assert all((i.source, i.source_id, i.org_id, i.issuer_id, i.deadline) ==
               ("inspection", pk, tree["a1"].pk, tree["wc"].pk, deadline) for i in items.values())
    again = insp.post(f"/api/inspections/{pk}/items/", {"findings": [found[0]["id"]], "workdays": 5}, format="json")
    refused(again, "findings", "不能重复交办")
    # The inspector opened the items but may not close them: the side that checks is not the one that found.
    r = insp.post(f"/api/items/{first}/close/", {"text": "核查属实"}, format="json")
    assert r.status_code in (403, 404)

    # The target's unit admin sees the plan now, its own target only, and the items.
    seen = unit.get(f"/api/inspections/{pk}/").json()
    assert [t["org_code"] for t in seen["targets"]] == ["CZ01"]
    assert [f["rectification_item"] for f in sorted(seen["targets"][0]["findings"], key=lambda f: f["id"])] == [
        first, second]
    r = unit.post(f"/api/inspections/{pk}/findings/", {"target": target, "findings": [{"text": "自查"}]},
                  format="json")
    assert r.status_code == 403 and CJK.search(r.json()["detail"])
    assert other.get(f"/api/inspections/{pk}/").status_code == 404
    for item in (first, second):
        version = unit.get(f"/api/items/{item}/").json()["version"]
        r = unit.post(f"/api/items/{item}/sign/", {"text": "收到，立即整改", "version": version}, format="json")
        assert r.status_code == 200, r.json()
        r = unit.post(f"/api/items/{item}/request-close/", {"text": ""}, format="json")
        refused(r, "text", "整改情况及佐证")
        r = unit.post(f"/api/items/{item}/request-close/",
                      {"text": "已补记表决情况，附支委会记录复印件", "version": r.json().get("version") or
                       unit.get(f"/api/items/{item}/").json()["version"]}, format="json")
        assert r.status_code == 200 and r.json()["status"] == "closing", r.json()
    r = unit.post(f"/api/items/{first}/close/", {"text": "自行销号"}, format="json")
    assert r.status_code == 403 and CJK.search(r.json()["detail"])

    # The staff returns one and closes the other.
    v = staff.get(f"/api/items/{first}/").json()["version"]
    r = staff.post(f"/api/items/{first}/return/", {"text": "缺少表决情况的佐证", "version": v}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "rectifying" and r.json()["returned_count"] == 1
    v = staff.get(f"/api/items/{second}/").json()["version"]
    r = staff.post(f"/api/items/{second}/close/", {"text": "核查属实，整改到位", "version": v}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "closed"

    # The figures show it, for the staff and for the unit.
    ids = lambda c, **q: {row["id"] for row in c.get("/api/items/", q).json()["results"]}  # noqa: E731
    for c in (staff, unit):
        assert ids(c, status="closed") == {second}
        assert ids(c, status="open") == {first}
        assert ids(c, source="inspection", source_id=pk) == {first, second}
    assert ids(other, source="inspection") == set()
    kinds = [e["kind"] for e in staff.get(f"/api/items/{first}/").json()["timeline"]]
    assert kinds == ["open", "sign", "request", "return"]

    # The plan moves on with its version: a stale one is 409, the right one reports it.
    v = staff.get(f"/api/inspections/{pk}/").json()["version"]
    r = staff.post(f"/api/inspections/{pk}/advance/", {"version": v + 3}, format="json")
    assert r.status_code == 409 and r.json()["version"] == v
    r = staff.post(f"/api/inspections/{pk}/advance/", {}, format="json", HTTP_IF_MATCH=str(v))
    assert r.status_code == 200 and r.json()["status"] == "reported"
    r = insp.post(f"/api/inspections/{pk}/findings/", {"target": target, "findings": [{"text": "补充一条"}]},
                  format="json")
    refused(r, "findings", "已通报")


# ---- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("over, field, words", [
    ({"title": ""}, "title", "名称"),
    ({"title": "督查\u202e计划"}, "title", "字符"),
    ({"kind": "monthly"}, "kind", "督查方式"),
    ({"issuer": "NOPE"}, "issuer", "组织单位"),
    ({"issuer": 10**30}, "issuer", "组织单位"),
    ({"issuer": "CZ01"}, "issuer", "组织单位"),
    ({"starts_on": "2026-13-01"}, "starts_on", "计划开始日期"),
    ({"ends_on": "2020-01-01"}, "ends_on", "计划结束日期"),
    ({"team": ["nobody"]}, "team", "督查组成员"),
    ({"team": "insp"}, "team", "督查组成员"),
    ({"team": ["seca1"]}, "team", "督查组成员"),
    ({"targets": ["CZ01", "NOPE"]}, "targets", "督查对象"),
    ({"targets": []}, "targets", "督查对象"),
    ({"targets": [{"code": "CZ01"}]}, "targets", "督查对象"),
    ({"kind": "random", "draw_kinds": ["branch"], "draw_count": 9}, "draw_count", "抽取数量"),
    ({"kind": "random", "draw_kinds": []}, "draw_kinds", "组织类别"),
    ({"kind": "random", "draw_kinds": ["branch"], "draw_count": 1, "draw_under": "NOPE"}, "draw_under", "抽取范围"),
    ({"unannounced": "sometimes"}, "unannounced", "四不两直"),
])
def test_a_bad_plan_is_refused_in_chinese_and_writes_nothing(tree, personas, inspector, over, field, words):
    before = counts()
    refused(token_client("wcadmin").post("/api/inspections/", plan_body(**over), format="json"), field, words)
    assert counts() == before


def test_a_random_plan_is_drawn_with_its_seed_and_the_draw_is_recorded(tree, personas, inspector):
    for _ in range(4):
        factories.org(tree["a"], kind="branch")
    r = token_client("wcadmin").post("/api/inspections/", plan_body(
        kind="random", targets=[], draw_under="CZ", draw_kinds=["branch"], draw_count=2, draw_seed=20260517),
        format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["draw_seed"], body["draw_count"], body["draw_rule"]["under"]) == (20260517, 2, "CZ")
    from dangjian.inspections import draw
    stored = Inspection.objects.get(pk=body["id"])
    assert [t["org_code"] for t in body["targets"]] == draw.rerun(stored.draw_pool, 2, 20260517)
    r = token_client("wcadmin").post(f"/api/inspections/{body['id']}/targets/", {"targets": ["JY01"]}, format="json")
    refused(r, "targets", "随机督查")


def test_bad_moves_on_site_are_refused_in_chinese_and_write_nothing(tree, personas, inspector):
    staff, insp = token_client("wcadmin"), token_client("insp")
    pk = staff.post("/api/inspections/", plan_body(), format="json").json()["id"]
    today = timezone.localdate()
    before = counts()
    cases = [
        ("targets", {"targets": ["CZ01"]}, staff, "targets", "已在本次督查中"),
        ("targets", {"targets": ["WC"]}, staff, "targets", "下级组织"),
        ("checklist", {"texts": []}, staff, "texts", "检查内容"),
        ("checklist", {"texts": "一条"}, staff, "texts", "检查内容"),
        ("checklist", {"scheme": 999999}, staff, "scheme", "考核方案"),
        ("visit", {"target": "JY01", "visited_on": today.isoformat()}, insp, "target", "不是本次督查的对象"),
        ("visit", {"target": "CZ01", "visited_on": (today + dt.timedelta(days=1)).isoformat()}, insp,
         "visited_on", "晚于今天"),
        ("visit", {"target": "CZ01"}, insp, "visited_on", "督查日期"),
        ("findings", {"target": "CZ01", "findings": []}, insp, "findings", "督查发现"),
        ("findings", {"target": "CZ01", "findings": [{"text": "好", "list": "later"}]}, insp, "findings", "清单"),
        ("findings", {"target": "CZ01", "findings": [{"text": "记录缺页", "item": 999999}]}, insp, "findings",
         "检查清单项"),
        ("findings", {"target": "CZ01", "findings": [{"text": "记录缺页"}, {"text": " "}]}, insp, "findings",
         "发现情况"),
        ("findings", {"target": "CZ01", "findings": ["记录缺页"]}, insp, "findings", "督查发现"),
        ("items", {"findings": [999999], "workdays": 5}, insp, "findings", "不属于本次督查"),
        ("items", {"findings": []}, insp, "findings", "督查发现"),
        ("advance", {"version": "abc"}, staff, "version", "版本"),
    ]
    for action, body, client, field, words in cases:
        refused(client.post(f"/api/inspections/{pk}/{action}/", body, format="json"), field, words)
    assert counts() == before
    # A finding recorded, a deadline that cannot be is refused and opens no item.
    t = Target.objects.get(inspection_id=pk, org=tree["a1"])
    insp.post(f"/api/inspections/{pk}/findings/", {"target": t.pk, "findings": [{"text": "台账不全"}]}, format="json")
    f = Finding.objects.get()
    refused(insp.post(f"/api/inspections/{pk}/items/", {"findings": [f.pk]}, format="json"), "deadline", "整改时限")
    refused(insp.post(f"/api/inspections/{pk}/items/", {"findings": [f.pk], "deadline": "2020-01-01"},
                      format="json"), "deadline", "整改时限")
    refused(insp.post(f"/api/inspections/{pk}/items/", {"findings": [f.pk], "deadline": "2099-01-01",
                                                         "workdays": 5}, format="json"), "deadline", "整改时限")
    assert not Item.objects.exists() and Finding.objects.get().rectification_item_id is None
    # Not JSON, or not an object: answered in Chinese too.
    r = staff.post("/api/inspections/", "[1, 2]", content_type="application/json")
    assert r.status_code == 400 and CJK.search(r.json()["detail"])


def test_who_may_make_which_move(tree, personas, inspector):
    """Planning is for those who edit; targets, checklist and status for the issuing side; the
    team records on site but plans nothing; a plan not seen is 404."""
    staff = token_client("wcadmin")
    pk = staff.post("/api/inspections/", plan_body(unannounced=False), format="json").json()["id"]
    insp, sec, unit_b, leader = (token_client(u) for u in ("insp", "seca1", "unitb", "leader"))
    for client in (insp, leader):
        r = client.post("/api/inspections/", plan_body(), format="json")
        assert r.status_code == 403 and CJK.search(r.json()["detail"])
    # A branch secretary edits its branch, which issues no inspection, and not the 工委.
    refused(sec.post("/api/inspections/", plan_body(), format="json"), "issuer", "组织单位")
    before = counts()
    for action, body in (("targets", {"targets": ["JY01"]}), ("checklist", {"texts": ["检查一项"]}),
                         ("advance", {})):
        r = insp.post(f"/api/inspections/{pk}/{action}/", body, format="json")
        assert r.status_code == 403 and CJK.search(r.json()["detail"]), action
    # An announced plan is seen by its target's secretary, who records nothing on it.
    assert sec.get(f"/api/inspections/{pk}/").status_code == 200
    for action in ("visit", "findings", "items", "targets"):
        assert sec.post(f"/api/inspections/{pk}/{action}/", {}, format="json").status_code == 403
        assert unit_b.post(f"/api/inspections/{pk}/{action}/", {}, format="json").status_code == 404
    # A unit admin plans inside its own subtree only.
    unit_a = token_client("unita")
    refused(unit_a.post("/api/inspections/", plan_body(issuer="WC"), format="json"), "issuer", "组织单位")
    r = unit_a.post("/api/inspections/", plan_body(issuer="CZ", team=[], unannounced=False), format="json")
    assert r.status_code == 201 and r.json()["issuer"] == "CZ"
    assert counts()[0] == before[0] + 1


def test_the_list_takes_the_same_queries_as_plans_and_findings_grow(tree, personas, inspector):
    staff = token_client("wcadmin")

    def measure() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert staff.get("/api/inspections/").status_code == 200
        return len(ctx)

    def grow(n):
        for i in range(n):
            pk = staff.post("/api/inspections/", plan_body(title=f"督查 {i}", targets=["CZ01", "JY01"]),
                            format="json").json()["id"]
            staff.post(f"/api/inspections/{pk}/checklist/", {"texts": ["一项", "二项"]}, format="json")
            staff.post(f"/api/inspections/{pk}/findings/", {"target": "CZ01", "findings": [
                {"text": "发现一"}, {"text": "发现二"}]}, format="json")

    grow(1)
    small = measure()
    grow(4)
    assert measure() == small


# ---- feedback ----------------------------------------------------------------------------------

def test_an_anonymous_complaint_through_the_api_names_no_sender(tree, personas):
    sender = personas["member_a"]
    c = token_client("mema")
    r = c.post("/api/feedback/", {"channel": "complaint", "org": "CZ01", "anonymous": True,
                                  "text": "支部书记多次无故取消主题党日，请核实。"}, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    code = body["code"]
    assert len(code) == CODE_LENGTH and body["submitter"] is None and body["anonymous"] is True
    fb = Feedback.objects.get()
    assert fb.submitter_id is None and code not in fb.receipt_hash and by_code(code) == fb
    entries = list(AuditEntry.objects.filter(table="feedback.feedback", object_id=fb.pk))
    assert entries and all(e.user_id is None and not e.actor_username and not e.actor_name for e in entries)
    assert all("submitter_id" not in e.changes and "receipt_hash" not in e.changes for e in entries)
    assert not AuditEntry.objects.filter(user=sender).exclude(action__in=["token", "login"]).exists()
    staff = token_client("wcadmin")
    row = staff.get(f"/api/feedback/{fb.pk}/").json()
    assert row["submitter"] is None and "code" not in row and "mema" not in str(row) and "李明" not in str(row)
    (listed,) = [x for x in staff.get("/api/feedback/").json()["results"] if x["id"] == fb.pk]
    assert listed["submitter"] is None
    # A named one carries its sender, and no code.
    r = c.post("/api/feedback/", {"channel": "member", "org": "CZ01", "text": "建议增加线上学习资料。"}, format="json")
    assert r.status_code == 201 and r.json()["code"] is None and r.json()["submitter"] == "李明"
    assert Feedback.objects.get(pk=r.json()["id"]).submitter == sender


@pytest.mark.parametrize("body, field, words", [
    ({"channel": "member", "org": "CZ01", "text": "建议增加线上学习资料。", "anonymous": True}, "anonymous", "匿名"),
    ({"channel": "visit", "org": "CZ01", "text": "建议增加线上学习资料。"}, "channel", "来源渠道"),
    ({"org": "JY01", "text": "教育局第一党支部的问题反映"}, "org", "涉及的党组织"),
    ({"org": "NOPE", "text": "建议增加线上学习资料。"}, "org", "涉及的党组织"),
    ({"org": "CZ01", "text": "太短"}, "text", "过短"),
    ({"org": "CZ01", "text": ""}, "text", "内容"),
    ({"org": "CZ01", "text": "内容\u202e含有方向控制字符的投诉"}, "text", "字符"),
    ({"org": 5, "text": "建议增加线上学习资料。"}, "org", "涉及的党组织"),
])
def test_bad_feedback_is_refused_in_chinese_and_writes_nothing(tree, personas, body, field, words):
    refused(token_client("mema").post("/api/feedback/", body, format="json"), field, words)
    assert not Feedback.objects.exists() and not AuditEntry.objects.filter(table="feedback.feedback").exists()


def test_a_handler_answers_or_turns_feedback_into_an_item_through_the_api(tree, personas):
    sender, staff, unit_b, sec = (token_client(u) for u in ("mema", "wcadmin", "unitb", "seca1"))
    ask = lambda text: sender.post("/api/feedback/", {"org": "CZ01", "text": text}, format="json").json()  # noqa: E731
    one, two = ask("党员活动室开放时间太短，建议延长。"), ask("支部学习资料更新不及时，请改进。")
    assert one["status"] == "pending" and one["code"] is None
    # Who may not: outside the scope (or a plain member) 404, a reader without edit (the leader) 403.
    assert unit_b.post(f"/api/feedback/{one['id']}/answer/", {"answer": "已答复"}, format="json").status_code == 404
    assert sender.post(f"/api/feedback/{one['id']}/answer/", {"answer": "已答复"}, format="json").status_code == 404
    r = token_client("leader").post(f"/api/feedback/{one['id']}/answer/", {"answer": "已答复同一件事。"}, format="json")
    assert r.status_code == 403 and CJK.search(r.json()["detail"])
    # Bad input, a stale version: Chinese, nothing written.
    refused(staff.post(f"/api/feedback/{one['id']}/answer/", {"answer": ""}, format="json"), "answer", "答复内容")
    r = staff.post(f"/api/feedback/{one['id']}/answer/", {"answer": "已延长至晚九点。", "version": one["version"] + 5},
                   format="json")
    assert r.status_code == 409 and r.json()["version"] == one["version"]
    assert Feedback.objects.get(pk=one["id"]).status == "pending"
    r = staff.post(f"/api/feedback/{one['id']}/answer/", {"answer": "已延长至晚九点。", "version": one["version"]},
                   format="json")
    assert r.status_code == 200 and r.json()["status"] == "answered" and r.json()["answer"] == "已延长至晚九点。"
    refused(staff.post(f"/api/feedback/{one['id']}/answer/", {"answer": "再次答复同一件事。"}, format="json"),
            "non_field_errors", "不能再答复")
    # Turned into an item: the item exists, issued by the staff's side, and its close-out answers it.
    refused(staff.post(f"/api/feedback/{two['id']}/item/", {"org": "NOPE"}, format="json"), "org", "责任单位")
    refused(staff.post(f"/api/feedback/{two['id']}/item/", {"workdays": 0}, format="json"), "workdays", "整改时限")
    refused(staff.post(f"/api/feedback/{two['id']}/item/", {"list": "later"}, format="json"), "list", "清单")
    assert not Item.objects.exists()
    r = staff.post(f"/api/feedback/{two['id']}/item/", {"title": "更新支部学习资料", "workdays": 10}, format="json")
    assert r.status_code == 201, r.json()
    item = Item.objects.get(pk=r.json()["item"])
    assert (item.source, item.source_id, item.org_id, item.issuer_id, item.title) == (
        "feedback", two["id"], tree["a1"].pk, tree["wc"].pk, "更新支部学习资料")
    assert r.json()["feedback"]["status"] == "item"
    item_row = sec.get(f"/api/items/{item.pk}/").json()
    assert item_row["source"] == "feedback"
    sec.post(f"/api/items/{item.pk}/sign/", {"text": "收到"}, format="json")
    sec.post(f"/api/items/{item.pk}/request-close/", {"text": "学习资料已更新到本月"}, format="json")
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert staff.post(f"/api/items/{item.pk}/close/", {"text": "核查属实"}, format="json").status_code == 200
    assert Feedback.objects.get(pk=two["id"]).resolved_on == timezone.localdate()

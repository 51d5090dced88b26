"""三访三评: visits, feedback and the complaint channel — the answer deadline in working days,
anonymity, bad input, permissions per role, the figures against a naive count, the item a
feedback is turned into, and constant query counts on the lists."""
import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from dangjian.core import history
from dangjian.core.models import AuditEntry
from dangjian.feedback import figures, services
from dangjian.feedback.checks import FeedbackError
from dangjian.feedback.models import Feedback, Visit
from dangjian.rectification import services as item_services
from tests import factories
from tests.factories import login

TODAY = dt.date(2026, 12, 4)


def api(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


# ---- the answer deadline ----------------------------------------------------------------------------

def test_answer_deadline_counts_working_days_across_national_day(tree):
    # 2026: 10-01..10-07 off, 09-28 (Sun) and 10-10 (Sat) worked: five working days after 09-30
    # are 10-08, 10-09, 10-10, 10-12, 10-13.
    fb = factories.feedback(tree["wc"], received_on=dt.date(2026, 9, 30), today=TODAY)
    assert fb.deadline == dt.date(2026, 10, 13)
    assert services.answer_workdays() == 5
    before = factories.feedback(tree["wc"], received_on=dt.date(2026, 9, 25), today=TODAY)
    assert before.deadline == dt.date(2026, 10, 9)  # 09-28 (make-up), 09-29, 09-30, 10-08, 10-09


def test_a_year_without_calendar_is_refused_and_nothing_written(tree):
    with pytest.raises(FeedbackError) as e:
        factories.feedback(tree["wc"], received_on=dt.date(2031, 3, 2), today=dt.date(2031, 3, 2))
    assert e.value.field == "received_on" and "2031 年" in e.value.message
    assert not Feedback.objects.exists()


# ---- anonymity ------------------------------------------------------------------------------------

def test_an_anonymous_complaint_keeps_no_sender_anywhere(tree, personas):
    sender = personas["member_a"]
    c = login(sender)
    r = c.post("/feedback/submit/", {"channel": "complaint", "org": tree["a1"].pk, "anonymous": "on",
                                     "text": "支部书记多次无故取消主题党日，请核实。"})
    assert r.status_code == 200
    fb = Feedback.objects.get()
    assert fb.anonymous and fb.submitter_id is None
    code = r.context["code"]
    assert code in r.content.decode() and len(code) == services.CODE_LENGTH
    assert fb.receipt_hash and code not in fb.receipt_hash
    # The change history names nobody and holds no hash.
    entries = list(AuditEntry.objects.filter(table="feedback.feedback", object_id=fb.pk))
    assert entries and all(e.user_id is None and not e.actor_username for e in entries)
    assert all("receipt_hash" not in e.changes and "submitter_id" not in e.changes for e in entries)
    assert not AuditEntry.objects.filter(user=sender, table="feedback.feedback").exists()
    # Not in the sender's own list (it is not theirs by any record).
    assert fb.pk not in [x.pk for x in login(sender).get("/feedback/mine/").context["page_obj"].object_list]
    # Staff: the page, its history and the API say 匿名, never who.
    staff = personas["wc_admin"]
    page = login(staff).get(f"/feedback/{fb.pk}/").content.decode()
    assert "匿名" in page and "mema" not in page and sender.get_username() not in page
    rows = history.describe(history.entries_for({"feedback.feedback": [fb.pk]}), {})
    assert all(r["user"] in ("", history.NOBODY) or "mema" not in r["user"] for r in rows)
    for body in (api(staff).get("/api/feedback/").json()["results"], [api(staff).get(f"/api/feedback/{fb.pk}/").json()]):
        (row,) = [x for x in body if x["id"] == fb.pk]
        assert row["submitter"] is None and row["anonymous"] is True
        assert "mema" not in str(row)
    # The code alone opens the answer.
    services.answer(staff, fb, text="经核实，已责成该支部按计划补开主题党日。", today=TODAY)
    wrong = c.post("/feedback/followup/", {"code": "ABCDEFGHJKLM"})
    assert wrong.status_code == 400 and "查询码不正确" in wrong.content.decode()
    found = c.post("/feedback/followup/", {"code": code.lower()})
    assert found.status_code == 200 and "已责成该支部" in found.content.decode()


def test_only_a_complaint_may_be_anonymous(tree, personas):
    with pytest.raises(FeedbackError) as e:
        services.submit(personas["member_a"], channel="member", org=tree["a1"], text="建议增加线上学习资料。",
                        anonymous=True, today=TODAY)
    assert e.value.field == "anonymous"
    assert not Feedback.objects.exists()


# ---- bad input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, word", [("", "必填"), ("   ", "必填"), ("太短", "过短"), ("很" * 2001, "过长"),
                                        ("内容\u202e含有方向控制字符的投诉", "字符")])
def test_bad_text_is_refused_in_chinese_and_nothing_written(tree, personas, text, word):
    c = login(personas["member_a"])
    r = c.post("/feedback/submit/", {"channel": "complaint", "org": tree["a1"].pk, "text": text})
    page = r.content.decode()
    assert r.status_code == 200 and "field-error" in page and "内容：" in page
    with pytest.raises(FeedbackError) as e:
        services.submit(personas["member_a"], channel="complaint", org=tree["a1"], text=text, today=TODAY)
    assert e.value.field == "text" and word in e.value.message
    assert not Feedback.objects.exists() and not AuditEntry.objects.filter(table="feedback.feedback").exists()


def test_an_org_outside_the_senders_reach_is_refused(tree, personas):
    member = personas["member_a"]
    r = login(member).post("/feedback/submit/", {"channel": "complaint", "org": tree["b1"].pk,
                                                 "text": "教育局支部的问题，请处理。"})
    assert r.status_code == 200 and "涉及的党组织" in r.content.decode()
    with pytest.raises(FeedbackError) as e:
        services.submit(member, channel="complaint", org=tree["b1"], text="教育局支部的问题，请处理。", today=TODAY)
    assert e.value.field == "org"
    assert not Feedback.objects.exists()
    # Their own branch, the organizations above it and the working committee are theirs to address.
    for org in (tree["a1"], tree["a"], tree["wc"]):
        services.submit(member, channel="member", org=org, text="建议把学习资料放到平台上。", today=TODAY)
    assert Feedback.objects.count() == 3


def test_a_visit_with_a_member_from_elsewhere_writes_nothing(tree, personas):
    with pytest.raises(FeedbackError) as e:
        factories.visit(tree["a1"], [tree["ma"], tree["mb"]], issues=["小区路灯损坏，晚上出行不便。"],
                        user=personas["secretary_a1"])
    assert e.value.field == "participants" and "王芳" in e.value.message
    assert not Visit.objects.exists() and not Feedback.objects.exists()
    r = login(personas["secretary_a1"]).post("/feedback/visits/new/", {
        "org": "CZ01", "visited_on": "2026-03-10", "kind": "masses", "place": "幸福社区", "households": "3",
        "people": "5", "participant_names": "李明 王芳", "issues": "小区路灯损坏，晚上出行不便。"})
    assert r.status_code == 200 and "王芳" in r.content.decode() and "不是" in r.content.decode()
    assert not Visit.objects.exists() and not Feedback.objects.exists()


def test_a_visit_from_the_form_registers_each_issue_as_feedback(tree, personas):
    c = login(personas["secretary_a1"])
    r = c.post("/feedback/visits/new/", {
        "org": "CZ01", "visited_on": "2026-03-10", "kind": "community", "place": "幸福社区", "households": "4",
        "people": "9", "participant_names": "李明", "issues": "小区路灯损坏，晚上出行不便。\n\n菜市场周边停车难，希望协调。"})
    assert r.status_code == 302
    v = Visit.objects.get()
    assert list(v.participants.all()) == [tree["ma"]] and v.households == 4
    issues = list(Feedback.objects.filter(visit=v).order_by("id"))
    assert [f.channel for f in issues] == ["visit", "visit"] and issues[0].deadline == dt.date(2026, 3, 17)
    assert all(f.submitter == personas["secretary_a1"] for f in issues)
    page = c.get(f"/feedback/visits/{v.pk}/").content.decode()
    assert "菜市场周边停车难" in page and "李明" in page


# ---- permissions ------------------------------------------------------------------------------------

def test_who_may_do_what(tree, personas):
    fb = factories.feedback(tree["a1"], user=personas["member_a"], channel="member", today=TODAY)
    v = factories.visit(tree["a1"], [tree["ma"]])
    answer = {"answer": "已研究，下月起执行。", "version": fb.version}
    # A plain member: the channel, their own list; not the handlers' pages.
    member = login(personas["member_a"])
    assert member.get("/feedback/submit/").status_code == 200
    assert member.get("/feedback/mine/").status_code == 200
    assert member.get(f"/feedback/mine/{fb.pk}/").status_code == 200
    for url in ("/feedback/", "/feedback/visits/", "/feedback/figures/", f"/feedback/{fb.pk}/",
                f"/feedback/visits/{v.pk}/", "/feedback/visits/new/"):
        assert member.get(url).status_code == 404, url
    assert member.post(f"/feedback/{fb.pk}/answer/", answer).status_code == 404
    # The other unit sees nothing of it.
    other = login(personas["unit_admin_b"])
    assert other.get(f"/feedback/{fb.pk}/").status_code == 404
    assert other.get(f"/feedback/mine/{fb.pk}/").status_code == 404
    assert other.post(f"/feedback/{fb.pk}/answer/", answer).status_code == 404
    assert api(personas["unit_admin_b"]).get(f"/api/feedback/{fb.pk}/").status_code == 404
    # A leader reads, answers nothing.
    leader = login(personas["leader"])
    page = leader.get(f"/feedback/{fb.pk}/")
    assert page.status_code == 200 and "answer-form" not in page.content.decode()
    assert leader.post(f"/feedback/{fb.pk}/answer/", answer).status_code == 404
    # The branch's secretary answers; the member sees the answer.
    sec = login(personas["secretary_a1"])
    assert "answer-form" in sec.get(f"/feedback/{fb.pk}/").content.decode()
    assert sec.post(f"/feedback/{fb.pk}/answer/", answer).status_code == 302
    fb.refresh_from_db()
    assert fb.status == "answered" and fb.resolved_on is not None
    assert "下月起执行" in member.get("/feedback/mine/").content.decode()
    # A second answer is refused.
    again = sec.post(f"/feedback/{fb.pk}/answer/", {"answer": "再次答复的内容。", "version": fb.version})
    assert again.status_code == 404 or "不能再答复" in again.content.decode()


def test_the_complaint_channel_is_in_every_menu(tree, personas):
    for who in personas:
        page = login(personas[who]).get("/").content.decode()
        assert 'href="/feedback/submit/"' in page, who


def test_an_answer_from_an_older_version_is_refused(tree, personas):
    fb = factories.feedback(tree["a1"], user=personas["member_a"], channel="member", today=TODAY)
    sec = login(personas["secretary_a1"])
    services.answer(personas["wc_admin"], Feedback.objects.get(pk=fb.pk), text="工委已答复此事。", version=fb.version)
    r = sec.post(f"/feedback/{fb.pk}/answer/", {"answer": "支部也来答复。", "version": fb.version})
    assert r.status_code == 404 or r.status_code == 400
    fb.refresh_from_db()
    assert fb.answer == "工委已答复此事。"


# ---- turned into an item ------------------------------------------------------------------------------

def test_a_feedback_turned_into_an_item_is_solved_when_the_item_is_closed(tree, personas):
    fb = factories.feedback(tree["a1"], user=personas["member_a"], channel="member",
                            text="支部活动室长期被占用，无法开展活动。", today=TODAY)
    staff = personas["wc_admin"]
    r = login(staff).post(f"/feedback/{fb.pk}/item/", {"list": "problem", "workdays": "10", "version": fb.version})
    assert r.status_code == 302
    fb.refresh_from_db()
    assert fb.status == "item" and fb.resolved_on is None
    from dangjian.rectification.models import Item

    item = Item.objects.get(source="feedback", source_id=fb.pk)
    assert item.org == tree["a1"] and item.issuer == tree["wc"] and item.title.startswith("支部活动室")
    assert f'href="/items/{item.pk}/"' in login(staff).get(f"/feedback/{fb.pk}/").content.decode()
    item_page = login(staff).get(f"/items/{item.pk}/")
    assert item_page.status_code == 200 and f'href="/feedback/{fb.pk}/"' in item_page.content.decode()
    mine = login(personas["member_a"]).get("/feedback/mine/").content.decode()
    assert "待签收" in mine
    sec = personas["secretary_a1"]
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        item_services.sign(sec, item)
    with TestCase.captureOnCommitCallbacks(execute=True):
        item_services.request_close(sec, Item.objects.get(pk=item.pk), evidence="活动室已腾退并恢复使用。")
    with TestCase.captureOnCommitCallbacks(execute=True):
        item_services.close(staff, Item.objects.get(pk=item.pk), verification="现场核实。")
    fb.refresh_from_db()
    assert fb.resolved_on == timezone.localdate()
    assert "已销号" in login(personas["member_a"]).get(f"/feedback/mine/{fb.pk}/").content.decode()


def test_a_bad_item_writes_neither(tree, personas):
    fb = factories.feedback(tree["a1"], user=personas["member_a"], channel="member", today=TODAY)
    with pytest.raises(FeedbackError):
        services.turn_into_item(personas["wc_admin"], fb, workdays=999, today=TODAY)
    fb.refresh_from_db()
    from dangjian.rectification.models import Item

    assert fb.status == "pending" and not Item.objects.exists()
    r = login(personas["wc_admin"]).post(f"/feedback/{fb.pk}/item/", {"list": "problem", "workdays": "0"})
    assert r.status_code == 400 and "整改时限" in r.content.decode()


# ---- figures -----------------------------------------------------------------------------------------

def _generated(tree, rng, n_visits=40, n_feedback=30):
    branches = [factories.branch_with(tree[u], full=rng.randint(2, 5)) for u in ("a", "a", "b")]
    branches += [tree["a1"], tree["b1"]]
    people = {b.pk: getattr(b, "people", None) or [tree["ma"] if b == tree["a1"] else tree["mb"]] for b in branches}
    for _ in range(n_visits):
        b = rng.choice(branches)
        day = dt.date(2026, rng.randint(1, 11), rng.randint(1, 28))
        who = rng.sample(people[b.pk], rng.randint(1, len(people[b.pk])))
        issues = [f"问题{rng.randint(1, 999)}：道路需要修缮" for _ in range(rng.randint(0, 2))]
        factories.visit(b, who, day=day, issues=issues, households=rng.randint(0, 9), people=rng.randint(1, 20),
                        today=TODAY)
    for _ in range(n_feedback):
        org = rng.choice(branches + [tree["a"], tree["b"]])
        factories.feedback(org, received_on=dt.date(2026, rng.randint(1, 11), rng.randint(1, 28)), today=TODAY)
    staff = factories.user("wc_admin", tree["wc"])
    for fb in Feedback.objects.order_by("id"):
        if rng.random() < 0.4:
            services.answer(staff, fb, text="已答复处理情况。", today=fb.received_on + dt.timedelta(days=rng.randint(0, 40)))
    return branches


def test_figures_match_a_naive_count(tree):
    rng = random.Random(11)
    _generated(tree, rng)
    start, end = dt.date(2026, 3, 1), dt.date(2026, 8, 31)
    for root in (tree["wc"], tree["a"], tree["b1"]):
        with CaptureQueriesContext(connection) as ctx:
            got = figures.totals(root.path, start, end, TODAY)
        assert len(ctx.captured_queries) == 3
        visits = [v for v in Visit.objects.all() if v.org.path.startswith(root.path) and start <= v.visited_on <= end]
        fbs = [f for f in Feedback.objects.all() if f.org.path.startswith(root.path) and start <= f.received_on <= end]
        assert got.visits == len(visits)
        assert got.participations == sum(len(v.participants.all()) for v in visits)
        assert got.households == sum(v.households for v in visits)
        assert got.people == sum(v.people for v in visits)
        assert got.raised == len(fbs)
        assert got.solved == sum(1 for f in fbs if f.answered_on is not None and f.answered_on <= end)
        months = figures.by_month(root.path, start, end)
        assert [m["month"].month for m in months] == list(range(3, 9))
        assert sum(m["participations"] for m in months) == got.participations
        assert sum(m["raised"] for m in months) == got.raised and sum(m["solved"] for m in months) == got.solved
    assert figures.totals(tree["wc"].path, start, end, TODAY).visits > 5


def test_figures_page_and_export(tree, personas):
    factories.visit(tree["a1"], [tree["ma"]], day=dt.date(2026, 5, 6), households=7, people=11,
                    issues=["希望增设便民服务点。"], today=TODAY)
    c = login(personas["unit_admin_a"])
    r = c.get("/feedback/figures/?period=2026")
    assert r.status_code == 200
    assert r.context["total"].households == 7 and r.context["total"].raised == 1
    assert 'id="feedback-figures"' in r.content.decode()
    x = c.get("/feedback/figures/export.xlsx?period=2026")
    assert x.status_code == 200
    assert AuditEntry.objects.filter(table="core.export", changes__kind="feedback-figures").exists()
    bad = c.get("/feedback/figures/?period=2026-13")
    assert bad.status_code == 200 and "周期" in bad.content.decode()


# ---- query counts ------------------------------------------------------------------------------------

def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200, url
    return len(ctx.captured_queries)


LISTS = ("/feedback/", "/feedback/visits/", "/feedback/mine/", "/api/feedback/", "/api/visits/",
         "/feedback/?overdue=1", "/feedback/figures/?org=CZ&period=2026")


def test_list_query_counts_do_not_grow_with_the_data(tree, personas):
    staff = personas["wc_admin"]

    def add(n):
        for i in range(n):
            fb = factories.feedback(tree["a1"], user=staff, channel="complaint", received_on=dt.date(2026, 11, 2),
                                    today=TODAY)
            if i % 2:
                services.turn_into_item(staff, fb, workdays=10, today=TODAY)
            factories.visit(tree["a1"], [tree["ma"]], day=dt.date(2026, 4, 1 + i), issues=["路灯不亮，需要维修。"],
                            today=TODAY)

    add(2)
    web, rest = login(staff), APIClient()
    rest.force_login(staff)
    first = {u: _count(rest if u.startswith("/api/") else web, u) for u in LISTS}
    add(12)
    second = {u: _count(rest if u.startswith("/api/") else web, u) for u in LISTS}
    assert first == second


def test_the_demo_part_builds_a_year_of_visits_and_feedback(city, personas):
    from dangjian.feedback import demo

    out = demo.build(dt.date(2026, 6, 30), seed=3)
    assert out["message"] == "" and out["visits"] > 10
    assert Feedback.objects.filter(channel="visit").exists()
    assert Feedback.objects.filter(channel="complaint", anonymous=True, submitter__isnull=True).exists()
    assert Feedback.objects.filter(status="answered").exists() and Feedback.objects.filter(status="item").exists()
    got = figures.totals(city["wc"].path, dt.date(2025, 7, 1), dt.date(2026, 6, 30), dt.date(2026, 6, 30))
    assert got.visits == out["visits"] and got.raised == Feedback.objects.count()


def test_the_command_prints_the_figures(tree):
    factories.visit(tree["a1"], [tree["ma"]], day=dt.date(2026, 5, 6), households=7, people=11,
                    issues=["希望增设便民服务点。"], today=TODAY)
    code, data = factories.cli_json("visits", "--org", "CZ", "--period", "2026Q2", "--today", "2026-12-04")
    assert code == 0 and data["visits"] == 1 and data["participations"] == 1 and data["households"] == 7
    assert data["raised"] == 1 and data["overdue"] == 1 and [m["month"] for m in data["months"]] == [
        "2026-04", "2026-05", "2026-06"]
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="NOPE") as e:
        factories.cli("visits", "--org", "NOPE")
    assert e.value.returncode == 2
    with pytest.raises(CommandError, match="周期"):
        factories.cli("visits", "--org", "CZ", "--period", "2026-13")

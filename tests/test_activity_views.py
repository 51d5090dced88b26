"""Organizational-life pages: the record form, a record, an org's list, compliance and calendar."""
import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dangjian.activities import services as acts
from dangjian.activities.models import Activity, Attendance
from tests import factories
from tests.factories import login
from tests.factories import page_text as text

DAY = timezone.localdate() - dt.timedelta(days=1)



@pytest.fixture
def branch(tree):
    """财政局第一党支部 with three more members besides 李明."""
    a1 = tree["a1"]
    extra = [factories.member(a1, name=n) for n in ("赵一", "钱二", "孙三")]
    return {"org": a1, "people": [tree["ma"], *extra]}


def post_record(client, org, people, **overrides):
    data = {"kinds": ["theme_day", "general_meeting"], "held_on": DAY.isoformat(), "starts_at": "14:30",
            "place": "三楼会议室", "topic": "学习党章", "minutes": "全体党员学习党章第二章。", "decisions": ""}
    for m in people:
        data[f"att_{m.pk}"] = "present"
    data.update(overrides)
    return client.post(f"/activities/org/{org.pk}/new/", data)


def test_record_with_absentees_shows_on_record_compliance_and_calendar(branch, personas):
    org, people = branch["org"], branch["people"]
    c = login(personas["secretary_a1"])
    form = c.get(f"/activities/org/{org.pk}/new/")
    assert form.status_code == 200
    # Attendance is pre-filled with every member present.
    for m in people:
        assert re.search(rf'name="att_{m.pk}"[^>]*value="present" checked', text(form))
    r = post_record(c, org, people, **{f"att_{people[1].pk}": "absent", f"att_{people[2].pk}": "excused",
                                      f"reason_{people[2].pk}": "出差"})
    assert r.status_code == 302, text(r)
    activity = Activity.objects.get()
    assert r["Location"] == f"/activities/{activity.pk}/"
    assert sorted(activity.kind_list) == ["general_meeting", "theme_day"]
    statuses = dict(Attendance.objects.filter(activity=activity).values_list("member__name", "status"))
    assert statuses == {"李明": "present", "赵一": "absent", "钱二": "excused", "孙三": "present"}
    assert Attendance.objects.get(activity=activity, status="excused").reason == "出差"
    assert (activity.expected_count, activity.present_count) == (4, 2)

    page = text(c.get(r["Location"]))
    assert "缺席（1）" in page and "赵一" in page and "钱二（出差）" in page
    assert "录入时间" in page and "活动后 1 天录入" in page  # back-filling is visible
    assert "主题党日" in page and "支部党员大会" in page
    history = page.split("变更记录")[1]
    assert "新增" in history and "类型：主题党日、支部党员大会" in history and "出席情况" in history

    comp = text(c.get(f"/activities/org/{org.pk}/compliance/?year={DAY.year}"))
    row = re.search(rf'data-code="theme_day" data-period="{DAY:%Y-%m}">(.*?)</tr>', comp, re.S).group(1)
    assert 'data-status="met"' in row and f"/activities/{activity.pk}/" in row
    assert "《中国共产党党员教育管理工作条例》第十六条" in comp  # the rule's source is shown

    cal = text(c.get(f"/activities/org/{org.pk}/calendar/?month={DAY:%Y-%m}"))
    assert f'href="/activities/{activity.pk}/"' in cal
    done = cal.split('class="card done"')[1]
    assert 'data-code="theme_day"' in done
    todo = cal.split('class="card mb-3 todo"')[1].split('class="card done"')[0]
    assert 'data-code="theme_day"' not in todo


def test_calendar_lists_what_is_still_due_as_a_todo(branch, personas):
    org = branch["org"]
    today = timezone.localdate()
    cal = text(login(personas["secretary_a1"]).get(f"/activities/org/{org.pk}/calendar/?month={today:%Y-%m}"))
    todo = cal.split('class="card mb-3 todo"')[1].split('class="card done"')[0]
    assert 'data-code="theme_day"' in todo and 'data-status="due"' in todo
    last = (today.replace(day=1) - dt.timedelta(days=1))
    cal = text(login(personas["secretary_a1"]).get(f"/activities/org/{org.pk}/calendar/?month={last:%Y-%m}"))
    todo = cal.split('class="card mb-3 todo"')[1].split('class="card done"')[0]
    assert 'data-code="theme_day"' in todo and 'data-status="missing"' in todo


@pytest.mark.parametrize("overrides, message", [
    ({"kinds": []}, "请填写类型"),
    ({"held_on": (timezone.localdate() + dt.timedelta(days=3)).isoformat()}, "是将来的日期"),
    ({"held_on": "2026-13-45"}, "日期不是有效的日期"),
    ({"starts_at": "25:99"}, "开始时间不是有效的时间"),
    ({"kinds": ["cell_meeting"]}, "类型：“cell_meeting”不是本组织可开展的组织生活类型"),
    ({"lecturer_name": "张教授"}, "授课人：只有党课需要填写授课人"),
    ({"topic": "长" * 201}, "主题过长"),
])
def test_bad_input_names_the_field_and_writes_nothing(branch, personas, overrides, message):
    c = login(personas["secretary_a1"])
    r = post_record(c, branch["org"], branch["people"], **overrides)
    assert r.status_code == 200
    assert message in text(r)
    assert not Activity.objects.exists() and not Attendance.objects.exists()


def test_excused_without_reason_and_bad_status_are_refused(branch, personas):
    c = login(personas["secretary_a1"])
    people = branch["people"]
    r = post_record(c, branch["org"], people, **{f"att_{people[1].pk}": "excused"})
    assert "出席情况：赵一 请假，请填写请假事由" in text(r)
    r = post_record(c, branch["org"], people, **{f"att_{people[1].pk}": "late"})
    assert "赵一的出席情况“late”无效" in text(r)
    assert not Activity.objects.exists()


def test_duplicate_submission_is_refused(branch, personas):
    c = login(personas["secretary_a1"])
    assert post_record(c, branch["org"], branch["people"]).status_code == 302
    r = post_record(c, branch["org"], branch["people"])
    assert r.status_code == 200 and "请勿重复提交" in text(r)
    assert Activity.objects.count() == 1


def test_edit_and_withdraw(branch, personas):
    org, people = branch["org"], branch["people"]
    c = login(personas["secretary_a1"])
    post_record(c, org, people, kinds=["theme_day"])
    activity = Activity.objects.get()
    form = text(c.get(f"/activities/{activity.pk}/edit/"))
    assert 'value="学习党章"' in form
    data = {"kinds": ["theme_day"], "held_on": DAY.isoformat(), "topic": "学习新党章", "place": "",
            **{f"att_{m.pk}": "present" for m in people}, f"att_{people[3].pk}": "absent"}
    r = c.post(f"/activities/{activity.pk}/edit/", data)
    assert r.status_code == 302, text(r)
    activity.refresh_from_db()
    assert activity.topic == "学习新党章" and activity.present_count == 3
    assert Attendance.objects.get(activity=activity, member=people[3]).status == "absent"
    page = text(c.get(f"/activities/{activity.pk}/"))
    assert "学习党章 → 学习新党章" in page

    r = c.post(f"/activities/{activity.pk}/withdraw/", {"reason": ""})
    assert r.status_code == 200 and "请填写撤回原因" in text(r)
    r = c.post(f"/activities/{activity.pk}/withdraw/", {"reason": "重复录入"})
    assert r.status_code == 302
    activity.refresh_from_db()
    assert activity.status == "withdrawn"
    comp = text(c.get(f"/activities/org/{org.pk}/compliance/?year={DAY.year}"))
    row = re.search(rf'data-code="theme_day" data-period="{DAY:%Y-%m}">(.*?)</tr>', comp, re.S).group(1)
    assert 'data-status="met"' not in row
    assert c.get(f"/activities/{activity.pk}/edit/").status_code == 404


def test_pages_by_persona(branch, personas, tree):
    org = branch["org"]
    act = acts.record_activity(None, org, ["theme_day"], DAY, topic="主题党日活动",
                               attendance={tree["ma"]: "present"})
    urls = [f"/activities/org/{org.pk}/", f"/activities/org/{org.pk}/compliance/",
            f"/activities/org/{org.pk}/calendar/", f"/activities/{act.pk}/"]
    for who in ("wc_admin", "unit_admin_a", "secretary_a1"):
        c = login(personas[who])
        for url in urls + [f"/activities/org/{org.pk}/new/", f"/activities/{act.pk}/edit/"]:
            assert c.get(url).status_code == 200, (who, url)
    c = login(personas["unit_admin_b"])
    for url in urls + [f"/activities/org/{org.pk}/new/", f"/activities/{act.pk}/edit/",
                       f"/activities/{act.pk}/withdraw/"]:
        assert c.get(url).status_code == 404, url
        assert c.post(url, {"reason": "x", "kinds": ["theme_day"]}).status_code == 404, url
    assert not Activity.objects.filter(status="withdrawn").exists()
    # The leader may look but not record.
    c = login(personas["leader"])
    assert c.get(f"/activities/org/{org.pk}/new/").status_code == 404
    # The menu entry leads a secretary to the calendar of their branch.
    r = login(personas["secretary_a1"]).get("/activities/")
    assert r.status_code == 302 and r["Location"] == f"/activities/org/{org.pk}/calendar/"


def test_list_filters_by_kind_and_year(branch, personas):
    org = branch["org"]
    acts.record_activity(None, org, ["theme_day"], DAY, topic="今年主题党日")
    acts.record_activity(None, org, ["party_lecture"], DAY, topic="今年党课")
    acts.record_activity(None, org, ["theme_day"], dt.date(DAY.year - 1, 6, 1), topic="去年主题党日")
    c = login(personas["secretary_a1"])
    page = text(c.get(f"/activities/org/{org.pk}/?kind=theme_day&year={DAY.year}"))
    assert "今年主题党日" in page and "今年党课" not in page and "去年主题党日" not in page
    page = text(c.get(f"/activities/org/{org.pk}/?kind=bogus&year=abc"))
    assert "今年党课" in page and "去年主题党日" in page
    # A bad month says what is wrong; its example is this month, so it never reads like the answer.
    this_month = timezone.localdate().strftime("%Y-%m")
    for raw, message in [("2026-13", "月份“2026-13”中的 13 月不存在，月份应在 1 到 12 之间"),
                         ("2026-0", "月份“2026-0”中的 0 月不存在"),
                         ("2026/11", f"月份“2026/11”的写法不对，应为“年-月”，如 {this_month}"),
                         ("1900-05", "早于 1921 年")]:
        bad = c.get(f"/activities/org/{org.pk}/calendar/", {"month": raw})
        assert bad.status_code == 200 and message in text(bad) and "已显示本月" in text(bad), raw


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_query_counts_do_not_grow_with_records(branch, personas):
    org, people = branch["org"], branch["people"]
    c = login(personas["secretary_a1"])
    first = acts.record_activity(None, org, ["theme_day", "party_lecture"], DAY, topic="第1次",
                                 attendance={m: "present" for m in people})
    month_start = DAY.replace(day=1)
    urls = [f"/activities/org/{org.pk}/", f"/activities/org/{org.pk}/compliance/?year={DAY.year}",
            f"/activities/org/{org.pk}/calendar/?month={DAY:%Y-%m}", f"/activities/{first.pk}/",
            f"/activities/org/{org.pk}/new/"]
    small = {u: _queries(c, u) for u in urls}
    for i in range(2, 26):
        day = month_start + dt.timedelta(days=i % max(1, (DAY - month_start).days + 1))
        acts.record_activity(None, org, ["theme_day", "party_lecture"], day, topic=f"第{i}次",
                             attendance={m: ("absent" if i % 3 else "present") for m in people})
    for i in range(6):
        factories.member(org, name=f"新党员{i}")
    large = {u: _queries(c, u) for u in urls}
    assert large == small


def test_editing_a_record_without_attendance_list_keeps_its_figures(branch, personas):
    org = branch["org"]
    act = acts.record_activity(None, org, ["general_meeting"], DAY, topic="历史会议",
                               counts={"expected_count": 10, "present_count": 8}, source="imported")
    c = login(personas["secretary_a1"])
    form = text(c.get(f"/activities/{act.pk}/edit/"))
    assert re.search(rf'name="att_{branch["people"][0].pk}"[^>]*value="none" checked', form)
    data = {"kinds": ["general_meeting"], "held_on": DAY.isoformat(), "topic": "历史会议（补充）",
            **{f"att_{m.pk}": "none" for m in branch["people"]}}
    assert c.post(f"/activities/{act.pk}/edit/", data).status_code == 302
    act.refresh_from_db()
    assert act.topic == "历史会议（补充）" and (act.expected_count, act.present_count) == (10, 8)
    assert not Attendance.objects.filter(activity=act).exists()

"""The record form of a big organization: attendance travels as one field, so an org of 3,000
members stays under Django's limit of DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000 fields) on create
and on edit; a branch without JavaScript still sends its rows as fields of their own."""
import datetime as dt
import json
import re

import pytest
from django.conf import settings
from django.urls import reverse

from dangjian.activities.models import Activity, Attendance
from dangjian.core import crypto, idcard
from dangjian.members.models import Member, Membership
from tests import factories

SIZE = 3000


def big_branch(parent, size: int):
    """A branch of `size` members written in bulk (the service would take minutes for the
    same rows: the form, not the roster, is under test)."""
    branch = factories.org(parent, kind="branch", name="大支部")
    rows = []
    for i in range(size):
        number = idcard.make(f"{110101 + i // 900}", dt.date(1980, 1, 1) + dt.timedelta(days=i % 3000), (i % 900) + 1)
        rows.append(Member(
            name=f"党员{i:04d}", gender="male", ethnicity="汉族", birth_date=idcard.birth_date(number),
            id_number_enc=crypto.encrypt(number), id_hash=crypto.lookup_hash(number), id_mask=idcard.mask(number),
            education="bachelor", phone=f"139{i:08d}", org=branch, category="full",
            joined_on=dt.date(2010, 7, 1), confirmed_on=dt.date(2011, 7, 1), workplace="测试局"))
    members = Member.objects.bulk_create(rows, batch_size=500)
    Membership.objects.bulk_create([Membership(member=m, org=branch, started_on=dt.date(2010, 7, 1))
                                    for m in members], batch_size=500)
    return branch, list(Member.objects.filter(org=branch).order_by("pk"))


def form_fields(html: str) -> set[str]:
    """The names of the inputs a browser would send from the page (one per radio group)."""
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\sname="([^"]+)"', html))


def statuses_for(members) -> list[list]:
    """A varied list: every 7th absent, every 11th excused with a reason, the rest present."""
    out = []
    for i, m in enumerate(members):
        if i % 11 == 0:
            out.append([m.pk, "excused", f"出差{i}"])
        elif i % 7 == 0:
            out.append([m.pk, "absent", ""])
        else:
            out.append([m.pk, "present", ""])
    return out


def post_fields(day: dt.date, topic: str, attendance: list[list]) -> dict:
    return {"kinds": ["theme_day"], "held_on": day.isoformat(), "topic": topic,
            "attendance": json.dumps(attendance)}


def stored(activity) -> dict[int, tuple[str, str]]:
    return {a.member_id: (a.status, a.reason) for a in Attendance.objects.filter(activity=activity)}


def test_a_3000_member_org_creates_and_edits_a_record_through_the_form(tree, personas):
    branch, members = big_branch(tree["a"], SIZE)
    web = factories.login(personas["unit_admin_a"])
    page = web.get(reverse("activities:create", args=[branch.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    # The page names each row for the script, and sends it as one field: far under the limit.
    assert len(re.findall(r"data-member=", html)) == SIZE
    assert 'name="attendance"' in html and "js/attendance.js" in html
    sent = post_fields(dt.date(2025, 6, 10), "三千人主题党日", statuses_for(members))
    assert len(sent) < settings.DATA_UPLOAD_MAX_NUMBER_FIELDS // 10
    response = web.post(reverse("activities:create", args=[branch.pk]), sent)
    assert response.status_code == 302, response.content.decode()[:2000]
    activity = Activity.objects.get(org=branch, topic="三千人主题党日")
    expected = {mid: (status, reason) for mid, status, reason in statuses_for(members)}
    assert stored(activity) == expected
    activity.refresh_from_db()
    assert activity.expected_count == SIZE
    assert activity.present_count == sum(1 for s, _ in expected.values() if s == "present")

    # The edit page: the stored list comes back on the rows, and a changed list is stored whole.
    edit_url = reverse("activities:edit", args=[activity.pk])
    page = web.get(edit_url).content.decode()
    assert len(re.findall(r"data-member=", page)) == SIZE
    changed = [[mid, "present", ""] if status == "absent" else [mid, status, reason]
               for mid, status, reason in statuses_for(members)]
    changed[1] = [members[1].pk, "excused", "病假"]
    response = web.post(edit_url, post_fields(dt.date(2025, 6, 10), "三千人主题党日", changed))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert stored(activity) == {mid: (status, reason) for mid, status, reason in changed}


def test_the_rows_as_fields_of_their_own_still_work_for_a_branch_without_javascript(tree, personas):
    branch, members = big_branch(tree["a"], 6)
    web = factories.login(personas["unit_admin_a"])
    html = web.get(reverse("activities:create", args=[branch.pk])).content.decode()
    names = form_fields(html)
    assert {f"att_{m.pk}" for m in members} <= names and {f"reason_{m.pk}" for m in members} <= names
    data = {"kinds": ["theme_day"], "held_on": "2025-06-11", "topic": "无脚本",
            f"att_{members[0].pk}": "absent", f"att_{members[1].pk}": "excused", f"reason_{members[1].pk}": "病假"}
    assert web.post(reverse("activities:create", args=[branch.pk]), data).status_code == 302
    activity = Activity.objects.get(topic="无脚本")
    assert stored(activity)[members[0].pk] == ("absent", "")
    assert stored(activity)[members[1].pk] == ("excused", "病假")
    assert stored(activity)[members[2].pk] == ("present", "")


@pytest.mark.parametrize("raw, message", [
    ("[[1, 2]]", "名单的格式不对"),
    ("{\"a\": 1}", "名单的格式不对"),
    ("[[999999, \"present\", \"\"]]", "不属于本次会议可选范围"),
])
def test_a_broken_attendance_field_is_refused_with_a_message(tree, personas, raw, message):
    branch, _ = big_branch(tree["a"], 3)
    web = factories.login(personas["unit_admin_a"])
    response = web.post(reverse("activities:create", args=[branch.pk]),
                        {"kinds": ["theme_day"], "held_on": "2025-06-12", "topic": "坏名单", "attendance": raw})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Activity.objects.filter(topic="坏名单").exists()


@pytest.mark.browser
def test_in_a_browser_a_big_org_saves_and_edits_its_attendance(transactional_db, live_server, personas, tree,
                                                              browser_page):
    """Debian's Chromium fills the form of an org whose rows alone would pass the field limit:
    the script sends them as one field, and the list comes back on the edit page."""
    # Two inputs a row: the rows alone pass the limit when sent without the script.
    size = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS // 2 + 20
    branch, members = big_branch(tree["a"], size)
    page, base = browser_page, live_server.url
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    factories.browser_login(page, base, "unita")
    page.goto(f"{base}{reverse('activities:create', args=[branch.pk])}")
    page.get_by_label("主题党日").check()
    page.fill("input[name=topic]", "千人主题党日")
    absent, excused = members[10], members[-1]
    page.check(f"#att_{absent.pk}_absent")
    page.check(f"#att_{excused.pk}_excused")
    page.fill(f"input[name=reason_{excused.pk}]", "出差")
    page.get_by_role("button", name="保存").click()
    page.get_by_text("组织生活记录已保存。").wait_for()
    activity = Activity.objects.get(org=branch, topic="千人主题党日")
    rows = stored(activity)
    assert len(rows) == size
    assert rows[absent.pk] == ("absent", "") and rows[excused.pk] == ("excused", "出差")
    assert sum(1 for s, _ in rows.values() if s == "present") == size - 2

    page.goto(f"{base}{reverse('activities:edit', args=[activity.pk])}")
    assert page.is_checked(f"#att_{absent.pk}_absent")
    page.check(f"#att_{absent.pk}_present")
    page.check(f"#att_{members[0].pk}_none")
    page.get_by_role("button", name="保存修改").click()
    page.get_by_text("组织生活记录已修改。").wait_for()
    rows = stored(activity)
    assert len(rows) == size - 1 and members[0].pk not in rows
    assert rows[absent.pk] == ("present", "") and rows[excused.pk] == ("excused", "出差")
    assert not errors

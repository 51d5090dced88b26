"""A real browser (Debian's Chromium through Playwright) walks the main flow:
log in, browse the tree, find a member by pinyin initials, import a roster."""
import datetime as dt

import openpyxl
import pytest

from dangjian.core import idcard
from dangjian.members.models import Member
from tests import factories

pytestmark = pytest.mark.browser


def roster(path, org_code):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "性别", "民族", "出生日期", "身份证号", "学历", "手机号码", "所在党组织代码", "人员类别",
               "入党日期", "转正日期", "工作单位", "职务", "职级", "是否领导干部"])
    number = idcard.make("110101", dt.date(1990, 3, 5), 123)  # 17th digit 3 → male
    ws.append(["赵小刚", "男", "汉族", "1990-03-05", number, "大学本科", "13712345678", org_code, "正式党员",
               "2015-06-20", "2016-06-25", "市财政局", "科员", "一级科员", "否"])
    wb.save(path)


def test_login_tree_search_import(transactional_db, live_server, personas, tree, browser_page, tmp_path):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "wcadmin")
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    # Tree: expand the working committee and open a department's organ committee.
    page.goto(f"{live_server.url}/orgs/")
    page.get_by_text("示例市直机关工委").first.wait_for()
    page.locator(f"[data-org='{tree['wc'].pk}'] [data-expand]").first.click()
    page.get_by_role("link", name="市财政局机关党委").click()
    page.get_by_text("财政局第一党支部").first.wait_for()

    # Member search by pinyin initials: 李明 → "lm".
    page.goto(f"{live_server.url}/members/")
    page.fill("input[name=q]", "lm")
    page.keyboard.press("Enter")
    # 李明 is listed before the search too: wait for the list to change, not for him.
    page.get_by_role("link", name="王芳").wait_for(state="detached")
    assert page.get_by_role("link", name="李明").count() == 1

    # Import a one-row roster through the web page and see the report.
    path = tmp_path / "花名册.xlsx"
    roster(path, "CZ01")
    page.goto(f"{live_server.url}/exchange/import/")
    page.set_input_files("form[data-kind=members] input[type=file]", str(path))
    page.click("form[data-kind=members] button[type=submit]")
    page.get_by_text("导入完成").wait_for()
    assert Member.objects.filter(name="赵小刚", org__code="CZ01").exists()
    page.screenshot(path=str(tmp_path / "import.png"))


def test_record_meeting_with_absentees_updates_calendar_and_compliance(
        transactional_db, live_server, personas, tree, browser_page):
    """A branch secretary records this month's 主题党日 (also a 党员大会) with one absentee and
    one excused member; the calendar's to-do turns into done and the compliance page shows the
    record as evidence."""
    from django.utils import timezone

    from dangjian.activities import compliance
    from dangjian.activities.models import Activity, Attendance
    from tests import factories

    page, base, branch = browser_page, live_server.url, tree["a1"]
    absent = factories.member(branch, name="周强")
    excused = factories.member(branch, name="吴敏", gender="female")
    factories.member(branch, name="郑华")
    today = timezone.localdate()
    compliance.recompute(today.replace(month=1, day=1), today)
    month = today.strftime("%Y-%m")

    factories.browser_login(page, base, "seca1")
    page.goto(f"{base}/activities/org/{branch.pk}/calendar/")
    todo = page.locator(".todo [data-code=theme_day]")
    todo.wait_for()
    assert "待完成" in todo.inner_text()
    assert page.locator(".done [data-code=theme_day]").count() == 0

    page.get_by_role("link", name="记录组织生活").click()
    page.get_by_label("主题党日").check()
    page.get_by_label("支部党员大会").check()
    page.fill("input[name=topic]", "重温入党誓词")
    page.fill("textarea[name=minutes]", "会议由支部书记主持，全体党员重温入党誓词，交流了学习体会。")
    # Everyone is pre-filled as present: one click per absentee.
    page.check(f"#att_{absent.pk}_absent")
    page.check(f"#att_{excused.pk}_excused")
    page.fill(f"input[name=reason_{excused.pk}]", "出差")
    page.get_by_role("button", name="保存").click()
    page.get_by_text("组织生活记录已保存。").wait_for()

    activity = Activity.objects.get(org=branch, topic="重温入党誓词")
    statuses = dict(activity.attendances.values_list("member__name", "status"))
    assert statuses["周强"] == Attendance.Status.ABSENT
    assert statuses["吴敏"] == Attendance.Status.EXCUSED
    assert statuses["郑华"] == Attendance.Status.PRESENT
    body = page.locator("body").inner_text()
    assert "周强" in body and "出差" in body

    page.goto(f"{base}/activities/org/{branch.pk}/calendar/?month={month}")
    done = page.locator(".done [data-code=theme_day]")
    done.wait_for()
    assert page.locator(".todo [data-code=theme_day]").count() == 0
    assert page.locator(f"a.held[href='/activities/{activity.pk}/']").count() == 1

    page.goto(f"{base}/activities/org/{branch.pk}/compliance/?year={today.year}")
    row = page.locator(f"tr[data-code=theme_day][data-period='{month}']")
    row.wait_for()
    assert "已完成" in row.inner_text()
    assert row.locator(f"a[href='/activities/{activity.pk}/']").count() == 1


def test_member_filter_org_autocomplete_by_pinyin_initials_on_a_phone(
        transactional_db, live_server, personas, tree, browser_page):
    """On a 390 px wide screen a user types the initials of an org into the member filter,
    picks it with the keys, then another with a tap, and sees the list follow each pick."""
    page, base = browser_page, live_server.url
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_viewport_size({"width": 390, "height": 844})
    factories.browser_login(page, base, "wcadmin")
    page.goto(f"{base}/members/")
    page.get_by_role("link", name="李明").wait_for()
    assert page.locator("#member-org option").count() == 0

    box = page.get_by_role("combobox", name="所在党组织（含下级）")
    box.press_sequentially("jyj", delay=60)  # 教育局… — the initials of the name
    first = page.get_by_role("option", name="教育局第一党支部").first
    first.wait_for()
    # The list fits the phone's width, and names each option's parent.
    listbox = page.get_by_role("listbox")
    bounds = listbox.bounding_box()
    assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 390
    assert "市教育局机关党委" in listbox.inner_text()
    assert first.get_attribute("aria-selected") == "true"
    # Typing alone refreshes nothing; Enter takes the highlighted org.
    assert page.get_by_role("link", name="李明").count() == 1
    box.press("Enter")
    page.get_by_role("link", name="李明").wait_for(state="detached")
    page.get_by_role("link", name="王芳").wait_for()
    assert "org=JY01" in page.url
    assert box.input_value() == "教育局第一党支部（JY01）" and listbox.is_hidden()

    # Another org by tapping it; arrow keys move the highlight first.
    box.fill("")
    page.get_by_role("link", name="李明").wait_for()  # cleared: every org again
    box.press_sequentially("czj", delay=60)
    committee = page.get_by_role("option", name="市财政局机关党委 CZ ·")
    committee.wait_for()
    box.press("ArrowDown")
    assert page.get_by_role("option").nth(1).get_attribute("aria-selected") == "true"
    committee.click()
    page.get_by_role("link", name="王芳").wait_for(state="detached")
    page.get_by_role("link", name="李明").wait_for()
    assert "org=CZ" in page.url

    # Typing without picking, then leaving, puts the chosen org back; a reload names it too.
    box.fill("jy")
    page.get_by_role("option").first.wait_for()
    page.keyboard.press("Escape")
    assert box.input_value() == "市财政局机关党委（CZ）"
    page.reload()
    box = page.get_by_role("combobox", name="所在党组织（含下级）")
    assert box.input_value() == "市财政局机关党委（CZ）"
    # A session that expired meanwhile: the login page is never shown as options.
    page.context.clear_cookies()
    box.select_text()
    box.press_sequentially("jyj", delay=60)
    page.get_by_text("登录已过期，请刷新页面后重新登录").wait_for()
    assert page.locator("[data-org-ac] [role=option]").count() == 0
    assert page.locator("[aria-busy=true]").count() == 0
    assert errors == []


def test_transfer_form_picks_the_target_org_by_name(transactional_db, live_server, personas, tree, browser_page):
    page, base = browser_page, live_server.url
    target = factories.org(tree["a"], kind="branch", name="财政局第二党支部", code="CZ02")
    factories.browser_login(page, base, "unita")
    page.goto(f"{base}/members/{tree['ma'].pk}/transfer/")
    box = page.get_by_role("combobox", name="转入组织")
    box.press_sequentially("第二", delay=60)
    page.get_by_role("option", name="财政局第二党支部").click()
    assert page.locator("input[name=to_code]").input_value() == "CZ02"
    page.fill("input[name=on]", "2024-05-01")
    page.get_by_role("button", name="确认转接").click()
    page.get_by_text("组织关系已转入“财政局第二党支部”").wait_for()
    assert Member.objects.get(pk=tree["ma"].pk).org == target

"""From a finding on site to close-out, on a 390×844 phone in Debian's Chromium: the inspector
records the visit and a finding on the target's on-site page and turns it into an item on the
plan's page; the branch secretary signs, reports progress and asks for closing with the
evidence; the working committee's staff member closes it. No page scrolls sideways on the way."""
import datetime as dt

import pytest
from django.utils import timezone

from dangjian.inspections import services as inspections
from dangjian.inspections.models import Finding
from dangjian.rectification.models import Item
from tests import factories
from tests.factories import browser_login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def fits(page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} 横向溢出 {overflow}px"


def open_move(page, kind: str) -> None:
    """Unfold the move's form unless the page shows it unfolded already (the first one is)."""
    if not page.eval_on_selector(f"[data-move={kind}]", "d => d.open"):
        page.click(f"[data-move={kind}] summary")


def test_a_finding_on_site_becomes_an_item_closed_by_the_committee_on_a_phone(
        transactional_db, live_server, personas, tree, browser_page):
    today = timezone.localdate()
    inspector = factories.user("inspector", tree["wc"], username="insp")
    plan = inspections.create_inspection(
        personas["wc_admin"], title="四不两直督查：组织生活", kind="special", unannounced=True, issuer=tree["wc"],
        starts_on=today - dt.timedelta(days=7), ends_on=today + dt.timedelta(days=7), team=[inspector],
        targets=[tree["a1"]])
    inspections.add_checklist(personas["wc_admin"], plan, texts=["组织生活：“三会一课”按期召开、记录完整"])
    check = plan.checklist.get()
    target = plan.targets.get()
    page, base = browser_page, live_server.url
    page.set_viewport_size(PHONE)
    page.on("dialog", lambda dialog: dialog.accept())

    # The inspector, on site.
    browser_login(page, base, "insp")
    page.goto(f"{base}/inspections/targets/{target.pk}/")
    fits(page)
    page.fill("input[name=visited_on]", today.isoformat())
    page.click("text=记录走访")
    page.wait_for_selector("text=已记录对财政局第一党支部的督查走访")
    page.fill(f"textarea[name=text_{check.pk}]", "支委会会议记录缺少表决情况")
    page.select_option(f"select[name=list_{check.pk}]", "problem")
    page.click("text=保存督查发现")
    page.wait_for_selector("text=已记录督查发现 1 条")
    fits(page)
    finding = Finding.objects.get()
    # On the plan's page: tick the finding, give the deadline, 交办整改.
    page.click(f"nav a[href='/inspections/{plan.pk}/']")
    page.wait_for_url(f"{base}/inspections/{plan.pk}/")
    fits(page)
    page.check(f"#pick{finding.pk}")
    page.fill("input[name=deadline]", (today + dt.timedelta(days=20)).isoformat())
    page.click("text=交办整改")
    page.wait_for_selector("text=已交办整改事项 1 项")
    fits(page)
    item = Item.objects.get()
    assert (item.source, item.source_id, item.org_id, item.issuer_id) == ("inspection", plan.pk, tree["a1"].pk,
                                                                          tree["wc"].pk)
    assert Finding.objects.get().rectification_item_id == item.pk
    url = f"{base}/items/{item.pk}/"

    # The branch secretary: signs, reports progress, asks for closing with the evidence.
    page.context.clear_cookies()
    browser_login(page, base, "seca1")
    page.goto(f"{base}/items/")
    fits(page)
    page.click(f"a[href='/items/{item.pk}/']")
    page.wait_for_url(url)
    fits(page)
    page.fill("#sign-text", "已收到，支委会研究整改")
    page.click("form[action$='/sign/'] button")
    page.wait_for_selector("text=已签收。")
    open_move(page, "note")
    page.fill("#note-text", "已补记表决情况，正在完善会议记录模板")
    page.click("form[action$='/note/'] button")
    page.wait_for_selector("text=已填写整改进展。")
    open_move(page, "request")
    page.fill("#request-text", "会议记录已补齐表决情况，附支委会记录复印件")
    page.click("form[action$='/request/'] button")
    page.wait_for_selector("text=已申请销号。")
    fits(page)
    assert Item.objects.get(pk=item.pk).status == Item.Status.CLOSING

    # The working committee's staff closes it; the plan's page shows it closed.
    page.context.clear_cookies()
    browser_login(page, base, "wcadmin")
    page.goto(url)
    fits(page)
    open_move(page, "close")
    page.fill("#close-text", "核查会议记录，整改到位")
    page.click("form[action$='/close/'] button")
    page.wait_for_selector("text=已销号。")
    fits(page)
    assert Item.objects.get(pk=item.pk).status == Item.Status.CLOSED
    page.goto(f"{base}/inspections/{plan.pk}/")
    assert page.is_visible(f"a[href='/items/{item.pk}/']:has-text('已销号')")
    fits(page)

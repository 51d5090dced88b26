"""From a finding to close-out on a 390×844 phone, in Debian's Chromium: the branch secretary
signs the item, reports progress and asks for closing with the evidence (and a file); the
working committee's staff member closes it. No page scrolls sideways on the way."""
import datetime as dt

import pytest
from django.utils import timezone

from dangjian.rectification import services
from dangjian.rectification.models import Item, ItemFile
from tests.factories import browser_login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def open_move(page, kind: str) -> None:
    """Unfold the move's form unless the page shows it unfolded already (the first one is)."""
    if not page.eval_on_selector(f"[data-move={kind}]", "d => d.open"):
        page.click(f"[data-move={kind}] summary")


def fits(page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} 横向溢出 {overflow}px"


def test_a_branch_signs_reports_and_asks_and_the_committee_closes_on_a_phone(
        transactional_db, live_server, personas, tree, browser_page, tmp_path):
    item = services.open_item(personas["wc_admin"], org=tree["a1"], issuer=tree["wc"], source="manual",
                              title="第三季度党课记录不全", description="请补开党课并完善记录",
                              deadline=timezone.localdate() + dt.timedelta(days=20))
    page, base = browser_page, live_server.url
    page.set_viewport_size(PHONE)
    page.on("dialog", lambda dialog: dialog.accept())
    url = f"{base}/items/{item.pk}/"

    browser_login(page, base, "seca1")
    page.goto(f"{base}/items/")
    fits(page)
    page.click(f"a[href='/items/{item.pk}/']")
    page.wait_for_url(url)
    fits(page)
    page.fill("#sign-text", "已收到，支部委员会研究整改")
    page.click("form[action$='/sign/'] button")
    page.wait_for_selector("text=已签收。")
    assert Item.objects.get(pk=item.pk).status == Item.Status.RECTIFYING

    open_move(page, "note")
    page.fill("#note-text", "10 月 12 日已补开党课")
    page.click("form[action$='/note/'] button")
    page.wait_for_selector("text=已填写整改进展。")

    open_move(page, "request")
    evidence = tmp_path / "党课记录.pdf"
    evidence.write_bytes(PDF)
    page.fill("#request-text", "党课记录、签到表已补齐")
    page.set_input_files("#request-files", str(evidence))
    page.click("form[action$='/request/'] button")
    page.wait_for_selector("text=已申请销号。")
    fits(page)
    assert Item.objects.get(pk=item.pk).status == Item.Status.CLOSING
    assert ItemFile.objects.get(item=item).name == "党课记录.pdf"

    page.context.clear_cookies()
    browser_login(page, base, "wcadmin")
    page.goto(f"{base}/")
    page.click(f"[data-items-act] a[href='/items/{item.pk}/']")
    page.wait_for_url(url)
    assert page.is_visible("text=党课记录.pdf")
    open_move(page, "close")
    page.fill("#close-text", "核查党课记录和签到表，整改到位")
    page.click("form[action$='/close/'] button")
    page.wait_for_selector("text=已销号。")
    fits(page)
    item.refresh_from_db()
    assert item.status == Item.Status.CLOSED and item.closed_on == timezone.localdate()
    for path in ("/items/board/", "/items/new/"):
        page.goto(f"{base}{path}")
        fits(page)

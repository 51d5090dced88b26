"""Every main page is usable on a 390×844 phone: the document never scrolls sideways (a wide
table scrolls inside its own box), no table cell is squeezed to a few characters per line, no
two chart labels are drawn over each other, no chart legend lies over its plot, and the columns
a page is read for (a run's score and grade, a meeting's topic) are on screen without scrolling.
Checked in Debian's Chromium on a small demo city (the demo generator's long real-world names
are what used to break the tables)."""
import io

import pytest
from django.core.management import call_command

from dangjian.accounts.models import User
from dangjian.assessment.models import Run
from dangjian.demo.generator import DEMO_PASSWORD
from dangjian.feedback.models import Feedback, Visit
from dangjian.members.models import Member
from dangjian.orgs.models import Organization
from dangjian.reviews.models import DutyReport
from tests.factories import browser_login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# What a phone user must not meet on a page; each entry names the page and the spot.
PROBLEMS = r"""() => {
  const found = [];
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  if (overflow > 0) found.push('页面横向溢出 ' + overflow + 'px');
  // A cell squeezed to one character per line: narrower than 2.5em, holding more than two
  // characters, and actually wrapped onto several lines.
  for (const cell of document.querySelectorAll('td, th')) {
    if (!cell.getClientRects().length) continue;
    const text = cell.innerText.trim();
    if (text.length <= 2) continue;
    const cs = getComputedStyle(cell);
    const font = parseFloat(cs.fontSize);
    const line = parseFloat(cs.lineHeight) || font * 1.5;
    const width = cell.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const height = cell.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    if (width < 2.5 * font && height > 1.5 * line) {
      found.push('单元格过窄（' + Math.round(width) + 'px）：' + text.slice(0, 20));
    }
  }
  // A text squeezed into a narrow column: one run of text broken into lines of three characters
  // or fewer (a unit name two characters per line, a topic in a 36 px column). The check above
  // misses a column just over 2.5em wide; this one counts the lines the text itself takes.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const cell = node.parentElement && node.parentElement.closest('td, th');
    if (!cell || text.length < 4 || !cell.getClientRects().length) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const lines = [...range.getClientRects()].filter(r => r.width > 0);
    const widest = Math.max(0, ...lines.map(r => r.width));
    const font = parseFloat(getComputedStyle(node.parentElement).fontSize);
    if (new Set(lines.map(r => Math.round(r.top))).size > 1 && widest < 3.5 * font) {
      found.push('文字被挤成每行不到 4 个字（' + Math.round(cell.clientWidth) + 'px）：' + text.slice(0, 20));
    }
  }
  // Chart labels drawn over each other (ECharts draws on a canvas: ask its scene graph).
  if (window.echarts) {
    for (const box of document.querySelectorAll('[_echarts_instance_]')) {
      const chart = echarts.getInstanceByDom(box);
      if (!chart || !box.getClientRects().length) continue;
      const rects = [];
      for (const el of chart.getZr().storage.getDisplayList(true)) {
        if (el.type !== 'tspan' || el.invisible || el.ignore || !String(el.style.text || '').trim()) continue;
        const r = el.getBoundingRect().clone();
        const m = el.getComputedTransform();
        if (m) r.applyTransform(m);
        rects.push([String(el.style.text), r]);
      }
      // A legend drawn over the plot (ECharts 6 puts it at the bottom unless told otherwise).
      const option = chart.getOption();
      const legendNames = new Set((option.legend || []).flatMap(l => (l.data || []).map(d => d.name || d)));
      const plots = (option.grid || []).map((g, i) => {
        const grid = chart.getModel().getComponent('grid', i);
        return grid && grid.coordinateSystem ? grid.coordinateSystem.getRect() : null;
      }).filter(Boolean);
      for (const [text, r] of rects) {
        if (!legendNames.has(text)) continue;
        for (const plot of plots) {
          const dx = Math.min(r.x + r.width, plot.x + plot.width) - Math.max(r.x, plot.x);
          const dy = Math.min(r.y + r.height, plot.y + plot.height) - Math.max(r.y, plot.y);
          if (dx > 1 && dy > 1) found.push('图表 #' + box.id + ' 图例压在图上：' + text);
        }
      }
      for (let i = 0; i < rects.length; i++) {
        for (let j = i + 1; j < rects.length; j++) {
          const [ta, a] = rects[i], [tb, b] = rects[j];
          const dx = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
          const dy = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
          if (dx > 1 && dy > 1) found.push('图表 #' + box.id + ' 标签重叠：' + ta + ' / ' + tb);
        }
      }
    }
  }
  return found.slice(0, 8);
}"""


# The columns a page is read for must be on screen without scrolling sideways: for each name,
# the first row's cell under the column so headed (in a stacked table too, where the header row
# is hidden) must lie within the window.
ON_SCREEN = r"""(names) => {
  const found = [];
  for (const name of names) {
    let seen = false;
    for (const table of document.querySelectorAll('table')) {
      if (!table.getClientRects().length) continue;
      const i = [...table.querySelectorAll('thead th')].findIndex(th => th.textContent.trim().startsWith(name));
      const row = table.querySelector('tbody tr');
      const cell = i >= 0 && row ? row.children[i] : null;
      if (!cell || !cell.getClientRects().length) continue;
      seen = true;
      const r = cell.getBoundingClientRect();
      if (r.left < -1 || r.right > window.innerWidth + 1) {
        found.push('“' + name + '”一列在屏幕外（' + Math.round(r.left) + '–' + Math.round(r.right) + 'px），要左右滑动才看得到');
        break;
      }
    }
    if (!seen) found.push('页面上没有“' + name + '”一列的内容');
  }
  return found;
}"""


@pytest.fixture
def city(transactional_db):
    """The demo city at its smallest size, with its accounts (admin, caizheng, zhibu, ...)."""
    call_command("demo", members=300, seed=7, verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())
    committee = Organization.objects.filter(kind="organ_committee", status="active").order_by("pk").first()
    return {"org": committee, "run": Run.objects.order_by("-pk").first(),
            "member": Member.objects.filter(org__parent=committee).order_by("pk").first(),
            "report": DutyReport.objects.order_by("pk").first(),
            "branch": User.objects.get(username="zhibu").member.org_id,
            "visit": Visit.objects.order_by("pk").first(), "feedback": Feedback.objects.order_by("pk").first()}


def login(page, base, username):
    page.context.clear_cookies()
    browser_login(page, base, username, DEMO_PASSWORD)


def check(page, base, url, problems, on_screen=()):
    response = page.goto(base + url)
    assert response.status == 200, f"{url} → {response.status}"
    page.wait_for_load_state("load")
    page.wait_for_timeout(200)  # charts draw after load
    for p in page.evaluate(PROBLEMS):
        problems.append(f"{url}：{p}")
    for p in page.evaluate(ON_SCREEN, list(on_screen)):
        problems.append(f"{url}：{p}")


def test_main_pages_fit_a_phone(city, live_server, browser_page):
    page, base = browser_page, live_server.url
    page.set_viewport_size(PHONE)
    org, run, member, report, branch = (city[k] for k in ("org", "run", "member", "report", "branch"))
    assert None not in (org, run, member, report)
    problems = []

    # The working committee's staff: every page family.
    login(page, base, "admin")
    for url in ["/", "/orgs/", f"/orgs/{org.pk}/", "/members/", f"/members/{member.pk}/", "/activities/overview/",
                f"/activities/org/{org.pk}/compliance/", "/activities/rules/", "/assessment/",
                "/assessment/admonitions/", "/ratings/", "/ratings/commendation/",
                "/ratings/weak/", f"/reviews/{report.review_id}/", f"/reviews/{report.review_id}/results/",
                f"/reviews/reports/{report.pk}/", "/duties/overview/", "/duties/items/", "/activities/formalism/"]:
        check(page, base, url, problems)
    # A run's scores are read for the score and the grade; the formalism signals' lists for what
    # was held and how late it was recorded.
    check(page, base, f"/assessment/runs/{run.pk}/", problems, on_screen=["考核对象", "得分", "等次"])
    for url in ["/activities/formalism/?kind=late", "/activities/formalism/?kind=burst", "/activities/formalism/?list=1"]:
        check(page, base, url, problems, on_screen=["活动日期", "类型", "主题", "录入时距活动"])
    # 三访三评: the visits, the handlers' list, a visit, a feedback, the figures with their chart.
    visit, feedback = city["visit"], city["feedback"]
    for url in ["/feedback/", "/feedback/?overdue=1", "/feedback/visits/", "/feedback/visits/new/",
                f"/feedback/visits/{visit.pk}/", f"/feedback/{feedback.pk}/", "/feedback/figures/?org=SZJGGW"]:
        check(page, base, url, problems)

    # On a phone the overview's heatmap gives way to its table, open and scrolling sideways.
    page.goto(base + "/activities/overview/")
    if page.locator("#overview-chart").is_visible():
        problems.append("/activities/overview/：手机上仍显示热力图")
    if not page.locator("#overview-table").evaluate("d => d.open"):
        problems.append("/activities/overview/：手机上表格未展开")
    if not page.locator("#overview-table .table-responsive").evaluate("t => t.scrollWidth > t.clientWidth"):
        problems.append("/activities/overview/：表格被挤窄，没有左右滑动")

    # A unit's party officer, a branch secretary and a plain member: their own pages.
    login(page, base, "caizheng")
    for url in ["/", "/orgs/", "/members/", "/activities/overview/", "/duties/overview/"]:
        check(page, base, url, problems)
    login(page, base, "zhibu")
    for url in ["/", f"/orgs/{branch}/", "/members/", f"/activities/org/{branch}/calendar/",
                f"/activities/org/{branch}/new/", "/duties/"]:
        check(page, base, url, problems)
    check(page, base, "/activities/mine/", problems, on_screen=["日期", "主题", "我的出席情况"])
    login(page, base, "dangyuan")
    for url in ["/", "/duties/", "/feedback/submit/", "/feedback/mine/", "/feedback/followup/"]:
        check(page, base, url, problems)
    check(page, base, "/activities/mine/", problems, on_screen=["日期", "主题", "我的出席情况"])

    assert not problems, "手机屏幕（390×844）上的问题：\n" + "\n".join(problems)

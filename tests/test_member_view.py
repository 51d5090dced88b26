"""What a plain member (the 党员 role only, no duty role) may see of organizational life: the
meetings they were asked to attend (listed on the attendance: present, absent, excused or
observing) and their own branch's upcoming ones — never the list, calendar or compliance of
meetings they were not asked to, and no link that would then answer 404.

The walk starts at the home page and follows every same-origin link (GET only, breadth first,
bounded) the member is shown, as the member."""
import datetime as dt
import re
from collections import deque
from html import unescape
from urllib.parse import urljoin, urlsplit

from django.urls import reverse
from django.utils import timezone

from dangjian.activities.models import Activity
from tests import factories

MAX_PAGES = 400
# Pages that differ only by their query (the calendar's months, a list's pages): a few are enough.
MAX_PER_PATH = 4
HREF = re.compile(r'href="([^"]+)"')


def meetings(tree):
    """Three records of the member's branch — one the member attended, one they were absent from,
    one without them on the list — and one of another branch where they sat in (列席)."""
    a1, b1, me = tree["a1"], tree["b1"], tree["ma"]
    other = factories.member(a1, name="赵强")
    guest_branch = factories.member(b1, name="孙丽", gender="female")
    # This year's, so the member's home page and 我的组织生活 list them.
    today = timezone.localdate()

    def record(org, kinds, days, **kw):
        day = min(today, dt.date(today.year, 1, 1) + dt.timedelta(days=days))
        return factories.record(org, kinds, day, today=today, **kw)

    return {
        "attended": record(a1, ["theme_day"], 1, topic="出席的会", attendance={me.pk: "present", other.pk: "present"}),
        "absent": record(a1, ["party_lecture"], 2, topic="缺席的会", attendance={me.pk: "absent", other.pk: "present"}),
        "not_asked": record(a1, ["committee_meeting"], 3, topic="未通知的会", attendance={other.pk: "present"}),
        "observed": record(b1, ["theme_day"], 4, topic="列席的会",
                           attendance={guest_branch.pk: "present", me.pk: "observer"}),
    }


def links(html: str, base: str) -> list[str]:
    out = []
    for raw in HREF.findall(html):
        href = unescape(raw)
        if href.startswith(("#", "mailto:", "javascript:")):
            continue
        url = urljoin(base, href)
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            continue  # another origin (there should be none)
        if parts.path.startswith("/static/"):
            continue
        out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def crawl(client) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """{url: status} of every page reachable from home, {url: the page that linked it}, {url: body}."""
    seen, found_on, bodies = {}, {"/": "(start)"}, {}
    per_path: dict[str, int] = {}
    queue = deque(["/"])
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        path = urlsplit(url).path
        per_path[path] = per_path.get(path, 0) + 1
        if per_path[path] > MAX_PER_PATH:
            continue
        response = client.get(url)
        seen[url] = response.status_code
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        bodies[url] = html
        for link in links(html, url):
            if link not in seen and link not in found_on:
                found_on[link] = url
                queue.append(link)
    return seen, found_on, bodies


def test_a_plain_member_reaches_no_page_that_refuses_them(tree, personas):
    records = meetings(tree)
    client = factories.login(personas["member_a"])
    seen, found_on, bodies = crawl(client)
    refused = {url: f"{status} (linked from {found_on[url]})" for url, status in seen.items() if status in (403, 404)}
    assert not refused
    assert len(seen) >= 5  # the walk did go somewhere
    # The records the member was asked to attend are reachable, the one they were not is not.
    for key in ("attended", "absent", "observed"):
        assert reverse("activities:detail", args=[records[key].pk]) in seen, key
    assert reverse("activities:detail", args=[records["not_asked"].pk]) not in seen
    assert not any("未通知的会" in html for html in bodies.values())


def test_the_branch_list_and_calendar_show_a_member_only_their_meetings(tree, personas):
    records = meetings(tree)
    client = factories.login(personas["member_a"])
    a1 = tree["a1"]
    listing = client.get(reverse("activities:org-list", args=[a1.pk])).content.decode()
    assert "出席的会" in listing and "缺席的会" in listing
    assert "未通知的会" not in listing
    for key, shown in (("absent", True), ("not_asked", False)):
        month = records[key].held_on.strftime("%Y-%m")
        page = client.get(reverse("activities:calendar", args=[a1.pk]), {"month": month}).content.decode()
        assert (reverse("activities:detail", args=[records[key].pk]) in page) is shown, key
    # The branch's compliance judges every meeting, also those the member cannot open: not theirs.
    assert client.get(reverse("activities:compliance", args=[a1.pk])).status_code == 404


def test_a_member_sees_their_branch_upcoming_meetings(tree, personas, monkeypatch):
    """A record of today (recorded as the meeting happens) is the branch's, for every member."""
    a1, me = tree["a1"], tree["ma"]
    other = factories.member(a1, name="钱伟")
    today = factories.TODAY
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: today)
    upcoming = factories.record(a1, ["theme_day"], today, topic="今天的主题党日", attendance={other.pk: "present"})
    past = factories.record(a1, ["theme_day"], today - dt.timedelta(days=30), topic="上月的会",
                            attendance={other.pk: "present"})
    visible = set(Activity.objects.visible_to(personas["member_a"]).values_list("pk", flat=True))
    assert upcoming.pk in visible and past.pk not in visible
    assert me.pk not in {a.member_id for a in upcoming.attendances.all()}


def test_staff_still_see_every_record_and_the_compliance(tree, personas):
    records = meetings(tree)
    client = factories.login(personas["secretary_a1"])
    listing = client.get(reverse("activities:org-list", args=[tree["a1"].pk])).content.decode()
    assert "未通知的会" in listing and "出席的会" in listing
    assert client.get(reverse("activities:compliance", args=[tree["a1"].pk])).status_code == 200
    assert client.get(reverse("activities:detail", args=[records["not_asked"].pk])).status_code == 200

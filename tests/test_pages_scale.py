"""Lists at a province's size: counts bounded (an exact count of a million rows is not paid
on every page), member search by indexed prefixes over the whole tree, and query counts that
do not grow with the data."""
import datetime as dt
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dangjian.core.views import BoundedPaginator
from dangjian.members.models import Member
from tests import factories


def html(response) -> str:
    return response.content.decode()


def names_in(response) -> list[str]:
    return re.findall(r'<a href="/members/\d+/">([^<]+)</a>', html(response))


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    return len(ctx)


def test_counts_stop_at_the_limit(login_as, tree, settings, monkeypatch):
    settings.PAGE_SIZE = 2
    monkeypatch.setattr(BoundedPaginator, "limit", 5)
    for i in range(8):
        factories.member(tree["a1"], name=f"成员{i:02d}")
    c = login_as("wcadmin")
    page = html(c.get(reverse("members:list")))
    assert "共 5+ 名党员" in page and "data-capped" in page and "第 1 / 3 页" in page
    # Under the limit the count is exact and nothing is said.
    page = html(c.get(reverse("members:list"), {"org": "JY01"}))
    assert "共 1 名党员" in page and "data-capped" not in page
    # The API says so too, and pages as far as it counted.
    body = c.get("/api/members/?page_size=2").json()
    assert body["count"] == 5 and body["count_capped"] is True and body["next"]
    body = c.get("/api/members/?org=JY01").json()
    assert body["count"] == 1 and body["count_capped"] is False
    # The third page holds the fifth row counted, and no page lies beyond.
    assert [m["name"] for m in c.get("/api/members/?page_size=2&page=3").json()["results"]] == ["成员04"]
    assert c.get("/api/members/?page_size=2&page=4").status_code == 404


def test_name_search_over_the_whole_tree_is_by_the_start(login_as, tree):
    factories.member(tree["a1"], name="张芳")
    factories.member(tree["b1"], name="芳华")
    wc = login_as("wcadmin")
    # The working committee's roster (the whole tree): from the start of the name, on its index.
    assert sorted(names_in(wc.get(reverse("members:list"), {"q": "芳"}))) == ["芳华"]
    assert sorted(names_in(wc.get(reverse("members:list"), {"q": "王"}))) == ["王芳"]
    # Within a department (the org filter, or a unit admin's own scope) also inside the name.
    assert sorted(names_in(wc.get(reverse("members:list"), {"q": "芳", "org": "JY"}))) == ["王芳", "芳华"]
    # Pinyin, initials and the ID's last digits as before.
    assert names_in(wc.get(reverse("members:list"), {"q": "wangf"})) == ["王芳"]
    mb = Member.objects.get(name="王芳")
    assert "王芳" in names_in(wc.get(reverse("members:list"), {"q": mb.id_mask[-4:]}))
    # Fewer digits, or the phone's tail, only within a department (an unindexed `endswith`).
    assert names_in(wc.get(reverse("members:list"), {"q": mb.id_mask[-3:]})) == []
    assert "王芳" in names_in(wc.get(reverse("members:list"), {"q": mb.id_mask[-3:], "org": "JY"}))
    assert names_in(wc.get(reverse("members:list"), {"q": mb.phone[-4:], "org": "JY"})) == ["王芳"]
    # (the same client, now a unit admin's)
    assert sorted(names_in(login_as("unita").get(reverse("members:list"), {"q": "芳"}))) == ["张芳"]


def test_member_search_and_api_lists_do_not_grow_with_data(login_as, tree, settings):
    settings.PAGE_SIZE = 50
    c = login_as("wcadmin")
    mb = tree["mb"]
    urls = [reverse("members:list") + "?q=wang", reverse("members:list") + "?q=" + "王",
            reverse("members:list") + "?q=" + mb.id_mask[-4:], reverse("members:list") + "?q=wf&org=JY",
            reverse("members:list") + "?page=2", "/api/activities/", "/api/orgs/", "/api/members/?q=wang",
            reverse("orgs:tree") + "?q=dyzb"]
    factories.record(tree["b1"], ["theme_day"], dt.date(2025, 3, 3))

    def measure():
        return {u: count(c, u) for u in urls}

    small = measure()
    for i in range(30):
        b = factories.org(tree["b"], kind="branch", code=f"JY9{i:02d}", name=f"教育局第{i}党支部")
        factories.member(b, name=f"王成员{i}")
        factories.record(b, ["theme_day"], dt.date(2025, 3, 3))
    large = measure()
    assert large == small
    # And the answers are the right ones at the larger size.
    assert len(names_in(c.get(reverse("members:list"), {"q": "wang"}))) == 31
    assert c.get("/api/activities/").json()["count"] == 31


def test_member_counts_from_the_cache_are_the_counted_ones(tree, personas, django_capture_on_commit_callbacks):
    from django.db.models import Count, Q

    from dangjian.members import services as member_services
    from dangjian.orgs import queries as org_queries
    from dangjian.orgs.models import Organization

    for i in range(3):
        b = factories.branch_with(tree["a"], full=3, probationary=1, code=f"CZ5{i}")
    factories.member(tree["b1"], name="领导甲", is_leader=True)
    gone = factories.branch_with(tree["b"], full=2, code="JY50")
    # A dissolved org still holding active members (as old data may): left out of the figures,
    # counted on the tree.
    Organization.objects.filter(pk=gone.pk).update(status="dissolved")

    def counted(path):
        return Organization.objects.filter(path__startswith=path, status="active").aggregate(
            **org_queries.member_figures())

    def shown():
        return {k: org_queries.subtree_counts(tree[k])["members"] for k in ("wc", "a", "b", "a1")}

    assert shown() == {k: counted(tree[k].path) for k in ("wc", "a", "b", "a1")}
    home = org_queries.org_counts(personas["wc_admin"])["members"]
    assert home == counted(tree["wc"].path) and home["leaders"] == 1 and home["probationary"] == 3
    # The tree counts every org's members, a dissolved org's too.
    listed = org_queries.attach_counts(Organization.objects.filter(pk__in=[tree["wc"].pk, tree["b"].pk, gone.pk]),
                                       personas["wc_admin"])
    assert {o.pk: o.member_count for o in listed} == {
        o.pk: Organization.objects.filter(path__startswith=o.path).aggregate(
            n=Count("members", filter=Q(members__status="active")))["n"] for o in listed}
    # Read again warm, after a transfer between departments: the counts follow the write.
    with django_capture_on_commit_callbacks(execute=True):
        member_services.transfer_member(None, b.people[0], tree["b1"], dt.date(2025, 6, 1))
    assert shown() == {k: counted(tree[k].path) for k in ("wc", "a", "b", "a1")}


def test_a_level_of_the_tree_lists_its_first_children_and_links_to_all(login_as, tree, monkeypatch):
    from dangjian.orgs import queries as org_queries

    monkeypatch.setattr(org_queries.visible_children, "__defaults__", (3,))
    for i in range(5):
        factories.org(tree["a"], kind="branch", code=f"CZ7{i}", name=f"财政局第七{i}支部")
    c = login_as("wcadmin")
    kids = html(c.get(reverse("orgs:children", args=[tree["a"].pk]), HTTP_HX_REQUEST="true"))
    assert kids.count('class="tree-node"') == 3 and "共 6 个下级组织" in kids and "?under=CZ" in kids
    page = html(c.get(reverse("orgs:detail", args=[tree["a"].pk])))
    assert ">6</span>" in page and "?under=CZ" in page
    listed = html(c.get(reverse("orgs:tree"), {"under": "CZ"}))
    assert "共找到 7 个组织" in listed and "财政局第七4支部" in listed  # the org itself and its six
    narrowed = html(c.get(reverse("orgs:tree"), {"under": "CZ", "q": "第七4"}))
    assert "共找到 1 个组织" in narrowed


def test_the_heatmap_shows_its_units_a_page_at_a_time(city, personas, monkeypatch):
    import json

    from dangjian.activities.views import overview

    def drawn(response):
        data = re.search(r'<script id="overview-data" type="application/json">(.*?)</script>', html(response), re.S)
        return json.loads(data.group(1))["units"]

    c = factories.login(personas["wc_admin"])
    url = f"/activities/overview/?year={factories.TODAY.year - 1}"
    whole = c.get(url)
    everyone = drawn(whole)
    assert len(everyone) >= 2 and "data-units-pager" not in html(whole)
    total = re.search(r'data-rate="([^"]+)"', html(whole)).group(1)
    monkeypatch.setattr(overview, "UNITS_PER_PAGE", 1)
    pages = [c.get(f"{url}&upage={n}") for n in range(1, len(everyone) + 1)]
    assert [drawn(p) for p in pages] == [[u] for u in everyone]
    first = html(pages[0])
    assert "下一批单位" in first and f"共 {len(everyone)} 个单位" in first
    # The year's totals are over every unit, whichever page is shown.
    assert all(re.search(r'data-rate="([^"]+)"', html(p)).group(1) == total for p in pages)


def test_the_cached_heatmap_follows_a_recomputation(city, personas):
    from django.core.cache import cache

    from dangjian.activities import compliance
    from dangjian.activities.models import ComplianceRow

    year = factories.TODAY.year  # the year the city recorded
    row = ComplianceRow.objects.filter(status="missing", kind="theme_day", period_end__year=year).select_related(
        "org").order_by("period_end").first()
    assert row is not None
    c = factories.login(personas["wc_admin"])
    url = f"/activities/overview/?year={year}"

    def missing(response):
        return int(re.search(r"应开未开 <strong>(\d+)</strong>", html(response)).group(1))

    before = missing(c.get(url))
    assert missing(c.get(url)) == before  # read again: from the cache
    factories.record(row.org, ["theme_day"], row.period_end - dt.timedelta(days=1),
                     attendance={m.pk: "present" for m in row.org.members.all()})
    compliance.recompute(dt.date(year, 1, 1), factories.TODAY, today=factories.TODAY)  # as the city was
    after = missing(c.get(url))
    cache.clear()
    assert after == missing(c.get(url)) == before - 1

"""An applicant's own login, opened from the applicant page by one who edits the branch: a
one-time password shown once, the menu's 我的入党进程, the applicant's own stage and nothing of
the organization's data; others cannot reach the page."""
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dangjian.accounts.models import User
from dangjian.core.models import AuditEntry
from dangjian.development import services
from dangjian.development.checks import DevelopmentError
from dangjian.development.models import Applicant
from tests import factories


@pytest.fixture
def people(tree):
    a1 = tree["a1"]
    return [factories.member(a1, name="介绍甲"), factories.member(a1, name="介绍乙")]


def _issue(client, a, username):
    r = client.post(f"/development/{a.pk}/account/", {"username": username})
    assert r.status_code == 200, r.content.decode()[:2000]
    assert r["Cache-Control"] == "no-store"
    return re.search(r'data-password>([^<]+)<', r.content.decode()).group(1)


def test_a_secretary_opens_a_login_that_shows_only_the_applicants_own_progress(tree, personas, people):
    mine = factories.develop(factories.applicant(tree["a1"], name="钱申请"), "recommend", people, tree["a"])
    other = factories.applicant(tree["a1"], name="孙申请")
    secretary = factories.login(personas["secretary_a1"])
    assert f"/development/{mine.pk}/account/" in secretary.get(f"/development/{mine.pk}/").content.decode()
    password = _issue(secretary, mine, "qian2026")
    account = User.objects.get(username="qian2026")
    assert Applicant.objects.get(pk=mine.pk).user_id == account.pk and not account.roles.exists()
    assert password not in str(list(AuditEntry.objects.values_list("changes", "note")))
    assert AuditEntry.objects.filter(table="accounts.user", object_id=account.pk, action="create").exists()

    me = Client()
    assert me.login(username="qian2026", password=password)
    home = me.get("/").content.decode()
    assert "我的入党进程" in home and "/development/mine/" in home
    page = me.get("/development/mine/").content.decode()
    assert "钱申请" in page and "入党积极分子" in page and "孙申请" not in page
    for url in ["/development/", f"/development/{mine.pk}/", f"/development/{other.pk}/progress/",
                "/development/export.xlsx", f"/development/{mine.pk}/account/", f"/members/{tree['ma'].pk}/",
                f"/orgs/{tree['a1'].pk}/"]:
        assert me.get(url).status_code in (403, 404), url
    for url in ["/members/", "/orgs/"]:  # lists of what the login may see: none
        r = me.get(url)
        assert r.status_code in (200, 403, 404)
        assert not [name for name in ("李明", "介绍甲", "财政局第一党支部", "孙申请") if name in r.content.decode()], url
    assert me.get("/api/applicants/").json()["results"] == []
    assert "孙申请" not in home and "财政局第一党支部" not in home


def test_the_password_is_reset_and_the_old_one_stops_working(tree, personas):
    a = factories.applicant(tree["a1"])
    secretary = factories.login(personas["secretary_a1"])
    first = _issue(secretary, a, "zhao2026")
    r = secretary.post(f"/development/{a.pk}/account/", {"reset": "1"})
    second = re.search(r'data-password>([^<]+)<', r.content.decode()).group(1)
    assert second != first
    assert not Client().login(username="zhao2026", password=first)
    assert Client().login(username="zhao2026", password=second)


def test_bad_or_taken_usernames_and_a_second_account_are_refused(tree, personas):
    a = factories.applicant(tree["a1"])
    b = factories.applicant(tree["a1"], name="李二")
    secretary = factories.login(personas["secretary_a1"])
    r = secretary.post(f"/development/{a.pk}/account/", {"username": "张 三"})
    assert r.status_code == 400 and "只能用字母、数字" in r.content.decode()
    r = secretary.post(f"/development/{a.pk}/account/", {"username": "seca1"})
    assert r.status_code == 400 and "已被使用" in r.content.decode()
    _issue(secretary, a, "zhao2026")
    users = User.objects.count()
    with pytest.raises(DevelopmentError, match="已有登录账号"):
        services.create_account(personas["secretary_a1"], a, username="zhao2027")
    r = secretary.post(f"/development/{b.pk}/account/", {"username": "ZHAO2026"})
    assert r.status_code == 400 and "已被使用" in r.content.decode()
    assert User.objects.count() == users


def test_a_login_with_other_uses_is_not_reset_here(tree, personas):
    a = factories.applicant(tree["a1"])
    services.link_account(None, a, personas["member_a"])
    with pytest.raises(DevelopmentError, match="还有其他用途"):
        services.reset_password(personas["secretary_a1"], Applicant.objects.get(pk=a.pk))


@pytest.mark.parametrize("who", ["unit_admin_b", "leader", "member_a"])
def test_others_cannot_open_a_login(tree, personas, who):
    a = factories.applicant(tree["a1"])
    client = factories.login(personas[who])
    assert client.get(f"/development/{a.pk}/account/").status_code == 404
    assert client.post(f"/development/{a.pk}/account/", {"username": "steal01"}).status_code == 404
    assert not User.objects.filter(username="steal01").exists()
    with pytest.raises(DevelopmentError):
        services.create_account(personas[who], a, username="steal02")


def test_a_stopped_process_gets_no_login(tree, personas):
    a = factories.applicant(tree["a1"])
    services.stop(None, a, reason="本人撤回申请")
    r = factories.login(personas["secretary_a1"]).post(f"/development/{a.pk}/account/", {"username": "late2026"})
    assert r.status_code == 400 and "不再开通登录账号" in r.content.decode()


def test_the_applicants_menu_costs_other_users_no_query(tree, personas):
    for who in ("member_a", "secretary_a1"):
        client = factories.login(personas[who])
        client.get("/")
        with CaptureQueriesContext(connection) as ctx:
            page = client.get("/").content.decode()
        assert "我的入党进程" not in page
        assert not [q["sql"] for q in ctx.captured_queries if "development_applicant" in q["sql"]], who


@pytest.mark.browser
def test_an_applicant_follows_the_menu_to_their_progress_on_a_phone(transactional_db, live_server, personas, tree,
                                                                    browser_page):
    a = factories.applicant(tree["a1"], name="冯申请")
    _, password = services.create_account(personas["secretary_a1"], a, username="feng2026")
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    factories.browser_login(page, live_server.url, "feng2026", password)
    if page.is_visible("button.navbar-toggler"):
        page.click("button.navbar-toggler")
    page.click("text=我的入党进程")
    page.wait_for_selector("h1:has-text('我的入党进程')")
    assert "/development/mine/" in page.url and "递交入党申请书" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

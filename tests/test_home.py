"""The home page of each role, a member's own organizational life, and the full list of
structure alerts the home page's short lists lead to."""
import datetime as dt
import io

import openpyxl
import pytest
from django.utils import timezone

from dangjian.core.audit import EXPORT_TABLE
from dangjian.core.models import AuditEntry
from dangjian.orgs import services as org_services
from tests import factories
from tests.factories import branch_with, login


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.fixture
def branch(tree):
    """A branch with a secretary who keeps its records and a member who logs in."""
    b = branch_with(tree["a"], full=4, code="CZ05", name="财政局第五党支部")
    secretary = factories.user("branch_secretary", b, member=b.people[0], username="sec05")
    member = factories.user("member", b, member=b.people[1], username="mem05")
    return {"org": b, "secretary": secretary, "member": member}


def test_a_member_sees_their_own_life_and_their_branchs_requirements(branch):
    b, today = branch["org"], timezone.localdate()
    att = {m.pk: "present" for m in b.people}
    att[b.people[1].pk] = ("excused", "出差")
    factories.record(b, ["theme_day"], today.replace(day=1), topic="本月主题党日", attendance=att, today=today)
    c = login(branch["member"])
    home = page(c.get("/"))
    assert "我的组织生活" in home and "请假 <strong>1</strong> 次" in home and "本月主题党日" in home
    assert "本支部本期组织生活" in home and "主题党日" in home and "已完成" in home
    # The person, not the login, in the header.
    assert b.people[1].name in home
    mine = page(c.get("/activities/mine/"))
    assert "本月主题党日" in mine and "请假（出差）" in mine
    # The menu entry leads a plain member to their own life, not back home.
    assert c.get("/activities/")["Location"] == "/activities/mine/"


def test_a_secretary_sees_the_branchs_to_do(branch):
    c = login(branch["secretary"])
    home = page(c.get("/"))
    assert "待办：财政局第五党支部" in home and "登记组织生活" in home
    assert "待完成" in home  # this period's requirements not met yet
    assert "组织设置提醒" in home


def test_a_secretary_sees_their_branchs_requirements_once_and_the_to_do_first(branch, tree):
    home = page(login(branch["secretary"]).get("/"))
    # The branch they keep is the branch they belong to: its requirements are on the to-do card
    # only, and that card comes before the member's own cards (first thing on a phone).
    assert home.count("data-requirements") == 1 and "本支部本期组织生活" not in home
    assert home.index("data-todo") < home.index("member-card") < home.index("data-my-life")
    # Someone keeping another branch's records still sees their own branch's requirements.
    other = branch_with(tree["a"], full=2, code="CZ06", name="财政局第六党支部")
    keeper = factories.user("branch_secretary", other, member=branch["org"].people[2], username="sec06")
    home = page(login(keeper).get("/"))
    assert home.count("data-requirements") == 2 and "本支部本期组织生活" in home
    assert "待办：财政局第六党支部" in home and home.index("data-todo") < home.index("member-card")


def test_a_user_without_a_member_has_no_life_page(personas):
    c = login(personas["wc_admin"])
    r = c.get("/activities/mine/")
    assert r.status_code == 302 and r["Location"] == "/"


def test_home_lists_link_to_the_full_list(tree, personas):
    for i in range(25):
        org = factories.org(tree["a"], code=f"CZ2{i:02d}", name=f"到期支部{i}")
        org_services.set_current_term(None, org, dt.date(2020, 1, 1), dt.date(2023, 1, 1))
    c = login(personas["wc_admin"])
    home = page(c.get("/"))
    assert "查看全部 25 条" in home and "/orgs/alerts/?kind=term" in home
    full = page(c.get("/orgs/alerts/?kind=term"))
    assert "共 25 条" in full and "到期支部24" in full and "到期支部0" in full


def test_the_alert_list_is_scoped_filtered_and_exported(tree, personas):
    other = factories.org(tree["b"], code="JY09", name="教育局第九支部")
    org_services.set_current_term(None, other, dt.date(2020, 1, 1), dt.date(2023, 1, 1))
    mine = factories.org(tree["a"], code="CZ09", name="财政局第九支部")
    org_services.set_current_term(None, mine, dt.date(2020, 1, 1), dt.date(2023, 1, 1))
    c = login(personas["unit_admin_a"])
    listed = page(c.get("/orgs/alerts/?kind=term_expired"))
    assert "财政局第九支部" in listed and "教育局第九支部" not in listed
    assert "财政局第九支部" not in page(c.get("/orgs/alerts/?kind=seat_vacant"))
    assert "财政局第九支部" in page(c.get("/orgs/alerts/?q=第九"))
    bad = page(c.get("/orgs/alerts/?kind=nonsense"))
    assert "提醒类别“nonsense”不存在，已显示全部" in bad
    r = c.get("/orgs/alerts/?kind=term_expired&format=xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("组织代码", "组织名称", "提醒") and any(row[1] == "财政局第九支部" for row in rows[1:])
    assert not any(row[1] == "教育局第九支部" for row in rows[1:])
    assert AuditEntry.objects.get(table=EXPORT_TABLE).changes["kind"] == "org_alerts"
    # A member without a view scope has no such list.
    assert login(personas["member_a"]).get("/orgs/alerts/").status_code == 404


def test_the_menu_shows_a_plain_member_only_what_they_can_use(branch, personas):
    c = login(branch["member"])
    home = page(c.get("/"))
    nav = home[home.index("<nav"):home.index("</nav>")]
    assert 'href="/activities/mine/"' in nav and f'href="/members/{branch["org"].people[1].pk}/"' in nav
    for hidden in ('href="/orgs/"', 'href="/members/"', 'href="/duties/', 'href="/activities/overview/"'):
        assert hidden not in nav, hidden
    # The header names the person, not the login.
    person = nav[nav.index("data-person>") + len("data-person>"):]
    assert person.startswith(branch["org"].people[1].name) and "mem05" not in nav
    # Those who view a part of the tree keep the tree and the roster.
    staff_nav = page(login(personas["wc_admin"]).get("/"))
    assert 'href="/orgs/"' in staff_nav and 'href="/members/"' in staff_nav and "wcadmin" in staff_nav


def test_home_queries_do_not_grow_with_data(branch, tree, personas):
    """Every role's home page asks a fixed number of queries whatever the size of the tree, its
    records, alerts and seats."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import record

    users = {"secretary": branch["secretary"], "member": branch["member"], "wc_admin": personas["wc_admin"],
             "unit_admin": personas["unit_admin_a"]}
    clients = {name: login(u) for name, u in users.items()}

    def counts():
        found = {}
        for name, c in clients.items():
            with CaptureQueriesContext(connection) as ctx:
                assert c.get("/").status_code == 200
            found[name] = len(ctx)
        return found

    today = timezone.localdate()
    b = branch["org"]

    def grow(n, start):
        # Each size has records, attendance, expired terms and committees: only their number differs.
        for i in range(start, start + n):
            other = branch_with(tree["a"], full=3, committee=i % 2 == 0, code=f"CZ7{i:02d}")
            record(other, ["theme_day"], today.replace(day=1), today=today)
            org_services.set_current_term(None, other, dt.date(2021, 1, 1), dt.date(2024, 1, 1))
            record(b, ["theme_day", "general_meeting"], today.replace(day=1) - dt.timedelta(days=i), today=today,
                   attendance={m.pk: "present" for m in b.people}, topic=f"第{i}次")

    grow(1, 0)
    counts()
    small = counts()
    grow(12, 1)
    counts()  # the departments' figures are cached again after the writes
    assert counts() == small
    # A short alert list is its own count, and the duty list reuses the member read for the card
    # (its roles read the 机关党委 and the units' 行政负责人 too: two queries, whatever the data);
    # the rectification to-do (待办, 催办, 督办) is one query.
    assert small == {"secretary": 36, "member": 19, "wc_admin": 11, "unit_admin": 10}, small

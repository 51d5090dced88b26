"""Writes that cannot be lost or corrupt: optimistic versions on the web and the API (the
second of two editors who read the same version is told, and nothing of the first is lost),
the org-kind hierarchy at every door, and tree moves that stay consistent under a race."""
import datetime as dt
import io
import json
import re
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from dangjian.members import services as member_services
from dangjian.members.models import Member
from dangjian.orgs import checks
from dangjian.orgs import io as org_io
from dangjian.orgs.models import Organization
from tests import factories


class _FormValues(HTMLParser):
    """What a browser submits for the page's form: inputs, checked boxes, chosen options, texts."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str | list[str]] = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            if a.get("type") == "checkbox":
                if "checked" in a:
                    previous = self.data.get(name)
                    value = a.get("value") or "on"
                    self.data[name] = value if previous is None else [*([previous] if isinstance(previous, str)
                                                                        else previous), value]
            elif a.get("type") == "radio":
                if "checked" in a:
                    self.data[name] = a.get("value") or "on"
            elif a.get("type") not in ("submit", "button", "file"):
                self.data[name] = a.get("value") or ""
        elif tag == "select":
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def form_of(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    parser = _FormValues()
    parser.feed(response.content.decode())
    return parser.data


def token_of(username: str) -> str:
    out = io.StringIO()
    call_command("token", username, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def api_as(username: str) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {token_of(username)}")
    return c


def web_as(user):
    return factories.login(user)


# ---- lost updates ---------------------------------------------------------------------------

def test_second_web_editor_of_an_org_is_told_and_shown_the_newer_values(tree, personas):
    org = tree["a1"]
    url = f"/orgs/{org.pk}/edit/"
    first, second = web_as(personas["unit_admin_a"]), web_as(personas["wc_admin"])
    form1, form2 = form_of(first, url), form_of(second, url)  # both read the same version
    assert form1["version"] == form2["version"] == str(Organization.objects.get(pk=org.pk).version)

    saved = first.post(url, {**form1, "name": "财政局第一党支部（改名）"})
    assert saved.status_code == 302
    refused = second.post(url, {**form2, "established_on": "2019-04-01"})
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "此党组织已被他人修改" in page and "请核对最新内容后再保存" in page
    assert "财政局第一党支部（改名）" in page  # the form now holds the newer values
    stored = Organization.objects.get(pk=org.pk)
    assert stored.name == "财政局第一党支部（改名）"  # 0 lost values
    assert str(stored.established_on) != "2019-04-01"

    # Saving again from the refreshed form goes through, on top of the first editor's change.
    again = form_of(second, url)
    assert again["name"] == "财政局第一党支部（改名）" and int(again["version"]) == stored.version
    assert second.post(url, {**again, "established_on": "2019-04-01"}).status_code == 302
    stored.refresh_from_db()
    assert (stored.name, str(stored.established_on)) == ("财政局第一党支部（改名）", "2019-04-01")


def test_second_web_editor_of_a_member_loses_nothing_of_the_first(tree, personas):
    m = tree["ma"]
    url = f"/members/{m.pk}/edit/"
    first, second = web_as(personas["secretary_a1"]), web_as(personas["unit_admin_a"])
    form1, form2 = form_of(first, url), form_of(second, url)
    assert first.post(url, {**form1, "phone": "13900001111"}).status_code == 302
    refused = second.post(url, {**form2, "post": "处长"})
    assert refused.status_code == 200
    assert "此党员已被他人修改" in refused.content.decode()
    stored = Member.objects.get(pk=m.pk)
    assert stored.phone == "13900001111" and stored.post != "处长"


def test_api_answers_409_with_the_current_version_and_writes_nothing(tree, personas):
    org = tree["a1"]
    a, b = api_as("unita"), api_as("wcadmin")
    v1 = a.get(f"/api/orgs/{org.pk}/").json()["version"]
    assert b.get(f"/api/orgs/{org.pk}/").json()["version"] == v1

    ok = a.patch(f"/api/orgs/{org.pk}/", {"name": "甲改的名称", "version": v1}, format="json")
    assert ok.status_code == 200 and ok.json()["version"] == v1 + 1
    late = b.patch(f"/api/orgs/{org.pk}/", {"name": "乙改的名称", "version": v1}, format="json")
    assert late.status_code == 409
    body = late.json()
    assert set(body) == {"detail", "version"} and body["version"] == v1 + 1
    assert "已被他人修改" in body["detail"]
    # The same through If-Match, the HTTP way.
    late = b.patch(f"/api/orgs/{org.pk}/", {"name": "乙改的名称"}, format="json", HTTP_IF_MATCH=f'"{v1}"')
    assert late.status_code == 409 and late.json()["version"] == v1 + 1
    assert Organization.objects.get(pk=org.pk).name == "甲改的名称"
    # With the current version the second client's change is taken.
    assert b.patch(f"/api/orgs/{org.pk}/", {"name": "乙改的名称"}, format="json",
                   HTTP_IF_MATCH=f'"{v1 + 1}"').status_code == 200


def test_member_api_conflict_and_patch_without_version_writes_only_its_fields(tree, personas):
    m = tree["ma"]
    a, b = api_as("unita"), api_as("seca1")
    v1 = a.get(f"/api/members/{m.pk}/").json()["version"]
    assert a.patch(f"/api/members/{m.pk}/", {"phone": "13900002222", "version": v1}, format="json").status_code == 200
    late = b.patch(f"/api/members/{m.pk}/", {"post": "科长", "version": v1}, format="json")
    assert late.status_code == 409 and late.json()["version"] == v1 + 1
    # Without a version the last writer wins, field by field: only what it sends is written.
    member_services.update_member(None, Member.objects.get(pk=m.pk), workplace="市财政局预算处")
    assert b.patch(f"/api/members/{m.pk}/", {"post": "科长"}, format="json").status_code == 200
    stored = Member.objects.get(pk=m.pk)
    assert (stored.phone, stored.post, stored.workplace) == ("13900002222", "科长", "市财政局预算处")
    bad = b.patch(f"/api/members/{m.pk}/", {"post": "科员"}, format="json", HTTP_IF_MATCH="abc")
    assert bad.status_code == 400 and "version" in bad.json()["errors"]


def test_a_stale_service_object_never_writes_back_old_values(tree):
    """Two saves from objects loaded at the same moment: the second one (no version asked)
    still writes only the field it changes, never the whole row it loaded earlier."""
    one, two = Member.objects.get(pk=tree["ma"].pk), Member.objects.get(pk=tree["ma"].pk)
    member_services.update_member(None, one, phone="13900003333")
    member_services.update_member(None, two, post="副处长")
    stored = Member.objects.get(pk=tree["ma"].pk)
    assert (stored.phone, stored.post) == ("13900003333", "副处长")


def test_second_editor_of_an_activity_record_is_sent_back_to_the_newer_record(tree, personas):
    activity = factories.record(tree["a1"], ["theme_day"], factories.TODAY, topic="学习党章",
                                attendance={tree["ma"].pk: "present"})
    url = f"/activities/{activity.pk}/edit/"
    first, second = web_as(personas["secretary_a1"]), web_as(personas["unit_admin_a"])
    form1, form2 = form_of(first, url), form_of(second, url)
    assert first.post(url, {**form1, "topic": "学习新党章"}).status_code == 302
    refused = second.post(url, {**form2, "place": "二楼会议室", f"att_{tree['ma'].pk}": "absent"}, follow=True)
    page = refused.content.decode()
    assert "此组织生活记录已被他人修改" in page and 'value="学习新党章"' in page
    activity.refresh_from_db()
    assert (activity.topic, activity.place) == ("学习新党章", "")
    assert activity.attendances.get(member=tree["ma"]).status == "present"


def test_second_editor_of_a_scheme_indicator_list_loses_nothing_of_the_first(tree, personas):
    scheme = factories.scheme()
    url = f"/assessment/schemes/{scheme.pk}/indicators/"
    first, second = web_as(personas["wc_admin"]), web_as(personas["wc_admin"])
    form1, form2 = form_of(first, url), form_of(second, url)
    name_key = next(k for k, v in form1.items() if v == "党建与业务融合")
    note_key = name_key.replace("name", "note")
    assert first.post(url, {**form1, name_key: "党建业务融合"}).status_code == 302
    refused = second.post(url, {**form2, note_key: "只听汇报"}, follow=True)
    assert "此考核方案已被他人修改" in refused.content.decode()
    names = set(scheme.indicators.values_list("name", flat=True))
    assert "党建业务融合" in names and not scheme.indicators.filter(note="只听汇报").exists()


def test_second_editor_of_a_review_is_sent_back(tree, personas):
    from dangjian.reviews import services as review_services

    review = review_services.create_review(None, tree["wc"], factories.TODAY.year, "年度述职评议")
    url = f"/reviews/{review.pk}/edit/"
    first, second = web_as(personas["wc_admin"]), web_as(personas["wc_admin"])
    form1, form2 = form_of(first, url), form_of(second, url)
    assert first.post(url, {**form1, "title": "甲改的名称"}).status_code == 302
    refused = second.post(url, {**form2, "title": "乙改的名称"}, follow=True)
    assert "此述职评议已被他人修改" in refused.content.decode()
    review.refresh_from_db()
    assert review.title == "甲改的名称"


def test_stale_duty_item_and_rating_scheme_saves_are_refused(db):
    from dangjian.core.versioning import StaleVersion
    from dangjian.duties import services as duty_services
    from dangjian.duties.models import DutyItem
    from dangjian.ratings import services as rating_services

    item = DutyItem.objects.filter(to_year__isnull=True).order_by("pk").first()
    v1 = item.version
    duty_services.change_item(None, item, item.from_year, title="第一位编辑改的内容", version=v1)
    with pytest.raises(StaleVersion):
        duty_services.change_item(None, item, item.from_year, note="第二位编辑的说明", version=v1)
    item.refresh_from_db()
    assert item.title == "第一位编辑改的内容" and item.note != "第二位编辑的说明"

    year = factories.TODAY.year
    fields = rating_services.proposed(year)[0]
    scheme = rating_services.save_scheme(None, year, fields)
    v1 = scheme.version
    rating_services.save_scheme(None, year, {**fields, "note": "第一位编辑的说明"}, v1)
    with pytest.raises(StaleVersion):
        rating_services.save_scheme(None, year, {**fields, "note": "第二位编辑的说明"}, v1)
    scheme.refresh_from_db()
    assert scheme.note == "第一位编辑的说明"


def test_stale_overhaul_and_admonition_saves_are_refused(city):
    from django.utils import timezone

    from dangjian.assessment import services as assessment_services
    from dangjian.assessment.models import Admonition
    from dangjian.core.versioning import StaleVersion
    from dangjian.ratings import services as rating_services
    from dangjian.ratings.models import WeakOrg

    today = timezone.localdate()
    weak = rating_services.identify_weak(None, city["a1"], identified_on=today, reasons="书记空缺超过三个月")
    v1 = WeakOrg.objects.get(pk=weak.pk).version
    second = WeakOrg.objects.get(pk=weak.pk)  # read by another member of staff at the same time
    rating_services.set_plan(None, weak, measures="配齐书记", responsible="工委组织部", deadline=today, version=v1)
    with pytest.raises(StaleVersion):
        rating_services.withdraw_weak(None, second, reason="认定有误", version=v1)
    assert WeakOrg.objects.get(pk=weak.pk).status == WeakOrg.Status.OVERHAULING

    scheme = factories.scheme(level="branch", admonish_below=95)
    factories.score_manual(scheme, "2025-06")  # final: only a final run lists anyone for 约谈
    run = assessment_services.run_evaluation(None, scheme, "2025-06", today=factories.TODAY)
    adm = Admonition.objects.filter(run=run).first()
    stale = Admonition.objects.get(pk=adm.pk)
    talk = dict(talked_on=dt.date(2025, 7, 10), talked_with="支部书记", talked_by="工委副书记",
                deadline=dt.date(2025, 8, 10))
    assessment_services.record_admonition(None, adm, outcome="提出整改要求三条", version=stale.version, **talk)
    with pytest.raises(StaleVersion):
        assessment_services.record_admonition(None, stale, outcome="口头提醒", version=stale.version, **talk)
    assert Admonition.objects.get(pk=adm.pk).outcome == "提出整改要求三条"


# ---- the hierarchy --------------------------------------------------------------------------

def test_branch_secretary_cannot_make_their_branch_a_working_committee(tree, personas):
    branch = tree["a1"]
    api = api_as("seca1")
    for kind in ("working_committee", "general_branch"):
        r = api.patch(f"/api/orgs/{branch.pk}/", {"kind": kind}, format="json")
        assert r.status_code == 400 and "kind" in r.json()["errors"], r.content.decode()
    url = f"/orgs/{branch.pk}/edit/"
    web = web_as(personas["secretary_a1"])
    r = web.post(url, {**form_of(web, url), "kind": "working_committee"})
    assert r.status_code == 200 and "组织类别" in r.content.decode()
    assert Organization.objects.get(pk=branch.pk).kind == "branch"


def test_unit_admin_cannot_rekind_the_root_of_their_scope(tree, personas):
    # 机关党委 → 党组 is a kind the 工委 may hold, but only the 工委's managers may decide it.
    r = api_as("unita").patch(f"/api/orgs/{tree['a'].pk}/", {"kind": "leading_group"}, format="json")
    assert r.status_code == 400 and "上级组织" in r.json()["errors"]["kind"][0]
    assert Organization.objects.get(pk=tree["a"].pk).kind == "organ_committee"
    # The 工委's staff may; and a kind that its children cannot hang under is refused to anyone.
    wc = api_as("wcadmin")
    assert wc.patch(f"/api/orgs/{tree['a1'].pk}/", {"kind": "general_branch"}, format="json").status_code == 200
    factories.org(Organization.objects.get(pk=tree["a1"].pk), kind="branch", code="CZ01-01")
    r = wc.patch(f"/api/orgs/{tree['a1'].pk}/", {"kind": "branch"}, format="json")
    assert r.status_code == 400 and "下设有党支部" in r.json()["errors"]["kind"][0]


@pytest.mark.parametrize("kind", ["working_committee", "leading_group", "organ_committee", "committee",
                                  "general_branch", "branch"])
def test_nothing_above_a_cell_is_created_under_a_branch(tree, personas, kind):
    branch = tree["a1"]
    before = Organization.objects.count()
    r = api_as("seca1").post("/api/orgs/", {"code": "NEW1", "name": "新组织", "kind": kind, "parent": "CZ01"},
                             format="json")
    assert r.status_code == 400 and r.json()["errors"], r.content.decode()
    web = web_as(personas["secretary_a1"])
    page = web.post(f"/orgs/{branch.pk}/new/", {"code": "NEW2", "name": "新组织", "kind": kind,
                                                "unit": "", "established_on": ""})
    assert page.status_code == 200 and re.search("不能设[在立]", page.content.decode())
    assert Organization.objects.count() == before


def test_a_cell_is_created_under_a_branch_and_holds_no_members(tree, personas):
    api = api_as("seca1")
    r = api.post("/api/orgs/", {"code": "CZ01-1", "name": "第一党小组", "kind": "cell", "parent": "CZ01"}, format="json")
    assert r.status_code == 201
    cell = Organization.objects.get(code="CZ01-1")
    m = tree["ma"]
    r = api.post(f"/api/members/{m.pk}/transfer/", {"org": "CZ01-1"}, format="json")
    assert r.status_code == 400 and "党小组" in r.json()["errors"]["org"][0]
    web = web_as(personas["secretary_a1"])
    page = web.post(f"/members/{m.pk}/transfer/", {"to_code": "CZ01-1", "on": "2025-01-02", "reason": "调整"})
    assert page.status_code == 200 and "党小组" in page.content.decode()
    with pytest.raises(member_services.MemberError, match="党小组"):
        member_services.transfer_member(None, Member.objects.get(pk=m.pk), cell, factories.TODAY)
    assert Member.objects.get(pk=m.pk).org_id == tree["a1"].pk


def test_a_branch_with_members_is_not_turned_into_a_cell(tree, personas):
    r = api_as("unita").patch(f"/api/orgs/{tree['a1'].pk}/", {"kind": "cell"}, format="json")
    assert r.status_code == 400 and "党小组只能设在党支部之下" in r.json()["errors"]["kind"][0]
    assert Organization.objects.get(pk=tree["a1"].pk).kind == "branch"


def test_a_deadlock_reaching_the_api_is_a_409_never_a_500(tree, personas, monkeypatch):
    from django.db import OperationalError

    from dangjian.orgs import services as org_services

    def deadlocked(*args, **kwargs):
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(org_services, "update_org", deadlocked)
    r = api_as("unita").patch(f"/api/orgs/{tree['a1'].pk}/", {"name": "新名称"}, format="json")
    assert r.status_code == 409 and "稍后重试" in r.json()["detail"]


def test_a_deadlock_in_a_web_save_sends_the_form_back_with_a_message(tree, personas, monkeypatch):
    from django.db import OperationalError

    from dangjian.orgs import services as org_services

    def deadlocked(*args, **kwargs):
        raise OperationalError("deadlock detected")

    url = f"/orgs/{tree['a1'].pk}/edit/"
    web = web_as(personas["unit_admin_a"])
    form = form_of(web, url)
    monkeypatch.setattr(org_services, "update_org", deadlocked)
    r = web.post(url, {**form, "name": "新名称"}, follow=True)
    assert r.redirect_chain == [(url, 302)] and "本次保存未生效" in r.content.decode()
    assert Organization.objects.get(pk=tree["a1"].pk).name != "新名称"


def test_org_import_keeps_the_hierarchy(tree, personas, tmp_path):
    rows = [factories.org_row("CZ01-X", parent="CZ01", 组织类别="机关党委", 本届开始日期=None, 本届届满日期=None),
            factories.org_row("CZ", parent="WC", 组织名称="市财政局机关党委", 组织类别="党支部",
                              本届开始日期=None, 本届届满日期=None)]
    before = factories.counts()
    report = org_io.import_orgs(factories.sheet(tmp_path / "h.xlsx", rows), user=personas["wc_admin"])
    assert not report["ok"]
    messages = " ".join(e["message"] for e in report["errors"])
    assert "机关党委只能设在机关工委之下" in messages and "下设有党支部" in messages
    assert factories.counts() == before


def test_org_import_never_overwrites_an_edit_saved_while_it_ran(tree, personas, tmp_path, monkeypatch):
    from dangjian.orgs import services as org_services

    checked_plan = org_io.OrgImporter.plan

    def plan_then_someone_saves(self, rows):
        out = checked_plan(self, rows)
        # Another user saves the same org between the import's checks and its write.
        org_services.update_org(None, Organization.objects.get(code="CZ01"), name="财政局第一党支部（网页修改）")
        return out

    monkeypatch.setattr(org_io.OrgImporter, "plan", plan_then_someone_saves)
    rows = [factories.org_row("CZ01", parent="CZ", 组织名称="财政局第一党支部（导入）", 本届开始日期=None, 本届届满日期=None)]
    report = org_io.import_orgs(factories.sheet(tmp_path / "c.xlsx", rows), user=personas["wc_admin"])
    assert not report["ok"] and "重新导入" in report["errors"][0]["message"]
    assert Organization.objects.get(code="CZ01").name == "财政局第一党支部（网页修改）"


def test_the_rule_is_in_the_regulation_defaults_with_its_source():
    assert checks.allowed_parent_kinds("working_committee") == []
    assert checks.allowed_parent_kinds("cell") == ["branch"]
    problems = checks.hierarchy_problems("branch", None)
    assert problems and "条例" in problems[0][1]


# ---- the race on tree moves (PostgreSQL and MariaDB) -----------------------------------------

ROUNDS = 30


def _patch(base: str, token: str, pk: int, body: dict, out: list, barrier: threading.Barrier,
           what: str = "orgs") -> None:
    request = urllib.request.Request(
        f"{base}/api/{what}/{pk}/", data=json.dumps(body).encode(), method="PATCH",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    barrier.wait()
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            out.append((r.status, r.read().decode()))
    except urllib.error.HTTPError as e:
        out.append((e.code, e.read().decode()))


def _assert_tree_consistent(members_before: int) -> None:
    orgs = {o.pk: o for o in Organization.objects.all()}
    for o in orgs.values():
        seen, node = set(), o
        while node.parent_id is not None:  # no cycle: the walk up ends at a root
            assert node.pk not in seen, f"cycle through {o.code}"
            seen.add(node.pk)
            node = orgs[node.parent_id]
        expected = (orgs[o.parent_id].path if o.parent_id else "") + f"{o.pk:08d}/"
        assert o.path == expected, f"{o.code}: path {o.path} does not match its parent chain"
    roots = [o for o in orgs.values() if o.parent_id is None]
    in_tree = sum(Member.objects.filter(org__path__startswith=r.path).count() for r in roots)
    assert in_tree == Member.objects.count() == members_before


@pytest.mark.django_db(transaction=True)
def test_simultaneous_moves_keep_the_tree_consistent(live_server, monkeypatch):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite takes one writer at a time; the race needs PostgreSQL or MariaDB")
    # The lock and the cycle check must hold on their own: let a 党总支 hang under a 党总支 so
    # that two moves can try to make each org the other's parent, as the probe did.
    real = checks.allowed_parent_kinds
    monkeypatch.setattr(checks, "allowed_parent_kinds",
                        lambda kind: [*real(kind), "general_branch"] if kind == "general_branch" else real(kind))
    wc = factories.org(kind="working_committee", code="WC")
    top = factories.org(wc, kind="organ_committee", code="CZJ")
    factories.user("wc_admin", wc, username="racer")
    token = token_of("racer")
    statuses: list[int] = []
    members = 0
    for n in range(ROUNDS):
        one = factories.org(top, kind="general_branch", code=f"CZJ-{n}-A")
        two = factories.org(top, kind="general_branch", code=f"CZJ-{n}-B")
        branch = factories.org(one, kind="branch", code=f"CZJ-{n}-A1")
        factories.member(branch, name=f"党员{n}")
        members += 1
        if n % 2 == 0:  # each of two orgs moved under the other at once
            moves = [(one.pk, {"parent": two.code}), (two.pk, {"parent": one.code})]
        else:  # a subtree moved while one of its branches is moved out of it
            moves = [(one.pk, {"parent": two.code}), (branch.pk, {"parent": two.code})]
        barrier, out = threading.Barrier(2), []
        threads = [threading.Thread(target=_patch, args=(live_server.url, token, pk, body, out, barrier))
                   for pk, body in moves]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for status, text in out:
            assert status in (200, 400, 409), text
            assert "deadlock" not in text.lower()
            statuses.append(status)
        if n % 2 == 0:
            assert [s for s, _ in out].count(200) <= 1, out  # never both: that is the cycle
    _assert_tree_consistent(members)
    assert len(statuses) == 2 * ROUNDS and 500 not in statuses


EDITS = [{"post": "处长"}, {"workplace": "市财政局预算处"}, {"phone": "13900009999"}, {"ethnicity": "回族"},
         {"education": "master"}, {"is_party_staff": True}, {"is_exempt": True}, {"is_leader": True}]


def _at_once(base: str, token: str, pk: int, bodies: list[dict]) -> list[tuple[int, str]]:
    barrier, out = threading.Barrier(len(bodies)), []
    threads = [threading.Thread(target=_patch, args=(base, token, pk, body, out, barrier, "members"))
               for body in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


@pytest.mark.django_db(transaction=True)
def test_simultaneous_api_edits_of_one_member_lose_nothing(live_server):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite takes one writer at a time; the race needs PostgreSQL or MariaDB")
    wc = factories.org(kind="working_committee", code="WC")
    branch = factories.org(factories.org(wc, kind="organ_committee", code="CZJ"), kind="branch", code="CZJ-01")
    factories.user("wc_admin", wc, username="racer")
    token = token_of("racer")
    lost = 0
    for n in range(ROUNDS // 3):
        m = factories.member(branch, name=f"党员{n}", post="科员", workplace="市财政局", phone="13800000000")
        # Eight clients change eight different fields at once, sending no version: each
        # change is kept (only the fields sent are written, under the row's lock).
        out = _at_once(live_server.url, token, m.pk, EDITS)
        assert sorted(status for status, _ in out) == [200] * len(EDITS), out
        stored = Member.objects.get(pk=m.pk)
        lost += sum(1 for body in EDITS for field, value in body.items() if getattr(stored, field) != value)
        # Eight clients that read the same version: one is taken, seven are told (409), none lost.
        version = stored.version
        out = _at_once(live_server.url, token, m.pk, [{"post": f"职务{i}", "version": version} for i in range(8)])
        statuses = sorted(status for status, _ in out)
        assert statuses == [200] + [409] * 7, out
        winner = next(json.loads(text)["post"] for status, text in out if status == 200)
        lost += Member.objects.get(pk=m.pk).post != winner
    assert lost == 0

"""The organization autocomplete: the lookup endpoint (scope per capability, limits, messages),
the widget every org-asking form uses (it names the chosen org again, submits a code or an id,
refuses orgs outside the scope without saying whether they exist), and the member list that no
longer renders an option per org."""
import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dangjian.members.models import Member
from dangjian.orgs import services as org_services
from tests import factories

LOOKUP = "/orgs/lookup/"


def html(response) -> str:
    return response.content.decode()


def options(response) -> list[tuple[str, str]]:
    """(data-value, data-label) of each option of a lookup answer."""
    return re.findall(r'role="option"[^>]*data-value="([^"]*)" data-label="([^"]*)"', html(response))


def labels(response) -> list[str]:
    return [label for _, label in options(response)]


# ---- the endpoint ---------------------------------------------------------------------------

def test_lookup_matches_by_initials_code_and_name_with_parent(login_as, tree):
    c = login_as("wcadmin")
    r = c.get(LOOKUP, {"q": "dyd"})  # 第一党支部
    assert r.status_code == 200
    assert labels(r) == ["财政局第一党支部（CZ01）", "教育局第一党支部（JY01）"]
    body = html(r)
    # Each option names its parent, so two 第一党支部 can be told apart.
    assert "市财政局机关党委" in body and "市教育局机关党委" in body
    assert labels(c.get(LOOKUP, {"q": "jy0"})) == ["教育局第一党支部（JY01）"]
    # Names beginning with the text first; the code itself before anything.
    assert labels(c.get(LOOKUP, {"q": "教育"})) == ["教育局第一党支部（JY01）", "市教育局机关党委（JY）"]
    assert labels(c.get(LOOKUP, {"q": "cz"}))[0] == "市财政局机关党委（CZ）"
    assert "no-store" in r["Cache-Control"] or "no-cache" in r["Cache-Control"]


@pytest.mark.parametrize("username, capability, expected", [
    ("wcadmin", "view", {"CZ", "CZ01", "JY", "JY01"}),
    ("unita", "view", {"CZ", "CZ01"}),             # a unit admin never gets another department's
    ("unita", "edit", {"CZ", "CZ01"}),
    ("unitb", "import", {"JY", "JY01"}),
    ("seca1", "view", {"CZ01"}),
    ("seca1", "edit", {"CZ01"}),
    ("seca1", "import", set()),
    ("mema", "view", {"CZ01"}),                    # a plain member: their own branch only
    ("mema", "edit", set()),
    ("leader", "view", {"CZ", "CZ01", "JY", "JY01"}),
    ("leader", "edit", set()),
    ("wcadmin", "manage", {"CZ", "CZ01", "JY", "JY01"}),
    ("unita", "manage", set()),
])
def test_lookup_is_scoped_by_capability(login_as, tree, username, capability, expected):
    c = login_as(username)
    found, bodies = set(), ""
    for q in ("dzb", "jgdw", "cz", "jy", "财政局", "教育局", "党"):
        r = c.get(LOOKUP, {"q": q, "capability": capability})
        bodies += "".join(re.findall(r'<li[^>]*role="option".*?</li>', html(r)))  # not the echoed query
        found |= {label[label.index("（") + 1:-1] for label in labels(r)}
    assert found == expected
    # Nothing of what is outside shows, not even as a parent's name.
    if not expected & {"JY", "JY01"}:
        assert "教育局" not in bodies
    if username not in ("wcadmin", "leader"):
        assert "工委" not in bodies  # the working committee is above every unit's scope
    if username in ("seca1", "mema"):
        assert "机关党委" not in bodies  # nor is a branch's parent above the branch
    if not expected:
        assert bodies == "" and "没有与“党”相符的组织" in html(c.get(LOOKUP, {"q": "党", "capability": capability}))


def test_lookup_messages_for_empty_short_and_bad_queries(login_as, tree):
    c = login_as("wcadmin")
    assert "请输入组织名称、代码或拼音首字母" in html(c.get(LOOKUP))
    assert "请输入组织名称、代码或拼音首字母" in html(c.get(LOOKUP, {"q": "  "}))
    short = c.get(LOOKUP, {"q": "c"})
    assert short.status_code == 200 and "请至少输入 2 个字母或数字，或 1 个汉字" in html(short)
    assert options(short) == []
    assert labels(c.get(LOOKUP, {"q": "财"})) == ["财政局第一党支部（CZ01）", "市财政局机关党委（CZ）"]
    assert "输入过长" in html(c.get(LOOKUP, {"q": "党" * 51}))
    assert c.get(LOOKUP, {"q": "a\x00b"}).status_code == 200
    for bad in ({"capability": "see_id"}, {"capability": "root"}, {"kind": "club"}):
        r = c.get(LOOKUP, {"q": "cz", **bad})
        assert r.status_code == 400 and "查找参数无效" in html(r) and options(r) == []
    assert c.post(LOOKUP, {"q": "cz"}).status_code == 405


def test_lookup_limit_kinds_dissolved_and_ids(login_as, tree):
    for i in range(25):
        factories.org(tree["a"], name=f"财政局第{i + 2}党支部", code=f"CZ{i + 2:02d}")
    gone = factories.org(tree["a"], name="财政局已撤销党支部", code="CZ99")
    org_services.dissolve_org(None, gone, dt.date(2024, 1, 1))
    c = login_as("unita")
    r = c.get(LOOKUP, {"q": "dzb"})
    assert len(options(r)) == 20 and "只列出最相符的 20 个" in html(r)
    assert "CZ99" not in html(r)
    assert labels(c.get(LOOKUP, {"q": "cz99", "dissolved": "1"})) == ["财政局已撤销党支部（CZ99）"]
    assert "已撤销" in html(c.get(LOOKUP, {"q": "cz99", "dissolved": "1"}))
    assert labels(c.get(LOOKUP, {"q": "cz", "kind": "organ_committee"})) == ["市财政局机关党委（CZ）"]
    assert options(c.get(LOOKUP, {"q": "cz01", "by": "pk"})) == [(str(tree["a1"].pk), "财政局第一党支部（CZ01）")]


def test_lookup_costs_the_same_whatever_the_tree(login_as, tree):
    c = login_as("unita")

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get(LOOKUP, {"q": "dzb"}).status_code == 200
        return len(ctx.captured_queries)

    small = queries()
    for i in range(40):
        factories.org(tree["a"], name=f"财政局第{i + 2}党支部", code=f"CZ{i + 2:02d}")
    assert queries() == small


def test_lookup_needs_login(client, tree):
    r = client.get(LOOKUP, {"q": "cz"})
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


# ---- the member list ------------------------------------------------------------------------

def test_member_list_renders_no_option_per_org_and_constant_queries(login_as, tree):
    c = login_as("wcadmin")

    def page(params=None):
        with CaptureQueriesContext(connection) as ctx:
            r = c.get(reverse("members:list"), params or {})
        assert r.status_code == 200
        return html(r), len(ctx.captured_queries)

    before, n_before = page()
    chosen_before, n_chosen_before = page({"org": "CZ"})
    for i in range(60):
        factories.org(tree["a"], name=f"财政局第{i + 2}党支部", code=f"CZ{i + 2:02d}")
    after, n_after = page()
    chosen_after, n_chosen_after = page({"org": "CZ"})
    assert after.count("<option") == before.count("<option") < 10  # category and status only
    assert "财政局第2党支部" not in after
    assert (n_after, n_chosen_after) == (n_before, n_chosen_before)
    # The chosen org is named in the box; the filter still submits its code.
    assert 'name="org" value="CZ"' in chosen_after and 'value="市财政局机关党委（CZ）"' in chosen_after
    assert 'id="member-org"' in after and 'data-url="/orgs/lookup/?capability=view"' in after


def test_member_list_filter_outside_scope_says_so_without_naming(login_as, tree):
    c = login_as("unitb")
    body = html(c.get(reverse("members:list"), {"org": "CZ01"}))
    assert "未找到组织代码“CZ01”，或不在您的查看范围内" in body
    assert "财政局第一党支部" not in body and "李明" not in body
    assert "未找到" in html(c.get(reverse("members:list"), {"org": "NOPE"}))
    assert "未找到" not in html(c.get(reverse("members:list"), {"org": "JY01"}))


# ---- member forms ---------------------------------------------------------------------------

def test_transfer_form_uses_the_autocomplete_and_keeps_the_choice(login_as, tree):
    ma = tree["ma"]
    factories.org(tree["a"], kind="branch", name="财政局第二党支部", code="CZ02")
    gone = factories.org(tree["a"], kind="branch", name="财政局第三党支部", code="CZ03")
    org_services.dissolve_org(None, gone, dt.date(2024, 1, 1))
    c = login_as("unita")
    url = reverse("members:transfer", args=[ma.pk])
    form = html(c.get(url))
    assert "<select" not in form and 'data-url="/orgs/lookup/?capability=edit"' in form
    # An error elsewhere: the chosen org is named again, its code still submitted.
    r = c.post(url, {"to_code": "CZ02", "on": "2999-01-01", "reason": "工作调动"})
    assert "转接日期不能晚于今天" in html(r)
    assert 'name="to_code" value="CZ02"' in html(r) and 'value="财政局第二党支部（CZ02）"' in html(r)
    # Outside the scope and unknown read the same; a dissolved org says why.
    for code in ("JY01", "ZZ99"):
        r = c.post(url, {"to_code": code, "on": "2024-05-01", "reason": "工作调动"})
        assert r.status_code == 200 and f"未找到组织代码“{code}”，或不在您的管理范围内" in html(r)
        assert "教育局第一党支部" not in html(r)
    r = c.post(url, {"to_code": "CZ03", "on": "2024-05-01", "reason": "工作调动"})
    assert "“财政局第三党支部”已撤销，不能转入" in html(r)
    assert Member.objects.get(pk=ma.pk).org == tree["a1"]
    r = c.post(url, {"to_code": "CZ02", "on": "2024-05-01", "reason": "工作调动"})
    assert r.status_code == 302 and Member.objects.get(pk=ma.pk).org.code == "CZ02"


def test_new_member_form_keeps_the_chosen_org_after_an_error(login_as, tree):
    c = login_as("unita")
    r = c.post(reverse("members:create"), {"org": str(tree["a1"].pk), "name": ""})
    body = html(r)
    assert r.status_code == 200 and "请填写姓名" in body
    assert f'name="org" value="{tree["a1"].pk}"' in body and 'value="财政局第一党支部（CZ01）"' in body
    # Nothing chosen: the field asks for it.
    assert "请填写所在党组织" in html(c.post(reverse("members:create"), {"org": "", "name": "赵"}))
    # A garbled id is refused like any other.
    assert "未找到所选组织" in html(c.post(reverse("members:create"), {"org": "abc", "name": "赵"}))


# ---- the org edit form's parent -------------------------------------------------------------

def org_post(org, **over):
    data = {"code": org.code, "name": org.name, "kind": org.kind, "unit": org.unit.name if org.unit else "",
            "established_on": "2015-01-01", "parent_code": org.parent.code if org.parent else ""}
    data.update(over)
    return data


def test_org_edit_parent_is_an_autocomplete(login_as, tree):
    a, a1 = tree["a"], tree["a1"]
    general = factories.org(a, kind="general_branch", name="财政局机关党总支", code="CZG")
    c = login_as("unita")
    url = reverse("orgs:edit", args=[a1.pk])
    form = html(c.get(url))
    assert form.count("<select") == 1  # the kind; the parent is an autocomplete
    assert 'name="parent_code" value="CZ"' in form and 'value="市财政局机关党委（CZ）"' in form
    # Move under another org the user manages, chosen by code.
    r = c.post(url, org_post(a1, parent_code="CZG"))
    assert r.status_code == 302
    a1.refresh_from_db()
    assert a1.parent == general and a1.path.startswith(general.path)
    # Outside the scope or unknown: the same words; under itself: the service's rule.
    for code in ("JY", "WC", "NOPE"):
        r = c.post(url, org_post(a1, parent_code=code, name="改名"))
        assert r.status_code == 200 and f"未找到组织代码“{code}”，或不在您的管理范围内" in html(r)
        assert "市教育局机关党委" not in html(r)
    r = c.post(reverse("orgs:edit", args=[general.pk]), org_post(general, parent_code="CZ01"))
    assert "上级组织不能是本组织或其下级组织" in html(r)
    r = c.post(url, org_post(a1, parent_code=""))
    assert "请选择上级组织" in html(r)
    a1.refresh_from_db()
    assert a1.name == "财政局第一党支部" and a1.parent == general


def test_org_edit_keeps_a_parent_outside_the_edit_scope(login_as, tree):
    a = tree["a"]
    c = login_as("unita")
    url = reverse("orgs:edit", args=[a.pk])
    form = html(c.get(url))
    # The unit's top org hangs under the working committee, which unita may not edit: shown, kept.
    assert 'name="parent_code" value="WC"' in form and "示例市直机关工委（WC）" in form
    r = c.post(url, org_post(a, name="市财政局机关党委（新）"))
    assert r.status_code == 302
    a.refresh_from_db()
    assert a.name == "市财政局机关党委（新）" and a.parent == tree["wc"]
    assert "shicaizhengjujiguandangweixin" == a.name_pinyin


# ---- the other pages that ask for an org ------------------------------------------------------

def test_review_form_org_is_an_autocomplete_of_organizing_orgs(login_as, tree):
    c = login_as("unita")
    form = html(c.get("/reviews/new/"))
    assert f'name="org" value="{tree["a"].pk}"' in form and 'value="市财政局机关党委（CZ）"' in form
    assert ("/orgs/lookup/?capability=edit&amp;kind=working_committee&amp;kind=committee&amp;"
            "kind=organ_committee&amp;kind=general_branch&amp;by=pk") in form
    base = {"year": 2025, "title": "2025年度述职评议", "vote_share": 50, "points_good": 100, "points_fair": 85,
            "points_average": 70, "points_poor": 50}
    for org in (tree["b"], tree["a1"]):  # another department's; a branch holds no review
        r = c.post("/reviews/new/", {**base, "org": org.pk})
        assert r.status_code == 200 and "组织单位：未找到所选组织，或不在您的管理范围内" in html(r)
        assert "市教育局机关党委" not in html(r)


def test_weak_identify_form_org_is_an_autocomplete(login_as, tree):
    from dangjian.ratings.models import WeakOrg

    gone = factories.org(tree["a"], name="财政局已撤销党支部", code="CZ99")
    org_services.dissolve_org(None, gone, dt.date(2024, 1, 1))
    c = login_as("wcadmin")
    form = html(c.get("/ratings/weak/new/"))
    assert "/orgs/lookup/?capability=inspect&amp;kind=organ_committee" in form
    data = {"identified_on": "2025-03-01", "reasons": "书记长期空缺"}
    r = c.post("/ratings/weak/new/", {**data, "org_code": "NOPE"})
    assert "未找到组织代码“NOPE”，或不在您的管理范围内" in html(r)
    r = c.post("/ratings/weak/new/", {**data, "org_code": "CZ99"})
    assert "“财政局已撤销党支部”已撤销，不能认定" in html(r)
    assert 'value="财政局已撤销党支部（CZ99）"' in html(r)  # the choice named again
    r = c.post("/ratings/weak/new/", {**data, "org_code": "CZ01"})
    assert r.status_code == 302 and WeakOrg.objects.get().org == tree["a1"]


def test_formalism_scope_filter_is_an_autocomplete(login_as, tree):
    c = login_as("wcadmin")
    page = html(c.get("/activities/formalism/", {"org": "CZ"}))
    assert 'name="org" value="CZ"' in page and 'value="市财政局机关党委（CZ）"' in page
    assert 'id="f-org"' in page and "kind=working_committee" in page
    assert "<option" not in page.split('id="f-kind"')[1].split("</select>")[1]  # none after the kinds
    refused = html(login_as("unitb").get("/activities/formalism/", {"org": "CZ"}))
    assert "不存在或不在您的查看范围内" in refused and "市财政局机关党委" not in refused

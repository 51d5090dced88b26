"""REST API (/api/): token auth, scoping (404 outside, 403 without the capability), the
orgs and members endpoints, Chinese error bodies for every kind of bad input, bounded
query counts, the OpenAPI schema and its offline Swagger UI."""
import datetime as dt
import io
import json
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from dangjian.core import idcard
from dangjian.core.models import AuditEntry
from dangjian.members.models import Member, Membership
from dangjian.orgs import services as org_services
from dangjian.orgs.models import Organization, Term
from tests import factories

CJK = re.compile(r"[\u4e00-\u9fff]")
# Wording of DRF's and Django's stock English messages: none may reach a user.
ENGLISH = re.compile(r"\b(?:This|field|valid|Ensure|may not|required|allowed|provided|Invalid|expected)\b")
TODAY = timezone.localdate()


def token_of(username: str, reset: bool = False) -> str:
    out = io.StringIO()
    call_command("token", username, *(["--reset"] if reset else []), stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def client_for(username: str) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {token_of(username)}")
    return c


@pytest.fixture
def api(personas):
    return client_for


def assert_chinese_400(response, *fields):
    """A 400 in the one error shape, Chinese throughout, naming each of `fields`."""
    assert response.status_code == 400, response.content.decode()
    body = response.json()
    assert set(body) == {"detail", "errors"}, body
    assert CJK.search(body["detail"]) and not ENGLISH.search(body["detail"]), body
    for messages in body["errors"].values():
        assert messages and all(CJK.search(m) and not ENGLISH.search(m) for m in messages), body
    for name in fields:
        assert name in body["errors"], body
    return body["errors"]


def member_payload(org="CZ01", **changes):
    birth = dt.date(1990, 3, 5)
    # Sequence 149 ends in the check digit X (the 17th digit, 9, says male).
    data = {
        "name": "赵强",
        "gender": "男",
        "ethnicity": "汉族",
        "birth_date": birth.isoformat(),
        "id_number": idcard.make("110105", birth, 149),
        "education": "大学本科",
        "phone": "13912345678",
        "org": org,
        "category": "正式党员",
        "joined_on": "2015-07-01",
        "confirmed_on": "2016-07-01",
        "workplace": "市财政局",
        "post": "科员",
        "rank": "正科级",
    }
    data.update(changes)
    return data


# --- token command and authentication ---------------------------------------------------


def test_token_command_creates_keeps_and_resets(personas):
    first = token_of("unita")
    assert re.fullmatch(r"[0-9a-f]{40}", first)
    assert token_of("unita") == first
    new = token_of("unita", reset=True)
    assert new != first
    old = APIClient()
    old.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert old.get("/api/orgs/").status_code == 401
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert fresh.get("/api/orgs/").status_code == 200


def test_token_command_unknown_or_inactive_user(personas):
    with pytest.raises(CommandError, match="用户“nobody”不存在"):
        call_command("token", "nobody", stdout=io.StringIO())
    personas["leader"].is_active = False
    personas["leader"].save()
    with pytest.raises(CommandError, match="已停用"):
        call_command("token", "leader", stdout=io.StringIO())


def test_no_token_or_bad_token_is_401_in_chinese(personas):
    r = APIClient().get("/api/members/")
    assert r.status_code == 401 and CJK.search(r.json()["detail"])
    assert r["WWW-Authenticate"].startswith("Token")
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    r = bad.get("/api/members/")
    assert r.status_code == 401 and r.json() == {"detail": "令牌无效或账号已停用"}


def test_session_login_works_too(personas):
    c = APIClient()
    assert c.login(username="unitb", password="Dangjian!2026")
    assert [o["code"] for o in c.get("/api/orgs/").json()["results"]] == ["JY", "JY01"]


# --- organizations ----------------------------------------------------------------------


def test_org_list_is_scoped_and_filters(api, tree):
    c = api("unitb")
    body = c.get("/api/orgs/").json()
    assert body["count"] == 2
    assert [o["code"] for o in body["results"]] == ["JY", "JY01"]
    everything = json.dumps(body, ensure_ascii=False)
    assert "CZ01" not in everything and "财政局" not in everything

    w = api("wcadmin")
    codes = lambda url: [o["code"] for o in w.get(url).json()["results"]]  # noqa: E731
    assert codes("/api/orgs/") == ["WC", "CZ", "CZ01", "JY", "JY01"]
    assert codes("/api/orgs/?code=CZ01") == ["CZ01"]
    assert codes("/api/orgs/?kind=branch") == ["CZ01", "JY01"]
    assert codes("/api/orgs/?kind=党支部") == ["CZ01", "JY01"]
    assert codes("/api/orgs/?parent=WC") == ["CZ", "JY"]
    assert codes("/api/orgs/?under=CZ") == ["CZ", "CZ01"]
    assert codes("/api/orgs/?q=教育局") == ["JY", "JY01"]
    empty = factories.org(tree["a"], code="CZ09")
    org_services.dissolve_org(None, empty, dt.date(2024, 1, 1))
    assert "CZ09" not in codes("/api/orgs/")
    assert codes("/api/orgs/?status=dissolved") == ["CZ09"]
    assert "CZ09" in codes("/api/orgs/?status=all")
    # Outside scope, a filter on a code finds nothing, like an unknown code.
    assert c.get("/api/orgs/?code=CZ01").json()["count"] == 0


def test_org_list_builds_one_term_serializer(api, tree, monkeypatch):
    """Each org's current term through one serializer for the whole page, not a new one (its
    fields built again) per org; the terms are the same."""
    from dangjian.orgs import serializers as org_serializers

    for org in Organization.objects.all():
        Term.objects.create(org=org, starts_on=dt.date(2024, 5, 1), ends_on=dt.date(2029, 5, 1), is_current=True)
    built = []
    original = org_serializers.CurrentTermSerializer.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(org_serializers.CurrentTermSerializer, "__init__", counting)
    results = api("wcadmin").get("/api/orgs/").json()["results"]
    assert len(results) == 5 and len(built) == 1
    assert {o["current_term"]["ends_on"] for o in results} == {"2029-05-01"}


def test_org_retrieve_fields(api, tree):
    start = TODAY - dt.timedelta(days=800)
    org_services.set_current_term(None, tree["a1"], start, TODAY + dt.timedelta(days=100))
    body = api("unita").get(f"/api/orgs/{tree['a1'].pk}/").json()
    assert body["code"] == "CZ01" and body["kind"] == "branch" and body["kind_label"] == "党支部"
    assert body["parent"] == "CZ" and body["parent_id"] == tree["a"].pk
    assert body["depth"] == 3 and body["status"] == "active"
    assert body["member_count"] == 1
    assert body["current_term"] == {
        "starts_on": start.isoformat(),
        "ends_on": (TODAY + dt.timedelta(days=100)).isoformat(),
        "elected_on": start.isoformat(),
        "days_left": 100,
        "version": Term.objects.get(org=tree["a1"], is_current=True).version,  # to send back with a change
    }
    assert api("unita").get(f"/api/orgs/{tree['a'].pk}/").json()["member_count"] == 1  # whole subtree


def test_org_outside_scope_is_404_everywhere(api, tree):
    c = api("unitb")
    pk = tree["a1"].pk
    for method, url, data in [
        ("get", f"/api/orgs/{pk}/", None),
        ("get", f"/api/orgs/{pk}/seats/", None),
        ("patch", f"/api/orgs/{pk}/", {"name": "改名"}),
        ("post", f"/api/orgs/{pk}/dissolve/", {}),
        ("post", f"/api/orgs/{pk}/term/", {"starts_on": "2024-01-01", "ends_on": "2027-01-01"}),
    ]:
        r = getattr(c, method)(url, data, format="json")
        assert r.status_code == 404, (url, r.content)
        assert r.json() == {"detail": "未找到，或不在您的权限范围内"}
    assert Organization.objects.get(pk=pk).name == "财政局第一党支部"


def test_org_create(api, tree):
    c = api("unita")
    r = c.post("/api/orgs/", {"code": "CZ02", "name": "财政局第二党支部", "kind": "联合党支部", "parent": "CZ",
                              "established_on": "2020-05-04"}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["kind"], body["is_joint"], body["kind_label"], body["parent"]) == ("branch", True, "联合党支部", "CZ")
    assert body["unit"] == tree["a"].unit.name  # inherited from the parent
    org = Organization.objects.get(code="CZ02")
    assert org.path.startswith(tree["a"].path) and org.depth == 3
    assert AuditEntry.objects.filter(table="orgs.organization", object_id=org.pk, action="create").exists()


def test_org_create_refusals(api, tree):
    c = api("unita")
    base = {"code": "CZ03", "name": "新支部", "kind": "branch", "parent": "CZ"}
    assert_chinese_400(c.post("/api/orgs/", {**base, "parent": "JY"}, format="json"), "parent")
    assert_chinese_400(c.post("/api/orgs/", {**base, "parent": "NOPE"}, format="json"), "parent")
    errors = assert_chinese_400(c.post("/api/orgs/", {**base, "code": "JY01"}, format="json"), "code")
    assert errors["code"] == ["组织代码已被使用，请换一个"]
    assert_chinese_400(c.post("/api/orgs/", {**base, "kind": "党组织"}, format="json"), "kind")
    assert_chinese_400(c.post("/api/orgs/", {**base, "kind": "cell", "is_joint": True}, format="json"), "is_joint")
    r = api("leader").post("/api/orgs/", base, format="json")
    assert r.status_code == 403 and CJK.search(r.json()["detail"])
    assert not Organization.objects.filter(code="CZ03").exists()


def test_org_patch_and_move(api, tree):
    c = api("unita")
    a2 = factories.org(tree["a"], kind="general_branch", code="CZ05")
    r = c.patch(f"/api/orgs/{tree['a1'].pk}/", {"name": "财政局机关第一党支部", "unit": "市财政局"}, format="json")
    assert r.status_code == 200 and r.json()["name"] == "财政局机关第一党支部" and r.json()["unit"] == "市财政局"
    r = c.patch(f"/api/orgs/{tree['a1'].pk}/", {"parent": "CZ05"}, format="json")
    assert r.status_code == 200 and r.json()["parent"] == "CZ05" and r.json()["depth"] == 4
    assert Organization.objects.get(pk=tree["a1"].pk).path.startswith(a2.path)
    # Naming the current parent is no move, even when the parent is out of reach (WC for unita).
    assert c.patch(f"/api/orgs/{tree['a'].pk}/", {"parent": "WC", "name": "财政局党委"}, format="json").status_code == 200
    # Not under its own subtree, not into another department.
    errors = assert_chinese_400(c.patch(f"/api/orgs/{tree['a'].pk}/", {"parent": "CZ05"}, format="json"), "parent")
    assert "下级组织" in errors["parent"][0]
    assert_chinese_400(c.patch(f"/api/orgs/{tree['a1'].pk}/", {"parent": "JY"}, format="json"), "parent")
    # The secretary may edit the branch; the read-only leader may not.
    assert api("seca1").patch(f"/api/orgs/{tree['a1'].pk}/", {"name": "一支部"}, format="json").status_code == 200
    r = api("leader").patch(f"/api/orgs/{tree['a1'].pk}/", {"name": "改名"}, format="json")
    assert r.status_code == 403 and r.json() == {"detail": "您没有修改该组织的权限"}
    assert c.put(f"/api/orgs/{tree['a1'].pk}/", {"name": "x"}, format="json").status_code == 405


def test_org_dissolve(api, tree):
    c = api("unita")
    errors = assert_chinese_400(c.post(f"/api/orgs/{tree['a1'].pk}/dissolve/", {}, format="json"), "non_field_errors")
    assert "在册党员" in errors["non_field_errors"][0]
    empty = factories.org(tree["a"], code="CZ08")
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    assert_chinese_400(c.post(f"/api/orgs/{empty.pk}/dissolve/", {"on": tomorrow}, format="json"), "on")
    assert_chinese_400(c.post(f"/api/orgs/{empty.pk}/dissolve/", {"on": "2024-02-30"}, format="json"), "on")
    assert_chinese_400(c.post(f"/api/orgs/{empty.pk}/dissolve/", {"on": "2000-01-01"}, format="json"), "on")
    r = c.post(f"/api/orgs/{empty.pk}/dissolve/", {"on": "2025-01-02"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "dissolved" and r.json()["dissolved_on"] == "2025-01-02"
    assert_chinese_400(c.post(f"/api/orgs/{empty.pk}/dissolve/", {}, format="json"), "non_field_errors")
    assert api("leader").post(f"/api/orgs/{tree['a1'].pk}/dissolve/", {}, format="json").status_code == 403


def test_org_term(api, tree):
    c = api("seca1")
    url = f"/api/orgs/{tree['a1'].pk}/term/"
    r = c.post(url, {"starts_on": "2022-03-01", "ends_on": "2025-03-01", "elected_on": "2022-02-27"}, format="json")
    assert r.status_code == 200 and r.json()["elected_on"] == "2022-02-27"
    r = c.post(url, {"starts_on": "2025-03-01", "ends_on": "2028-03-01"}, format="json")  # 换届
    assert r.status_code == 200
    terms = list(Term.objects.filter(org=tree["a1"]).order_by("starts_on").values_list("starts_on", "is_current"))
    assert terms == [(dt.date(2022, 3, 1), False), (dt.date(2025, 3, 1), True)]
    assert c.get(f"/api/orgs/{tree['a1'].pk}/").json()["current_term"]["starts_on"] == "2025-03-01"
    assert_chinese_400(c.post(url, {"starts_on": "2025-03-01", "ends_on": "2024-03-01"}, format="json"), "ends_on")
    assert_chinese_400(c.post(url, {"starts_on": "三月", "ends_on": 2028}, format="json"), "starts_on", "ends_on")
    assert_chinese_400(c.post(url, {}, format="json"), "starts_on", "ends_on")
    r = api("leader").post(url, {"starts_on": "2025-03-01", "ends_on": "2028-03-01"}, format="json")
    assert r.status_code == 403


def test_org_seats(api, tree):
    org_services.fill_seat(None, tree["a1"], "secretary", tree["ma"], dt.date(2023, 5, 1))
    seat = org_services.fill_seat(None, tree["a1"], "publicity_officer", tree["ma"], dt.date(2023, 5, 1))
    org_services.vacate_seat(None, seat, TODAY - dt.timedelta(days=10))
    body = api("leader").get(f"/api/orgs/{tree['a1'].pk}/seats/").json()
    by_role = {s["role"]: s for s in body}
    assert by_role["secretary"]["holder"] == {"id": tree["ma"].pk, "name": "李明"}
    assert by_role["secretary"]["role_label"] == "书记" and by_role["secretary"]["vacant_days"] is None
    assert by_role["publicity_officer"]["holder"] is None and by_role["publicity_officer"]["vacant_days"] == 10


# --- members ----------------------------------------------------------------------------


def test_member_list_scoped_and_filtered(api, tree):
    factories.member(tree["a1"], name="张伟", category="probationary", confirmed_on=None,
                     joined_on=TODAY - dt.timedelta(days=100), is_leader=True)
    names = lambda c, q="": [m["name"] for m in c.get(f"/api/members/{q}").json()["results"]]  # noqa: E731
    assert names(api("unitb")) == ["王芳"]
    a = api("unita")
    assert sorted(names(a)) == ["张伟", "李明"]
    assert names(a, "?q=lm") == ["李明"]
    assert names(a, "?q=zhangwei") == ["张伟"]
    assert names(a, "?category=预备党员") == ["张伟"]
    assert names(a, "?category=full") == ["李明"]
    assert names(a, "?is_leader=true") == ["张伟"]
    assert names(a, "?org=CZ") == names(a, "?org=CZ01") and len(names(a, "?org=CZ")) == 2
    assert names(a, "?org=JY01") == [] and names(a, "?org=NOPE") == []
    tail = tree["ma"].id_mask[-4:]
    assert names(a, f"?q={tail}") == ["李明"]
    assert names(api("mema")) == ["李明"]  # a plain member: their own record only


def test_labels_are_the_models_display_without_reading_signatures(api, tree, monkeypatch):
    """The *_label fields are each record's get_<field>_display (null for no rank), and
    answering them reads no method signature: inspect.signature per record was a fifth of the
    member list's time."""
    import inspect

    factories.member(tree["a1"], name="张伟", rank=None, category="probationary", confirmed_on=None,
                     joined_on=TODAY - dt.timedelta(days=100))

    read = []
    signature = inspect.signature

    def recording(obj, *args, **kwargs):
        read.append(getattr(getattr(obj, "func", obj), "__name__", ""))  # the label is a partial method
        return signature(obj, *args, **kwargs)

    monkeypatch.setattr(inspect, "signature", recording)
    results = api("unita").get("/api/members/").json()["results"]
    members = {m.pk: m for m in Member.objects.filter(pk__in=[r["id"] for r in results])}
    assert len(results) == 2
    for r in results:
        m = members[r["id"]]
        assert (r["gender_label"], r["education_label"], r["category_label"], r["status_label"], r["rank_label"]) == (
            m.get_gender_display(), m.get_education_display(), m.get_category_display(), m.get_status_display(),
            m.get_rank_display())
    assert {r["rank_label"] for r in results if r["name"] == "张伟"} == {None}
    orgs = api("unita").get("/api/orgs/").json()["results"]
    assert orgs and all(o["status_label"] == "正常" for o in orgs)
    assert "_get_FIELD_display" not in read


def test_member_id_number_by_capability(api, tree):
    url = f"/api/members/{tree['ma'].pk}/"
    full = tree["ma"].id_number
    for username in ("wcadmin", "unita"):
        body = api(username).get(url).json()
        assert body["id_number"] == full and body["id_mask"] == tree["ma"].id_mask
    for username in ("leader", "seca1", "mema"):
        body = api(username).get(url).json()
        assert "id_number" not in body and body["id_mask"] == tree["ma"].id_mask
        assert full not in json.dumps(body)
    # Each full number handed out is logged, as on the web page.
    reveals = AuditEntry.objects.filter(table="members.member", object_id=tree["ma"].pk, action="reveal")
    assert reveals.count() == 2
    api("unita").get("/api/members/")
    assert reveals.count() == 3
    # Also when the answer to a change carries it.
    ok = factories.member(tree["a1"], name="孙立", id_number=idcard.make("110101", dt.date(1985, 6, 1), 11))
    logged = AuditEntry.objects.filter(table="members.member", object_id=ok.pk, action="reveal")
    assert api("unita").patch(f"/api/members/{ok.pk}/", {}, format="json").json()["id_number"] == ok.id_number
    assert logged.count() == 1
    assert "id_number" not in api("seca1").patch(f"/api/members/{ok.pk}/", {}, format="json").json()
    assert logged.count() == 1


def test_member_outside_scope_is_404_and_leader_is_403(api, tree):
    url = f"/api/members/{tree['ma'].pk}/"
    b = api("unitb")
    assert b.get(url).status_code == 404
    assert b.patch(url, {"phone": "13900000000"}, format="json").status_code == 404
    assert b.post(url + "transfer/", {"org": "JY01"}, format="json").status_code == 404
    r = api("leader").patch(url, {"phone": "13900000000"}, format="json")
    assert r.status_code == 403 and r.json() == {"detail": "您没有修改该党员信息的权限"}
    r = api("mema").patch(url, {"phone": "13900000000"}, format="json")
    assert r.status_code == 403
    r = api("leader").post("/api/members/", member_payload(), format="json")
    assert r.status_code == 403
    assert Member.objects.get(pk=tree["ma"].pk).phone == tree["ma"].phone


def test_member_create(api, tree):
    number = idcard.make("110105", dt.date(1990, 3, 5), 149)
    r = api("unita").post("/api/members/", member_payload(id_number=" " + number.lower()), format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["org"] == "CZ01" and body["gender"] == "male" and body["education"] == "bachelor"
    assert (body["rank"], body["rank_label"]) == (50, "正科级")
    assert body["category"] == "full" and body["status"] == "active"
    m = Member.objects.get(pk=body["id"])
    assert m.id_number == number  # stored normalized: upper-case X, no spaces
    assert body["id_mask"] == m.id_mask
    assert list(Membership.objects.filter(member=m).values_list("org_id", "ended_on")) == [(tree["a1"].pk, None)]
    assert AuditEntry.objects.filter(table="members.member", object_id=m.pk, action="create").exists()
    # Rank as its number works too.
    r = api("wcadmin").post("/api/members/", member_payload(
        org="JY01", name="钱红", gender="female", id_number=idcard.make("110105", dt.date(1990, 3, 5), 124), rank=71,
    ), format="json")
    assert r.status_code == 201 and r.json()["rank_label"] == "四级调研员"


def test_member_create_refusals(api, tree):
    c = api("unita")
    bad = idcard.make("110105", dt.date(1990, 3, 5), 149)[:17] + "0"
    errors = assert_chinese_400(c.post("/api/members/", member_payload(id_number=bad), format="json"), "id_number")
    assert errors["id_number"] == ["身份证号校验码不正确，请核对"]
    errors = assert_chinese_400(
        c.post("/api/members/", member_payload(id_number=tree["mb"].id_number), format="json"), "id_number"
    )
    # Held outside unita's scope: refused without saying that it exists (members.checks).
    assert errors["id_number"] == ["该身份证号无法使用，请联系机关工委核实"]
    assert_chinese_400(c.post("/api/members/", member_payload(birth_date="1990-03-06"), format="json"), "birth_date")
    assert_chinese_400(c.post("/api/members/", member_payload(gender="女"), format="json"), "gender")
    assert_chinese_400(c.post("/api/members/", member_payload(org="JY01"), format="json"), "org")
    assert_chinese_400(c.post("/api/members/", member_payload(org="NOPE"), format="json"), "org")
    assert_chinese_400(c.post("/api/members/", member_payload(joined_on="2000-01-01"), format="json"), "joined_on")
    assert_chinese_400(c.post("/api/members/", member_payload(confirmed_on=None), format="json"), "confirmed_on")
    assert_chinese_400(c.post("/api/members/", member_payload(phone="12345"), format="json"), "phone")
    assert_chinese_400(c.post("/api/members/", member_payload(rank="局长"), format="json"), "rank")
    assert_chinese_400(c.post("/api/members/", member_payload(rank=50, rank_label="副处级"), format="json"), "rank_label")
    assert_chinese_400(c.post("/api/members/", member_payload(status="deceased"), format="json"), "status")
    empty = factories.org(tree["a"], code="CZ07")
    org_services.dissolve_org(None, empty, dt.date(2024, 1, 1))
    assert_chinese_400(c.post("/api/members/", member_payload(org="CZ07"), format="json"), "org")
    assert not Member.objects.filter(name="赵强").exists()


def test_member_patch(api, tree):
    # A record that passes every check (the whole record is checked again on PATCH).
    ma = factories.member(tree["a1"], name="孙立", id_number=idcard.make("110101", dt.date(1985, 6, 1), 11))
    url = f"/api/members/{ma.pk}/"
    c = api("seca1")
    r = c.patch(url, {"phone": "13900001111", "rank_label": "二级主任科员", "is_leader": True}, format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["phone"], r.json()["rank"], r.json()["is_leader"]) == ("13900001111", 51, True)
    assert "id_number" not in r.json()  # a branch secretary may edit but not see the full number
    # The whole record is checked again: a birth date off the 身份证号 is refused.
    assert_chinese_400(c.patch(url, {"birth_date": "1985-06-02"}, format="json"), "birth_date")
    assert_chinese_400(c.patch(url, {"org": "CZ"}, format="json"), "org")
    assert_chinese_400(c.patch(url, {"id_number": tree["mb"].id_number}, format="json"), "id_number")
    assert_chinese_400(c.patch(url, {"category": "预备党员"}, format="json"), "confirmed_on")
    assert_chinese_400(c.patch(url, {"rank": "x"}, format="json"), "rank")
    assert c.patch(url, {"rank": None}, format="json").json()["rank"] is None
    m = Member.objects.get(pk=ma.pk)
    assert m.birth_date == dt.date(1985, 6, 1) and m.org_id == tree["a1"].pk
    assert AuditEntry.objects.filter(table="members.member", object_id=m.pk, action="update").count() == 2


def test_member_transfer(api, tree):
    a2 = factories.org(tree["a"], code="CZ02")
    url = f"/api/members/{tree['ma'].pk}/transfer/"
    c = api("unita")
    assert_chinese_400(c.post(url, {"org": "JY01"}, format="json"), "org")  # not theirs to manage
    assert_chinese_400(c.post(url, {"org": "CZ01"}, format="json"), "org")  # same org
    assert_chinese_400(c.post(url, {"org": "CZ02", "on": "2000-01-01"}, format="json"), "on")
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    assert_chinese_400(c.post(url, {"org": "CZ02", "on": tomorrow}, format="json"), "on")
    assert_chinese_400(c.post(url, {"org": "CZ02", "reason": "  "}, format="json"), "reason")
    assert api("leader").post(url, {"org": "CZ02"}, format="json").status_code == 403
    r = c.post(url, {"org": "CZ02", "on": "2024-06-01", "reason": "工作调动"}, format="json")
    assert r.status_code == 200 and r.json()["org"] == "CZ02"
    rows = list(
        Membership.objects.filter(member=tree["ma"]).order_by("started_on")
        .values_list("org_id", "started_on", "ended_on", "reason")
    )
    assert rows[-2][0] == tree["a1"].pk and rows[-2][2] == dt.date(2024, 6, 1)
    assert rows[-1] == (a2.pk, dt.date(2024, 6, 1), None, "工作调动")
    # The 工委 admin may move a member across departments.
    r = api("wcadmin").post(url, {"org": "JY01"}, format="json")
    assert r.status_code == 200 and r.json()["org"] == "JY01"
    assert Membership.objects.filter(member=tree["ma"], ended_on__isnull=True).count() == 1


# --- bad input: never a 500, always a Chinese 400 naming the field -------------------------


BAD_ORG_BODIES = [
    ({"code": 12, "name": ["x"], "kind": 3, "parent": 5}, ["code", "name", "kind", "parent"]),
    ({"code": "", "name": "  "}, ["code"]),
    ({"code": "C Z"}, ["code"]),
    ({"code": "X" * 40}, ["code"]),
    ({"is_joint": "maybe"}, ["is_joint"]),
    ({"established_on": "2020-13-01"}, ["established_on"]),
    ({"established_on": "2999-01-01"}, ["established_on"]),
    ({"parent": {"code": "CZ"}}, ["parent"]),
    ({"parent": None}, ["parent"]),
    ({"name": "x\x00y"}, ["name"]),
]


def test_bad_org_bodies(api, tree):
    c = api("unita")
    for changes, fields in BAD_ORG_BODIES:
        body = {"code": "CZ10", "name": "新支部", "kind": "branch", "parent": "CZ", **changes}
        try:
            assert_chinese_400(c.post("/api/orgs/", body, format="json"), *fields)
        except AssertionError as exc:
            raise AssertionError(f"{body!r}: {exc}") from None
    assert not Organization.objects.filter(code="CZ10").exists()


BAD_MEMBER_CHANGES = [
    ({"name": 123}, ["name"]),
    ({"name": ""}, ["name"]),
    ({"gender": "unknown"}, ["gender"]),
    ({"birth_date": "1990/03/05"}, ["birth_date"]),
    ({"birth_date": 19900305}, ["birth_date"]),
    ({"birth_date": "2099-01-01"}, ["birth_date"]),
    ({"id_number": 110105199003051234}, ["id_number"]),
    ({"id_number": "123"}, ["id_number"]),
    ({"id_number": "11010519900230123X"}, ["id_number"]),
    ({"education": "小学"}, ["education"]),
    ({"org": ["CZ01"]}, ["org"]),
    ({"category": True}, ["category"]),
    ({"joined_on": "2015-02-29"}, ["joined_on"]),
    ({"joined_on": "2016-07-01", "confirmed_on": "2015-07-01"}, ["confirmed_on"]),
    ({"confirmed_on": "2099-01-01"}, ["confirmed_on"]),
    ({"is_leader": "sometimes"}, ["is_leader"]),
    ({"rank": 55}, ["rank"]),
    ({"rank": True}, ["rank"]),
    ({"rank": [50]}, ["rank"]),
    ({"workplace": "单" * 101}, ["workplace"]),
    ({"ethnicity": None}, ["ethnicity"]),
]


def test_bad_member_bodies(api, tree):
    c = api("unita")
    for changes, fields in BAD_MEMBER_CHANGES:
        try:
            assert_chinese_400(c.post("/api/members/", member_payload(**changes), format="json"), *fields)
        except AssertionError as exc:
            raise AssertionError(f"{changes!r}: {exc}") from None
    assert not Member.objects.filter(name="赵强").exists()


MALFORMED_BODIES = [
    b'{"name": ', b"[1, 2]", b'"text"', b"null", b"42", b"\xff\xfe{}", b'{"name": "\\ud800", "code": "\\u0000"}',
]


def test_malformed_json_bodies(api, tree):
    c = api("unita")
    urls = [
        "/api/members/", "/api/orgs/", f"/api/members/{tree['ma'].pk}/transfer/", f"/api/orgs/{tree['a1'].pk}/term/",
    ]
    for raw in MALFORMED_BODIES:
        for url in urls:
            try:
                assert_chinese_400(c.post(url, raw, content_type="application/json"))
            except AssertionError as exc:
                raise AssertionError(f"POST {url} {raw!r}: {exc}") from None
        assert_chinese_400(c.patch(f"/api/members/{tree['ma'].pk}/", raw, content_type="application/json"))


def test_bad_query_parameters(api, tree):
    c = api("unita")
    assert_chinese_400(c.get("/api/orgs/?kind=nope"), "kind")
    assert_chinese_400(c.get("/api/orgs/?status=gone"), "status")
    assert_chinese_400(c.get("/api/members/?category=x"), "category")
    assert_chinese_400(c.get("/api/members/?is_leader=perhaps"), "is_leader")
    assert_chinese_400(c.get("/api/members/?q=" + "张" * 60), "q")
    assert_chinese_400(c.get("/api/members/?q=a%00b"), "q")
    for url in ("/api/members/?page=abc", "/api/members/?page=999", "/api/orgs/?page=-1"):
        r = c.get(url)
        assert r.status_code == 404 and r.json() == {"detail": "页码无效"}
    assert c.get("/api/members/?page_size=abc").status_code == 200
    for url in ("/api/members/99999999999999999999999/", "/api/orgs/0/", "/api/members/abc/", "/api/orgs/1.5/"):
        r = c.get(url)
        assert r.status_code == 404, url
    r = c.post("/api/orgs/", "code=1", content_type="text/plain")
    assert r.status_code == 415 and CJK.search(r.json()["detail"])
    r = c.delete(f"/api/orgs/{tree['a1'].pk}/")
    assert r.status_code == 405 and CJK.search(r.json()["detail"])


# --- query counts -----------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200
    return len(ctx.captured_queries)


def test_list_query_counts_do_not_grow_with_rows(api, tree):
    c = api("wcadmin")  # sees every full 身份证号: the reveal log is one bulk insert
    small = {url: _queries(c, url) for url in ("/api/members/", "/api/orgs/")}
    for i in range(12):
        branch = factories.org(tree["a"], code=f"CZ2{i:02d}")
        org_services.set_current_term(None, branch, dt.date(2023, 1, 1), dt.date(2026, 1, 1))
        org_services.fill_seat(None, branch, "secretary", factories.member(branch, name=f"党员{i}甲"), dt.date(2023, 1, 1))
        factories.member(branch, name=f"党员{i}乙")
    assert Member.objects.count() > 20 and Organization.objects.count() > 15
    large = {url: _queries(c, url) for url in small}
    assert large == small
    # orgs: auth, count, page, current terms, the children's GROUP BY, and the members from
    # the departments' cache (their list, the fingerprint, and on a cold cache one GROUP BY);
    # members: the reveal log's insert is chained (the audit lock and the chain's head: two more)
    assert small["/api/members/"] <= 8 and small["/api/orgs/"] <= 9


# --- schema and documentation ----------------------------------------------------------


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    text = (tmp_path / "schema.yml").read_text(encoding="utf-8")
    assert "/api/members/{id}/transfer/" in text and "/api/orgs/{id}/dissolve/" in text


def test_schema_and_docs_need_login_and_load_nothing_from_a_cdn(api, client, personas):
    assert APIClient().get("/api/schema/").status_code == 401
    r = client.get("/api/docs/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    assert api("leader").get("/api/schema/", HTTP_ACCEPT="application/json").status_code == 200
    client.force_login(personas["leader"])
    r = client.get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "swagger-ui" in html
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", html) + re.findall(r"""url:\s*["']([^"']+)""", html)
    assert urls and all(not re.match(r"^(https?:)?//", u) for u in urls), urls
    assert "cdn" not in html.lower()
    # The start-up script is a file of its own (the Content-Security-Policy runs no inline
    # script); Swagger UI's own default would fetch a badge from validator.swagger.io.
    assert "/api/docs/?script=" in urls
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "javascript" in script["Content-Type"]
    assert re.search(r'"validatorUrl":\s*null', script.content.decode())
    for asset in [u for u in urls if u.startswith(settings.STATIC_URL)]:
        assert finders.find(asset.removeprefix(settings.STATIC_URL).split("?")[0]), asset

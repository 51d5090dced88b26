"""The items API (/api/items/: the list's filters, the timeline, the moves with versions, the one
Chinese error shape) and `dangjian items` (the exact JSON contract, CSV and table, exit code 2 on a
bad --org or --status, streamed)."""
import csv
import datetime as dt
import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from dangjian.rectification import services
from dangjian.rectification.models import Item
from tests import factories

CJK = re.compile(r"[\u4e00-\u9fff]")


def token_client(username: str) -> APIClient:
    out = io.StringIO()
    call_command("token", username, stdout=out, stderr=io.StringIO())
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    return c


def opened(tree, personas, org="a1", **over):
    today = timezone.localdate()
    fields = dict(org=tree[org], title="党课记录不全", source="manual", issuer=tree["wc"],
                  deadline=today + dt.timedelta(days=30))
    fields.update(over)
    return services.open_item(personas["wc_admin"], **fields)


# ---- API ------------------------------------------------------------------------------------

def test_the_list_is_scoped_and_filtered_like_the_page(tree, personas):
    today = timezone.localdate()
    a = opened(tree, personas, title="逾期事项", opened_on=today - dt.timedelta(days=10), deadline=today - dt.timedelta(days=2))
    b = opened(tree, personas, org="b1", list="task")
    ids = lambda r: {row["id"] for row in r.json()["results"]}  # noqa: E731
    wc, unit = token_client("wcadmin"), token_client("unitb")
    assert ids(wc.get("/api/items/")) == {a.pk, b.pk}
    assert ids(unit.get("/api/items/")) == {b.pk}
    assert ids(wc.get("/api/items/", {"status": "overdue"})) == {a.pk}
    row = wc.get("/api/items/", {"status": "overdue"}).json()["results"][0]
    assert row["overdue_days"] == 2 and row["org_code"] == "CZ01" and row["status_label"] == "待签收"
    assert ids(wc.get("/api/items/", {"list": "task"})) == {b.pk}
    assert ids(wc.get("/api/items/", {"org": "CZ"})) == {a.pk}
    r = wc.get("/api/items/", {"status": "later", "org": "NOPE"})
    assert r.status_code == 400
    body = r.json()
    assert set(body["errors"]) == {"status", "org"} and CJK.search(body["detail"])
    assert unit.get(f"/api/items/{a.pk}/").status_code == 404


def test_the_moves_go_through_the_services_with_versions(tree, personas):
    item = opened(tree, personas)
    sec, wc, other = token_client("seca1"), token_client("wcadmin"), token_client("unitb")
    assert other.post(f"/api/items/{item.pk}/sign/", {}, format="json").status_code == 404
    r = sec.post(f"/api/items/{item.pk}/close/", {"text": "自行销号"}, format="json")
    assert r.status_code == 403 and CJK.search(r.json()["detail"])
    r = sec.post(f"/api/items/{item.pk}/sign/", {"text": "收到"}, format="json", HTTP_IF_MATCH=str(item.version))
    assert r.status_code == 200, r.json()
    version = r.json()["version"]
    r = sec.post(f"/api/items/{item.pk}/request-close/", {"text": "", "version": version}, format="json")
    assert r.status_code == 400 and "整改情况及佐证" in r.json()["errors"]["text"][0]
    r = sec.post(f"/api/items/{item.pk}/note/", {"text": "已补开党课"}, format="json")
    assert r.status_code == 200
    r = sec.post(f"/api/items/{item.pk}/request-close/", {"text": "党课记录已补齐", "version": version},
                 format="json")
    assert r.status_code == 200
    version = r.json()["version"]
    stale = wc.post(f"/api/items/{item.pk}/close/", {"text": "核查属实", "version": version - 1}, format="json")
    assert stale.status_code == 409 and stale.json()["version"] == version
    r = wc.post(f"/api/items/{item.pk}/return/", {"text": "缺少签到表", "version": version}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "rectifying" and r.json()["returned_count"] == 1
    kinds = [e["kind"] for e in wc.get(f"/api/items/{item.pk}/").json()["timeline"]]
    assert kinds == ["open", "sign", "note", "request", "return"]


def test_refer_through_the_api_answers_the_new_item(tree, personas):
    item = opened(tree, personas)
    wc = token_client("wcadmin")
    r = wc.post(f"/api/items/{item.pk}/refer/", {"to_org": "NOPE", "text": "职责在教育局"}, format="json")
    assert r.status_code == 400 and "to_org" in r.json()["errors"]
    r = wc.post(f"/api/items/{item.pk}/refer/", {"to_org": "JY01", "text": "职责在教育局"}, format="json")
    assert r.status_code == 200
    assert r.json()["referred_from"] == item.pk and r.json()["org_code"] == "JY01"
    assert Item.objects.get(pk=item.pk).status == Item.Status.REFERRED


def test_assign_through_the_api_is_the_new_item_page(tree, personas):
    """工委交办 over the API: the same checks as the page, 201 with the item, nothing written on
    a refusal, and a member's or another unit's account cannot issue for the committee."""
    wc, unit, member = token_client("wcadmin"), token_client("unitb"), token_client("mema")
    body = {"issuer": "WC", "org": "CZ01", "list": "task", "title": "补齐第三季度党课记录", "workdays": 5}
    assert member.post("/api/items/", body, format="json").status_code == 403
    r = unit.post("/api/items/", body, format="json")
    assert r.status_code == 400 and set(r.json()["errors"]) == {"issuer", "org"}
    r = wc.post("/api/items/", dict(body, org="JY"), format="json")  # JY is not under CZ, but under WC: allowed
    assert r.status_code == 201, r.json()
    r = unit.post("/api/items/", dict(body, issuer="JY", org="JY01", workdays=None), format="json")
    assert r.status_code == 400 and "workdays" in r.json()["errors"]
    r = unit.post("/api/items/", dict(body, issuer="JY", org="JY01", workdays=0), format="json")
    assert r.status_code == 400 and CJK.search(r.json()["errors"]["workdays"][0])
    r = wc.post("/api/items/", dict(body, issuer="JY01", org="JY"), format="json")  # upward: refused
    assert r.status_code == 400 and "下级组织" in r.json()["errors"]["org"][0]
    undated = {k: v for k, v in body.items() if k != "workdays"}
    r = wc.post("/api/items/", undated, format="json")
    assert r.status_code == 400 and "整改时限" in r.json()["errors"]["deadline"][0]
    assert Item.objects.count() == 1  # only the item to JY
    r = wc.post("/api/items/", body, format="json")
    assert r.status_code == 201
    got = r.json()
    assert got["org_code"] == "CZ01" and got["status"] == "pending" and got["source"] == "manual"
    assert [e["kind"] for e in got["timeline"]] == ["open"]
    item = Item.objects.get(pk=got["id"])
    assert item.issuer == tree["wc"] and item.workdays == 5 and item.deadline > item.opened_on
    assert token_client("seca1").get(f"/api/items/{item.pk}/").status_code == 200


# ---- the command ----------------------------------------------------------------------------

def test_items_command_prints_the_exact_contract(tree, personas):
    today = dt.date(2026, 11, 20)
    late = opened(tree, personas, opened_on=dt.date(2026, 11, 2), deadline=dt.date(2026, 11, 10), today=today)
    ok = opened(tree, personas, org="b1", list="task", opened_on=dt.date(2026, 11, 2), deadline=dt.date(2026, 12, 31),
                today=today)
    code, out, _ = factories.cli("items", "--today", "2026-11-20", "--format", "json")
    data = json.loads(out)
    assert list(data) == ["items"]
    rows = {r["id"]: r for r in data["items"]}
    assert rows[late.pk] == {"id": late.pk, "list": "problem", "source": "manual", "org_code": "CZ01",
                             "title": "党课记录不全", "deadline": "2026-11-10", "status": "pending", "overdue_days": 10}
    assert rows[ok.pk]["overdue_days"] == 0 and rows[ok.pk]["list"] == "task"
    _, out, _ = factories.cli("items", "--today", "2026-11-20", "--status", "overdue", "--format", "json")
    assert [r["id"] for r in json.loads(out)["items"]] == [late.pk]
    _, out, _ = factories.cli("items", "--org", "JY", "--format", "json")
    assert [r["id"] for r in json.loads(out)["items"]] == [ok.pk]
    _, out, _ = factories.cli("items", "--status", "closed", "--format", "json")
    assert json.loads(out) == {"items": []}
    _, out, _ = factories.cli("items", "--today", "2026-11-20", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][0] == "编号" and len(rows) == 3
    _, out, _ = factories.cli("items", "--today", "2026-11-20", "--format", "table")
    assert "CZ01" in out and "超期天数" in out


@pytest.mark.parametrize("args,word", [(("--org", "NOPE"), "--org"), (("--status", "late"), "--status"),
                                       (("--today", "2026-02-30"), "--today")])
def test_items_command_refuses_bad_arguments_with_exit_code_2(tree, args, word):
    with pytest.raises(CommandError) as e:
        factories.cli("items", *args, "--format", "json")
    assert e.value.returncode == 2 and word in str(e.value) and CJK.search(str(e.value))


def test_items_command_streams_from_a_cursor(tree, personas, monkeypatch):
    from django.db.models.query import QuerySet

    opened(tree, personas)
    used = []
    original = QuerySet.iterator

    def spy(self, *args, **kwargs):
        used.append(kwargs.get("chunk_size"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    factories.cli("items", "--format", "json")
    assert used == [2000]

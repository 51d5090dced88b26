"""The writes of /api/transfers/ and /api/standing/: each side of a letter takes only its own
steps, a member outside the user's scope and every broken rule is a 400 in Chinese with nothing
written, a stale version is 409, and every role gets what the pages give it."""
import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dangjian.core.models import AuditEntry
from dangjian.members.models import Member, Membership
from dangjian.transfers import services
from dangjian.transfers.models import Standing, Transfer
from tests import factories

TODAY = timezone.localdate()
DAY = dt.timedelta(days=1)


def _api(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def _written():
    return (Transfer.objects.count(), Standing.objects.count(), Membership.objects.count(),
            AuditEntry.objects.count(), list(Member.objects.order_by("pk").values_list("org_id", "status",
                                                                                       "is_mobile", "version")))


def _letter(member, to="JY01", **over):
    return {"kind": "internal", "member": member.pk, "to_org": to, "letter_number": "转字〔2026〕7号",
            "issued_on": (TODAY - 5 * DAY).isoformat(), **over}


def _chinese_400(r, field):
    assert r.status_code == 400, r.content.decode()
    body = r.json()
    assert field in body["errors"], body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body


def test_a_letter_is_issued_and_accepted_by_the_two_sides_through_the_api(tree, personas):
    sender, receiver = _api(personas["unit_admin_a"]), _api(personas["unit_admin_b"])
    r = sender.post("/api/transfers/", _letter(tree["ma"], reason="工作调动"), format="json")
    assert r.status_code == 201, r.content.decode()
    body = r.json()
    assert (body["status"], body["status_label"], body["to_code"], body["member_id"]) == (
        "issued", "待接收", "JY01", tree["ma"].pk)
    pk, version = body["id"], body["version"]
    assert Member.objects.get(pk=tree["ma"].pk).org.code == "CZ01"  # still counted where they were
    # The sender may not accept its own letter; the receiver may not withdraw it.
    r = sender.post(f"/api/transfers/{pk}/accept/", {"on": TODAY.isoformat()}, format="json")
    assert r.status_code == 403 and "接收该介绍信" in r.json()["detail"]
    r = receiver.post(f"/api/transfers/{pk}/withdraw/", {"on": TODAY.isoformat()}, format="json")
    assert r.status_code == 403
    # A stale version is 409 with the version stored; nothing moves.
    r = receiver.post(f"/api/transfers/{pk}/accept/", {"on": TODAY.isoformat(), "version": version + 5},
                      format="json")
    assert r.status_code == 409 and r.json()["version"] == version
    r = receiver.post(f"/api/transfers/{pk}/accept/", {"on": TODAY.isoformat(), "version": version},
                      format="json")
    assert r.status_code == 200, r.content.decode()
    assert (r.json()["status"], r.json()["closed_on"]) == ("accepted", TODAY.isoformat())
    assert Member.objects.get(pk=tree["ma"].pk).org.code == "JY01"
    # Closed, it takes no further step.
    _chinese_400(receiver.post(f"/api/transfers/{pk}/return/", {"on": TODAY.isoformat(), "reason": "错"},
                               format="json"), "non_field_errors")


def test_return_withdraw_and_a_receipt_from_outside(tree, personas):
    sender, receiver = _api(personas["secretary_a1"]), _api(personas["unit_admin_b"])
    pk = sender.post("/api/transfers/", _letter(tree["ma"]), format="json").json()["id"]
    _chinese_400(receiver.post(f"/api/transfers/{pk}/return/", {"on": TODAY.isoformat()}, format="json"), "reason")
    r = receiver.post(f"/api/transfers/{pk}/return/", {"on": TODAY.isoformat(), "reason": "不属本支部"},
                      format="json")
    assert r.status_code == 200 and r.json()["return_reason"] == "不属本支部"
    pk = sender.post("/api/transfers/", _letter(tree["ma"], letter_number="转字〔2026〕8号"), format="json").json()["id"]
    r = sender.post(f"/api/transfers/{pk}/withdraw/", {"on": TODAY.isoformat()}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    # To outside: the member stays on the roll until the receipt, then leaves on its date.
    r = sender.post("/api/transfers/", {"kind": "out", "member": tree["ma"].pk, "outside_org": "江苏省某局机关党委",
                                        "outside_region": "江苏省南京市", "letter_number": "外字9号",
                                        "issued_on": (TODAY - 3 * DAY).isoformat(), "valid_days": 30}, format="json")
    assert r.status_code == 201, r.content.decode()
    out = r.json()
    assert (out["kind"], out["to_code"], out["status_label"]) == ("out", None, "待回执")
    _chinese_400(receiver.post(f"/api/transfers/{pk}/receipt/", {"on": TODAY.isoformat()}, format="json"),
                 "non_field_errors")  # an internal letter has no receipt
    assert receiver.post(f"/api/transfers/{out['id']}/receipt/", {"on": TODAY.isoformat()},
                         format="json").status_code == 404  # the receiver of another letter does not see this one
    r = sender.post(f"/api/transfers/{out['id']}/receipt/", {"on": (TODAY - DAY).isoformat()}, format="json")
    assert r.status_code == 200 and r.json()["status_label"] == "回执已返回"
    ma = Member.objects.get(pk=tree["ma"].pk)
    assert ma.status == Member.Status.TRANSFERRED_OUT
    assert not Membership.objects.filter(member=ma, ended_on__isnull=True).exists()


def test_bad_letters_are_400_in_chinese_and_write_nothing(tree, personas):
    api = _api(personas["unit_admin_a"])
    start = _written()
    cases = [
        (_letter(tree["ma"], to="CZ01"), "to_org"),  # the member's own organization
        (_letter(tree["ma"], to="NOPE"), "to_org"),
        (_letter(tree["ma"], to=""), "to_org"),
        (_letter(tree["mb"]), "member"),  # another department's member
        (_letter(tree["ma"]) | {"member": 999999}, "member"),
        (_letter(tree["ma"], issued_on=(TODAY + DAY).isoformat()), "issued_on"),
        (_letter(tree["ma"], issued_on="2026-13-01"), "issued_on"),
        (_letter(tree["ma"], valid_days=0), "valid_days"),
        (_letter(tree["ma"], letter_number=""), "letter_number"),
        (_letter(tree["ma"], kind="sideways"), "kind"),
        ({"kind": "out", "member": tree["ma"].pk, "letter_number": "外1", "issued_on": TODAY.isoformat()},
         "outside_org"),
    ]
    for body, field in cases:
        _chinese_400(api.post("/api/transfers/", body, format="json"), field)
        assert _written() == start, body
    # A letter past its validity cannot be accepted: 400, the member stays.
    t = services.issue(None, member=tree["ma"], to_org=tree["b1"], letter_number="旧1",
                       issued_on=TODAY - 40 * DAY, valid_days=30)
    start = _written()
    r = _api(personas["unit_admin_b"]).post(f"/api/transfers/{t.pk}/accept/", {"on": TODAY.isoformat()},
                                            format="json")
    _chinese_400(r, "on")
    assert "已过有效期" in r.json()["detail"] and _written() == start


@pytest.mark.parametrize("role, expected", [
    ("wc_admin", 201), ("unit_admin_a", 201), ("secretary_a1", 201), ("unit_admin_b", 400),
    ("member_a", 403), ("leader", 403)])
def test_who_may_issue_a_letter_for_a_member(tree, personas, role, expected):
    r = _api(personas[role]).post("/api/transfers/", _letter(tree["ma"]), format="json")
    assert r.status_code == expected, r.content.decode()
    assert Transfer.objects.count() == (1 if expected == 201 else 0)


def test_standing_decisions_through_the_api_with_their_history(tree, personas):
    user = personas["secretary_a1"]
    api = _api(user)
    ma = tree["ma"]
    r = api.post("/api/standing/mobile/", {"member": ma.pk, "away_since": (TODAY - 200 * DAY).isoformat(),
                                           "place": "广东省深圳市", "contact": "13800001111", "host_org": "JY01"},
                 format="json")
    assert r.status_code == 201, r.content.decode()
    assert (r.json()["kind"], r.json()["host_org_code"], r.json()["abroad"]) == ("mobile", "JY01", False)
    assert Member.objects.get(pk=ma.pk).is_mobile
    # Registered twice: refused, nothing written.
    start = _written()
    _chinese_400(api.post("/api/standing/mobile/", {"member": ma.pk, "away_since": TODAY.isoformat(), "place": "上海",
                                                    "contact": "1"}, format="json"), "member")
    assert _written() == start
    r = api.post("/api/standing/mobile-end/", {"member": ma.pk, "on": TODAY.isoformat(),
                                               "version": Member.objects.get(pk=ma.pk).version}, format="json")
    assert r.status_code == 201 and not Member.objects.get(pk=ma.pk).is_mobile
    # Lost, suspended by a decision, restored.
    lost_since = TODAY - 250 * DAY
    assert api.post("/api/standing/lost/", {"member": ma.pk, "lost_since": lost_since.isoformat(),
                                            "efforts": "多次电话联系未果"}, format="json").status_code == 201
    decision = {"member": ma.pk, "meeting_on": (TODAY - 10 * DAY).isoformat(), "approver": "CZ",
                "approved_on": (TODAY - 5 * DAY).isoformat(), "document": "财机党〔2026〕3号"}
    start = _written()
    for over, field in (({"approver": "JY"}, "approver"), ({"approver": "CZ01"}, "approver"),
                        ({"approver": "NOPE"}, "approver"), ({"document": ""}, "document"),
                        ({"meeting_on": (lost_since + 30 * DAY).isoformat()}, "meeting_on")):
        _chinese_400(api.post("/api/standing/suspend/", decision | over, format="json"), field)
        assert _written() == start, over
    # A stale version of the member is 409.
    r = api.post("/api/standing/suspend/", decision | {"version": Member.objects.get(pk=ma.pk).version + 3},
                 format="json")
    assert r.status_code == 409 and _written() == start
    assert api.post("/api/standing/suspend/", decision, format="json").status_code == 201
    assert Member.objects.get(pk=ma.pk).status == "suspended"
    r = api.post("/api/standing/restore/", decision | {"meeting_on": (TODAY - 2 * DAY).isoformat(),
                                                       "approved_on": TODAY.isoformat(), "document": "财机党〔2026〕9号"},
                 format="json")
    assert r.status_code == 201 and Member.objects.get(pk=ma.pk).status == "active"
    body = api.get(f"/api/standing/?member={ma.pk}").json()
    assert [s["kind"] for s in body["results"]] == ["mobile", "mobile_end", "lost", "suspend", "restore"]
    assert api.get("/api/standing/?kind=nonsense").status_code == 400
    # Death and removal.
    other = factories.member(tree["a1"], name="钱七")
    r = api.post("/api/standing/removal/", {**decision, "member": other.pk, "removal_kind": "struck_off"},
                 format="json")
    assert r.status_code == 201 and Member.objects.get(pk=other.pk).status == "removed"
    _chinese_400(api.post("/api/standing/death/", {"member": other.pk, "died_on": TODAY.isoformat()}, format="json"),
                 "non_field_errors")
    r = api.post("/api/standing/death/", {"member": ma.pk, "died_on": (TODAY - DAY).isoformat()}, format="json")
    assert r.status_code == 201 and Member.objects.get(pk=ma.pk).status == "deceased"


@pytest.mark.parametrize("role, expected", [
    ("wc_admin", 201), ("unit_admin_a", 201), ("secretary_a1", 201), ("unit_admin_b", 400),
    ("member_a", 403), ("leader", 403)])
def test_who_may_record_a_standing_decision(tree, personas, role, expected):
    start = _written()
    r = _api(personas[role]).post("/api/standing/lost/", {"member": tree["ma"].pk, "lost_since": TODAY.isoformat(),
                                                          "efforts": "电话未接通"}, format="json")
    assert r.status_code == expected, r.content.decode()
    if expected != 201:
        assert _written() == start


def test_standing_is_read_in_the_scope_of_the_pages(tree, personas):
    services.register_lost(None, tree["ma"], lost_since=TODAY - DAY, efforts="电话未接通")
    services.register_lost(None, tree["mb"], lost_since=TODAY - DAY, efforts="电话未接通")
    seen = {role: [s["member_id"] for s in _api(personas[role]).get("/api/standing/").json()["results"]]
            for role in ("wc_admin", "unit_admin_a", "unit_admin_b", "member_a", "leader")}
    assert seen == {"wc_admin": [tree["ma"].pk, tree["mb"].pk], "unit_admin_a": [tree["ma"].pk],
                    "unit_admin_b": [tree["mb"].pk], "member_a": [tree["ma"].pk],
                    "leader": [tree["ma"].pk, tree["mb"].pk]}
    row = Standing.objects.get(member=tree["mb"])
    assert _api(personas["unit_admin_a"]).get(f"/api/standing/{row.pk}/").status_code == 404
    assert _api(personas["unit_admin_b"]).get(f"/api/standing/{row.pk}/").status_code == 200
    _chinese_400(_api(personas["unit_admin_a"]).get("/api/standing/?org=JY"), "org")


def test_the_standing_list_takes_the_same_queries_whatever_its_length(tree, personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = _api(personas["wc_admin"])

    def grow(n, start):
        for i in range(start, start + n):
            b = factories.branch_with(tree["a"], full=2, code=f"CZS{i:03d}")
            services.register_mobile(None, b.people[0], away_since=TODAY - DAY, place="深圳", contact="13800000000",
                                     host_org=tree["b1"])
            services.register_lost(None, b.people[1], lost_since=TODAY - DAY, efforts="电话未接通")
            services.issue(None, member=b.people[1], to_org=tree["b1"], letter_number=f"S{i}", issued_on=TODAY - DAY)

    grow(2, 0)
    for n, url in enumerate(("/api/standing/", "/api/standing/?kind=lost&org=CZ", "/api/transfers/")):
        api.get(url)
        with CaptureQueriesContext(connection) as small:
            assert api.get(url).status_code == 200
        grow(3, 100 + 10 * n)
        with CaptureQueriesContext(connection) as big:
            assert api.get(url).status_code == 200
        assert len(big) == len(small), (url, [q["sql"] for q in big.captured_queries])


def test_a_bulk_transfer_through_the_api_is_all_or_nothing_and_large_ones_become_a_job(tree, personas, monkeypatch):
    from dangjian.transfers import tasks
    from dangjian.transfers.models import Batch

    old = factories.branch_with(tree["a"], full=4, code="CZ05")
    new = factories.branch_with(tree["a"], full=1, code="CZ06")
    admin = _api(personas["unit_admin_a"])
    body = {"from_org": "CZ05", "to_org": "CZ06", "moved_on": TODAY.isoformat(), "reason": "处室合并"}
    assert _api(personas["member_a"]).post("/api/transfers/bulk/", body, format="json").status_code == 403
    _chinese_400(_api(personas["unit_admin_b"]).post("/api/transfers/bulk/", body, format="json"), "from_org")
    _chinese_400(admin.post("/api/transfers/bulk/", dict(body, to_org="CZ05"), format="json"), "to_org")
    busy = old.people[2]
    letter = services.issue(None, member=busy, to_org=tree["a1"], letter_number="转字〔2026〕31号",
                            issued_on=TODAY - DAY)
    start = _written()
    r = admin.post("/api/transfers/bulk/", body, format="json")
    _chinese_400(r, "members")
    assert r.json()["errors"]["members"] == [f"{busy.name}：已有在途的介绍信（转字〔2026〕31号），请先办结或撤回"]
    assert _written() == start and not Batch.objects.exists()
    # Only the members named: the one with a letter in transit stays behind.
    named = [m.pk for m in old.people if m.pk != busy.pk][:2]
    r = admin.post("/api/transfers/bulk/", dict(body, members=named), format="json")
    assert r.status_code == 201, r.content.decode()
    assert (r.json()["count"], r.json()["from_org"], r.json()["to_org"]) == (2, "CZ05", "CZ06")
    assert set(Member.objects.filter(org=new).values_list("pk", flat=True)) >= set(named)
    # More than the inline limit: a job, followed by the one who started it and nobody else.
    services.withdraw(None, letter, on=TODAY)
    monkeypatch.setattr(tasks, "INLINE_MEMBERS", 1)
    r = admin.post("/api/transfers/bulk/", body, format="json")
    assert r.status_code == 202, r.content.decode()
    job = r.json()["job"]
    got = admin.get(f"/api/transfers/bulk/{job}/").json()
    assert got["status"] == "done" and got["result"]["ok"] and got["result"]["count"] == 2
    assert _api(personas["wc_admin"]).get(f"/api/transfers/bulk/{job}/").status_code == 404
    assert Member.objects.filter(org=old, status="active").count() == 0
    assert Member.objects.filter(org=new, status="active").count() == 5


def test_a_member_arriving_from_outside_is_registered_through_the_api(tree, personas):
    born = dt.date(1990, 1, 2)
    body = {"name": "赵六", "gender": "男", "ethnicity": "汉族", "birth_date": born.isoformat(),
            "id_number": factories.id_number(born, 1), "education": "bachelor", "phone": "13800000066",
            "org": "CZ01", "category": "full", "joined_on": "2015-07-01", "confirmed_on": "2016-07-01",
            "workplace": "市财政局", "outside_org": "中共外市税务局委员会", "outside_region": "外市",
            "letter_number": "外转8号", "issued_on": (TODAY - 20 * DAY).isoformat(),
            "valid_until": (TODAY - 5 * DAY).isoformat(), "arrived_on": (TODAY - 2 * DAY).isoformat()}
    secretary = _api(personas["secretary_a1"])
    start = _written()
    assert _api(personas["member_a"]).post("/api/transfers/arrivals/", body, format="json").status_code == 403
    _chinese_400(_api(personas["unit_admin_b"]).post("/api/transfers/arrivals/", body, format="json"), "org")
    r = secretary.post("/api/transfers/arrivals/", body, format="json")
    _chinese_400(r, "arrived_on")
    assert "已过有效期" in r.json()["errors"]["arrived_on"][0]
    _chinese_400(secretary.post("/api/transfers/arrivals/", dict(body, letter_number=""), format="json"),
                 "letter_number")
    _chinese_400(secretary.post("/api/transfers/arrivals/", dict(body, id_number="110101199001021234"),
                                format="json"), "id_number")
    assert _written() == start
    r = secretary.post("/api/transfers/arrivals/", dict(body, valid_until=None), format="json")
    assert r.status_code == 201, r.content.decode()
    got = r.json()
    assert (got["kind"], got["status"], got["to_code"]) == ("in", "accepted", "CZ01")
    member = Member.objects.get(pk=got["member_id"])
    assert (member.name, member.org.code, member.status) == ("赵六", "CZ01", "active")
    row = Membership.objects.get(member=member)
    assert row.started_on == TODAY - 2 * DAY and "外转8号" in row.reason
    # The same person again: refused, nothing written.
    again = _written()
    _chinese_400(secretary.post("/api/transfers/arrivals/", dict(body, valid_until=None, letter_number="外转9号"),
                                format="json"), "id_number")
    assert _written() == again

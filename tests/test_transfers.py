"""组织关系转接 and the member's standing: a member counted in exactly one organization at every
instant, the two sides of a letter, bad input writing nothing, the bulk move all-or-nothing, the
scope from both ends, lists whose queries do not grow, and a standing workflow with its history."""
import datetime as dt

import pytest
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dangjian.core import periods
from dangjian.core.models import AuditEntry
from dangjian.core.versioning import StaleVersion
from dangjian.members.models import Member, Membership
from dangjian.orgs import queries as org_queries
from dangjian.orgs import services as org_services
from dangjian.transfers import queries, services
from dangjian.transfers.checks import TransferError
from dangjian.transfers.models import Batch, Standing, Transfer
from tests import factories

TODAY = timezone.localdate()
DAY = dt.timedelta(days=1)


def _issue(member, to_org, number="转字〔2026〕001号", days_ago=10, user=None, **kw):
    return services.issue(user, member=member, to_org=to_org, letter_number=number,
                          issued_on=TODAY - days_ago * DAY, **kw)


def _where(member) -> dict:
    """Where the member counts: their org, their open membership rows, and the active members
    counted in each unit's subtree (the departments' cached figures and a direct count)."""
    member.refresh_from_db()
    open_rows = list(Membership.objects.filter(member=member, ended_on__isnull=True).values_list("org__code",
                                                                                               flat=True))
    return {"org": member.org.code, "open": open_rows}


def _counted(tree) -> dict:
    """Active members per unit, from the cached figures and from a plain count."""
    out = {}
    for code in ("a", "b"):
        org = tree[code]
        cached = org_queries.subtree_counts(org)["members"]["total"]
        naive = Member.objects.filter(status="active", org__path__startswith=org.path).count()
        assert cached == naive
        out[org.code] = naive
    return out


def _rows_cover_without_gap(member):
    rows = list(Membership.objects.filter(member=member).order_by("started_on", "id"))
    for a, b in zip(rows, rows[1:]):
        assert a.ended_on == b.started_on, "the history has a gap or an overlap"
    assert rows[-1].ended_on is None or member.status in Member.LEFT


def test_member_counted_once_before_during_and_after_a_transfer(tree):
    ma = tree["ma"]
    before = _counted(tree)
    assert _where(ma) == {"org": "CZ01", "open": ["CZ01"]}
    t = _issue(ma, tree["b1"])
    # In transit: still counted in the sending organization only.
    assert _where(ma) == {"org": "CZ01", "open": ["CZ01"]}
    assert _counted(tree) == before
    accepted_on = TODAY - 2 * DAY
    services.accept(None, t, on=accepted_on)
    assert _where(ma) == {"org": "JY01", "open": ["JY01"]}
    assert _counted(tree) == {"CZ": before["CZ"] - 1, "JY": before["JY"] + 1}
    rows = list(Membership.objects.filter(member=ma).order_by("started_on"))
    assert [(r.org.code, r.ended_on) for r in rows] == [("CZ01", accepted_on), ("JY01", None)]
    assert rows[1].started_on == accepted_on
    _rows_cover_without_gap(ma)
    t.refresh_from_db()
    assert (t.status, t.closed_on) == ("accepted", accepted_on)


def test_a_returned_letter_leaves_the_member_where_they_were(tree):
    mb = tree["mb"]
    before = _counted(tree)
    t = _issue(mb, tree["a1"], number="教转〔2026〕1号")
    services.return_letter(None, t, on=TODAY, reason="接收党组织不对")
    assert _where(mb) == {"org": "JY01", "open": ["JY01"]}
    assert _counted(tree) == before
    assert Membership.objects.filter(member=mb).count() == 1
    t.refresh_from_db()
    assert (t.status, t.return_reason) == ("returned", "接收党组织不对")
    # Returned, the member may get a new letter.
    _issue(mb, tree["a1"], number="教转〔2026〕2号")


def test_the_sender_cannot_accept_and_the_receiver_cannot_issue(tree, personas):
    sender, receiver = personas["unit_admin_a"], personas["unit_admin_b"]
    t = _issue(tree["ma"], tree["b1"], user=sender)
    with pytest.raises(TransferError) as exc:
        services.accept(sender, t, on=TODAY)
    assert "接收党组织" in exc.value.message and "权限" in exc.value.message
    with pytest.raises(TransferError):
        services.withdraw(receiver, t, on=TODAY)
    with pytest.raises(TransferError) as exc:
        services.issue(receiver, member=tree["ma"], to_org=tree["b1"], letter_number="X1", issued_on=TODAY)
    assert "权限" in exc.value.message
    # Through the pages: the sender's letter page offers no acceptance, and a posted one is refused.
    page = factories.login(sender).get(reverse("transfers:detail", args=[t.pk])).content.decode()
    assert "接收组织关系" not in page and "撤回介绍信" in page
    r = factories.login(sender).post(reverse("transfers:step", args=[t.pk, "accept"]),
                                     {"accept-on": TODAY.isoformat(), "accept-version": t.version})
    assert r.status_code == 400 and "不在您的权限范围内" in r.content.decode()
    assert Transfer.objects.get(pk=t.pk).status == "issued"
    # The receiver sees it and accepts it.
    page = factories.login(receiver).get(reverse("transfers:detail", args=[t.pk])).content.decode()
    assert "接收组织关系" in page and "撤回介绍信" not in page
    r = factories.login(receiver).post(reverse("transfers:step", args=[t.pk, "accept"]),
                                       {"accept-on": TODAY.isoformat(), "accept-version": t.version})
    assert r.status_code == 302
    assert Member.objects.get(pk=tree["ma"].pk).org_id == tree["b1"].pk


def _written():
    return Transfer.objects.count(), Membership.objects.count(), AuditEntry.objects.count(), Member.objects.filter(
        org__code="CZ01").count()


def test_bad_letters_are_refused_in_chinese_and_write_nothing(tree):
    ma = tree["ma"]
    gone = factories.org(tree["b"], kind="branch", name="已撤销支部", code="JY99")
    org_services.dissolve_org(None, gone, TODAY - 30 * DAY)
    cell = factories.org(tree["b1"], kind="cell", name="教育局第一党小组", code="JY0101")
    start = _written()
    cases = [
        (dict(to_org=tree["a1"]), "to_org", "就是"),
        (dict(to_org=gone), "to_org", "已撤销"),
        (dict(to_org=cell), "to_org", "党小组"),
        (dict(to_org=tree["b1"], letter_number=""), "letter_number", "介绍信编号"),
        (dict(to_org=tree["b1"], issued_on=TODAY + DAY), "issued_on", "晚于今天"),
        (dict(to_org=tree["b1"], issued_on=dt.date(2009, 1, 1)), "issued_on", "起始日期"),
        (dict(to_org=tree["b1"], valid_days=0), "valid_days", "有效期"),
        (dict(to_org=tree["b1"], valid_days=400), "valid_days", "有效期"),
        (dict(to_org=tree["b1"], reason="调动\u202e"), "reason", "转接原因"),
    ]
    for over, field, words in cases:
        args = dict(member=ma, to_org=None, letter_number="转字1号", issued_on=TODAY - DAY) | over
        with pytest.raises(TransferError) as exc:
            services.issue(None, **args)
        assert exc.value.field == field, (over, exc.value.message)
        assert words in exc.value.message, exc.value.message
        assert _written() == start
    # A second open letter for one member.
    t = _issue(ma, tree["b1"])
    jy02 = factories.org(tree["b"], kind="branch", code="JY02")
    start = _written()
    with pytest.raises(TransferError) as exc:
        _issue(ma, jy02, number="转字〔2026〕002号")
    assert "在途" in exc.value.message
    with pytest.raises(TransferError) as exc:
        services.issue_out(None, member=ma, outside_org="外省某党委", outside_region="外省", letter_number="外1",
                           issued_on=TODAY)
    assert "在途" in exc.value.message
    assert _written() == start
    assert Transfer.objects.get() == t


def test_a_letter_past_its_validity_cannot_be_accepted(tree):
    ma = tree["ma"]
    t = _issue(ma, tree["b1"], days_ago=40, valid_days=30)
    assert t.valid_until == TODAY - 10 * DAY
    start = _written()
    with pytest.raises(TransferError) as exc:
        services.accept(None, t, on=TODAY)
    assert exc.value.field == "on" and "已过有效期" in exc.value.message
    assert _written() == start
    assert Transfer.objects.get(pk=t.pk).status == "issued"
    # On a day within its validity it is accepted; before the letter's date it is not.
    with pytest.raises(TransferError) as exc:
        services.accept(None, t, on=TODAY - 41 * DAY)
    assert "早于介绍信开具日期" in exc.value.message
    services.accept(None, t, on=TODAY - 12 * DAY)
    assert _where(ma)["org"] == "JY01"


def test_the_default_validity_comes_from_the_rules(tree):
    t = _issue(tree["ma"], tree["b1"], days_ago=0)
    assert t.valid_until == periods.months_before(TODAY, -3)
    assert _issue(tree["mb"], tree["a1"], days_ago=0, valid_days=45).valid_until == TODAY + 45 * DAY


def test_two_clerks_on_one_letter_never_lose_a_change(tree):
    t = _issue(tree["ma"], tree["b1"])
    shown = t.version
    services.return_letter(None, Transfer.objects.get(pk=t.pk), on=TODAY, reason="名额已满", version=shown)
    with pytest.raises(StaleVersion):
        services.accept(None, Transfer.objects.get(pk=t.pk), on=TODAY, version=shown)
    # Without a version the second still sees the letter is closed.
    with pytest.raises(TransferError) as exc:
        services.accept(None, Transfer.objects.get(pk=t.pk), on=TODAY)
    assert "已退回" in exc.value.message
    assert _where(tree["ma"]) == {"org": "CZ01", "open": ["CZ01"]}


def test_a_letter_to_outside_keeps_the_member_until_the_receipt_and_shows_overdue(tree, personas):
    ma = tree["ma"]
    before = _counted(tree)
    t = services.issue_out(None, member=ma, outside_org="中共某省财政厅机关委员会", outside_region="某省",
                           letter_number="转字〔2026〕9号", issued_on=TODAY - 100 * DAY)
    assert t.valid_until < TODAY  # three months by the rules
    assert _counted(tree) == before and _where(ma)["open"] == ["CZ01"]
    overdue = queries.transfers(personas["unit_admin_a"], status="overdue")
    assert list(overdue) == [t]
    assert list(queries.transfers(personas["unit_admin_b"], status="overdue")) == []
    page = factories.login(personas["unit_admin_a"]).get(reverse("transfers:index") + "?status=overdue")
    assert "逾期" in page.content.decode() and ma.name in page.content.decode()
    receipt_on = TODAY - 80 * DAY
    services.record_receipt(None, t, on=receipt_on)
    ma.refresh_from_db()
    assert ma.status == "transferred_out"
    assert _counted(tree) == {"CZ": before["CZ"] - 1, "JY": before["JY"]}
    assert Membership.objects.get(member=ma).ended_on == receipt_on
    assert list(queries.transfers(personas["unit_admin_a"], status="overdue")) == []


def test_a_member_arriving_from_outside_is_registered_with_the_letter(tree, personas):
    user = personas["secretary_a1"]
    fields = dict(name="赵六", gender="male", ethnicity="汉族", birth_date=dt.date(1990, 1, 2),
                  id_number=factories.id_number(dt.date(1990, 1, 2), 1), education="bachelor", phone="13800000066",
                  category="full", joined_on=dt.date(2015, 7, 1), confirmed_on=dt.date(2016, 7, 1),
                  workplace="市财政局", post="科员", rank=None, is_leader=False, is_mobile=False, is_exempt=False,
                  is_party_staff=False)
    args = dict(org=tree["a1"], outside_org="中共外市税务局委员会", outside_region="外市", letter_number="外转8号",
                issued_on=TODAY - 20 * DAY, valid_until=TODAY - 5 * DAY, arrived_on=TODAY - 2 * DAY,
                member_fields=fields)
    start = _written()
    with pytest.raises(TransferError) as exc:
        services.receive_from_outside(user, **args)
    assert exc.value.field == "arrived_on" and "已过有效期" in exc.value.message
    with pytest.raises(TransferError) as exc:
        services.receive_from_outside(personas["unit_admin_b"], **args)
    assert "权限" in exc.value.message
    assert _written() == start
    t = services.receive_from_outside(user, **{**args, "valid_until": None})
    assert (t.kind, t.status, t.to_org, t.closed_on) == ("in", "accepted", tree["a1"], TODAY - 2 * DAY)
    row = Membership.objects.get(member=t.member)
    assert row.started_on == TODAY - 2 * DAY and "外转8号" in row.reason
    # No step applies to a recorded arrival: each is refused in Chinese, never a server error.
    client = factories.login(personas["wc_admin"])
    for step in ("accept", "return", "withdraw", "receipt"):
        r = client.post(reverse("transfers:step", args=[t.pk, step]),
                        {f"{step}-on": TODAY.isoformat(), f"{step}-version": t.version, f"{step}-reason": "x"})
        assert r.status_code == 400, step
    assert client.post(reverse("transfers:step", args=[t.pk, "nonsense"])).status_code == 404


def test_bulk_transfer_is_all_or_nothing_with_a_message_per_member(tree, personas):
    old = factories.branch_with(tree["a"], full=4, code="CZ05")
    new = factories.branch_with(tree["a"], full=2, code="CZ06")
    busy = old.people[2]
    t = _issue(busy, tree["a1"])
    start = _written()
    with pytest.raises(services.BulkError) as exc:
        services.bulk_transfer(personas["unit_admin_a"], from_org=old, to_org=new, member_ids=None,
                               moved_on=TODAY, reason="处室合并")
    assert [name for name, _ in exc.value.problems] == [busy.name]
    assert "在途" in exc.value.problems[0][1] and busy.name in exc.value.message
    assert _written() == start and not Batch.objects.exists()
    with pytest.raises(TransferError) as exc:
        services.bulk_transfer(personas["unit_admin_a"], from_org=old, to_org=tree["b1"], member_ids=None,
                               moved_on=TODAY, reason="处室合并")
    assert exc.value.field == "to_org" and "权限" in exc.value.message
    services.withdraw(None, t, on=TODAY)
    batch = services.bulk_transfer(personas["unit_admin_a"], from_org=old, to_org=new, member_ids=None,
                                   moved_on=TODAY, reason="处室合并")
    assert batch.count == 4
    assert Member.objects.filter(org=old, status="active").count() == 0
    assert Member.objects.filter(org=new, status="active").count() == 6
    assert Transfer.objects.filter(batch=batch, status="accepted").count() == 4
    for m in old.people:
        _rows_cover_without_gap(Member.objects.get(pk=m.pk))
    # Through the page: the per-member messages are listed.
    other = factories.branch_with(tree["a"], full=2, code="CZ07")
    _issue(other.people[1], tree["a1"], number="转字〔2026〕077号")
    r = factories.login(personas["unit_admin_a"]).post(reverse("transfers:bulk"), {
        "from_org": "CZ07", "to_org": "CZ06", "moved_on": TODAY.isoformat(), "reason": "合并"})
    page = r.content.decode()
    assert r.status_code == 200 and other.people[1].name in page and "本次未转接任何人" in page


def test_a_letter_is_seen_from_both_ends_and_nowhere_else(tree, personas):
    t = _issue(tree["ma"], tree["b1"])
    third = factories.org(tree["wc"], kind="organ_committee", name="市卫健委机关党委", code="WJ")
    outsider = factories.user("unit_admin", third, username="unitw")
    for who in ("unit_admin_a", "unit_admin_b", "wc_admin", "member_a"):
        c = factories.login(personas[who])
        assert c.get(reverse("transfers:detail", args=[t.pk])).status_code == 200, who
    assert factories.login(outsider).get(reverse("transfers:detail", args=[t.pk])).status_code == 404
    assert factories.login(outsider).get(reverse("transfers:index")).content.decode().count(tree["ma"].name) == 0
    assert tree["ma"].name in factories.login(personas["unit_admin_b"]).get(
        reverse("transfers:index") + "?direction=in").content.decode()
    assert tree["ma"].name not in factories.login(personas["unit_admin_b"]).get(
        reverse("transfers:index") + "?direction=out").content.decode()
    api = APIClient()
    api.force_authenticate(personas["unit_admin_b"])
    body = api.get("/api/transfers/").json()
    assert [r["id"] for r in body["results"]] == [t.pk] and body["results"][0]["status_label"] == "待接收"
    assert api.get(f"/api/transfers/{t.pk}/").status_code == 200
    assert api.get("/api/transfers/?status=nonsense").status_code == 400
    api.force_authenticate(outsider)
    assert api.get("/api/transfers/").json()["results"] == []
    assert api.get(f"/api/transfers/{t.pk}/").status_code == 404


def _grow(tree, n, start=0):
    for i in range(start, start + n):
        b = factories.branch_with(tree["a"], full=2, code=f"CZG{i:03d}")
        services.issue(None, member=b.people[1], to_org=tree["b1"], letter_number=f"G{i}", issued_on=TODAY - DAY)
        services.issue_out(None, member=b.people[0], outside_org="外省某党委", outside_region="外省",
                           letter_number=f"W{i}", issued_on=TODAY - 200 * DAY)
        services.register_mobile(None, b.people[0], away_since=TODAY - 2000 * DAY, place="英国伦敦",
                                 contact="13800000000", host_org=tree["b1"], abroad=True)
        services.register_lost(None, b.people[1], lost_since=TODAY - 300 * DAY, efforts="电话未接通")


@pytest.mark.parametrize("url", ["transfers:index", "transfers:standing"])
def test_list_queries_do_not_grow_with_data(tree, personas, url):
    client = factories.login(personas["wc_admin"])
    extra = {"transfers:index": ["", "?direction=out&status=overdue", "?direction=in&org=JY"],
             "transfers:standing": ["?show=mobile", "?show=eligible", "?show=lost&org=CZ", "?show=remove_due",
                                    "?show=abroad_due"]}[url]
    _grow(tree, 2)
    for suffix in extra:
        client.get(reverse(url) + suffix)
        with CaptureQueriesContext(connection) as small:
            r = client.get(reverse(url) + suffix)
        assert r.status_code == 200
        _grow(tree, 3, start=100 + extra.index(suffix) * 10)
        with CaptureQueriesContext(connection) as big:
            r = client.get(reverse(url) + suffix)
        assert len(big) == len(small), (suffix, [q["sql"] for q in big.captured_queries])


def test_lost_contact_suspension_and_restoration_with_history(tree, personas):
    user = personas["unit_admin_a"]
    ma = tree["ma"]
    lost_since = TODAY - 250 * DAY
    services.register_lost(user, ma, lost_since=lost_since, efforts="多次电话联系未果")
    assert list(queries.standing_rows(user, "eligible")) and ma.name in factories.login(user).get(
        reverse("transfers:standing") + "?show=eligible").content.decode()
    ma.refresh_from_db()
    assert ma.status == "active"  # never automatic
    # A meeting before six months of lost contact, an approver that is not above: refused.
    start = (Standing.objects.count(), AuditEntry.objects.count())
    for over, field in ((dict(meeting_on=lost_since + 30 * DAY), "meeting_on"), (dict(approver=tree["b"]), "approver"),
                        (dict(approver=tree["a1"]), "approver"), (dict(document=""), "document"),
                        (dict(approved_on=TODAY - 20 * DAY), "approved_on")):
        args = dict(meeting_on=TODAY - 10 * DAY, approver=tree["a"], approved_on=TODAY - 5 * DAY,
                    document="财机党〔2026〕3号") | over
        with pytest.raises(TransferError) as exc:
            services.suspend(user, Member.objects.get(pk=ma.pk), **args)
        assert exc.value.field == field, (over, exc.value.message)
        assert (Standing.objects.count(), AuditEntry.objects.count()) == start
    services.suspend(user, Member.objects.get(pk=ma.pk), meeting_on=TODAY - 10 * DAY, approver=tree["a"],
                     approved_on=TODAY - 5 * DAY, document="财机党〔2026〕3号")
    ma.refresh_from_db()
    assert ma.status == "suspended"
    assert Membership.objects.get(member=ma).ended_on is None  # still the branch's to lead
    assert _counted(tree)["CZ"] == 0
    assert not list(queries.standing_rows(user, "eligible"))
    assert [s.member for s in queries.standing_rows(user, "suspended")] == [ma]
    # Through the member page's form: restoration.
    client = factories.login(user)
    assert "恢复党籍" in client.get(reverse("members:detail", args=[ma.pk])).content.decode()
    r = client.post(reverse("transfers:standing-form", args=[ma.pk, "restore"]), {
        "meeting_on": (TODAY - 2 * DAY).isoformat(), "approver": "CZ", "approved_on": TODAY.isoformat(),
        "document": "财机党〔2026〕9号", "version": ma.version})
    assert r.status_code == 302, r.content.decode()
    ma.refresh_from_db()
    assert ma.status == "active"
    history = [(s.kind, s.closed_on) for s in queries.standing_of(user, ma)]
    assert history == [("lost", TODAY), ("suspend", None), ("restore", None)]
    notes = list(AuditEntry.objects.filter(table="members.member", object_id=ma.pk).values_list("note", flat=True))
    assert any("停止党籍" in n for n in notes) and any("恢复党籍" in n for n in notes)
    page = client.get(reverse("members:detail", args=[ma.pk])).content.decode()
    assert "财机党〔2026〕3号" in page and "财机党〔2026〕9号" in page


def test_mobile_member_death_and_removal(tree, personas):
    user = personas["secretary_a1"]
    ma = tree["ma"]
    services.register_mobile(user, ma, away_since=TODAY - 200 * DAY, place="广东省深圳市", contact="13800001111",
                             host_org_name="深圳某街道流动党员党支部")
    ma.refresh_from_db()
    assert ma.is_mobile
    flagged = factories.member(tree["a1"], name="孙八", is_mobile=True)  # marked on the record only
    assert list(queries.mobile_members(user)) == [flagged, ma]
    records = queries.mobile_records([flagged, ma])
    assert list(records) == [ma.pk] and queries.away_long(records[ma.pk], TODAY)
    page = factories.login(user).get(reverse("transfers:standing") + "?show=mobile").content.decode()
    assert "广东省深圳市" in page and "孙八" in page and "未登记外出情况" in page
    with pytest.raises(TransferError):
        services.register_mobile(user, ma, away_since=TODAY, place="上海", contact="1")
    services.end_mobile(user, ma, on=TODAY)
    ma.refresh_from_db()
    assert not ma.is_mobile
    other = factories.member(tree["a1"], name="钱七")
    _issue(other, tree["b1"])
    with pytest.raises(TransferError) as exc:
        services.record_death(user, other, died_on=TODAY)
    assert "在途" in exc.value.message
    services.record_death(user, ma, died_on=TODAY - DAY)
    ma.refresh_from_db()
    assert ma.status == "deceased" and Membership.objects.get(member=ma).ended_on == TODAY - DAY
    with pytest.raises(TransferError):
        services.remove(user, ma, removal_kind="struck_off", meeting_on=TODAY, approver=tree["a"],
                        approved_on=TODAY, document="X")


def test_pages_render_and_the_command_prints_json(tree, personas):
    t = _issue(tree["ma"], tree["b1"], days_ago=120, valid_days=30)
    client = factories.login(personas["wc_admin"])
    for name, args in (("transfers:index", []), ("transfers:standing", []), ("transfers:bulk", []),
                       ("transfers:arrive", []), ("transfers:detail", [t.pk]),
                       ("transfers:issue", [tree["mb"].pk]), ("transfers:issue-out", [tree["mb"].pk]),
                       ("transfers:standing-form", [tree["mb"].pk, "lost"])):
        assert client.get(reverse(name, args=args)).status_code == 200, name
    r = client.get(reverse("transfers:export") + "?status=overdue")
    assert r.status_code == 200 and AuditEntry.objects.filter(action="export").exists()
    code, out = factories.cli_json("transfers", "--status", "overdue")
    assert code == 0
    assert [(x["letter_number"], x["from_code"], x["to_code"], x["overdue"]) for x in out["transfers"]] == [
        (t.letter_number, "CZ01", "JY01", True)]
    code, out = factories.cli_json("transfers", "--org", "JY", "--status", "done")
    assert code == 0 and out == {"transfers": []}
    with pytest.raises(CommandError) as exc:
        factories.cli("transfers", "--status", "nonsense")
    assert exc.value.returncode == 2 and "--status" in str(exc.value)


def test_a_large_bulk_transfer_runs_as_a_job_with_its_outcome_on_its_page(tree, personas, monkeypatch):
    from dangjian.transfers import tasks

    monkeypatch.setattr(tasks, "INLINE_MEMBERS", 2)
    old = factories.branch_with(tree["a"], full=4, code="CZ08")
    new = factories.branch_with(tree["a"], full=1, code="CZ09")
    client = factories.login(personas["unit_admin_a"])
    busy = old.people[3]
    t = _issue(busy, tree["a1"])
    form = {"from_org": "CZ08", "to_org": "CZ09", "moved_on": TODAY.isoformat(), "reason": "处室合并"}
    r = client.post(reverse("transfers:bulk"), form)
    assert r.status_code == 302 and "/bulk/jobs/" in r.url
    page = client.get(r.url).content.decode()
    assert "本次未转接任何人" in page and busy.name in page
    assert Member.objects.filter(org=old, status="active").count() == 4
    # Nobody else sees the job's page.
    assert factories.login(personas["wc_admin"]).get(r.url).status_code == 404
    services.withdraw(None, t, on=TODAY)
    r = client.post(reverse("transfers:bulk"), form)
    page = client.get(r.url, HTTP_HX_REQUEST="true").content.decode()
    assert "已将" in page and "4 名党员" in page
    assert Member.objects.filter(org=new, status="active").count() == 5


def test_pages_fit_a_phone(transactional_db, live_server, personas, tree, browser_page):
    """At 390 px the lists, a letter with its forms, the forms and the member page scroll no wider."""
    t = _issue(tree["ma"], tree["b1"], days_ago=100, valid_days=30)
    services.register_lost(None, tree["mb"], lost_since=TODAY - 300 * DAY, efforts="多次电话联系未果，上门走访未见本人")
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    factories.browser_login(page, live_server.url, "wcadmin")
    for url in (reverse("transfers:index"), reverse("transfers:detail", args=[t.pk]),
                reverse("transfers:standing") + "?show=eligible", reverse("transfers:standing") + "?show=remove_due",
                reverse("transfers:standing") + "?show=abroad_due", reverse("transfers:bulk"),
                reverse("transfers:arrive"), reverse("transfers:issue", args=[tree["mb"].pk]),
                reverse("transfers:standing-form", args=[tree["mb"].pk, "suspend"]),
                reverse("members:edit", args=[tree["ma"].pk]), reverse("members:detail", args=[tree["ma"].pk])):
        page.goto(live_server.url + url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (url, width)
    assert "开具介绍信" in page.content()


def _suspended(member, approved_on, approver):
    services.register_lost(None, member, lost_since=approved_on - 400 * DAY, efforts="多次电话联系未果",
                           today=approved_on)
    return services.suspend(None, Member.objects.get(pk=member.pk), meeting_on=approved_on - 3 * DAY,
                            approver=approver, approved_on=approved_on, document=f"停字{member.pk}号",
                            today=approved_on)


def test_the_lists_to_consider_take_the_rules_years_on_both_sides_of_the_limit(tree, personas):
    from dangjian.transfers import checks

    rules = checks.rules()
    assert (rules.suspended_years_to_remove, rules.abroad_years_to_suspend) == (2, 5)  # rules/defaults.yaml
    removal_limit = periods.months_before(TODAY, 12 * rules.suspended_years_to_remove)
    abroad_limit = periods.months_before(TODAY, 12 * rules.abroad_years_to_suspend)
    a1 = tree["a1"]
    on_limit, day_short = factories.member(a1, name="周一"), factories.member(a1, name="吴二")
    _suspended(on_limit, removal_limit, tree["a"])
    _suspended(day_short, removal_limit + DAY, tree["a"])
    restored = factories.member(a1, name="郑三")  # suspended long ago, restored since: not listed
    _suspended(restored, removal_limit - 100 * DAY, tree["a"])
    services.restore(None, Member.objects.get(pk=restored.pk), meeting_on=removal_limit - 50 * DAY, approver=tree["a"],
                     approved_on=removal_limit - 40 * DAY, document="恢字1号", today=removal_limit - 40 * DAY)
    gone, near, domestic = (factories.member(a1, name=n) for n in ("冯四", "陈五", "褚六"))
    for m, since, abroad in ((gone, abroad_limit, True), (near, abroad_limit + DAY, True),
                             (domestic, abroad_limit - 300 * DAY, False)):
        services.register_mobile(None, m, away_since=since, place="英国伦敦" if abroad else "广东省深圳市",
                                 contact="13800000000", abroad=abroad)
    user = personas["unit_admin_a"]
    assert [s.member.name for s in queries.standing_rows(user, "remove_due", today=TODAY)] == ["周一"]
    assert [s.member.name for s in queries.standing_rows(user, "abroad_due", today=TODAY)] == ["冯四"]
    # A day later the one a day short joins; nothing is decided by the platform.
    assert [s.member.name for s in queries.standing_rows(user, "remove_due", today=TODAY + DAY)] == ["吴二", "周一"]
    assert [s.member.name for s in queries.standing_rows(user, "abroad_due", today=TODAY + DAY)] == ["冯四", "陈五"]
    assert set(Member.objects.filter(pk__in=[on_limit.pk, gone.pk]).values_list("status", flat=True)) == {
        "suspended", "active"}
    # Not in the other department's view.
    assert not list(queries.standing_rows(personas["unit_admin_b"], "remove_due", today=TODAY))
    # The page names the rule, its years from the rules and its source.
    page = factories.login(user).get(reverse("transfers:standing") + "?show=remove_due").content.decode()
    assert "周一" in page and "吴二" not in page and "停止党籍满 2 年" in page and "第二十四条" in page
    page = factories.login(user).get(reverse("transfers:standing") + "?show=abroad_due").content.decode()
    assert "冯四" in page and "陈五" not in page and "超过 5 年" in page and "平台不自动处理" in page
    # The command: the letters' JSON unchanged, the lists under their own key with --consider.
    code, out = factories.cli_json("transfers", "--status", "open")
    assert code == 0 and set(out) == {"transfers"}
    code, out = factories.cli_json("transfers", "--consider", "--org", "CZ")
    assert code == 0 and set(out) == {"transfers", "to_consider"}
    assert [(x["list"], x["member"], x["org_code"], x["since"]) for x in out["to_consider"]] == [
        ("remove_due", "周一", "CZ01", removal_limit.isoformat()), ("abroad_due", "冯四", "CZ01", abroad_limit.isoformat())]
    assert all(x["source"] and "年" in x["rule"] for x in out["to_consider"])
    code, out = factories.cli_json("transfers", "--consider", "--org", "JY")
    assert out["to_consider"] == []
    code, out = factories.cli_json("transfers", "--consider", "--today", (TODAY + DAY).isoformat())
    assert [x["member"] for x in out["to_consider"]] == ["吴二", "周一", "冯四", "陈五"]

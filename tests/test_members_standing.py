"""A member's standing (状态, 流动党员) changes only by the transfer and standing workflows: the
edit form shows it read-only with the way to the workflow, the API refuses a PATCH changing it,
and the roster import refuses a file changing it for an existing member (a new one may arrive
marked 流动党员)."""
import datetime as dt

from django.urls import reverse
from rest_framework.test import APIClient

from dangjian.core import idcard
from dangjian.core.models import AuditEntry
from dangjian.members.models import Member
from tests import factories
from tests.factories import cli_json, person, sheet


def _edit_post(member: Member, **over) -> dict:
    data = {"name": member.name, "gender": member.gender, "ethnicity": member.ethnicity, "education": member.education,
            "phone": member.phone, "category": member.category, "joined_on": f"{member.joined_on:%Y-%m-%d}",
            "birth_date": f"{member.birth_date:%Y-%m-%d}",
            "confirmed_on": f"{member.confirmed_on:%Y-%m-%d}", "workplace": member.workplace, "post": "副主任",
            "rank": member.rank or "", "version": member.version}
    data.update(over)
    return data


def _standing(member) -> tuple:
    m = Member.objects.get(pk=member.pk)
    return m.status, m.is_mobile


def test_the_edit_form_shows_standing_read_only_and_never_changes_it(tree, personas):
    ma = Member.objects.get(pk=tree["ma"].pk)
    c = factories.login(personas["unit_admin_a"])
    page = c.get(reverse("members:edit", args=[ma.pk])).content.decode()
    assert 'name="status"' not in page and 'name="is_mobile"' not in page
    assert "状态和流动党员不在此修改" in page and f'{reverse("members:detail", args=[ma.pk])}#standing' in page
    # A posted status or flag (an old page, a crafted request) is not taken; the rest is saved.
    r = c.post(reverse("members:edit", args=[ma.pk]), _edit_post(ma, status="suspended", is_mobile="on"))
    assert r.status_code == 302, r.content.decode()
    m = Member.objects.get(pk=ma.pk)
    assert (m.status, m.is_mobile, m.post) == ("active", False, "副主任")
    # The member page carries the workflow the form points to.
    assert 'id="standing"' in c.get(reverse("members:detail", args=[ma.pk])).content.decode()


def test_the_api_refuses_a_patch_of_standing_in_chinese(tree, personas):
    api = APIClient()
    api.force_authenticate(personas["unit_admin_a"])
    ma = tree["ma"]
    url = f"/api/members/{ma.pk}/"
    before = (_standing(ma), AuditEntry.objects.count())
    for body, field in (({"status": "suspended"}, "status"), ({"status": "已去世"}, "status"),
                        ({"is_mobile": True}, "is_mobile"), ({"is_mobile": True, "post": "处长"}, "is_mobile")):
        r = api.patch(url, body, format="json")
        assert r.status_code == 400 and field in r.json()["errors"], r.content.decode()
        assert "/api/standing/" in r.json()["detail"]
        assert (_standing(ma), AuditEntry.objects.count()) == before
    assert Member.objects.get(pk=ma.pk).post != "处长"
    # The values it already has (a client sending the record back) are no change.
    r = api.patch(url, {"status": "active", "is_mobile": False, "post": "处长"}, format="json")
    assert r.status_code == 200 and r.json()["post"] == "处长"
    # A new member may arrive marked 流动党员 (taking over a roster kept elsewhere).
    r = api.post("/api/members/", {
        "name": "周九", "gender": "male", "ethnicity": "汉族", "birth_date": "1985-06-02",
        "id_number": idcard.make("110102", dt.date(1985, 6, 2), 301), "education": "bachelor",
        "phone": "13900000009", "org": "CZ01", "category": "full", "joined_on": "2010-07-01",
        "confirmed_on": "2011-07-01", "workplace": "市财政局", "is_mobile": True}, format="json")
    assert r.status_code == 201 and r.json()["is_mobile"] is True, r.content.decode()


def test_an_import_sets_mobility_only_for_a_new_member(tree, tmp_path):
    rows = [person(1, 是否流动党员="是"), person(2, 是否流动党员="否")]
    path = sheet(tmp_path / "r.xlsx", rows)
    assert cli_json("import-members", str(path))[1]["created"] == 2
    first, second = (Member.objects.by_id_number(r["身份证号"]).get() for r in rows)
    assert (first.is_mobile, second.is_mobile) == (True, False)
    # The same file again: nothing changes. A file flipping the flag is refused, nothing written.
    assert cli_json("import-members", str(path))[1] == {"ok": True, "created": 0, "updated": 0, "errors": []}
    flipped = [dict(rows[0], 是否流动党员="否", 职务="副科长"), dict(rows[1], 是否流动党员="是")]
    before = AuditEntry.objects.count()
    code, report = cli_json("import-members", str(sheet(tmp_path / "f.xlsx", flipped)))
    assert code != 0 and not report["ok"]
    messages = [e["message"] for e in report["errors"]]
    assert len(messages) == 2 and all("流动党员" in m and "党员页面" in m for m in messages), messages
    assert [Member.objects.get(pk=m.pk).is_mobile for m in (first, second)] == [True, False]
    assert Member.objects.get(pk=first.pk).post == "科员" and AuditEntry.objects.count() == before
    # Without the column, the flag is left alone.
    plain = [{k: v for k, v in dict(rows[0], 职务="副科长").items() if k != "是否流动党员"}]
    assert cli_json("import-members", str(sheet(tmp_path / "p.xlsx", plain)))[1]["updated"] == 1
    assert Member.objects.get(pk=first.pk).is_mobile


def test_a_suspended_member_is_not_touched_by_an_import(tree, tmp_path):
    row = person(3)
    assert cli_json("import-members", str(sheet(tmp_path / "a.xlsx", [row])))[1]["created"] == 1
    m = Member.objects.by_id_number(row["身份证号"]).get()
    Member.objects.filter(pk=m.pk).update(status="suspended")
    code, report = cli_json("import-members", str(sheet(tmp_path / "b.xlsx", [dict(row, 职务="副科长")])))
    assert code != 0 and "停止党籍" in report["errors"][0]["message"]
    assert Member.objects.get(pk=m.pk).post == "科员"

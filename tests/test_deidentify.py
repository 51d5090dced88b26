"""De-identification that holds: a user without the "see_id" capability sees the last four
digits of the 身份证号 and the birth year, never the region prefix or the full birth date
(which with the check digit left a median of 2 candidates per number) — on the pages, in the
API, in exports and in the change history. And whether a number belongs to a member outside
the user's scope is never said, by the API, the form or the import's dry run."""
import datetime as dt
import re

import openpyxl
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dangjian.core import idcard
from dangjian.core.models import AuditEntry
from dangjian.members import io as member_io
from dangjian.members import services
from dangjian.members.checks import ID_NOT_USABLE
from dangjian.members.models import Member
from tests.factories import person, sheet

FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _leaks(text: str, member: Member) -> list[str]:
    """What of the number's hidden part, or of the full birth date, `text` shows."""
    number, birth = member.id_number, member.birth_date
    found = [s for s in (number, number[:6], number[6:14], f"{birth:%Y-%m-%d}", f"{birth:%Y-%m}",
                         f"{birth:%Y年%m月}", f"{birth:%Y/%m/%d}", f"{birth:%Y%m%d}") if s in text]
    return found


def test_the_mask_keeps_only_the_last_four_digits():
    number = idcard.make("320102", dt.date(1990, 2, 28), 17)
    assert idcard.mask(number) == "*" * 14 + number[-4:]
    assert idcard.birth_shown(dt.date(1990, 2, 28), full=False) == "1990年"
    assert idcard.birth_shown(dt.date(1990, 2, 28), full=True) == "1990-02-28"


@pytest.mark.parametrize("username", ["seca1", "leader"])
def test_pages_show_view_only_roles_the_tail_and_the_year(login_as, tree, username):
    ma = Member.objects.get(pk=tree["ma"].pk)
    c = login_as(username)
    pages = {
        "detail": c.get(reverse("members:detail", args=[ma.pk])).content.decode(),
        "list": c.get(reverse("members:list")).content.decode(),
        "org": c.get(reverse("orgs:detail", args=[tree["a1"].pk])).content.decode(),
    }
    for name, page in pages.items():
        assert ma.id_mask in page and ma.id_number[-4:] in page, name
        assert f"{ma.birth_date:%Y}年" in page, name
        assert not _leaks(page, ma), (name, _leaks(page, ma))
    assert "显示完整号码" not in pages["detail"]


def test_pages_show_the_whole_date_to_who_may_see_the_number(login_as, tree):
    ma = tree["ma"]
    page = login_as("wcadmin").get(reverse("members:detail", args=[ma.pk])).content.decode()
    assert f"{ma.birth_date:%Y-%m-%d}" in page and "显示完整号码" in page


def test_api_answers_view_only_roles_the_year_alone(personas, tree):
    ma = Member.objects.get(pk=tree["ma"].pk)
    for username in ("seca1", "leader"):
        c = APIClient()
        c.force_authenticate(next(u for u in personas.values() if u.username == username))
        body = c.get(f"/api/members/{ma.pk}/").json()
        assert body["birth_year"] == ma.birth_date.year and body["id_mask"] == "*" * 14 + ma.id_number[-4:]
        assert "birth_date" not in body and "id_number" not in body
        listed = c.get("/api/members/", {"q": ma.id_number[-4:]}).json()["results"]
        assert listed and all("birth_date" not in row for row in listed)
        assert not _leaks(str(body) + str(listed), ma)
    c = APIClient()
    c.force_authenticate(personas["wc_admin"])
    body = c.get(f"/api/members/{ma.pk}/").json()
    assert body["birth_date"] == f"{ma.birth_date:%Y-%m-%d}" and body["id_number"] == ma.id_number


def test_export_rows_hold_the_mask_and_year_without_see_id(personas, tree, tmp_path):
    ma = Member.objects.get(pk=tree["ma"].pk)
    qs = Member.objects.filter(pk=ma.pk)
    member_io.export_members(qs, tmp_path / "view.xlsx", user=personas["secretary_a1"])
    member_io.export_members(qs, tmp_path / "full.xlsx", user=personas["wc_admin"])

    def cells(path):
        ws = openpyxl.load_workbook(path).active
        rows = [[str(v) for v in row if v is not None] for row in ws.iter_rows(values_only=True)]
        return " ".join(" ".join(r) for r in rows)

    limited = cells(tmp_path / "view.xlsx")
    assert ma.id_mask in limited and f"{ma.birth_date:%Y}年" in limited
    assert not _leaks(limited, ma), _leaks(limited, ma)
    assert ma.id_number in cells(tmp_path / "full.xlsx")


def test_history_shows_the_year_and_todays_mask(login_as, personas, tree):
    ma = Member.objects.get(pk=tree["ma"].pk)
    old_birth = ma.birth_date
    new_number = idcard.make("110105", dt.date(1986, 7, 9), 131)
    services.update_member(personas["wc_admin"], ma, id_number=new_number, birth_date=dt.date(1986, 7, 9))
    # An entry written before the shorter mask still holds the region prefix.
    AuditEntry.objects.create(table="members.member", object_id=ma.pk, action="update",
                              changes={"id_mask": ["110***********" + new_number[-4:], ma.id_mask]})
    page = login_as("seca1").get(reverse("members:detail", args=[ma.pk])).content.decode()
    assert "1986年" in page and f"{old_birth:%Y}年" in page
    assert "1986-07-09" not in page and f"{old_birth:%Y-%m-%d}" not in page
    assert "110***" not in page and new_number[:6] not in page
    full = login_as("wcadmin").get(reverse("members:detail", args=[ma.pk])).content.decode()
    assert "1986-07-09" in full and f"{old_birth:%Y-%m-%d}" in full


def test_stored_masks_are_shortened_by_the_migration(tree):
    from importlib import import_module

    from django.apps import apps

    Member.objects.filter(pk=tree["ma"].pk).update(id_mask="110***********1234")
    import_module("dangjian.members.migrations.0004_mask_last_four").last_four(apps, None)
    assert Member.objects.get(pk=tree["ma"].pk).id_mask == "*" * 14 + "1234"


# ---- existence checks ----------------------------------------------------------------------

def test_api_does_not_say_a_number_exists_outside_the_scope(personas, tree):
    c = APIClient()
    c.force_authenticate(personas["unit_admin_a"])
    mb = Member.objects.get(pk=tree["mb"].pk)
    payload = {"name": "赵六", "gender": "female", "ethnicity": "汉族", "birth_date": f"{mb.birth_date:%Y-%m-%d}",
               "id_number": mb.id_number, "education": "bachelor", "phone": "13900000001", "org": "CZ01",
               "category": "full", "joined_on": "2010-07-01", "confirmed_on": "2011-07-01", "workplace": "市财政局"}
    r = c.post("/api/members/", payload, format="json")
    assert r.status_code == 400 and r.json()["errors"]["id_number"] == [ID_NOT_USABLE]
    assert "已存在" not in r.content.decode() and "教育局" not in r.content.decode()
    # The same PATCH onto unita's own member: the same words.
    r = c.patch(f"/api/members/{tree['ma'].pk}/", {"id_number": mb.id_number, "birth_date": payload["birth_date"],
                                                   "gender": "female"}, format="json")
    assert r.status_code == 400 and r.json()["errors"]["id_number"] == [ID_NOT_USABLE]
    # Within the scope the clash is said plainly: the user can see that member anyway.
    c.force_authenticate(personas["wc_admin"])
    r = c.post("/api/members/", payload, format="json")
    assert r.status_code == 400 and "已存在" in r.json()["errors"]["id_number"][0]


def test_import_dry_run_does_not_say_a_number_exists_outside_the_scope(personas, tree, tmp_path):
    mb = Member.objects.get(pk=tree["mb"].pk)
    row = person(1, 身份证号=mb.id_number, 出生日期=mb.birth_date, 性别="女")
    report = member_io.import_members(sheet(tmp_path / "r.xlsx", [row]), personas["unit_admin_a"], dry_run=True)
    messages = [e["message"] for e in report["errors"]]
    assert not report["ok"] and messages == [ID_NOT_USABLE], report["errors"]
    assert not any("范围" in m or "已存在" in m or "组织" in m for m in messages)


def _edit_post(member: Member, **over) -> dict:
    data = {"name": member.name, "gender": member.gender, "ethnicity": member.ethnicity, "education": member.education,
            "phone": member.phone, "category": member.category, "joined_on": f"{member.joined_on:%Y-%m-%d}",
            "confirmed_on": f"{member.confirmed_on:%Y-%m-%d}", "workplace": member.workplace, "post": "副主任",
            "rank": member.rank or "", "status": member.status}
    data.update(over)
    return data


def test_editing_without_see_id_neither_shows_nor_tests_the_birth_date(login_as, tree):
    ma = Member.objects.get(pk=tree["ma"].pk)
    c = login_as("seca1")
    form = c.get(reverse("members:edit", args=[ma.pk])).content.decode()
    assert not _leaks(form, ma), _leaks(form, ma)
    r = c.post(reverse("members:edit", args=[ma.pk]), _edit_post(ma))
    assert r.status_code == 302
    ma.refresh_from_db()
    assert ma.post == "副主任" and ma.birth_date == tree["ma"].birth_date
    # A new number brings its own birth date.
    number = idcard.make("110105", dt.date(1984, 3, 9), 135)
    r = c.post(reverse("members:edit", args=[ma.pk]), _edit_post(ma, id_number=number))
    assert r.status_code == 302
    ma.refresh_from_db()
    assert ma.id_number == number and ma.birth_date == dt.date(1984, 3, 9)


def test_the_api_is_no_oracle_for_the_birth_date(personas, tree):
    ma = Member.objects.get(pk=tree["ma"].pk)
    c = APIClient()
    c.force_authenticate(personas["secretary_a1"])
    answers = set()
    for guess in (ma.birth_date, ma.birth_date + dt.timedelta(days=1)):
        r = c.patch(f"/api/members/{ma.pk}/", {"birth_date": f"{guess:%Y-%m-%d}"}, format="json")
        answers.add((r.status_code, r.content))
        assert not _leaks(r.content.decode(), ma)
    assert len(answers) == 1 and r.status_code == 400  # the right guess answers as the wrong one
    assert Member.objects.get(pk=ma.pk).birth_date == ma.birth_date

"""The dues API's writes (/api/dues/payments/, /api/dues/bases/): the same services, scope and
Chinese messages as the member's dues page, for every role, and nothing written on a refusal."""
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from dangjian.core.models import AuditEntry
from dangjian.dues.models import DuesBase, Payment
from tests import factories

D = Decimal
CJK = re.compile(r"[\u4e00-\u9fff]")


def token_client(username: str) -> APIClient:
    out = io.StringIO()
    call_command("token", username, stdout=out, stderr=io.StringIO())
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    return c


def month_text(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def previous_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


@pytest.fixture
def based(tree):
    today = timezone.localdate()
    start = previous_month(previous_month(today))
    factories.dues_base(tree["ma"], "5000.01", since=start, today=today)
    factories.dues_base(tree["mb"], "3000", since=start, today=today)
    return today


# Who may record the dues of 李明 (branch CZ01 under CZ): the same answer as the page.
ROLES = [("wcadmin", 201), ("unita", 201), ("seca1", 201), ("unitb", 404), ("mema", 403), ("leader", 403)]


@pytest.mark.parametrize("username, expected", ROLES)
def test_recording_a_payment_follows_the_scope_of_each_role(tree, personas, based, username, expected):
    today = based
    body = {"member": tree["ma"].pk, "months": month_text(today), "amount": "75.00", "paid_on": today.isoformat()}
    r = token_client(username).post("/api/dues/payments/", body, format="json")
    assert r.status_code == expected, r.json()
    if expected == 201:
        [row] = r.json()
        assert row["amount"] == "75.00" and row["due"] == "75.00" and row["backpay"] is False
        assert row["month"] == month_text(today) and row["member"] == tree["ma"].pk
        p = Payment.objects.get()
        assert p.received_by == personas[{"wcadmin": "wc_admin", "unita": "unit_admin_a",
                                          "seca1": "secretary_a1"}[username]]
        assert AuditEntry.objects.filter(table="dues.payment", object_id=p.pk, action="create").exists()
    else:
        assert CJK.search(r.json()["detail"]) and not Payment.objects.exists()
    # The page answers the same to the same people.
    if expected == 404:
        from django.test import Client

        page = Client()
        page.force_login(personas["unit_admin_b"])
        assert page.post(f"/dues/members/{tree['ma'].pk}/pay/", {"months": month_text(today), "amount": "75",
                                                                 "paid_on": today}).status_code == 404


def test_backpay_over_several_months_answers_every_month(tree, personas, based):
    today = based
    first = previous_month(previous_month(today))
    api = token_client("seca1")
    r = api.post("/api/dues/payments/", {"member": tree["ma"].pk, "months": f"{month_text(first)}至{month_text(today)}",
                                         "amount": "230.00", "paid_on": today.isoformat()}, format="json")
    assert r.status_code == 201, r.json()
    rows = r.json()
    assert [x["amount"] for x in rows] == ["75.00", "75.00", "80.00"]
    assert [x["backpay"] for x in rows] == [True, True, False] and [x["months_late"] for x in rows] == [2, 1, 0]
    assert api.get(f"/api/dues/payments/{rows[0]['id']}/").json()["months_late"] == 2


@pytest.mark.parametrize("body, field, words", [
    ({"months": "十三月"}, "months", "不是月份"),
    ({"amount": "-3"}, "amount", "应大于 0"),
    ({"amount": "abc"}, "amount", "不是有效的金额"),
    ({"amount": "75.001"}, "amount", "两位小数"),
    ({"amount": 75}, "amount", "金额应为文字"),
    ({"paid_on": "2025-13-01"}, "paid_on", "交纳日期不是有效的日期"),
    ({"paid_on": "2999-01-01"}, "paid_on", "晚于今天"),
    ({"months": "1999-01"}, "months", "不在"),
    ({"member": "李明"}, "member", "党员应为整数"),
    ({"member": None}, "member", "党员不能为空"),
])
def test_bad_payments_answer_400_in_chinese_per_field(tree, personas, based, body, field, words):
    today = based
    full = {"member": tree["ma"].pk, "months": month_text(today), "amount": "75.00", "paid_on": today.isoformat()}
    full.update(body)
    r = token_client("seca1").post("/api/dues/payments/", full, format="json")
    assert r.status_code == 400, r.json()
    errors = r.json()["errors"]
    assert list(errors) == [field] and words in errors[field][0], errors
    assert CJK.search(r.json()["detail"]) and not Payment.objects.exists()


def test_a_month_paid_twice_or_without_a_base_is_refused_and_nothing_is_written(tree, personas, based):
    today = based
    api = token_client("seca1")
    body = {"member": tree["ma"].pk, "months": month_text(today), "amount": "75.00", "paid_on": today.isoformat()}
    assert api.post("/api/dues/payments/", body, format="json").status_code == 201
    before = Payment.objects.count(), AuditEntry.objects.count()
    r = api.post("/api/dues/payments/", {**body, "months": f"{month_text(previous_month(today))}至{month_text(today)}",
                                         "amount": "200"}, format="json")
    assert r.status_code == 400 and "不能重复登记" in r.json()["errors"]["months"][0]
    long_ago = dt.date(today.year - 3, 1, 1)
    r = api.post("/api/dues/payments/", {**body, "months": month_text(long_ago)}, format="json")
    assert r.status_code == 400 and "没有登记缴费基数" in r.json()["errors"]["months"][0]
    assert (Payment.objects.count(), AuditEntry.objects.count()) == before
    gone = factories.member(tree["a1"], name="离开的人", status="transferred_out")
    r = api.post("/api/dues/payments/", {**body, "member": gone.pk}, format="json")
    assert r.status_code == 400 and "不是在册党员" in r.json()["errors"]["member"][0]
    assert api.post("/api/dues/payments/", {**body, "member": 10**9}, format="json").status_code == 404


@pytest.mark.parametrize("username, expected", [("seca1", 204), ("unitb", 404), ("leader", 403), ("mema", 403)])
def test_undoing_a_payment_follows_the_scope_like_the_page(tree, personas, based, username, expected):
    today = based
    [p] = factories.dues_paid(tree["ma"], [today.year * 100 + today.month], paid_on=today, today=today)
    r = token_client(username).delete(f"/api/dues/payments/{p.pk}/")
    assert r.status_code == expected
    assert Payment.objects.filter(pk=p.pk).exists() == (expected != 204)
    if expected == 204:
        assert AuditEntry.objects.filter(table="dues.payment", object_id=p.pk, action="delete").exists()


@pytest.mark.parametrize("username, expected", ROLES)
def test_a_base_change_follows_the_scope_of_each_role(tree, personas, based, username, expected):
    today = based
    body = {"member": tree["ma"].pk, "base": "6000", "category": "employed", "effective_from": month_text(today)}
    r = token_client(username).post("/api/dues/bases/", body, format="json")
    assert r.status_code == expected, r.json()
    rows = list(DuesBase.objects.filter(member=tree["ma"]).order_by("start"))
    if expected == 201:
        assert r.json()["base"] == "6000.00" and r.json()["effective_from"] == today.replace(day=1).isoformat()
        assert [b.base for b in rows] == [D("5000.01"), D("6000.00")] and rows[0].end == rows[1].start - 1
    else:
        assert [b.base for b in rows] == [D("5000.01")] and CJK.search(r.json()["detail"])


@pytest.mark.parametrize("body, field, words", [
    ({"base": "-5"}, "base", "负数"),
    ({"base": ""}, "base", "缴费基数"),
    ({"base": "1000000.01"}, "base", "超过"),
    ({"category": "martian"}, "category", "不在可选范围内"),
    ({"effective_from": "2025-13"}, "effective_from", "月份应在 1—12 之间"),
    ({"effective_from": "2025-01至2025-03"}, "effective_from", "一个月份"),
    ({"category": "farmer", "base": "1.01"}, "base", "农民党员每月交纳 0.20—1.00 元"),
    ({"category": "农民", "base": "0.19"}, "base", "不在此范围内"),
])
def test_bad_bases_answer_400_in_chinese_per_field(tree, personas, based, body, field, words):
    today = based
    full = {"member": tree["ma"].pk, "base": "6000", "category": "employed", "effective_from": month_text(today)}
    full.update(body)
    r = token_client("seca1").post("/api/dues/bases/", full, format="json")
    assert r.status_code == 400, r.json()
    errors = r.json()["errors"]
    assert list(errors) == [field] and words in errors[field][0], errors
    assert DuesBase.objects.filter(member=tree["ma"]).count() == 1


def test_a_base_from_a_paid_month_is_refused_and_a_category_by_its_chinese_name_is_taken(tree, personas, based):
    today = based
    factories.dues_paid(tree["ma"], [today.year * 100 + today.month], paid_on=today, today=today)
    api = token_client("seca1")
    r = api.post("/api/dues/bases/", {"member": tree["ma"].pk, "base": "7000", "effective_from": month_text(today)},
                 format="json")
    assert r.status_code == 400 and "已交纳" in r.json()["errors"]["effective_from"][0]
    student = factories.member(tree["a1"], name="张学")
    r = api.post("/api/dues/bases/", {"member": student.pk, "category": "学生", "effective_from": month_text(today)},
                 format="json")
    assert r.status_code == 201 and r.json()["category"] == "student" and r.json()["base"] == "0.00"
    r = api.post("/api/dues/bases/", {"member": student.pk, "category": "农民", "base": "1.00",
                                      "effective_from": month_text(today.replace(day=1) + dt.timedelta(days=40))},
                 format="json")
    assert r.status_code == 201 and r.json()["category"] == "farmer" and r.json()["base"] == "1.00"


def test_a_payment_in_parts_and_one_over_1000_are_answered_as_such(tree, personas, based):
    today = based
    api = token_client("seca1")
    body = {"member": tree["ma"].pk, "months": month_text(today), "paid_on": today.isoformat()}
    r = api.post("/api/dues/payments/", {**body, "amount": "30.00"}, format="json")
    assert r.status_code == 201 and (r.json()[0]["credited"], r.json()[0]["due"]) == ("30.00", "75.00")
    r = api.post("/api/dues/payments/", {**body, "amount": "1045.00"}, format="json")
    assert r.status_code == 201
    assert (r.json()[0]["credited"], r.json()[0]["to_centre"]) == ("45.00", True)
    r = token_client("unita").get("/api/dues/members/", {"period": month_text(today)})
    assert r.json()["results"][0]["owed"] == "0.00" and r.json()["results"][0]["paid"] == "1075.00"

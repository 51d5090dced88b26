"""党费: the bands at every boundary and the rounding, bases dated and changed mid-year,
payments and back-pay, arrears and the six-month list, the import of a clerk's sheet, the
collection rate against a count made month by month, the pages (scope, query counts, a phone),
the API and the two commands."""
import datetime as dt
import json
import random
from decimal import Decimal

import openpyxl
import pytest
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dangjian.core.models import AuditEntry
from dangjian.dues import collection, rates, services
from dangjian.dues.checks import DuesError, parse_months
from dangjian.dues.io import PaymentImporter
from dangjian.dues.models import DuesBase, DuesRule, Payment, Statement
from dangjian.members.models import Member
from tests import factories

D = Decimal
TODAY = factories.TODAY  # 2025-08-15


# ---- the bands ---------------------------------------------------------------------------------

@pytest.mark.parametrize("base, rate, amount", [
    ("0.00", "0.005", "0.00"),
    ("3000", "0.005", "15.00"),
    ("3000.00", "0.005", "15.00"),
    ("3000.01", "0.01", "30.00"),
    ("5000", "0.01", "50.00"),
    ("5000.01", "0.015", "75.00"),
    ("10000", "0.015", "150.00"),
    ("10000.01", "0.02", "200.00"),
    ("1000000", "0.02", "20000.00"),
])
def test_employed_bands_at_every_boundary(db, base, rate, amount):
    assert rates.rate_for(base) == (D(rate), D(amount))


@pytest.mark.parametrize("base, rate, amount", [
    ("5000", "0.005", "25.00"), ("5000.00", "0.005", "25.00"), ("5000.01", "0.01", "50.00"), ("12000", "0.01", "120.00"),
])
def test_retired_bands(db, base, rate, amount):
    assert rates.rate_for(base, retired=True) == (D(rate), D(amount))


@pytest.mark.parametrize("base, amount", [
    ("1001.00", "5.01"),    # 5.005 rounds half up
    ("1000.99", "5.00"),    # 5.00495
    ("3100.50", "31.01"),   # 31.005
    ("3100.49", "31.00"),
    ("7100.10", "106.50"),  # 106.5015
    ("4999.99", "50.00"),   # 49.9999
    ("10000.25", "200.01"),  # 200.005
])
def test_rounding_is_half_up_to_the_cent(db, base, amount):
    assert rates.rate_for(base)[1] == D(amount)


def test_fixed_amounts(db):
    for kind in ("student", "unemployed", "on_relief"):
        assert rates.rate_for("0", fixed_kind=kind) == (None, D("0.20"))
    with pytest.raises(rates.RateError, match="交纳类别"):
        rates.rate_for("0", fixed_kind="farmer_x")


@pytest.mark.parametrize("base, message", [
    ("-1", "负数"), ("1000000.01", "超过"), ("abc", "不是有效的金额"), ("5000.001", "两位小数"), ("NaN", "不是有效的金额"),
])
def test_bad_bases_are_refused_in_chinese(db, base, message):
    with pytest.raises(rates.RateError, match=message) as exc:
        rates.rate_for(base)
    assert exc.value.message.startswith("缴费基数")


def test_rules_are_seeded_from_the_file_with_their_source(db):
    rule = DuesRule.objects.get()
    assert rule.employed_bands[0] == ["3000", "0.005"] and rule.employed_bands[-1] == [None, "0.02"]
    assert "2008" in rule.source and "党章第九条" in rule.source
    assert rule.backpay_max_months == 6 and rule.arrears_months == 6 and rule.large_one_off == 1000
    assert rates.from_row(rule).farmer == (D("0.20"), D("1.00"))


def test_the_database_computes_the_same_dues_as_python(tree):
    """The SQL expression of the bands agrees with rates.compute on every boundary."""
    bases = ["0.00", "3000.00", "3000.01", "5000.00", "5000.01", "10000.00", "10000.01", "1001.00", "3100.50",
             "10000.25", "7100.10", "999999.99"]
    people = []
    for i, b in enumerate(bases):
        m = factories.member(tree["a1"], name=f"甲{i}")
        factories.dues_base(m, b, "retired" if i % 3 == 0 else "employed", since=dt.date(2025, 3, 1))
        people.append(m)
    versions = rates.versions()
    rows = DuesBase.objects.filter(member__in=people).annotate(c=collection.due_cents(versions[0]))
    for row in rows:
        assert collection.cents_of(row.c) == rates.compute(versions[0], row.base, row.category)[1], row.base


# ---- bases and payments -----------------------------------------------------------------------

def test_a_base_change_mid_year_keeps_the_history(tree):
    m = tree["ma"]
    factories.dues_base(m, "4000", since=dt.date(2025, 1, 1))
    factories.dues_base(m, "6000", since=dt.date(2025, 7, 1))
    rows = list(DuesBase.objects.filter(member=m).order_by("start"))
    assert [r.base for r in rows] == [D("4000.00"), D("6000.00")]
    assert rows[0].end == rows[1].start - 1 and rows[1].end is None
    months = collection.months_of(rows, [], 202501, 202512, rates.versions())
    assert [x.due for x in months] == [D("40.00")] * 6 + [D("90.00")] * 6
    assert months[6].calculation == "基数 6,000.00 元 × 1.5% = 90.00 元"
    row = next(collection.member_rows(Member.objects.filter(pk=m.pk), 202501, 202512))
    assert row.due == D("780.00") and row.base == D("6000.00") and row.rate == D("0.015")
    # A base from a month already paid is refused.
    factories.dues_paid(m, [202508])
    with pytest.raises(DuesError, match="已交纳2025年8月"):
        factories.dues_base(m, "7000", since=dt.date(2025, 8, 1))


def test_a_payment_covers_months_with_surplus_on_the_last_and_refuses_less(tree):
    m = tree["ma"]
    factories.dues_base(m, "5000.01", since=dt.date(2025, 1, 1))
    saved = factories.dues_paid(m, [202505, 202506, 202507], amount="230.00", paid_on=dt.date(2025, 7, 20))
    assert [p.amount for p in saved] == [D("75.00"), D("75.00"), D("80.00")]
    assert [p.months_late for p in saved] == [2, 1, 0] and saved[0].is_backpay and not saved[-1].is_backpay
    before = Payment.objects.count(), AuditEntry.objects.count()
    with pytest.raises(DuesError, match="少于.*应交的 150.00 元"):
        factories.dues_paid(m, [202501, 202502], amount="149.99", paid_on=dt.date(2025, 8, 1))
    with pytest.raises(DuesError, match="已交纳，不能重复登记"):
        factories.dues_paid(m, [202504, 202505], amount="500", paid_on=dt.date(2025, 8, 1))
    with pytest.raises(DuesError, match="没有登记缴费基数"):
        factories.dues_paid(m, [202412], amount="75", paid_on=dt.date(2025, 8, 1))
    with pytest.raises(DuesError, match="晚于今天"):
        factories.dues_paid(m, [202508], amount="75", paid_on=dt.date(2025, 8, 16))
    assert (Payment.objects.count(), AuditEntry.objects.count()) == before


def test_backpay_beyond_the_limit_is_flagged_and_arrears_listed(tree):
    m = tree["ma"]
    factories.dues_base(m, "3000", since=dt.date(2024, 1, 1))
    late = factories.dues_paid(m, [202401], amount="15", paid_on=dt.date(2025, 8, 1))[0]
    limit = rates.in_force(TODAY).backpay_max_months
    assert late.months_late == 19 > limit
    from dangjian.dues import queries

    ledger = queries.ledger(list(DuesBase.objects.filter(member=m)), list(Payment.objects.filter(member=m)), TODAY,
                            rates.versions())
    owed = [x.month for x in ledger if x.owed]
    assert owed[0] == 202402 and owed[-1] == 202508 and len(owed) == 19
    assert queries.unpaid_run(ledger[:-1]) == 18


def test_the_member_page_marks_backpay_beyond_the_limit(tree, personas, login_as):
    today = timezone.localdate()
    m = tree["ma"]
    factories.dues_base(m, "3000", since=dt.date(today.year - 2, 1, 1), today=today)
    factories.dues_paid(m, [(today.year - 2) * 100 + 1], paid_on=today, today=today)
    factories.dues_paid(m, [today.year * 100 + today.month], paid_on=today, today=today)
    page = login_as("seca1").get(f"/dues/members/{m.pk}/").content.decode()
    assert page.count("data-beyond") == 1 and "补交超过6个月" in page


def test_six_consecutive_unpaid_months_make_a_list_and_change_nobody(tree):
    a, b, c = tree["ma"], factories.member(tree["a1"], name="乙"), factories.member(tree["a1"], name="丙")
    for m in (a, b, c):
        factories.dues_base(m, "5000", since=dt.date(2024, 12, 1))
    factories.dues_paid(a, [202501])          # nothing in Feb–Jul: six months
    factories.dues_paid(b, [202503])          # paid within the window
    factories.dues_base(c, "5000", since=dt.date(2025, 3, 1))  # c: due only since March... still started earlier
    listed = list(collection.lapsing(Member.objects.all(), TODAY, 6))
    assert {m.name for m in listed} == {"李明", "丙"}
    assert all(m.status == Member.Status.ACTIVE for m in Member.objects.all())
    late = factories.member(tree["a1"], name="丁")
    factories.dues_base(late, "5000", since=dt.date(2025, 3, 1))  # dues for five months only: not yet
    assert "丁" not in {m.name for m in collection.lapsing(Member.objects.all(), TODAY, 6)}


@pytest.mark.parametrize("text, months", [
    ("2025年10月", [202410 + 100]), ("2025-10", [202510]), ("202510", [202510]), ("10月", [202410]),
    ("7月", [202507]), ("2025年1-3月", [202501, 202502, 202503]), ("1-3月", [202501, 202502, 202503]),
    ("2024-11至2025-01", [202411, 202412, 202501]), (dt.datetime(2025, 6, 1), [202506]),
])
def test_months_as_clerks_write_them(text, months):
    assert parse_months(text, TODAY)[0] == months


@pytest.mark.parametrize("text", ["13月", "2025-13", "三月", "2025年3-1月", "1999-01", "2025年1月-2027年1月"])
def test_bad_months_are_refused(text):
    with pytest.raises(DuesError) as exc:
        parse_months(text, TODAY)
    assert exc.value.message.startswith("月份")


# ---- import -----------------------------------------------------------------------------------

def _messy_sheet(path, rows, id_column=False):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["财政局第一党支部2025年党费收缴登记表"])
    ws.merge_cells("A1:E1")
    ws.append([])
    header = ["序号", "姓 名"] + (["身份证号码"] if id_column else []) + ["交纳月份", "金额（元）", "交纳日期"]
    ws.append(header)
    for i, r in enumerate(rows, 1):
        ws.append([i, *r])
    return wb, ws


def test_a_messy_clerks_sheet_is_imported(tree, tmp_path, personas):
    a, b = tree["ma"], factories.member(tree["a1"], name="赵六")
    factories.dues_base(a, "5000.01", since=dt.date(2025, 1, 1))
    factories.dues_base(b, "2800", since=dt.date(2025, 1, 1))
    wb, ws = _messy_sheet(tmp_path, [
        ["李明", "1月", "75", dt.date(2025, 2, 1)],
        [None, "2025年2-3月", "150.00元", dt.date(2025, 3, 5)],   # the name merged down from the row above
        ["赵六", "2025-01", 14, dt.date(2025, 1, 20)],
        ["赵六", "2月", "14.00", dt.date(2025, 8, 1)],
    ])
    ws.merge_cells("B4:B5")
    ws.append(["填表人：王会计"])
    path = tmp_path / "dues.xlsx"
    wb.save(path)
    report = PaymentImporter(personas["unit_admin_a"], today=TODAY).run(path)
    assert report["ok"], report["errors"]
    assert report["created"] == 5
    got = {(p.member.name, p.month): (p.amount, p.months_late) for p in Payment.objects.select_related("member")}
    assert got == {("李明", 202501): (D("75.00"), 1), ("李明", 202502): (D("75.00"), 1), ("李明", 202503): (D("75.00"), 0),
                   ("赵六", 202501): (D("14.00"), 0), ("赵六", 202502): (D("14.00"), 6)}
    assert all(p.source == "imported" for p in Payment.objects.all())
    assert any("1月" in n["message"] for n in report["normalized"])


def test_a_bad_sheet_writes_nothing_and_says_why_in_chinese(tree, tmp_path, personas):
    a = tree["ma"]
    factories.dues_base(a, "5000", since=dt.date(2025, 1, 1))
    factories.dues_paid(a, [202503])
    twin = factories.member(tree["a1"], name="周七")
    factories.member(tree["a1"], name="周七")
    factories.dues_base(twin, "5000", since=dt.date(2025, 1, 1))
    wb, ws = _messy_sheet(tmp_path, [
        ["李明", "2025-01", "50", dt.date(2025, 2, 1)],   # good
        ["李明", "3月", "50", dt.date(2025, 4, 1)],       # already paid
        ["李明", "4-5月", "90", dt.date(2025, 5, 1)],     # less than two months' due
        ["王芳", "4月", "50", dt.date(2025, 4, 1)],       # another unit's member
        ["周七", "4月", "50", dt.date(2025, 4, 1)],       # two of that name
        ["李明", "13月", "50", dt.date(2025, 4, 1)],      # no such month
        ["李明", "5月", "-5", dt.date(2025, 4, 1)],       # negative amount
        ["李明", "2025-01", "50", dt.date(2025, 2, 1)],   # the first row again
    ])
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    before = Payment.objects.count(), AuditEntry.objects.count()
    report = PaymentImporter(personas["unit_admin_a"], today=TODAY).run(path)
    assert not report["ok"]
    by_row = {}
    for e in report["errors"]:
        by_row.setdefault(e["row"], []).append(e["message"])
    text = json.dumps(by_row, ensure_ascii=False)
    assert "已交纳，不能重复登记" in by_row[5][0]
    assert "少于" in by_row[6][0]
    assert "不是您的范围内的在册党员" in by_row[7][0]
    assert "2 名党员叫“周七”" in by_row[8][0]
    assert "1—12" in by_row[9][0]
    assert "应大于 0" in by_row[10][0]
    assert "与第 4 行重复" in by_row[11][0]
    assert 4 not in by_row and "Traceback" not in text
    assert (Payment.objects.count(), AuditEntry.objects.count()) == before


def test_the_importer_is_offered_on_the_exchange_page_with_a_template_that_passes(tree, personas, login_as,
                                                                                  tmp_path):
    from dangjian.exchange.tasks import IMPORTERS

    assert IMPORTERS["dues"] is PaymentImporter
    today = timezone.localdate()
    factories.dues_base(tree["ma"], "5000.01", since=dt.date(today.year, 1, 1), today=today)
    client = login_as("unita")
    assert "党费交纳" in client.get("/exchange/import/").content.decode()
    r = client.get("/exchange/template/dues.xlsx")
    assert r.status_code == 200
    path = tmp_path / "template.xlsx"
    path.write_bytes(b"".join(r.streaming_content))
    report = PaymentImporter(personas["unit_admin_a"]).run(path, dry_run=True)
    assert report["ok"] and report["created"] == 1, report


# ---- figures ---------------------------------------------------------------------------------

def _generated(tree, rng, n_branches=4, per=6):
    """Branches with members of every category, bases changed on random months and random
    payments (some back-pay) in 2025."""
    members = []
    for i in range(n_branches):
        branch = factories.branch_with(tree["a" if i % 2 else "b"], full=per)
        for m in branch.people:
            cat = rng.choice(["employed"] * 5 + ["retired", "student", "unemployed", "on_relief", "farmer"])
            amount = rng.randint(20, 100) if cat == "farmer" else rng.randint(0, 1500000)  # a farmer's choice
            factories.dues_base(m, f"{amount / 100:.2f}", cat, since=dt.date(2024, rng.randint(1, 12), 1))
            if rng.random() < 0.4:
                factories.dues_base(m, f"{rng.randint(200000, 1200000) / 100:.2f}", "employed",
                                    since=dt.date(2025, rng.randint(2, 6), 1))
            members.append(m)
    for m in members:
        months = [202500 + k for k in range(1, 9) if rng.random() < 0.6]
        for k in months:
            if rng.random() < 0.5 and k >= 202507:
                continue
            try:
                if rng.random() < 0.25:  # in parts: a first sum, perhaps a second (which may pay over)
                    factories.dues_paid(m, [k], amount=f"{rng.randint(1, 5000) / 100:.2f}")
                    if rng.random() < 0.5:
                        factories.dues_paid(m, [k], amount=f"{rng.randint(1, 8000) / 100:.2f}")
                    continue
                factories.dues_paid(m, [k], paid_on=dt.date(2025, 8, rng.randint(1, 15)) if rng.random() < 0.3 else None)
            except DuesError:
                pass
    return members


def _naive_months(m, first, last):
    """(YYYYMM, due, [payment amounts]) of each month of `m` with a base, month by month with
    rates.rate_for and the stored payments."""
    bases = list(DuesBase.objects.filter(member=m).order_by("start"))
    for key in range(first, last + 1):
        if not 1 <= key % 100 <= 12:
            continue
        n = key // 100 * 12 + key % 100 - 1
        b = next((x for x in reversed(bases) if x.start <= n), None)
        if b is None:
            continue
        if b.category == "farmer":
            amount = b.base  # the amount the farmer chose
        else:
            fixed = b.category if b.category in rates.FIXED_KINDS else None
            amount = rates.rate_for(b.base, retired=b.category == "retired", fixed_kind=fixed,
                                    on=dt.date(key // 100, key % 100, 1))[1]
        yield key, amount, [p.amount for p in Payment.objects.filter(member=m, month=key)]


def _naive(members, first, last):
    """Due, paid and owed of `members` over the months, whatever organization each month is in."""
    due = paid = settled = D("0")
    for m in members:
        for _, amount, sums in _naive_months(m, first, last):
            due += amount
            if sums:
                paid += sum(sums)
                settled += min(sum(sums), amount)  # a month settles at most its due
    return due, paid, due - settled


def _naive_org_of(m, key):
    """The organization's path a month counts in, by reading the rule of docs/dues.md plainly:
    the membership row covering the month's first day, else the present organization for a
    member on the roll now; None: the month is not counted (a member who left, after leaving)."""
    m.refresh_from_db()
    day = dt.date(key // 100, key % 100, 1)
    for row in m.memberships.select_related("org"):
        if row.started_on <= day and (row.ended_on is None or day < row.ended_on):
            return row.org.path
    return m.org.path if m.status == Member.Status.ACTIVE else None


def _naive_by_org(members, first, last):
    """{org path: [due, paid, settled]} month by month, each month where _naive_org_of puts it."""
    out = {}
    for m in members:
        for key, amount, sums in _naive_months(m, first, last):
            path = _naive_org_of(m, key)
            if path is None:
                continue
            f = out.setdefault(path, [D("0"), D("0"), D("0")])
            f[0] += amount
            if sums:
                f[1] += sum(sums)
                f[2] += min(sum(sums), amount)
    return out


def _under(naive, path):
    due = sum((f[0] for p, f in naive.items() if p.startswith(path)), D("0"))
    paid = sum((f[1] for p, f in naive.items() if p.startswith(path)), D("0"))
    return due, paid, due - sum((f[2] for p, f in naive.items() if p.startswith(path)), D("0"))


def _moved(tree, members, rng):
    """Random transfers between the branches in 2025 (some on a month's first day, some twice),
    and a few members leaving the roll (转出 to outside, 去世) on a random day."""
    from dangjian.members import services as member_services
    from dangjian.orgs.models import Organization

    branches = list(Organization.objects.filter(kind="branch", path__startswith=tree["wc"].path))
    for m in members:
        if rng.random() < 0.45:
            days = sorted(dt.date(2025, rng.randint(1, 9), rng.choice([1, 1, rng.randint(2, 28)]))
                          for _ in range(rng.randint(1, 2)))
            for day in days:
                m.refresh_from_db()
                to = rng.choice([b for b in branches if b.pk != m.org_id])
                member_services.transfer_member(None, m, to, day)
        elif rng.random() < 0.2:
            m.refresh_from_db()
            member_services.change_standing(None, m, dt.date(2025, rng.randint(2, 8), rng.choice([1, 15])), "测试",
                                            status=rng.choice([Member.Status.TRANSFERRED_OUT, Member.Status.DECEASED]))
    for m in members:
        m.refresh_from_db()


def test_collection_rate_matches_a_naive_count(tree):
    from django.db.models import F

    from dangjian.orgs.models import Organization

    members = _generated(tree, random.Random(5))
    # The data has months paid in part, months paid in two sums over the due, and farmers.
    assert Payment.objects.filter(credited__lt=F("due")).exists()
    assert Payment.objects.filter(credited__lt=F("amount")).exists()
    assert DuesBase.objects.filter(category="farmer").exists()
    before = {root: collection.total(tree[root].path, 202501, 202508) for root in ("wc", "a", "b")}
    for root in ("wc", "a", "b"):
        under = [m for m in members if m.org.path.startswith(tree[root].path)]
        due, paid, owed = _naive(under, 202501, 202508)
        assert (before[root].due, before[root].paid, before[root].owed) == (due, paid, owed), root
        assert before[root].rate == ((due - owed) / due).quantize(D("0.0001"))
    # Members move between branches and some leave the roll: each month counts where the member
    # was on its first day, in every organization and subtree.
    _moved(tree, members, random.Random(7))
    assert Member.objects.filter(memberships__ended_on__day=1, memberships__ended_on__year=2025).exists()
    assert Member.objects.filter(status__in=Member.LEFT).exists()
    naive = _naive_by_org(members, 202501, 202508)
    for root in ("wc", "a", "b"):
        f = collection.total(tree[root].path, 202501, 202508)
        due, paid, owed = _under(naive, tree[root].path)
        assert (f.due, f.paid, f.owed) == (due, paid, owed), root
    per_org = collection.by_org(tree["wc"].path, 202501, 202508)
    paths = dict(Organization.objects.values_list("pk", "path"))
    assert {paths[pk]: (f.due, f.paid, f.due - f.settled) for pk, f in per_org.items() if f.due or f.paid} == {
        p: (f[0], f[1], f[0] - f[2]) for p, f in naive.items() if f[0] or f[1]}
    # Each organization below the 工委, from the same grouped reads.
    from dangjian.dues import queries

    rows, total = queries.children_figures(tree["wc"], 202501, 202508, rates.versions())
    assert {r["org"].code: (r["f"].due, r["f"].paid, r["f"].owed) for r in rows} == {
        tree[u].code: _under(naive, tree[u].path) for u in ("a", "b")}
    assert total.due == _under(naive, tree["wc"].path)[0]
    # Per member (those on the roll), the stream agrees too: a member's whole period.
    on_roll = [m for m in members if m.status == Member.Status.ACTIVE]
    for row in collection.member_rows(Member.objects.filter(pk__in=[m.pk for m in on_roll]), 202501, 202508):
        m = next(x for x in on_roll if x.pk == row.member_id)
        assert (row.due, row.paid, row.owed) == _naive([m], 202501, 202508)


def test_a_transferred_member_counts_where_they_were_each_month(tree):
    from dangjian.members import services as member_services

    a2 = factories.branch_with(tree["a"], full=1)
    b2 = factories.branch_with(tree["b"], full=1)
    m = factories.member(a2, name="调动者")
    factories.dues_base(m, "5000.01", since=dt.date(2025, 1, 1))  # 75.00 a month
    factories.dues_paid(m, [202501, 202502, 202503, 202504])
    factories.dues_paid(m, [202507], amount="30.00")
    totals = {k: collection.total(tree[k].path, 202501, 202508) for k in ("wc", "a", "b")}
    # 转出 on 15 April: April stays with the sending branch, May on is the receiving one's.
    member_services.transfer_member(None, m, b2, dt.date(2025, 4, 15))

    def figures(org):
        f = collection.by_org(org.path, 202501, 202508).get(org.pk, collection.Figures())
        return f.due, f.paid, f.owed

    assert figures(a2) == (D("300.00"), D("300.00"), D("0.00"))
    assert figures(b2) == (D("300.00"), D("30.00"), D("270.00"))
    # Each month exactly once: four months move from one department's subtree to the other's.
    assert collection.total(tree["a"].path, 202501, 202508).due == totals["a"].due - D("300.00")
    assert collection.total(tree["b"].path, 202501, 202508).due == totals["b"].due + D("300.00")
    f = collection.total(tree["wc"].path, 202501, 202508)
    assert (f.due, f.paid, f.owed) == (totals["wc"].due, totals["wc"].paid, totals["wc"].owed)
    assert f.due == totals["a"].due + totals["b"].due
    # April is the sending branch's only, May the receiving one's only.
    for month, where, elsewhere in ((202504, a2, b2), (202505, b2, a2)):
        per_org = collection.by_org(tree["wc"].path, month, month)
        assert per_org[where.pk].due == D("75.00") and elsewhere.pk not in per_org
    # Transferred on the 1st of a month: that month is already the receiving branch's.
    member_services.transfer_member(None, m, a2, dt.date(2025, 7, 1))
    assert figures(b2) == (D("150.00"), D("0.00"), D("150.00"))
    assert figures(a2) == (D("450.00"), D("330.00"), D("120.00"))
    # Leaving the roll (去世) on 20 August: August still counts, September does not.
    member_services.change_standing(None, m, dt.date(2025, 8, 20), "去世", status=Member.Status.DECEASED)
    assert collection.by_org(a2.path, 202508, 202509).get(a2.pk).due == D("75.00")
    assert collection.total(tree["wc"].path, 202501, 202508).due == totals["wc"].due


def test_the_figures_read_a_fixed_number_of_queries_whatever_the_transfers(tree):
    from dangjian.members import services as member_services

    def count():
        with CaptureQueriesContext(connection) as ctx:
            collection.by_org(tree["wc"].path, 202501, 202508)
        return len(ctx)

    members = _generated(tree, random.Random(3), n_branches=2, per=3)
    small = count()
    members += _generated(tree, random.Random(4), n_branches=4, per=5)
    branches = [m.org for m in members]
    for i, m in enumerate(members[::2]):
        member_services.transfer_member(None, m, next(b for b in branches if b.pk != m.org_id),
                                        dt.date(2025, 1 + i % 8, 1 + i % 20))
    assert count() == small


def test_a_rule_change_applies_from_its_month_only(tree, personas):
    m = tree["ma"]
    factories.dues_base(m, "5000.01", since=dt.date(2025, 1, 1))
    services.add_rule(personas["wc_admin"], effective_from=dt.date(2025, 9, 1),
                      employed=[(D("5000"), D("0.01")), (None, D("0.012"))], retired=[(None, D("0.005"))],
                      fixed={"student": D("0.50")}, backpay_max_months=6, source="测试文件", today=TODAY)
    f = collection.total(tree["wc"].path, 202508, 202509)
    assert f.due == D("75.00") + D("60.00")
    assert rates.rate_for("5000.01", on=dt.date(2025, 9, 1)) == (D("0.012"), D("60.00"))
    with pytest.raises(DuesError, match="不能早于本月"):
        services.add_rule(personas["wc_admin"], effective_from=dt.date(2025, 7, 1), employed=[(None, D("0.01"))],
                          retired=[(None, D("0.01"))], fixed={}, backpay_max_months=6, source="x", today=TODAY)
    with pytest.raises(DuesError, match="工委"):
        services.add_rule(personas["unit_admin_a"], effective_from=dt.date(2025, 10, 1), employed=[(None, D("0.01"))],
                          retired=[(None, D("0.01"))], fixed={}, backpay_max_months=6, source="x", today=TODAY)


# ---- pages --------------------------------------------------------------------------------------

def _this_year(tree, n, start=0):
    today = timezone.localdate()
    people = [factories.member(tree["a1"], name=f"党员{start + i}") for i in range(n)]
    for i, m in enumerate(people):
        factories.dues_base(m, f"{3000 + i * 700}.00", since=dt.date(today.year, 1, 1), today=today)
        factories.dues_paid(m, [today.year * 100 + 1], today=today)
    return people


def test_the_dues_page_reads_a_fixed_number_of_queries(tree, personas, login_as):
    client = login_as("unita")
    factories.dues_base(tree["ma"], "5000.01", since=dt.date(timezone.localdate().year, 1, 1),
                        today=timezone.localdate())
    _this_year(tree, 3)
    client.get("/dues/?org=CZ")
    with CaptureQueriesContext(connection) as small:
        r = client.get("/dues/?org=CZ")
    assert r.status_code == 200
    _this_year(tree, 25, start=3)
    for _ in range(3):
        factories.branch_with(tree["a"], full=4)
    with CaptureQueriesContext(connection) as large:
        r = client.get("/dues/?org=CZ")
    assert r.status_code == 200
    assert len(large) == len(small), [q["sql"][:120] for q in large.captured_queries]
    page = r.content.decode()
    assert "收缴率" in page and "李明" in page and "王芳" not in page


def test_pages_are_scoped_and_a_member_sees_only_their_own(tree, personas, login_as):
    today = timezone.localdate()
    for m in (tree["ma"], tree["mb"]):
        factories.dues_base(m, "5000.01", since=dt.date(today.year, 1, 1), today=today)
    client = login_as("unitb")
    assert client.get(f"/dues/members/{tree['ma'].pk}/").status_code == 404
    assert client.get("/dues/?org=CZ").status_code == 404
    assert client.post(f"/dues/members/{tree['ma'].pk}/pay/", {"months": f"{today:%Y-%m}", "amount": "75",
                                                               "paid_on": today}).status_code == 404
    client = login_as("mema")
    r = client.get("/dues/mine/")
    page = r.content.decode()
    assert "基数 5,000.01 元 × 1.5% = 75.00 元" in page
    assert client.get(f"/dues/members/{tree['mb'].pk}/").status_code == 404
    assert client.get("/dues/", follow=False).status_code == 302
    assert AuditEntry.objects.filter(table="members.member", object_id=tree["ma"].pk, action="reveal").exists()


def test_a_secretary_records_a_payment_and_bad_input_answers_in_chinese(tree, personas, login_as):
    today = timezone.localdate()
    factories.dues_base(tree["ma"], "5000.01", since=dt.date(today.year, 1, 1), today=today)
    client = login_as("seca1")
    url = f"/dues/members/{tree['ma'].pk}/pay/"
    r = client.post(url, {"months": f"{today:%Y-%m}", "amount": "-3", "paid_on": today.isoformat()})
    assert r.status_code == 400 and "应大于 0" in r.content.decode()
    r = client.post(url, {"months": "十三月", "amount": "75", "paid_on": today.isoformat()})
    assert r.status_code == 400 and "不是月份" in r.content.decode()
    two = f"{today.year}-01至{today.year}-02"
    r = client.post(url, {"months": two, "amount": "1", "paid_on": today.isoformat()})
    assert r.status_code == 400 and "少于" in r.content.decode()
    assert not Payment.objects.exists()
    r = client.post(url, {"months": f"{today:%Y-%m}", "amount": "75", "paid_on": today.isoformat()})
    assert r.status_code == 302
    p = Payment.objects.get()
    assert p.amount == D("75.00") and p.received_by == personas["secretary_a1"]
    r = client.post(f"/dues/members/{tree['ma'].pk}/base/", {"category": "employed", "base": "-5",
                                                            "effective_from": f"{today:%Y-%m}"})
    assert r.status_code == 400 and "负数" in r.content.decode()


def test_the_yearly_statement_is_for_the_branch_and_those_over_it(tree, personas, login_as):
    today = timezone.localdate()
    factories.dues_base(tree["ma"], "5000.01", since=dt.date(today.year, 1, 1), today=today)
    factories.dues_paid(tree["ma"], [today.year * 100 + 1], today=today)
    url = f"/dues/orgs/{tree['a1'].pk}/statement/"
    member = login_as("mema")
    assert member.get(url).status_code == 404  # not published yet
    sec = login_as("seca1")
    assert "75.00" in sec.get(url).content.decode()
    assert sec.post(url + "publish/").status_code == 302
    assert Statement.objects.filter(org=tree["a1"], year=today.year).exists()
    member = login_as("mema")
    assert member.get(url).status_code == 200
    for suffix in ("statement.xlsx", "statement.docx"):
        r = member.get(f"/dues/orgs/{tree['a1'].pk}/{suffix}")
        assert r.status_code == 200
    assert login_as("unitb").get(url).status_code == 404
    assert AuditEntry.objects.filter(table="core.export").count() == 2


def test_the_rules_page_shows_sources_and_only_staff_edit(tree, personas, login_as):
    page = login_as("mema").get("/dues/rules/").content.decode()
    assert "党章第九条" in page and "3000" in page
    assert login_as("unita").get("/dues/rules/new/").status_code == 404
    client = login_as("wcadmin")
    today = timezone.localdate()
    nxt = dt.date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    r = client.post("/dues/rules/new/", {"effective_from": f"{nxt:%Y-%m}", "employed": "3000 0.005\n0.01",
                                        "retired": "0.005", "student": "0.2", "unemployed": "0.2", "on_relief": "0.2",
                                        "backpay_max_months": "6", "source": "测试"})
    assert r.status_code == 302
    r = client.post("/dues/rules/new/", {"effective_from": f"{nxt:%Y-%m}", "employed": "3000 0.005\n2000 0.01\n0.02",
                                        "retired": "0.005", "student": "0.2", "unemployed": "0.2", "on_relief": "0.2",
                                        "backpay_max_months": "6", "source": "测试"})
    assert r.status_code == 200 and "已有一版标准" in r.content.decode()


# ---- API and commands -------------------------------------------------------------------------

def test_api_lists_dues_in_scope_with_exact_decimals(tree, personas):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    factories.dues_base(tree["ma"], "5000.01", since=dt.date(2025, 1, 1))
    factories.dues_base(tree["mb"], "3000", since=dt.date(2025, 1, 1))
    factories.dues_paid(tree["ma"], [202510 - 100 + 100 - 2])  # 2025-08
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=personas['unit_admin_a'])[0].key}")
    rows = api.get("/api/dues/members/?period=2025-08").json()["results"]
    assert rows == [{"member": "李明", "member_id": tree["ma"].pk, "org_code": "CZ01", "base": "5000.01",
                     "rate": "0.015", "due": "75.00", "paid": "75.00", "owed": "0.00"}]
    assert [p["month"] for p in api.get("/api/dues/payments/").json()["results"]] == ["2025-08"]
    assert len(api.get("/api/dues/bases/").json()["results"]) == 1
    r = api.get("/api/dues/members/?period=2025-13")
    assert r.status_code == 400 and "期间" in json.dumps(r.json(), ensure_ascii=False)
    r = api.get("/api/dues/members/?period=2025-08&org=JY")
    assert r.status_code == 400 and "组织代码" in json.dumps(r.json(), ensure_ascii=False)


def test_dues_rate_command_contract(db):
    code, out = factories.cli_json("dues-rate", "--base", "5000.01")
    assert code == 0 and out == {"base": "5000.01", "rate": "0.015", "amount": "75.00"}
    code, out = factories.cli_json("dues-rate", "--base", "5000", "--retired")
    assert out == {"base": "5000.00", "rate": "0.005", "amount": "25.00"}


@pytest.mark.parametrize("args, message", [
    (["--base", "-1"], "负数"), (["--base", "1000000.01"], "超过"), (["--base", "abc"], "不是有效的金额"),
])
def test_dues_rate_refuses_bad_bases_with_exit_2(db, args, message):
    proc = factories.run_console("dues-rate", *args, "--format", "json")
    assert proc.returncode == 2 and message in proc.stderr and proc.stdout == ""


def test_dues_command_contract(tree):
    factories.dues_base(tree["ma"], "5000.01", since=dt.date(2025, 1, 1))
    factories.dues_base(tree["mb"], "0", "student", since=dt.date(2025, 1, 1))
    factories.dues_paid(tree["ma"], [202507])
    code, out = factories.cli_json("dues", "--period", "2025-07")
    assert code == 0
    assert out == {"members": [
        {"member": "李明", "org_code": "CZ01", "base": "5000.01", "rate": "0.015", "due": "75.00", "paid": "75.00",
         "owed": "0.00"},
        {"member": "王芳", "org_code": "JY01", "base": "0.00", "rate": None, "due": "0.20", "paid": "0.00",
         "owed": "0.20"}]}
    code, out = factories.cli_json("dues", "--period", "2025", "--org", "CZ")
    assert [m["member"] for m in out["members"]] == ["李明"] and out["members"][0]["due"] == "900.00"
    with pytest.raises(CommandError, match="没有组织代码为“NOPE”") as exc:
        factories.cli("dues", "--period", "2025-07", "--org", "NOPE", "--format", "json")
    assert exc.value.returncode == 2


@pytest.mark.parametrize("args", [["--period", "2025-13"], ["--period", "202x"], ["--period", "十月"]])
def test_dues_command_refuses_bad_periods_with_exit_2(db, args):
    proc = factories.run_console("dues", *args, "--format", "json")
    assert proc.returncode == 2 and "周期" in proc.stderr and proc.stdout == ""


# ---- on a phone -------------------------------------------------------------------------------

@pytest.mark.browser
def test_a_member_views_their_dues_on_a_phone(tree, personas, live_server, browser_page):
    today = timezone.localdate()
    factories.dues_base(tree["ma"], "5000.01", since=dt.date(today.year - 1, 1, 1), today=today)
    factories.dues_paid(tree["ma"], [today.year * 100 + 1], today=today)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    factories.browser_login(page, live_server.url, "mema")
    page.goto(live_server.url + "/dues/mine/")
    assert page.locator("[data-calculation]").inner_text() == "基数 5,000.01 元 × 1.5% = 75.00 元"
    assert page.locator("[data-amount]").inner_text() == "75.00"
    assert page.locator("[data-owed]").is_visible()
    assert page.locator(f"[data-month='{today.year}01'] [data-paid]").is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


# ---- the demo ---------------------------------------------------------------------------------

def test_the_demo_city_has_a_year_of_dues_with_arrears_backpay_and_one_to_follow_up(db):
    import io

    from django.core.management import call_command

    today = dt.date(2026, 3, 20)
    out = io.StringIO()
    call_command("demo", members=300, seed=5, today=today.isoformat(), stdout=out, stderr=io.StringIO())
    assert "党费" in out.getvalue()
    active = Member.objects.filter(status=Member.Status.ACTIVE)
    assert not active.exclude(dues_bases__isnull=False).exists()
    cats = set(DuesBase.objects.values_list("category", flat=True))
    assert {"employed", "retired"} <= cats
    assert DuesBase.objects.filter(end__isnull=False).exists()  # raises, dated
    assert Payment.objects.filter(months_late__gt=0).exists()
    assert Payment.objects.filter(months_late__gt=rates.in_force(today).backpay_max_months).exists()
    assert collection.lapsing(active, today, 6).exists()
    f = collection.total("", 202503, 202602)
    assert f.due > 0 and 0 < f.rate < 1
    # The demo's rows are the services' own: what they store equals what the rules compute.
    for p in Payment.objects.select_related("member").order_by("?")[:50]:
        n = p.month_no
        b = DuesBase.objects.filter(member=p.member, start__lte=n).order_by("-start").first()
        assert p.due == rates.compute(rates.in_force(dt.date(p.month // 100, p.month % 100, 1)), b.base, b.category)[1]


# ---- months paid in parts -----------------------------------------------------------------------

def test_a_month_paid_in_parts_owes_the_rest_exactly_in_cents(tree):
    m = tree["ma"]
    factories.dues_base(m, "5000.01", since=dt.date(2025, 1, 1))  # 75.00 a month
    [first] = factories.dues_paid(m, [202507], amount="30.33", paid_on=dt.date(2025, 7, 10))
    assert (first.credited, first.extra, first.due) == (D("30.33"), D("0.00"), D("75.00"))
    row = next(collection.member_rows(Member.objects.filter(pk=m.pk), 202507, 202507))
    assert (row.due, row.paid, row.owed, row.unpaid_months) == (D("75.00"), D("30.33"), D("44.67"), 1)
    f = collection.total(tree["a1"].path, 202507, 202507)
    assert (f.due, f.paid, f.owed, f.rate) == (D("75.00"), D("30.33"), D("44.67"), D("0.4044"))
    # The rest, and more: the month is settled, the 5.33 over it is 自愿多交 (not in the rate).
    [second] = factories.dues_paid(m, [202507], amount="50.00", paid_on=dt.date(2025, 7, 20))
    assert (second.credited, second.extra) == (D("44.67"), D("5.33"))
    row = next(collection.member_rows(Member.objects.filter(pk=m.pk), 202507, 202507))
    assert (row.paid, row.owed, row.unpaid_months) == (D("80.33"), D("0.00"), 0)
    assert collection.total(tree["a1"].path, 202507, 202507).rate == D("1.0000")
    with pytest.raises(DuesError, match="已交纳，不能重复登记"):
        factories.dues_paid(m, [202507], amount="1", paid_on=dt.date(2025, 7, 21))
    # A run of months is paid in full or refused, whatever was paid in part before.
    factories.dues_paid(m, [202505], amount="0.01", paid_on=dt.date(2025, 5, 10))
    with pytest.raises(DuesError, match="少于.*应交的 149.99 元"):
        factories.dues_paid(m, [202505, 202506], amount="149.98", paid_on=dt.date(2025, 8, 1))
    saved = factories.dues_paid(m, [202505, 202506], amount="149.99", paid_on=dt.date(2025, 8, 1))
    assert [(p.month, p.credited) for p in saved] == [(202505, D("74.99")), (202506, D("75.00"))]
    audits = AuditEntry.objects.filter(table="dues.payment", object_id=first.pk)
    assert "分次交纳，计入应交 30.33 元" in audits.get().note
    # Undoing one sum reopens its part of the month.
    services.delete_payment(None, second)
    row = next(collection.member_rows(Member.objects.filter(pk=m.pk), 202505, 202507))
    assert row.owed == D("44.67") and row.unpaid_months == 1


def test_a_month_paid_in_part_is_paid_for_the_six_month_list_but_still_owed(tree):
    """The six-month list (党章第九条) is of members who paid nothing: one month paid in part
    within the window keeps a member off it; the same window with nothing paid puts them on."""
    part, none = tree["ma"], factories.member(tree["a1"], name="乙")
    for m in (part, none):
        factories.dues_base(m, "5000", since=dt.date(2024, 12, 1))
    factories.dues_paid(part, [202504], amount="0.01", paid_on=dt.date(2025, 4, 10))  # the window: Feb–Jul
    factories.dues_paid(none, [202501])
    assert {m.name for m in collection.lapsing(Member.objects.all(), TODAY, 6)} == {"乙"}
    from dangjian.dues import queries

    versions = rates.versions()
    for m, run in ((part, 3), (none, 6)):
        ledger = queries.ledger(list(DuesBase.objects.filter(member=m)), list(Payment.objects.filter(member=m)),
                                TODAY, versions)
        assert queries.unpaid_run(ledger[:-1]) == run
    ledger = queries.ledger(list(DuesBase.objects.filter(member=part)), list(Payment.objects.filter(member=part)),
                            TODAY, versions)
    april = next(x for x in ledger if x.month == 202504)
    assert april.partial and april.owed and not april.unpaid and april.balance == D("49.99")


def test_the_member_page_and_the_import_show_a_month_paid_in_part(tree, personas, login_as, tmp_path):
    today = timezone.localdate()
    m = tree["ma"]
    factories.dues_base(m, "5000.01", since=dt.date(today.year, 1, 1), today=today)
    factories.dues_paid(m, [today.year * 100 + 1], amount="30.00", paid_on=today, today=today)
    page = login_as("seca1").get(f"/dues/members/{m.pk}/?year={today.year}").content.decode()
    assert "部分交纳 · 已交 30.00 元，尚欠 45.00 元" in page and "计入应交 30.00 元" in page
    wb, ws = _messy_sheet(tmp_path, [["李明", f"{today.year}-01", "45", today], ["李明", f"{today.year}-02", "20", today]])
    path = tmp_path / "parts.xlsx"
    wb.save(path)
    report = PaymentImporter(personas["unit_admin_a"], today=today).run(path)
    assert report["ok"], report["errors"]
    got = sorted((p.month % 100, p.amount, p.credited) for p in Payment.objects.filter(member=m))
    assert got == [(1, D("30.00"), D("30.00")), (1, D("45.00"), D("45.00")), (2, D("20.00"), D("20.00"))]
    imported = AuditEntry.objects.filter(table="dues.payment", note__startswith="党费交纳导入")
    assert imported.count() == 2 and all("分次交纳" in e.note for e in imported)


# ---- 农民党员 and the one-off payment of 1000 元 or more ------------------------------------------

@pytest.mark.parametrize("chosen, ok", [("0.19", False), ("0.20", True), ("0.2", True), ("0.50", True),
                                        ("1.00", True), ("1", True), ("1.01", False), ("0.205", False)])
def test_a_farmer_chooses_an_amount_within_the_range_both_ends_included(tree, chosen, ok):
    m = tree["ma"]
    if not ok:
        with pytest.raises(DuesError) as exc:
            factories.dues_base(m, chosen, "farmer", since=dt.date(2025, 1, 1))
        assert exc.value.field == "base" and exc.value.message.startswith("每月交纳金额")
        assert not DuesBase.objects.exists()
        return
    factories.dues_base(m, chosen, "farmer", since=dt.date(2025, 1, 1))
    [month] = collection.months_of(list(DuesBase.objects.filter(member=m)), [], 202503, 202503, rates.versions())
    assert month.due == D(chosen).quantize(D("0.01")) and month.rate is None
    assert month.calculation == f"农民党员每月交纳 0.20—1.00 元，本人选定每月 {month.due} 元"
    row = DuesBase.objects.annotate(c=collection.due_cents(rates.versions()[0])).get()
    assert collection.cents_of(row.c) == month.due  # the database agrees
    assert collection.total(tree["a1"].path, 202501, 202512).due == month.due * 12


def test_a_farmer_without_an_amount_or_a_later_narrower_range_is_handled(tree, personas):
    with pytest.raises(DuesError, match="农民党员填写本人选定的每月金额"):
        factories.dues_base(tree["ma"], "", "farmer", since=dt.date(2025, 1, 1))
    factories.dues_base(tree["ma"], "0.90", "farmer", since=dt.date(2025, 1, 1))
    rule = DuesRule.objects.get()
    narrower = rates.Rules(dt.date(2026, 1, 1), rates.from_row(rule).employed, rates.from_row(rule).retired,
                           rates.from_row(rule).fixed, farmer=(D("0.20"), D("0.80")))
    # A chosen amount outside a later range counts at its nearer end, in Python and in SQL alike.
    assert rates.compute(narrower, "0.90", "farmer") == (None, D("0.80"))
    row = DuesBase.objects.annotate(c=collection.due_cents(narrower)).get()
    assert collection.cents_of(row.c) == D("0.80")


@pytest.mark.parametrize("amount, extra, to_centre", [
    ("1074.99", "999.99", False), ("1075.00", "1000.00", True), ("1075.01", "1000.01", True), ("75.00", "0.00", False),
])
def test_a_one_off_extra_of_1000_or_more_goes_to_the_centre(tree, personas, login_as, amount, extra, to_centre):
    today = timezone.localdate()
    m = tree["ma"]
    factories.dues_base(m, "5000.01", since=dt.date(today.year, 1, 1), today=today)  # 75.00 a month
    [p] = factories.dues_paid(m, [today.year * 100 + today.month], amount=amount, paid_on=today, today=today)
    assert (p.extra, p.to_centre, p.credited) == (D(extra), to_centre, D("75.00"))
    note = AuditEntry.objects.get(table="dues.payment", object_id=p.pk).note
    assert ("全部上缴中央" in note) == to_centre
    page = login_as("mema").get("/dues/mine/").content.decode()
    assert ("一次多交纳 1000 元以上，全部上缴中央" in page) == to_centre
    assert (f"其中自愿多交 {extra} 元" in page) == (extra != "0.00")
    # Over several months at once the extra is what is over their sum, on the last month.
    if to_centre:
        months = [today.year * 100 + k for k in ((1, 2) if today.month > 2 else (3, 4))]  # not this month
        saved = factories.dues_paid(m, months, amount=str(D("75.00") * len(months) + D("999.99")), paid_on=today,
                                    today=today)
        assert not any(x.to_centre for x in saved) and saved[-1].extra == D("999.99")
    assert "全部上缴中央" in login_as("mema").get("/dues/rules/").content.decode()

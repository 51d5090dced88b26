"""The demo city's dues: a base for every member on the roll and a year of payments, written
with bulk inserts a slice of members at a time (memory flat at a million members).

Bases are after-tax salaries by 职级 (a step per level, some spread), from January of last year;
the old and infirm (免于硬性要求) are retired, and a few members are students, unemployed or on
relief with their fixed amounts. About one in seven got a raise this year (a second, dated
base). Payments cover the twelve months before this one: most members pay each month in that
month, some a quarter at a time (two months of back-pay), a few stopped a few months ago
(arrears), a few paid a batch of old months late (back-pay beyond the limit), and at least one
member has paid nothing for the last six months — the list the branch must look at (nobody's
status changes). Generated from the seed, never a canned answer.
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from dangjian.core import bulk
from dangjian.members.models import Member

from . import rates
from .models import DuesBase, Payment, month_key, month_number

SLICE = 20_000
BASE_COLUMNS = ("member_id", "base", "category", "effective_from", "start", "end")
PAYMENT_COLUMNS = ("member_id", "month", "month_no", "amount", "credited", "due", "paid_on", "months_late", "to_centre")


def _salary(rng: random.Random, rank: int | None) -> Decimal:
    level = (rank or 20) // 10
    return Decimal(2600 + 950 * level + rng.randint(0, 90000) / 100).quantize(Decimal("0.01"))


def build(today: dt.date, seed: int = 7) -> dict:
    rng = random.Random(seed * 31 + 13)
    versions = rates.versions()
    this = month_number(today.year * 100 + today.month)
    first = this - 12  # the year of payments: the twelve months before this one
    since = dt.date(today.year - 1, 1, 1)
    since_no = month_number(since.year * 100 + 1)
    counts = {"bases": 0, "payments": 0, "backpay": 0, "beyond_limit": 0, "arrears_members": 0, "lapsing": 0}
    rules_of = {n: rates.in_force(dt.date(month_key(n) // 100, month_key(n) % 100, 1), versions)
                for n in range(since_no, this + 1)}
    limit = rates.in_force(today, versions).backpay_max_months
    lapsing_left = 1 + rng.randint(0, 2)
    late_left = 2  # at least two members paid eight old months at once
    last_pk = 0
    while True:
        chunk = list(Member.objects.filter(status=Member.Status.ACTIVE, pk__gt=last_pk).order_by("pk")
                     .values_list("pk", "rank", "is_exempt")[:SLICE])
        if not chunk:
            break
        last_pk = chunk[-1][0]
        bases, payments = [], []
        for pk, rank, exempt in chunk:
            r = rng.random()
            if exempt or r < 0.04:
                category, base = "retired", Decimal(3200 + rng.randint(0, 600000) / 100).quantize(Decimal("0.01"))
            elif r < 0.043:
                category, base = "student", Decimal("0.00")
            elif r < 0.045:
                category, base = "unemployed", Decimal("0.00")
            elif r < 0.046:
                category, base = "on_relief", Decimal("0.00")
            else:
                category, base = "employed", _salary(rng, rank)
            rows = [(base, category, since_no)]
            if category == "employed" and rng.random() < 0.15:
                raised_from = month_number(today.year * 100 + rng.randint(1, max(1, today.month)))
                if raised_from > since_no:
                    rows.append(((base * Decimal("1.06")).quantize(Decimal("0.01")), category, raised_from))
            for i, (b, c, start) in enumerate(rows):
                end = rows[i + 1][2] - 1 if i + 1 < len(rows) else None
                y, m = divmod(start, 12)
                bases.append((pk, b, c, dt.date(y, m + 1, 1), start, end))
            counts["bases"] += len(rows)

            def due_of(n, rows=rows):
                b, c, _ = next(x for x in reversed(rows) if x[2] <= n)
                return rates.compute(rules_of[n], b, c)[1]

            profile = rng.random()
            if lapsing_left and category == "employed" and profile < 0.05:
                stop = this - 6  # nothing paid for the last six complete months
                lapsing_left -= 1
                counts["lapsing"] += 1
            elif profile < 0.06:
                stop = this - rng.randint(1, 4)
                counts["arrears_members"] += 1
            else:
                stop = this
            batch_late = stop == this and (profile > 0.99 or (late_left > 0 and profile > 0.9))
            late_left -= batch_late
            quarterly = 0.90 < profile <= 0.97
            for n in range(first, stop):
                key = month_key(n)
                if batch_late and n < first + 8:
                    paid_no = first + 8  # eight months paid together: back-pay beyond the limit
                elif quarterly:
                    paid_no = min(n - n % 3 + 2, this - 1)  # at the quarter's end, or last month
                else:
                    paid_no = n
                y, m = divmod(paid_no, 12)
                paid_on = min(dt.date(y, m + 1, rng.randint(3, 25)), today)
                due = due_of(n)
                late = max(paid_no - n, 0)
                payments.append((pk, key, n, due, due, due, paid_on, late, False))
                counts["backpay"] += late > 0
                counts["beyond_limit"] += late > limit
        bulk.copy_rows(DuesBase, BASE_COLUMNS, bases)
        bulk.copy_rows(Payment, PAYMENT_COLUMNS, payments)
        counts["payments"] += len(payments)
    return counts

"""Dues over 100,000 members: the collection figures of the whole tree for one month and for a
year (`dues.collection.by_org`: one grouped query per rule version plus one for the payments),
and the per-member stream of `dangjian dues` (`collection.member_rows`), beside the same
figures from hand-written SQL in the same run, which must agree to the cent.

The tree is a small demo city; 100,000 members are then added to its branches with bulk
inserts, and the dues demo gives each a base and a year of payments."""
import json
import subprocess
import sys

from common import DANGJIAN, run, scratch_env, table

MEMBERS = 100_000

PROBE = r"""
import datetime as dt, json, statistics, time, django
django.setup()
from decimal import Decimal
from django.db import connection, transaction
from dangjian.core import bulk
from dangjian.dues import collection, demo, rates
from dangjian.dues.models import Payment, month_number
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

N = %(members)d
TODAY = dt.date(2026, 11, 15)
branches = list(Organization.objects.filter(kind="branch").values_list("pk", "top_org_id"))
with transaction.atomic():
    ids = bulk.reserve_ids(Member, N)
    rows = ((pk, f"党员{pk}", f"dangyuan{pk}", "dy", "male", "汉族", dt.date(1980, 1, 1), "-", f"bench{pk}",
             "110101********0011", "bachelor", "13800000000", branches[i %% len(branches)][0], "full",
             dt.date(2005, 7, 1), dt.date(2006, 7, 1), "测试局", "科员", 10 + (i %% 12) * 10, i %% 50 == 0,
             False, False, branches[i %% len(branches)][1]) for i, pk in enumerate(ids))
    bulk.copy_rows(Member, ("id", "name", "name_pinyin", "name_initials", "gender", "ethnicity", "birth_date",
                            "id_number_enc", "id_hash", "id_mask", "education", "phone", "org_id", "category",
                            "joined_on", "confirmed_on", "workplace", "post", "rank", "is_exempt", "is_leader",
                            "is_mobile", "top_org_id"), rows)
from dangjian.dues.models import DuesBase
DuesBase.objects.all().delete(); Payment.objects.all().delete()
t = time.perf_counter()
with transaction.atomic():
    made = demo.build(TODAY, 3)
out = {"members": Member.objects.filter(status="active").count(), "payments": made["payments"],
       "demo_s": time.perf_counter() - t}
root = Organization.objects.filter(parent__isnull=True).order_by("path").first()

def timed(fn, n=3):
    times, result = [], None
    for _ in range(n):
        t = time.perf_counter(); result = fn(); times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, result

rules = rates.in_force(TODAY)

def case_sql():
    parts = []
    for cat, bands in (("employed", rules.employed), ("retired", rules.retired)):
        for b in bands:
            cond = f"b.category = '{cat}'" + (f" AND b.base <= {b.up_to}" if b.up_to is not None else "")
            parts.append(f"WHEN {cond} THEN FLOOR((ROUND(b.base * 100) * {int(b.rate * 10000)} + 5000) / 10000.0)")
    for k, v in rules.fixed.items():
        parts.append(f"WHEN b.category = '{k}' THEN {int(v * 100)}")
    return "CASE " + " ".join(parts) + " ELSE 0 END"

def raw(first, last):
    lo, hi = month_number(first), month_number(last)
    due_sql = (f"SELECT SUM(({case_sql()}) * (MIN(COALESCE(b.\"end\", {hi}), {hi}) - MAX(b.start, {lo}) + 1)) "
               "FROM dues_duesbase b JOIN members_member m ON m.id = b.member_id "
               f"WHERE m.status = 'active' AND b.start <= {hi} AND (b.\"end\" IS NULL OR b.\"end\" >= {lo})")
    pay_sql = ("SELECT SUM(p.amount), SUM(p.credited) FROM dues_payment p JOIN members_member m ON m.id = p.member_id "
               f"WHERE m.status = 'active' AND p.month_no BETWEEN {lo} AND {hi}")
    with connection.cursor() as cur:
        cur.execute(due_sql); due = cur.fetchone()[0]
        cur.execute(pay_sql); paid, settled = cur.fetchone()
    return collection.cents_of(due), Decimal(str(paid)).quantize(Decimal("0.01")), \
        Decimal(str(settled)).quantize(Decimal("0.01"))

for label, first, last in (("month", 202610, 202610), ("year", 202511, 202610)):
    ms, f = timed(lambda: collection.total(root.path, first, last))
    base_ms, (due, paid, settled) = timed(lambda: raw(first, last))
    assert (f.due, f.paid, f.settled) == (due, paid, settled), (label, f, due, paid, settled)
    stream_ms, n = timed(lambda: sum(1 for _ in collection.member_rows(Member.objects.filter(status="active"),
                                                                       first, last)), 1)
    out[label] = {"ms": ms, "baseline_ms": base_ms, "stream_ms": stream_ms, "rows": n,
                  "rate": str(f.rate), "due": str(f.due)}
print(json.dumps(out))
"""


def main() -> None:
    env = scratch_env("dues")
    run([DANGJIAN, "migrate", "-v0"], env)
    run([DANGJIAN, "demo", "--members", "2000", "--today", "2026-11-15"], env)
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    res = subprocess.run([sys.executable, "-c", PROBE % {"members": MEMBERS}], env=env, capture_output=True, text=True)
    if res.returncode:
        print(res.stderr[-3000:])
        raise SystemExit(res.returncode)
    data = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"{data['members']:,} members, {data['payments']:,} payments written by the dues demo in {data['demo_s']:.1f} s")
    rows = [("period", "figures ms (ORM, set-based)", "baseline ms (hand-written SQL)", "ratio",
             "per-member stream ms", "rows", "collection rate")]
    for label in ("month", "year"):
        d = data[label]
        rows.append((label, f"{d['ms']:.0f}", f"{d['baseline_ms']:.0f}", f"{d['ms'] / d['baseline_ms']:.2f}×",
                     f"{d['stream_ms']:.0f}", f"{d['rows']:,}", d["rate"]))
    table(rows)


if __name__ == "__main__":
    main()

"""Dues over 100,000 members: the collection figures of the whole tree for one month and for a
year (`dues.collection.by_org`: two grouped queries per rule version and two for the payments,
each month counted in the organization the member belonged to on its first day), and the
per-member stream of `dangjian dues` (`collection.member_rows`), beside the same figures of
every organization from hand-written SQL in the same run, which must agree to the cent.

The tree is a small demo city; 100,000 members are then added to its branches with bulk
inserts, each with a membership row, one in twenty transferred from another branch within the
year (on the 1st or the 15th of a month), and the dues demo gives each a base and a year of
payments.

Database: a scratch SQLite file always; also DANGJIAN_BENCH_DATABASE_URL if set, a scratch
PostgreSQL or MariaDB database, dropped and created first (e.g.
postgres://postgres@127.0.0.1:5432/dj_bench_dues). DANGJIAN_BENCH_DUES_MEMBERS changes the number
of members added (default 100,000)."""
import json
import os
import shutil
import subprocess
import sys

from common import DANGJIAN, fresh_database, run, scratch_env, table

MEMBERS = int(os.environ.get("DANGJIAN_BENCH_DUES_MEMBERS", "100000"))

PROBE = r"""
import datetime as dt, json, statistics, time, django
django.setup()
from decimal import Decimal
from django.db import connection, transaction
from dangjian.core import bulk
from dangjian.dues import collection, demo, rates
from dangjian.dues.models import Payment, month_number
from dangjian.members.models import Member, Membership
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
    # One open row each; one in twenty came from the next branch within the year, on the 1st or
    # the 15th of a month (a transfer on the 1st gives that month to the receiving branch).
    def memberships():
        for i, pk in enumerate(ids):
            org, top = branches[i %% len(branches)]
            since = dt.date(2005, 7, 1)
            if i %% 20 == 1:
                other, other_top = branches[(i + 1) %% len(branches)]
                moved = dt.date(2026, 1 + i %% 10, 1 if i %% 40 == 1 else 15)
                yield (pk, other, since, moved, "组织关系转接", other_top)
                since = moved
            yield (pk, org, since, None, "新增", top)
    bulk.copy_rows(Membership, ("member_id", "org_id", "started_on", "ended_on", "reason", "top_org_id"),
                   memberships())
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

VENDOR = connection.vendor
LEAST, GREATEST = ("MIN", "MAX") if VENDOR == "sqlite" else ("LEAST", "GREATEST")
END = connection.ops.quote_name("end")

STRFTIME = {"YEAR": "%%Y", "MONTH": "%%m", "DAY": "%%d"}

def part(what, column):
    if VENDOR == "sqlite":
        return f"CAST(strftime('{STRFTIME[what]}', {column}) AS INTEGER)"
    return f"EXTRACT({what} FROM {column})"

# The first month (number) whose first day is on or after the date in `column`.
def months_from(column):
    return (f"({part('YEAR', column)} * 12 + {part('MONTH', column)} - 1 + "
            f"{LEAST}({part('DAY', column)} - 1, 1))")

# The last month (number) whose first day is before the date in `column` (null: still open).
def months_to(column):
    return (f"COALESCE({part('YEAR', column)} * 12 + {part('MONTH', column)} - 2 + "
            f"{LEAST}({part('DAY', column)} - 1, 1), 10000000)")

# A membership row moves its months from the present organization to its own: a member on the
# roll counts in the present organization first; a row of another organization (or any row of
# a member who left the roll) then takes the months it covers.
MOVED = ("r.org_id IS NOT NULL AND NOT (r.org_id = m.org_id AND m.status = 'active') "
         "AND m.status IN ('active', 'transferred_out', 'deceased', 'removed')")

# {org id: (due, paid, settled)} of every organization over the months, by hand.
def raw(first, last):
    lo, hi = month_number(first), month_number(last)
    span = f"({LEAST}(COALESCE(b.{END}, {hi}), {hi}) - {GREATEST}(b.start, {lo}) + 1)"
    moved_span = (f"({LEAST}(COALESCE(b.{END}, {hi}), {hi}, {months_to('r.ended_on')}) - "
                  f"{GREATEST}(b.start, {lo}, {months_from('r.started_on')}) + 1)")
    bases = f"b.start <= {hi} AND (b.{END} IS NULL OR b.{END} >= {lo})"
    queries = [
        (f"SELECT m.org_id, NULL, SUM(({case_sql()}) * {span}), 0, 0 FROM dues_duesbase b "
         f"JOIN members_member m ON m.id = b.member_id WHERE m.status = 'active' AND {bases} GROUP BY m.org_id"),
        (f"SELECT r.org_id, m.org_id, SUM(({case_sql()}) * {moved_span}), 0, 0, m.status FROM dues_duesbase b "
         "JOIN members_member m ON m.id = b.member_id JOIN members_membership r ON r.member_id = m.id "
         f"WHERE {MOVED} AND {bases} AND {moved_span} > 0 GROUP BY r.org_id, m.org_id, m.status"),
        ("SELECT m.org_id, NULL, 0, SUM(p.amount), SUM(p.credited) FROM dues_payment p "
         f"JOIN members_member m ON m.id = p.member_id WHERE m.status = 'active' AND p.month_no BETWEEN {lo} AND {hi} "
         "GROUP BY m.org_id"),
        ("SELECT r.org_id, m.org_id, 0, SUM(p.amount), SUM(p.credited), m.status FROM dues_payment p "
         "JOIN members_member m ON m.id = p.member_id JOIN members_membership r ON r.member_id = m.id "
         f"WHERE {MOVED} AND p.month_no BETWEEN {lo} AND {hi} "
         f"AND p.month_no BETWEEN {months_from('r.started_on')} AND {months_to('r.ended_on')} "
         "GROUP BY r.org_id, m.org_id, m.status"),
    ]
    figs = {}
    def add(org, due, paid, settled, sign):
        f = figs.setdefault(org, [Decimal(0), Decimal(0), Decimal(0)])
        f[0] += sign * collection.cents_of(due)
        f[1] += sign * Decimal(str(paid or 0)).quantize(Decimal("0.01"))
        f[2] += sign * Decimal(str(settled or 0)).quantize(Decimal("0.01"))
    with connection.cursor() as cur:
        for sql in queries:
            cur.execute(sql)
            for org, present, due, paid, settled, *status in cur.fetchall():
                add(org, due, paid, settled, 1)
                if present is not None and status[0] == "active":
                    add(present, due, paid, settled, -1)
    return {org: tuple(f) for org, f in figs.items() if any(f)}

for label, first, last in (("month", 202610, 202610), ("year", 202511, 202610)):
    ms, per_org = timed(lambda: collection.by_org(root.path, first, last))
    base_ms, by_hand = timed(lambda: raw(first, last))
    assert {pk: (f.due, f.paid, f.settled) for pk, f in per_org.items()} == by_hand, label
    f = collection.Figures()
    for x in per_org.values():
        f.add(x)
    moved = sum(1 for pk, (due, _, _) in by_hand.items() if due)
    stream_ms, n = timed(lambda: sum(1 for _ in collection.member_rows(Member.objects.filter(status="active"),
                                                                       first, last)), 1)
    out[label] = {"ms": ms, "baseline_ms": base_ms, "stream_ms": stream_ms, "rows": n,
                  "rate": str(f.rate), "due": str(f.due), "orgs": moved}
print(json.dumps(out))
"""


def measure(env: dict) -> tuple[dict, list[tuple]]:
    if not env["DANGJIAN_DATABASE_URL"].startswith("sqlite"):
        fresh_database(env["DANGJIAN_DATABASE_URL"])
    run([DANGJIAN, "migrate", "-v0"], env)
    run([DANGJIAN, "demo", "--members", "2000", "--today", "2026-11-15"], env)
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    res = subprocess.run([sys.executable, "-c", PROBE % {"members": MEMBERS}], env=env, capture_output=True, text=True)
    if res.returncode:
        print(res.stderr[-3000:])
        raise SystemExit(res.returncode)
    data = json.loads(res.stdout.strip().splitlines()[-1])
    db = env["DANGJIAN_DATABASE_URL"].split(":", 1)[0]
    rows = []
    for label in ("month", "year"):
        d = data[label]
        rows.append((db, label, f"{d['ms']:.0f}", f"{d['baseline_ms']:.0f}", f"{d['ms'] / d['baseline_ms']:.2f}×",
                     f"{d['stream_ms']:.0f}", f"{d['rows']:,}", d["orgs"], d["rate"]))
    return data, rows


def main() -> None:
    envs = [scratch_env("dues")]
    url = os.environ.get("DANGJIAN_BENCH_DATABASE_URL")
    if url:
        envs.append(dict(scratch_env("dues"), DANGJIAN_DATABASE_URL=url))
    rows = [("db", "period", "figures ms (ORM, set-based)", "baseline ms (hand-written SQL)", "ratio",
             "per-member stream ms", "rows", "orgs with dues", "collection rate")]
    try:
        for env in envs:
            data, got = measure(env)
            print(f"{env['DANGJIAN_DATABASE_URL'].split(':', 1)[0]}: {data['members']:,} members, "
                  f"{data['payments']:,} payments written by the dues demo in {data['demo_s']:.1f} s", flush=True)
            rows += got
    finally:
        for env in envs:
            shutil.rmtree(env["DANGJIAN_VAR_DIR"], ignore_errors=True)
    table(rows)


if __name__ == "__main__":
    main()

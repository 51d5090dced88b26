"""Rectification items at scale: the item list page and the unit board with 1,000 and with
100,000 items over 30 units of 10 branches — the query count must not grow, the page time is
shown — and the board's figures for the whole tree in one pass, checked equal to and timed
beside a hand-written SQL query in the same run."""
import json
import subprocess
import sys

from common import DANGJIAN, ROOT, run, scratch_env, table

PROBE = r"""
import datetime as dt, json, random, statistics, sys, time, django
sys.path.insert(0, %(root)r)
django.setup()
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from dangjian.rectification import queries
from dangjian.rectification.models import Item
from tests import factories

rng = random.Random(7)
today = timezone.localdate()
wc = factories.org(kind="working_committee", name="示例市直机关工委", code="WC")
units = [factories.org(wc, kind="organ_committee", code=f"U{u:02d}") for u in range(30)]
branches = [factories.org(u, kind="branch", code=f"U{i:02d}B{b:02d}") for i, u in enumerate(units) for b in range(10)]
admin = factories.user("wc_admin", wc, username="benchadmin")
c = Client()
c.force_login(admin)
STATUSES = ["pending", "rectifying", "closing", "closed", "closed", "closed", "referred"]


def grow(n):
    rows = []
    for _ in range(n):
        opened = today - dt.timedelta(days=rng.randint(0, 720))
        deadline = opened + dt.timedelta(days=rng.randint(5, 120))
        status = rng.choice(STATUSES)
        closed = (deadline + dt.timedelta(days=rng.randint(-30, 30))) if status == "closed" else None
        org = rng.choice(branches)
        rows.append(Item(list=rng.choice(["problem", "task", "suggestion"]), source="manual", title="党课记录不全",
                         org=org, issuer=wc, opened_on=opened, deadline=deadline, status=status,
                         closed_on=max(closed, opened) if closed else None, returned_count=rng.choice([0, 0, 0, 1])))
    with transaction.atomic():
        Item.objects.bulk_create(rows, batch_size=5000)


def page(url):
    c.get(url)
    times = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter(); r = c.get(url); times.append(time.perf_counter() - t)
        assert r.status_code == 200, (url, r.status_code)
    return {"queries": len(ctx), "ms": statistics.median(times) * 1000}


SQL = ("SELECT o.top_org_id, COUNT(*), "
       "SUM(CASE WHEN i.status IN ('pending','rectifying','closing') THEN 1 ELSE 0 END), "
       "SUM(CASE WHEN i.status IN ('pending','rectifying','closing') AND i.deadline < %%s THEN 1 ELSE 0 END), "
       "SUM(CASE WHEN i.status = 'closed' THEN 1 ELSE 0 END), "
       "SUM(CASE WHEN i.status = 'closed' AND i.closed_on <= i.deadline THEN 1 ELSE 0 END), "
       "SUM(CASE WHEN i.returned_count > 0 THEN 1 ELSE 0 END) "
       "FROM rectification_item i JOIN orgs_organization o ON o.id = i.org_id "
       "WHERE i.status <> 'referred' GROUP BY o.top_org_id")


def figures():
    times, got = [], None
    for _ in range(5):
        t = time.perf_counter(); got = queries.by_unit(Item.objects.all(), today); times.append(time.perf_counter() - t)
    base_times, base = [], None
    for _ in range(5):
        with connection.cursor() as cur:
            t = time.perf_counter(); cur.execute(SQL, [today]); base = cur.fetchall(); base_times.append(time.perf_counter() - t)
    mine = {r["org_id"]: (r["total"], r["open"], r["overdue"], r["closed"], r["on_time"], r["returned"]) for r in got}
    theirs = {row[0]: tuple(int(v) for v in row[1:]) for row in base}
    assert mine == theirs, "board figures differ from the SQL baseline"
    return {"ms": statistics.median(times) * 1000, "baseline_ms": statistics.median(base_times) * 1000}


out = {}
for size in (1000, 100000):
    grow(size - Item.objects.count())
    out[size] = {"list": page("/items/?status=open"), "search": page("/items/?q=%%E5%%85%%9A&page=20"),
                 "board": page("/items/board/"), "figures": figures()}
print(json.dumps(out))
"""


def main() -> None:
    env = scratch_env("items")
    run([DANGJIAN, "migrate", "-v0"], env)
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    res = subprocess.run([sys.executable, "-c", PROBE % {"root": str(ROOT)}], env=env, capture_output=True, text=True)
    if res.returncode:
        print(res.stderr[-3000:])
        raise SystemExit(res.returncode)
    data = json.loads(res.stdout.strip().splitlines()[-1])
    rows = [("page", "items", "queries", "median ms")]
    for size, d in data.items():
        for label in ("list", "search", "board"):
            rows.append((label, size, d[label]["queries"], f"{d[label]['ms']:.1f}"))
    table(rows)
    print()
    rows = [("board figures, whole tree", "items", "median ms", "hand-written SQL ms", "ratio")]
    for size, d in data.items():
        f = d["figures"]
        rows.append(("queries.by_unit", size, f"{f['ms']:.1f}", f"{f['baseline_ms']:.1f}",
                     f"{f['ms'] / f['baseline_ms']:.2f}×"))
    table(rows)
    small, big = data["1000"], data["100000"]
    for label in ("list", "search", "board"):
        if small[label]["queries"] != big[label]["queries"]:
            print(f"{label}: query count grew from {small[label]['queries']} to {big[label]['queries']}")
            raise SystemExit(1)


if __name__ == "__main__":
    main()

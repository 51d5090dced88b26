"""Demo build (`dangjian demo`): wall time and peak memory of the whole build (the city drawn
and written one department at a time, then compliance, assessment, ratings, reviews and duties
on it) on a scratch PostgreSQL database at 10,000 and 100,000 members (and more on demand),
and at the city size on SQLite. Beside each, two baselines taken in the same run:
- drawing the same city without a database (the plan only);
- on PostgreSQL, a bare COPY of exactly the rows the build wrote (its tables copied out to files,
  then into empty copies of those tables): what writing the data costs at the least.

Sizes: DANGJIAN_BENCH_DEMO_SIZES (default 10000,100000; the province: 10000,100000,1000000).
The day the city is built as of: DANGJIAN_BENCH_DEMO_TODAY (default 2026-06-30: half a year of records).
Keys: the PostgreSQL cities are encrypted with DANGJIAN_KEY_DIR when it is set (the province profile
sets one for all its benchmarks), so the last city built can be read by the next benchmark.
Database: DANGJIAN_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/dj_demo_bench),
dropped and created again for each size: use a scratch database only."""
import json
import os
import subprocess
import sys
import tempfile
import time

from common import DANGJIAN, fresh_database, run, scratch_env, table

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dj_demo_bench"
TODAY = os.environ.get("DANGJIAN_BENCH_DEMO_TODAY", "2026-06-30")
CITY = 10_000  # the SQLite size: the default city
# The tables that grow with members, in the order the baseline copies them.
TABLES = ("orgs_organization", "members_member", "members_membership", "orgs_term", "orgs_committeeseat",
          "core_auditentry", "activities_activity", "activities_activitykind", "activities_attendance",
          "activities_compliancerow")

PLAN_ONLY = r"""
import datetime as dt, json, resource, sys, time, django
django.setup()
from dangjian.demo import generator
t = time.perf_counter()
planner = generator.stream_city(members=int(sys.argv[1]), seed=2026, today=dt.date.fromisoformat(sys.argv[2]))
orgs = members = 0
for dept in planner.departments():
    orgs += len(dept.orgs)
    members += len(dept.members)
print(json.dumps({"seconds": time.perf_counter() - t, "orgs": orgs,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

COPY_ONLY = r"""
import json, sys, tempfile, time, psycopg
url, tables = sys.argv[1], sys.argv[2].split(",")
rows = 0
seconds = 0.0
with psycopg.connect(url, autocommit=True) as conn, tempfile.TemporaryDirectory() as tmp:
    for t in tables:
        path = f"{tmp}/{t}.copy"
        with open(path, "wb") as f, conn.cursor().copy(f"COPY {t} TO STDOUT") as out:
            for block in out:
                f.write(block)
        conn.execute(f"DROP TABLE IF EXISTS bench_{t}")
        conn.execute(f"CREATE UNLOGGED TABLE bench_{t} (LIKE {t} INCLUDING DEFAULTS)")
        start = time.perf_counter()
        with open(path, "rb") as f, conn.cursor().copy(f"COPY bench_{t} FROM STDIN") as into:
            while block := f.read(1 << 20):
                into.write(block)
        seconds += time.perf_counter() - start
        rows += conn.execute(f"SELECT count(*) FROM bench_{t}").fetchone()[0]
        conn.execute(f"DROP TABLE bench_{t}")
print(json.dumps({"seconds": seconds, "rows": rows}))
"""


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def timed(args: list[str], env: dict) -> tuple[float, float]:
    """Seconds and peak MB (the child's own maximum resident set, from GNU time) of a command."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        t = time.perf_counter()
        run(["/usr/bin/time", "-f", "%M", "-o", out.name, *args], env)
        seconds = time.perf_counter() - t
        peak_kb = int(out.read().strip().splitlines()[-1])
    return seconds, peak_kb / 1024


def plan_only(members: int, env: dict) -> dict:
    env = dict(env, DJANGO_SETTINGS_MODULE="dangjian.settings")
    res = subprocess.run([sys.executable, "-c", PLAN_ONLY, str(members), TODAY], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def build_postgres(members: int, url: str) -> dict:
    fresh_database(url)
    env = scratch_env(f"demo-pg{members}")
    env["DANGJIAN_DATABASE_URL"] = url
    env["DANGJIAN_KEY_DIR"] = os.environ.get("DANGJIAN_KEY_DIR") or env["DANGJIAN_KEY_DIR"]
    run([DANGJIAN, "migrate", "-v0"], env)
    before = load()
    seconds, peak = timed([DANGJIAN, "demo", "--members", str(members), "--today", TODAY, "-v0"], env)
    res = subprocess.run([sys.executable, "-c", COPY_ONLY, url, ",".join(TABLES)], capture_output=True, text=True,
                         check=True)
    copy = json.loads(res.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "peak_mb": peak, "copy_seconds": copy["seconds"], "rows": copy["rows"],
            "plan": plan_only(members, env), "load": f"{before} → {load()}"}


def build_sqlite(members: int) -> dict:
    env = scratch_env(f"demo{members}")
    run([DANGJIAN, "migrate", "-v0"], env)
    before = load()
    seconds, peak = timed([DANGJIAN, "demo", "--members", str(members), "--today", TODAY, "-v0"], env)
    return {"seconds": seconds, "peak_mb": peak, "copy_seconds": None, "rows": None,
            "plan": plan_only(members, env), "load": f"{before} → {load()}"}


def main() -> None:
    sizes = [int(s) for s in os.environ.get("DANGJIAN_BENCH_DEMO_SIZES", "10000,100000").split(",") if s.strip()]
    url = os.environ.get("DANGJIAN_BENCH_DATABASE_URL", DEFAULT_URL)
    results = [("SQLite", CITY, build_sqlite(CITY))]
    results += [("PostgreSQL", n, build_postgres(n, url)) for n in sizes]
    rows = [("database", "members", "orgs", "rows written", "build s", "peak MB", "plan-only s (peak MB)",
             "build / plan", "bare COPY of its rows s", "build / COPY", "s per 1k members", "load 1/5/15 min")]
    for db, n, r in results:
        plan = r["plan"]
        copy = r["copy_seconds"]
        rows.append((db, f"{n:,}", f"{plan['orgs']:,}", f"{r['rows']:,}" if r["rows"] else "—",
                     f"{r['seconds']:.1f}", f"{r['peak_mb']:.0f}", f"{plan['seconds']:.1f} ({plan['peak_mb']:.0f})",
                     f"{r['seconds'] / plan['seconds']:.1f}×", f"{copy:.1f}" if copy is not None else "—",
                     f"{r['seconds'] / copy:.0f}×" if copy else "—", f"{r['seconds'] / n * 1000:.2f}", r["load"]))
    table(rows)


if __name__ == "__main__":
    main()

"""Compliance written as a difference, and the list commands streamed, on demo cities of growing
size, beside the hand-written SQL baseline (count only) measured in the same run.

Data: PostgreSQL databases already built by `dangjian demo --members N` (10k, 100k; 1M on
demand), named in DANGJIAN_BENCH_SCALE_URLS, comma-separated, e.g.
  postgres://postgres@127.0.0.1:5432/dj_10k,postgres://postgres@127.0.0.1:5432/dj_100k
The bench writes stored compliance rows and an assessment run into them (nothing else).

Each step runs in a process of its own, so its peak RSS (os.wait4) is its own:
- SQL baseline: the count-only statement of bench_compliance (each org × rule × period of the
  year judged in SQL, rows fetched), the least a hand-written report does;
- compute: `compliance.compute` of the year for the whole tree (a list of verdicts);
- store all new: stored rows of the year removed (not timed), then `compliance.refresh`
  (computed a chunk of orgs at a time, streamed into the difference write);
- store unchanged: `compliance.refresh` again: every row compared, none written;
- per save: one record's background refresh (`mark_days` for its org and day, `refresh_stale`);
- `dangjian compliance --period YEAR --format json|csv` to /dev/null (recompute, store, print);
- printed whole (the old way, a memory baseline): the verdicts' JSON built as one string;
- `dangjian assess --scheme … --period YEAR --replace --format json` to /dev/null.
"""
import json
import os
import subprocess
import sys
import time

from common import DANGJIAN, table

YEAR = 2026
ASSESS_TODAY = f"{YEAR + 1}-01-05"


def step(name: str) -> dict:
    import datetime as dt

    import django

    django.setup()
    from django.db import connection, transaction

    from dangjian.activities import compliance
    from dangjian.activities.models import Activity, ComplianceRow
    from dangjian.core.cli import to_json

    start, end = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
    out: dict = {}
    t = time.perf_counter()
    if name == "baseline":
        sys.path.insert(0, os.path.dirname(__file__))
        from bench_compliance import _baseline_query

        sql, params = _baseline_query(connection, dt.date.today())
        with connection.cursor() as cur:
            cur.execute(sql, params)
            out["rows"] = len(cur.fetchall())
    elif name == "compute":
        out["rows"] = len(compliance.compute(start, end))
    elif name == "store_new":
        ComplianceRow.objects.filter(period_start__lte=end, period_end__gte=start).delete()
        t = time.perf_counter()
        out.update(compliance.refresh(start, end))
    elif name == "store_same":
        out.update(compliance.refresh(start, end))
    elif name == "per_save":
        org_id, day = Activity.objects.filter(held_on__year=YEAR).order_by("-id").values_list("org_id", "held_on")[0]
        with transaction.atomic():
            compliance.mark_days([(org_id, day)])
        t = time.perf_counter()
        out.update(compliance.refresh_stale())
    elif name == "whole_json":
        text = to_json([v.as_json() for v in compliance.compute(start, end)])
        out["bytes"] = len(text.encode())
    out["s"] = time.perf_counter() - t
    return out


def in_process(name: str, env: dict) -> dict:
    p = subprocess.Popen([sys.executable, __file__, "--step", name], env=env, stdout=subprocess.PIPE, text=True)
    text = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if status:
        raise SystemExit(f"step {name} failed")
    return dict(json.loads(text.strip().splitlines()[-1]), rss_mb=usage.ru_maxrss / 1024)


def command(args: list[str], env: dict) -> dict:
    """A `dangjian` command with its output to a counted sink: wall time, peak RSS, bytes."""
    t = time.perf_counter()
    p = subprocess.Popen([DANGJIAN, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    size = 0
    while chunk := p.stdout.read(1 << 16):
        size += len(chunk)
    _, status, usage = os.wait4(p.pid, 0)
    if status:
        raise SystemExit(f"dangjian {' '.join(args)} failed ({status})")
    return {"s": time.perf_counter() - t, "rss_mb": usage.ru_maxrss / 1024, "bytes": size}


def figures(url: str) -> dict:
    env = dict(os.environ, DANGJIAN_DATABASE_URL=url, DJANGO_SETTINGS_MODULE="dangjian.settings",
               DANGJIAN_JOBS_MODE="sync")
    size = subprocess.run([sys.executable, __file__, "--size"], env=env, capture_output=True, text=True, check=True)
    d = json.loads(size.stdout.strip().splitlines()[-1])
    d["load_before"] = os.getloadavg()[0]
    for name in ("baseline", "compute", "store_new", "store_same", "per_save", "whole_json"):
        d[name] = in_process(name, env)
    d["json"] = command(["compliance", "--period", str(YEAR), "--format", "json"], env)
    d["csv"] = command(["compliance", "--period", str(YEAR), "--format", "csv"], env)
    d["assess"] = command(["assess", "--scheme", d["scheme"], "--period", str(YEAR), "--replace", "--format", "json",
                           "--today", ASSESS_TODAY], env)
    d["load_after"] = os.getloadavg()[0]
    return d


def sizes() -> dict:
    import django

    django.setup()
    from dangjian.activities.models import Activity
    from dangjian.assessment.models import Scheme
    from dangjian.members.models import Member
    from dangjian.orgs.models import Organization

    return {"members": Member.objects.count(), "orgs": Organization.objects.count(),
            "records": Activity.objects.filter(held_on__year=YEAR).count(),
            "scheme": Scheme.objects.filter(year=YEAR).order_by("id").values_list("code", flat=True).first()}


def main() -> None:
    if sys.argv[1:2] == ["--step"]:
        print(json.dumps(step(sys.argv[2])))
        return
    if sys.argv[1:2] == ["--size"]:
        print(json.dumps(sizes()))
        return
    urls = [u for u in os.environ.get("DANGJIAN_BENCH_SCALE_URLS", "").split(",") if u.strip()]
    if not urls:
        print("DANGJIAN_BENCH_SCALE_URLS is not set: name PostgreSQL databases built by `dangjian demo --members N`")
        return
    data = [figures(u) for u in urls]
    head = ("members", "orgs", "records")
    rows = [(*head, "step", "s", "× SQL baseline", "peak RSS MB", "rows written / bytes")]
    for d in data:
        base = d["baseline"]["s"]
        steps = [
            ("SQL baseline (count only)", d["baseline"], f"{d['baseline']['rows']} rows"),
            ("compute (list)", d["compute"], f"{d['compute']['rows']} verdicts"),
            ("store all new", d["store_new"], f"{d['store_new']['inserted']} inserted"),
            ("store unchanged", d["store_same"],
             f"{d['store_same']['inserted'] + d['store_same']['updated'] + d['store_same']['deleted']} written"
             f" of {d['store_same']['rows']}"),
            ("per save (background)", d["per_save"],
             f"{d['per_save']['inserted'] + d['per_save']['updated'] + d['per_save']['deleted']} written"
             f" of {d['per_save']['rows']}"),
            ("JSON built whole (old way)", d["whole_json"], f"{d['whole_json']['bytes'] / 1e6:.1f} MB"),
            ("`compliance --format json`", d["json"], f"{d['json']['bytes'] / 1e6:.1f} MB"),
            ("`compliance --format csv`", d["csv"], f"{d['csv']['bytes'] / 1e6:.1f} MB"),
            ("`assess --format json`", d["assess"], f"{d['assess']['bytes'] / 1e6:.1f} MB"),
        ]
        for label, f, note in steps:
            rows.append((d["members"], d["orgs"], d["records"], label, f"{f['s']:.2f}", f"{f['s'] / base:.1f}×",
                         f"{f['rss_mb']:.0f}", note))
    table(rows)
    for d in data:
        print(f"{d['members']} members: load average {d['load_before']:.1f} before, {d['load_after']:.1f} after")


if __name__ == "__main__":
    main()

"""Formalism signals at growing sizes: the whole year computed, the copy index built, and what
one saved record costs in the background once the index is there — beside hand-written SQL over
the same fingerprints in the same run.

Data: the demo city (`dangjian demo --today 2026-12-20` on a flushed scratch database; members
from DANGJIAN_BENCH_FORMALISM_MEMBERS, default 10,000: a year of organizational life with
~15,000 records, ~13,000 of them with minutes). The larger sizes copy every record of the year
(factor − 1) more times, each copy's minutes passed through its own permutation of the Chinese
characters: every copy is a city of its own — its own stock sentences, its own planted copies —
sharing no passage with the others, as the cities of a province share none beyond the national
formulations. Sizes: DANGJIAN_BENCH_FORMALISM_SIZES, factors, default "1,10" (×10 of the demo
city is the records of ~100,000 members; the lead's province run passes MEMBERS=1000000 and
SIZES=1).

Measured per size, in one process per size, after ANALYZE:
- full: `formalism.compute` for the year (all four kinds; the reference the stored signals, and
  so `dangjian formalism`'s output, are checked against), and the year rebuilt (the copy index
  written from scratch, then compute and store), each once;
- the copy check's work: the documents, the cut-off (`common_limit`), the pairs the rare
  fingerprints propose (Σ df·(df−1)/2) and the candidates verified — per document, which must
  stay flat with the cap and grows with the size without it (the uncapped figure is counted in
  SQL from the index, never run);
- per save: SAVES records (DANGJIAN_BENCH_FORMALISM_SAVES, default 5) saved through the service
  with jobs inline, each repeating a paragraph of another record of the year, then one edited
  and one withdrawn; the formalism job's own seconds (per-org kinds + the index catch-up) from
  its result. The stored signals are then compared with a fresh computation: they must be equal;
- the page (`/activities/formalism/?year=2026`, summary and `list=1`) as the 工委 administrator:
  median of five, and its query count;
- baselines: a bare scan of the year's minutes (fetch every text: the least a full computation
  reads), and one hand-written SQL statement over the index — the pairs of records sharing at
  least MIN_SHARED fingerprints held by 2 … limit records, counted (count-only: it verifies
  nothing). Its count must equal the engine's candidates: the bench fails otherwise.

SQLite always (a scratch file); also DANGJIAN_BENCH_DATABASE_URL if set (a scratch PostgreSQL or
MariaDB database, flushed first). Load (os.getloadavg) is printed beside each size.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from common import DANGJIAN, run, scratch_env, table

YEAR = 2026
TODAY = "2026-12-20"
PAGE = f"/activities/formalism/?year={YEAR}"


# ---- inside the probe process (Django set up) -----------------------------------------------

def _grow(connection, have: int, want: int) -> None:
    """Copies k = have … want − 1 of the demo's records of the year (ids lo … hi); copy k of a
    record gets base + (k − 1) × span + (id − lo), above every id written so far, and its minutes
    through permutation k of the Chinese characters."""
    import random

    from dangjian.activities.models import Activity

    if want <= have:
        return
    year = Activity.objects.filter(held_on__year=YEAR, id__lt=_first_copy_id()).order_by("pk")
    fields = [f for f in Activity._meta.concrete_fields]
    names = [f.attname for f in fields]
    lo, hi = year.values_list("pk", flat=True).first(), year.values_list("pk", flat=True).last()
    span = hi - lo + 1
    base = _first_copy_id() + 100_000  # above the demo and the records the probes save
    alphabet = sorted({c for text in year.values_list("minutes", flat=True) for c in text if "\u4e00" <= c < "\ua000"})
    ops = connection.ops
    sql = (f"INSERT INTO {Activity._meta.db_table} ({', '.join(ops.quote_name(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    i_id, i_min = names.index("id"), names.index("minutes")
    for k in range(have, want):
        shuffled = alphabet[:]
        random.Random(k).shuffle(shuffled)
        cipher = str.maketrans(dict(zip(alphabet, shuffled)))
        batch = []
        with connection.cursor() as cur:
            for row in year.values_list(*names).iterator(chunk_size=2000):
                row = list(row)
                row[i_id] = base + (k - 1) * span + (row[i_id] - lo)
                row[i_min] = row[i_min].translate(cipher)
                batch.append([f.get_db_prep_value(v, connection) for f, v in zip(fields, row)])
                if len(batch) >= 2000:
                    cur.executemany(sql, batch)
                    batch = []
            if batch:
                cur.executemany(sql, batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{Activity._meta.db_table}', 'id'), "
                        f"(SELECT MAX(id) FROM {Activity._meta.db_table}))")


def _first_copy_id() -> int:
    """Above the demo's own ids: where the copies start (the demo's records are written first)."""
    return int(os.environ.get("BENCH_FORMALISM_COPY_FROM", "0")) or 2 ** 62


def _analyze(connection) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "mysql":
            cur.execute("ANALYZE TABLE activities_activity, activities_minutesfingerprint, "
                        "activities_minutesfingerprintcount")
        else:
            cur.execute("ANALYZE")


CANDIDATES = """
SELECT COUNT(*) FROM (
    SELECT a.activity_id, b.activity_id AS other
    FROM activities_minutesfingerprint a
    JOIN activities_minutesfingerprintcount c ON c.year = a.year AND c.hash = a.hash
    JOIN activities_minutesfingerprint b ON b.year = a.year AND b.hash = a.hash AND b.activity_id > a.activity_id
    WHERE a.year = %s AND c.docs BETWEEN 2 AND %s AND a.hash NOT IN ({background})
    GROUP BY a.activity_id, b.activity_id
    HAVING COUNT(*) >= %s
) pairs
"""
PROPOSED = ("SELECT COALESCE(SUM(docs * (docs - 1) / 2), 0) FROM activities_minutesfingerprintcount "
            "WHERE year = %s AND docs BETWEEN 2 AND %s AND hash NOT IN ({background})")
SCAN = ("SELECT id, minutes FROM activities_activity WHERE held_on BETWEEN %s AND %s AND status = 'active' "
        "AND minutes <> ''")


def probe(have: int, want: int, saves: int) -> dict:
    import datetime as dt
    import random

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dangjian.accounts.models import User
    from dangjian.activities import formalism, services
    from dangjian.activities.models import Activity, FormalismSignal, MinutesFingerprint
    from dangjian.core import similarity
    from dangjian.core.models import Job
    from dangjian.orgs.models import Organization

    start, end = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
    t0 = time.perf_counter()
    _grow(connection, have, want)
    grow_s = time.perf_counter() - t0
    _analyze(connection)
    t = formalism.Thresholds.from_defaults()

    began = time.perf_counter()
    formalism.rebuild_year(YEAR, t, formalism.stamp(YEAR, t))
    rebuild_s = time.perf_counter() - began
    _analyze(connection)

    client = Client()
    client.force_login(User.objects.get(username="admin"))
    formalism.refresh_year(YEAR)  # current: the page only reads
    page = {}
    for url in (PAGE, f"{PAGE}&list=1"):
        client.get(url)
        times = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as q:
                t1 = time.perf_counter()
                assert client.get(url).status_code == 200
                times.append(time.perf_counter() - t1)
        page[url.replace(PAGE, "") or "summary"] = (statistics.median(times), len(q))

    # Saves through the service, jobs inline: the formalism job's own seconds from its result.
    rng = random.Random(want)
    branches = list(Organization.objects.filter(kind="branch", status="active").order_by("path")
                    .values_list("pk", flat=True))
    sources = list(Activity.objects.filter(held_on__year=YEAR, status="active").exclude(minutes="")
                   .order_by("pk").values_list("pk", flat=True))
    per_save, revisited = [], []

    def job_seconds(after_pk):
        job = Job.objects.filter(pk__gt=after_pk, kind="formalism").latest("pk")
        y = next(y for y in job.result["years"] if y["year"] == YEAR)
        assert y["mode"] in ("incremental", None), y
        revisited.append(y.get("revisited") or 0)
        return (y.get("local_seconds") or 0) + (y["seconds"] or 0)

    saved = []
    for i in range(saves):
        org = Organization.objects.get(pk=rng.choice(branches))
        src = Activity.objects.get(pk=rng.choice(sources)).minutes
        cut = rng.randrange(max(1, len(src) - 150))
        last = Job.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        a = services.record_activity(None, org, ["theme_day"], dt.date(YEAR, 11, 1 + i), topic=f"性能测试{want}-{i}",
                                     minutes=f"第{i}次会议。支部书记主持，" + src[cut:cut + 150] + f"会议共{i + 7}人参加。",
                                     today=dt.date.fromisoformat(TODAY))
        saved.append(a)
        per_save.append(job_seconds(last))
    for op in ("edit", "withdraw"):
        a = Activity.objects.get(pk=saved[0].pk if op == "edit" else saved[-1].pk)
        last = Job.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        if op == "edit":
            services.update_activity(None, a, minutes=a.minutes + "会后进行了讨论。", today=dt.date.fromisoformat(TODAY))
        else:
            services.withdraw_activity(None, a, "重复录入")
        per_save.append(job_seconds(last))

    # The full computation, its copy check's work, and the check that what was stored
    # incrementally is what it finds.
    stats = {}
    began = time.perf_counter()
    found = formalism.compute(start, end, thresholds=t, stats=stats)
    compute_s = time.perf_counter() - began
    fresh = sorted((formalism._row(YEAR, s).kind, s.org_id, json.dumps([r.id for r in s.records]), s.message,
                    json.dumps(s.figures, sort_keys=True)) for s in found)
    stored = sorted((r.kind, r.org_id, json.dumps([x[0] for x in r.records]), r.message,
                     json.dumps(r.figures, sort_keys=True)) for r in FormalismSignal.objects.filter(year=YEAR))

    bg = ", ".join(str(h) for h in sorted(similarity.background_hashes())) or "-1"
    with connection.cursor() as cur:
        t1 = time.perf_counter()
        cur.execute(SCAN, [start, end])
        scanned = len(cur.fetchall())
        scan_s = time.perf_counter() - t1
        t1 = time.perf_counter()
        cur.execute(CANDIDATES.format(background=bg), [YEAR, stats["limit"], similarity.MIN_SHARED])
        sql_candidates = cur.fetchone()[0]
        sql_s = time.perf_counter() - t1
        uncapped = similarity.common_limit(stats["documents"], max_docs=None)
        cur.execute(PROPOSED.format(background=bg), [YEAR, stats["limit"]])
        proposed_capped = int(cur.fetchone()[0])
        cur.execute(PROPOSED.format(background=bg), [YEAR, uncapped])
        proposed_uncapped = int(cur.fetchone()[0])
    return dict(
        vendor=connection.vendor, factor=want, grow_s=grow_s, rebuild_s=rebuild_s, compute_s=compute_s,
        records=Activity.objects.filter(held_on__year=YEAR).count(), documents=stats["documents"],
        fingerprints=MinutesFingerprint.objects.filter(year=YEAR).count(), signals=len(found),
        limit=stats["limit"], uncapped_limit=uncapped, proposed=stats["proposed"], proposed_sql=proposed_capped,
        proposed_uncapped=proposed_uncapped, candidates=stats["candidates"], pairs=stats["pairs"],
        sql_candidates=sql_candidates, sql_s=sql_s, scan_s=scan_s, scanned=scanned,
        per_save=per_save, revisited=max(revisited), same=fresh == stored, differ=len(set(fresh) ^ set(stored)), page=page,
        load=os.getloadavg()[0],
    )


# ---- the driver ------------------------------------------------------------------------------

def measure(env: dict, sizes: list[int], members: int, saves: int) -> list[dict]:
    run([DANGJIAN, "migrate", "-v0"], env)
    run([DANGJIAN, "flush", "--no-input"], env)
    run([DANGJIAN, "demo", "-v0", "--reset", "--today", TODAY, "--members", str(members)], env)
    top = run([sys.executable, "-c", "import django; django.setup(); from dangjian.activities.models import Activity; "
               "print(Activity.objects.order_by('-pk').values_list('pk', flat=True).first() or 0)"],
              dict(env, DJANGO_SETTINGS_MODULE="dangjian.settings"))
    env = dict(env, DJANGO_SETTINGS_MODULE="dangjian.settings", BENCH_FORMALISM_COPY_FROM=str(int(top.stdout) + 1))
    out, have = [], 1
    for size in sizes:
        res = subprocess.run([sys.executable, __file__, "--probe", str(have), str(size), str(saves)],
                             env=env, capture_output=True, text=True)
        if res.returncode:
            sys.stderr.write(res.stderr)
            raise SystemExit(res.returncode)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
        have = max(have, size)
    return out


def main() -> None:
    if sys.argv[1:2] == ["--probe"]:
        print(json.dumps(probe(*map(int, sys.argv[2:5]))))
        return
    sizes = sorted({int(s) for s in os.environ.get("DANGJIAN_BENCH_FORMALISM_SIZES", "1,10").split(",") if s.strip()})
    members = int(os.environ.get("DANGJIAN_BENCH_FORMALISM_MEMBERS", "10000"))
    saves = int(os.environ.get("DANGJIAN_BENCH_FORMALISM_SAVES", "5"))
    envs = [scratch_env("formalism")]
    url = os.environ.get("DANGJIAN_BENCH_DATABASE_URL")
    if url:
        envs.append(dict(scratch_env("formalism"), DANGJIAN_DATABASE_URL=url))
    data = []
    try:
        for env in envs:
            data += measure(env, sizes, members, saves)
    finally:
        for env in envs:
            shutil.rmtree(env["DANGJIAN_VAR_DIR"], ignore_errors=True)

    rows = [("db", "size", "records", "minutes", "fingerprints", "full compute s", "rebuild s", "SQL scan s",
             "SQL candidates s", "per save s, median (max)", "records revisited (max)", "load")]
    for d in data:
        rows.append((d["vendor"], f"×{d['factor']}", f"{d['records']:,}", f"{d['documents']:,}",
                     f"{d['fingerprints']:,}", f"{d['compute_s']:.2f}", f"{d['rebuild_s']:.2f}", f"{d['scan_s']:.2f}",
                     f"{d['sql_s']:.2f}",
                     f"{statistics.median(d['per_save']):.3f} ({max(d['per_save']):.3f})", d["revisited"],
                     f"{d['load']:.1f}"))
    table(rows)
    print()
    rows = [("db", "size", "cut-off (uncapped)", "proposed pairs / minutes", "uncapped / minutes",
             "candidates / minutes", "copies found", "SQL candidates = engine", "stored = full")]
    for d in data:
        n = d["documents"]
        rows.append((d["vendor"], f"×{d['factor']}", f"{d['limit']} ({d['uncapped_limit']})",
                     f"{d['proposed'] / n:.2f}", f"{d['proposed_uncapped'] / n:.2f}", f"{d['candidates'] / n:.3f}",
                     f"{d['pairs']:,}", "yes" if d["sql_candidates"] == d["candidates"] else
                     f"NO ({d['sql_candidates']} vs {d['candidates']})", "yes" if d["same"] else f"NO ({d['differ']})"))
    table(rows)
    print()
    rows = [("db", "size", "page", "s (median of 5)", "queries")]
    for d in data:
        for name, (s, q) in d["page"].items():
            rows.append((d["vendor"], f"×{d['factor']}", name, f"{s:.3f}", q))
    table(rows)
    print()
    for d in data:
        ratio = d["compute_s"] / statistics.median(d["per_save"])
        print(f"{d['vendor']} ×{d['factor']}: one save's catch-up is 1/{ratio:.0f} of the full year; "
              f"full compute = {d['compute_s'] / d['scan_s']:.1f}× the bare scan of the minutes")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if not all(d["same"] and d["sql_candidates"] == d["candidates"] for d in data):
        raise SystemExit("the stored signals or the candidates differ from the full computation")


if __name__ == "__main__":
    main()

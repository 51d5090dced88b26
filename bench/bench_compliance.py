"""Full-year compliance for the demo city and for 10× and 100× its records, beside a
hand-written SQL baseline over the same rows in the same run.

Data: the demo city (`dangjian demo --today 2026-12-20` on a flushed database: a year of
organizational life, 2026-01 to 2026-12, with attendance lists, skipped months, failed quorums,
lectures by secretaries …). The larger sizes copy every record of the year 9 (then 99) more
times into the same org and month, with the same kinds, quorum bits, lecturer and status —
figures only (no minutes, no attendance lists), written by INSERT … SELECT inside the database,
so the bench's memory stays flat while it writes 1.5 M records.

Measured for the whole tree and the whole year (every org × rule × period), in one process per
size, each figure the median of five runs taken in turn, after ANALYZE:
- engine compute: `compliance.compute` (verdicts with their evidence and failed-quorum lists);
- engine store: `compliance.store` of those verdicts into an empty table (every row new);
- store unchanged: the same verdicts stored again — the difference is empty and nothing is
  written (the count of rows written is printed beside it);
- per save: one record's background refresh (`mark_days` of its org and day, `refresh_stale`):
  its org's periods containing that day, recomputed and compared;
- SQL baseline: one hand-written statement that does the same judging — for each org × rule ×
  period, the count of qualifying kind rows (kind, months of the period, quorum bits mask, the
  rule's condition: committee, top of unit, lecture by the secretary; orgs set up or dissolved
  during the period) and the status — and fetches the rows;
- SQL baseline + ids: the same statement also returning, per org × rule × period, the ids of the
  activities that count, as the engine's evidence lists do;
- floor: a bare GROUP BY over the kind rows per org × kind × month, fetched in full (the least
  any engine must read; it judges nothing).
The bench checks row by row that both SQL statements agree with the engine: (org, rule,
period, required, held, status), and the evidence ids; it fails if they do not.

Sizes: DANGJIAN_BENCH_COMPLIANCE_SIZES (default "1,10"; "1,10,100" for the full run, which
writes about 1.5 M more records and takes a few minutes more per database). SQLite always (a
scratch file); also DANGJIAN_BENCH_DATABASE_URL if set: a scratch PostgreSQL or MariaDB
database, flushed first (e.g. postgres://postgres@127.0.0.1:5432/dangjian_bench).
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

# For each org × rule × period of the year: the count of the kind rows that qualify and the
# verdict. `cal` lists the periods of the year (unit, label, first and last day, first and last
# month) — the calendar table a hand-written report would keep.
BASELINE = """
WITH cal (unit, label, p_start, p_end, m0, m1) AS (VALUES {calendar}),
plan AS (
    SELECT r.id AS rule_id, r.kind, r.org_kinds, r.condition AS rule_condition, r.min_count,
           CASE r.quorum WHEN 'half_voting' THEN 1 WHEN 'half_committee' THEN 2 WHEN 'two_thirds' THEN 4
                ELSE 0 END AS mask,
           c.label, c.p_start, c.p_end, c.m0, c.m1
    FROM activities_activityrule r
    JOIN cal c ON c.unit = r.period AND r.effective_from <= c.p_end
              AND (r.effective_to IS NULL OR c.p_end <= r.effective_to)
),
committee AS (
    SELECT DISTINCT org_id FROM orgs_committeeseat
    WHERE is_active = %(true)s AND role NOT IN ('secretary', 'deputy_secretary')
),
secretary AS (
    SELECT s.org_id, s.holder_id FROM orgs_committeeseat s
    WHERE s.id IN (SELECT MIN(id) FROM orgs_committeeseat
                   WHERE is_active = %(true)s AND role = 'secretary' AND holder_id IS NOT NULL GROUP BY org_id)
),
org AS {materialized} (
    SELECT o.id, o.kind, o.established_on, o.dissolved_on, sec.holder_id,
           CASE WHEN cm.org_id IS NULL THEN 0 ELSE 1 END AS has_committee,
           CASE WHEN up.id IS NULL OR up.kind = 'working_committee' THEN 1 ELSE 0 END AS top_of_unit
    FROM orgs_organization o
    LEFT JOIN orgs_organization up ON up.id = o.parent_id
    LEFT JOIN committee cm ON cm.org_id = o.id
    LEFT JOIN secretary sec ON sec.org_id = o.id
),
cell AS (
    SELECT o.id AS org_id, p.rule_id, p.label, p.kind, p.rule_condition, p.min_count, p.mask, p.p_start, p.p_end,
           p.m0, p.m1, o.holder_id,
           CASE p.rule_condition
                WHEN 'always' THEN 1
                WHEN 'has_committee' THEN o.has_committee
                WHEN 'top_of_unit' THEN o.top_of_unit
                WHEN 'lecture_by_secretary' THEN CASE WHEN o.holder_id IS NULL THEN 0 ELSE 1 END
                ELSE 0 END AS applies,
           CASE WHEN o.dissolved_on < p.p_end OR o.established_on > p.p_start THEN 1 ELSE 0 END AS partial
    FROM org o
    JOIN plan p ON CAST(p.org_kinds AS {text}) LIKE {kind_pattern}
    WHERE (o.dissolved_on IS NULL OR o.dissolved_on >= p.p_start)
      AND (o.established_on IS NULL OR o.established_on <= p.p_end)
),
counted AS (
    SELECT org_id, kind, month, quorum, COUNT(*) AS n{ids_of_rows}
    FROM activities_activitykind
    WHERE is_active = %(true)s AND month BETWEEN %(first)s AND %(last)s AND kind IN (SELECT kind FROM plan)
    GROUP BY org_id, kind, month, quorum
),
lectured AS (
    SELECT a.lecturer_id, k.kind, k.month, COUNT(*) AS n{ids_of_lectures}
    FROM activities_activitykind k JOIN activities_activity a ON a.id = k.activity_id
    WHERE k.is_active = %(true)s AND k.month BETWEEN %(first)s AND %(last)s AND a.lecturer_id IS NOT NULL
      AND k.kind IN (SELECT kind FROM plan WHERE rule_condition = 'lecture_by_secretary')
    GROUP BY a.lecturer_id, k.kind, k.month
),
held AS (
    SELECT c.org_id, c.rule_id, c.label, c.min_count, c.applies, c.partial, c.p_end,
           COALESCE(SUM(g.n), 0) AS n{ids_of_groups}
    FROM cell c
    LEFT JOIN counted g ON g.org_id = c.org_id AND g.kind = c.kind AND g.month BETWEEN c.m0 AND c.m1
                       AND (g.quorum & c.mask) = c.mask
    WHERE c.rule_condition <> 'lecture_by_secretary'
    GROUP BY c.org_id, c.rule_id, c.label, c.min_count, c.applies, c.partial, c.p_end
    UNION ALL
    SELECT c.org_id, c.rule_id, c.label, c.min_count, c.applies, c.partial, c.p_end,
           COALESCE(SUM(g.n), 0) AS n{ids_of_groups}
    FROM cell c
    LEFT JOIN lectured g ON g.lecturer_id = c.holder_id AND g.kind = c.kind AND g.month BETWEEN c.m0 AND c.m1
    WHERE c.rule_condition = 'lecture_by_secretary'
    GROUP BY c.org_id, c.rule_id, c.label, c.min_count, c.applies, c.partial, c.p_end
),
judged AS (
    SELECT org_id, rule_id, label, min_count, n{ids},
           CASE WHEN applies = 0 THEN 'not_applicable'
                WHEN n >= min_count THEN 'met'
                WHEN partial = 1 THEN 'not_applicable'
                WHEN p_end >= %(today)s THEN 'due'
                ELSE 'missing' END AS status
    FROM held
)
SELECT org_id, rule_id, label, CASE WHEN status = 'not_applicable' THEN 0 ELSE min_count END, n, status{ids}
FROM judged
"""

FLOOR = ("SELECT org_id, kind, month, COUNT(*) FROM activities_activitykind "
         "WHERE is_active = %s AND month >= %s AND month <= %s GROUP BY org_id, kind, month")


# ---- inside the probe process (Django set up) -----------------------------------------------

def _baseline_query(connection, today, with_ids: bool = False):
    """The baseline statement and its parameters for this database; `with_ids` also returns,
    per org × rule × period, the ids of the activities that count (as the engine does)."""
    import datetime as dt

    from dangjian.core import periods

    ops = connection.ops
    cal, params = [], {}
    for unit in periods.UNITS:
        for p in periods.overlapping(unit, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)):
            i = len(cal)
            cal.append(f"(%(u{i})s, %(l{i})s, %(s{i})s, %(e{i})s, %(m{i})s, %(n{i})s)")
            params.update({f"u{i}": unit, f"l{i}": p.label, f"s{i}": ops.adapt_datefield_value(p.start),
                           f"e{i}": ops.adapt_datefield_value(p.end), f"m{i}": p.months[0], f"n{i}": p.months[-1]})
    mysql = connection.vendor == "mysql"

    def concat(expr: str) -> str:  # a group's ids as one comma-separated string
        if connection.vendor == "postgresql":
            return f"STRING_AGG(CAST({expr} AS TEXT), ',')"
        return f"GROUP_CONCAT({expr})"

    ids = dict(ids_of_rows=f", {concat('activity_id')} AS ids", ids_of_lectures=f", {concat('k.activity_id')} AS ids",
               ids_of_groups=f", {concat('g.ids')} AS ids", ids=", ids")
    sql = BASELINE.format(
        **{k: v if with_ids else "" for k, v in ids.items()},
        calendar=", ".join(cal),
        text="CHAR" if mysql else "TEXT",
        materialized="" if mysql else "MATERIALIZED",
        kind_pattern="CONCAT('%%\"', o.kind, '\"%%')" if mysql else "'%%\"' || o.kind || '\"%%'",
    )
    params.update(true=True, today=ops.adapt_datefield_value(today), first=YEAR * 100 + 1, last=YEAR * 100 + 12)
    return sql, params


def _grow(connection, lo: int, hi: int, have: int, want: int) -> None:
    """Copies k = have … want-1 of the demo's records of the year (ids lo … hi), copy k of a
    record getting id + k × (hi − lo + 1): each copy has its own range of ids, above hi."""
    from dangjian.activities.models import Activity, ActivityKind

    if want <= have:
        return
    ops = connection.ops
    columns, values = [], []
    for f in Activity._meta.concrete_fields:
        columns.append(ops.quote_name(f.column))
        if f.primary_key:
            values.append(f"a.{ops.quote_name(f.column)} + c.k * %s")
        elif f.name == "minutes":
            values.append("''")
        else:
            values.append(f"a.{ops.quote_name(f.column)}")
    copies = "WITH RECURSIVE copies (k) AS (SELECT %s UNION ALL SELECT k + 1 FROM copies WHERE k < %s) "
    act, kind = Activity._meta.db_table, ActivityKind._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {act} ({', '.join(columns)}) {copies}"
                    f"SELECT {', '.join(values)} FROM {act} a CROSS JOIN copies c "
                    f"WHERE a.id BETWEEN %s AND %s AND a.month BETWEEN %s AND %s",
                    [have, want - 1, hi - lo + 1, lo, hi, YEAR * 100 + 1, YEAR * 100 + 12])
        cur.execute(f"INSERT INTO {kind} (activity_id, kind, org_id, top_org_id, held_on, month, is_active, quorum) "
                    f"{copies}SELECT k.activity_id + c.k * %s, k.kind, k.org_id, k.top_org_id, k.held_on, k.month, "
                    f"k.is_active, k.quorum "
                    f"FROM {kind} k CROSS JOIN copies c "
                    f"WHERE k.activity_id BETWEEN %s AND %s AND k.month BETWEEN %s AND %s",
                    [have, want - 1, hi - lo + 1, lo, hi, YEAR * 100 + 1, YEAR * 100 + 12])
        if connection.vendor == "postgresql":
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{act}', 'id'), (SELECT MAX(id) FROM {act}))")


def _analyze(connection) -> None:
    """Fresh planner statistics, for the engine and the baseline alike (the demo and the copies
    were just written)."""
    from dangjian.activities.models import Activity, ActivityKind

    with connection.cursor() as cur:
        if connection.vendor == "mysql":
            cur.execute(f"ANALYZE TABLE {Activity._meta.db_table}, {ActivityKind._meta.db_table}")
        else:
            cur.execute("ANALYZE")


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def probe(lo: int, hi: int, have: int, want: int, runs: int) -> dict:
    import datetime as dt

    import django

    django.setup()
    from django.db import connection, transaction

    from dangjian.activities import compliance
    from dangjian.activities.models import Activity, ActivityKind, Attendance

    start, end, today = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31), dt.date.fromisoformat(TODAY)
    if hi == 0:  # the demo as written: its records of the year are the originals
        year = Activity.objects.filter(month__range=(YEAR * 100 + 1, YEAR * 100 + 12)).order_by("id")
        lo, hi = year.values_list("id", flat=True).first(), year.values_list("id", flat=True).last()
    t = time.perf_counter()
    with transaction.atomic():
        _grow(connection, lo, hi, have, want)
    grow_s = time.perf_counter() - t
    _analyze(connection)
    months = (YEAR * 100 + 1, YEAR * 100 + 12)
    year_acts = Activity.objects.filter(month__range=months)
    kind_rows = ActivityKind.objects.filter(month__range=months).count()
    sql, params = _baseline_query(connection, today)
    sql_ids, params_ids = _baseline_query(connection, today, with_ids=True)

    def baseline():
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def baseline_ids():
        with connection.cursor() as cur:
            cur.execute(sql_ids, params_ids)
            return cur.fetchall()

    def floor():
        with connection.cursor() as cur:
            cur.execute(FLOOR, [True, *months])
            return cur.fetchall()

    def engine():
        return compliance.compute(start, end, today=today)

    rss_before = _rss_mb()
    rows, rows_ids, groups, verdicts = baseline(), baseline_ids(), floor(), engine()  # warm the caches
    times = {"baseline": [], "baseline_ids": [], "floor": [], "compute": []}
    for _ in range(runs):
        for name, fn in (("baseline", baseline), ("baseline_ids", baseline_ids), ("floor", floor),
                         ("compute", engine)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    # Storing: every row new (the stored rows removed first, not timed), then the same verdicts
    # again — the difference is empty, so nothing is written (the whole-tree recompute of
    # unchanged data) — then one saved record's background refresh (its org, its day's periods).
    store, same, writes_same = [], [], 0
    for _ in range(max(1, runs // 2)):
        from dangjian.activities.models import ComplianceRow

        ComplianceRow.objects.all().delete()
        t = time.perf_counter()
        compliance.store(verdicts, start, end)
        store.append(time.perf_counter() - t)
        t = time.perf_counter()
        found = compliance.store(verdicts, start, end)
        same.append(time.perf_counter() - t)
        writes_same += found["inserted"] + found["updated"] + found["deleted"]
    org_id, day = year_acts.order_by("-id").values_list("org_id", "held_on").first()
    per_save, per_save_rows = [], 0
    for _ in range(runs):
        with transaction.atomic():
            compliance.mark_days([(org_id, day)])
        t = time.perf_counter()
        found = compliance.refresh_stale(today=today)
        per_save.append(time.perf_counter() - t)
        per_save_rows = found["rows"]
    rss_peak = _rss_mb()  # before the checks below build their own copies of every id

    # Row by row: the same verdicts, and (with ids) the same evidence.
    mine = sorted((v.org_id, v.rule.pk, v.period.label, v.required, v.held, v.status) for v in verdicts)
    theirs = sorted(tuple(r) for r in rows)
    mine_ids = sorted((v.org_id, v.rule.pk, v.period.label, v.required, v.held, v.status, tuple(v.evidence))
                      for v in verdicts)
    theirs_ids = sorted((*r[:6], tuple(sorted(int(i) for i in r[6].split(",")) if r[6] else ())) for r in rows_ids)
    statuses: dict[str, int] = {}
    for v in verdicts:
        statuses[v.status] = statuses.get(v.status, 0) + 1
    return dict(
        vendor=connection.vendor, factor=want, activities=year_acts.count(), kind_rows=kind_rows,
        attendance=Attendance.objects.filter(activity__month__range=months).count(), grow_s=grow_s,
        verdicts=len(verdicts), statuses=statuses, groups=len(groups), evidence=sum(len(v.evidence) for v in verdicts),
        same=mine == theirs and mine_ids == theirs_ids,
        differ=len(set(mine) ^ set(theirs)) + len(set(mine_ids) ^ set(theirs_ids)),
        **{k: statistics.median(v) for k, v in times.items()}, store=statistics.median(store),
        store_same=statistics.median(same), writes_same=writes_same, per_save=statistics.median(per_save),
        per_save_rows=per_save_rows,
        rss_before_mb=rss_before, rss_peak_mb=rss_peak, lo=lo, hi=hi, load=os.getloadavg()[0],
    )


# ---- the driver ------------------------------------------------------------------------------

def measure(env: dict, sizes: list[int]) -> list[dict]:
    run([DANGJIAN, "migrate", "-v0"], env)
    run([DANGJIAN, "flush", "--no-input"], env)  # also restarts the ids of a reused database
    run([DANGJIAN, "demo", "-v0", "--reset", "--today", TODAY], env)
    env = dict(env, DJANGO_SETTINGS_MODULE="dangjian.settings")
    out, lo, hi, have = [], 0, 0, 1
    for size in sizes:
        res = subprocess.run([sys.executable, __file__, "--probe", str(lo), str(hi), str(have), str(size), "5"],
                             env=env, capture_output=True, text=True)
        if res.returncode:
            sys.stderr.write(res.stderr)
            raise SystemExit(res.returncode)
        d = json.loads(res.stdout.strip().splitlines()[-1])
        lo, hi, have = d["lo"], d["hi"], max(have, size)
        out.append(d)
    return out


def main() -> None:
    if sys.argv[1:2] == ["--probe"]:
        print(json.dumps(probe(*map(int, sys.argv[2:7]))))
        return
    sizes = sorted({int(s) for s in os.environ.get("DANGJIAN_BENCH_COMPLIANCE_SIZES", "1,10").split(",") if s.strip()})
    envs = [scratch_env("compliance")]
    url = os.environ.get("DANGJIAN_BENCH_DATABASE_URL")
    if url:
        envs.append(dict(scratch_env("compliance"), DANGJIAN_DATABASE_URL=url))
    data = []
    try:
        for env in envs:
            data += measure(env, sizes)
    finally:  # the SQLite file reaches 750 MB at 100×
        for env in envs:
            shutil.rmtree(env["DANGJIAN_VAR_DIR"], ignore_errors=True)
    rows = [("db", "size", "records", "kind rows", "org×rule×period", "compute s", "store s", "store unchanged s",
             "per save s", "SQL baseline s",
             "SQL baseline + ids s", "floor s", "compute/baseline", "compute/(baseline + ids)", "compute/floor",
             "µs/kind row", "same as SQL", "peak RSS MB")]
    for d in data:
        rows.append((d["vendor"], "demo city" if d["factor"] == 1 else f"{d['factor']}×", d["activities"],
                     d["kind_rows"], d["verdicts"], f"{d['compute']:.3f}", f"{d['store']:.3f}",
                     f"{d['store_same']:.3f} ({d['writes_same']} writes)",
                     f"{d['per_save']:.3f} ({d['per_save_rows']} rows)",
                     f"{d['baseline']:.3f}", f"{d['baseline_ids']:.3f}", f"{d['floor']:.3f}",
                     f"{d['compute'] / d['baseline']:.2f}×", f"{d['compute'] / d['baseline_ids']:.2f}×",
                     f"{d['compute'] / d['floor']:.2f}×", f"{d['compute'] / d['kind_rows'] * 1e6:.1f}",
                     "yes" if d["same"] else f"NO ({d['differ']} differ)", f"{d['rss_peak_mb']:.0f}"))
    table(rows)
    for d in data:
        print(f"{d['vendor']} {d['factor']}×: statuses {d['statuses']}, evidence ids {d['evidence']}, "
              f"attendance rows {d['attendance']}, records copied in {d['grow_s']:.1f} s, "
              f"load average {d['load']:.1f}")
    # Linear cost: what each added kind row costs between consecutive sizes.
    for a, b in zip(data, data[1:]):
        if a["vendor"] == b["vendor"]:
            added = b["kind_rows"] - a["kind_rows"]
            print(f"{b['vendor']} {a['factor']}× → {b['factor']}×: per added kind row, compute "
                  f"{(b['compute'] - a['compute']) / added * 1e6:.2f} µs, SQL baseline "
                  f"{(b['baseline'] - a['baseline']) / added * 1e6:.2f} µs, floor "
                  f"{(b['floor'] - a['floor']) / added * 1e6:.2f} µs")
    if not all(d["same"] for d in data):
        raise SystemExit("the SQL baseline and the engine disagree")


if __name__ == "__main__":
    main()

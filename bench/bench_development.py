"""The development timeline check (`development.checks.violations`) over the whole tree of the
demo city (~10,000 members), then with its applicants copied 10× and 100× (copies of each
applicant and its steps in the same branch, under new 身份证号 hashes), beside a floor measured in
the same run: the same two reads (the applicants, their steps in date order) fetched in full
with hand-written SQL, judging nothing. Each figure is the median of three runs; the check's
query count is printed beside it (three whatever the size: applicants, steps, rules), and the
violations it finds must grow with the copies (each copy breaks what its original breaks).

Also the command as a shell runs it, once: `dangjian development-check --format json`.

Database: a scratch SQLite file always; also DANGJIAN_BENCH_DATABASE_URL if set, a scratch
PostgreSQL or MariaDB database, dropped and created first (e.g. postgres://postgres@127.0.0.1:5432/dj_bench_dev).
DANGJIAN_BENCH_DEVELOPMENT_SIZES changes the copies (default 1,10,100).
"""
import json
import os
import shutil
import subprocess
import sys
import time

from common import DANGJIAN, fresh_database, run, scratch_env, table

TODAY = "2026-10-20"

PROBE = r"""
import datetime as dt, json, statistics, sys, time, django
django.setup()
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from dangjian.development import checks
from dangjian.development.models import Applicant, DevelopmentStep

TODAY = dt.date(2026, 10, 20)
times, run = int(sys.argv[1]), int(sys.argv[2])
serial = 0
if times > 1:
    originals = list(Applicant.objects.order_by("id"))
    steps = {}
    for s in DevelopmentStep.objects.order_by("applicant_id", "done_on", "id"):
        steps.setdefault(s.applicant_id, []).append(s)
    with transaction.atomic():
        for copy in range(1, times):
            made = []
            for a in originals:
                serial += 1
                made.append(Applicant(**{f.attname: getattr(a, f.attname) for f in Applicant._meta.concrete_fields
                                         if f.attname not in ("id", "id_hash", "member_id", "user_id")},
                                      id_hash=f"bench{run:02d}{serial:057d}"))
            made = Applicant.objects.bulk_create(made, batch_size=1000)
            rows = []
            for a, new in zip(originals, made):
                for s in steps.get(a.pk, []):
                    rows.append(DevelopmentStep(**{f.attname: getattr(s, f.attname) for f in DevelopmentStep._meta.concrete_fields
                                                   if f.attname not in ("id", "applicant_id")}, applicant_id=new.pk))
            DevelopmentStep.objects.bulk_create(rows, batch_size=2000)

def check():
    return checks.violations(Applicant.objects.all(), TODAY)

def floor():
    with connection.cursor() as c:
        c.execute("SELECT a.id, a.name, a.birth_date, a.applied_on, a.status, o.code FROM development_applicant a "
                  "JOIN orgs_organization o ON o.id = a.org_id")
        c.fetchall()
        c.execute("SELECT applicant_id, code, done_on, decision, vote_expected, vote_present, vote_for, training_days, "
                  "training_hours, extension_months, party_group_consulted FROM development_developmentstep "
                  "ORDER BY applicant_id, done_on, id")
        c.fetchall()

def median(fn):
    out = []
    for _ in range(3):
        t = time.perf_counter(); fn(); out.append(time.perf_counter() - t)
    return statistics.median(out)

with CaptureQueriesContext(connection) as ctx:
    found = check()
print(json.dumps({"applicants": Applicant.objects.count(), "steps": DevelopmentStep.objects.count(),
                  "violations": len(found), "queries": len(ctx), "check_s": median(check), "floor_s": median(floor)}))
"""


def measure(env: dict, sizes: list[int]) -> tuple[list[tuple], float, int]:
    if not env["DANGJIAN_DATABASE_URL"].startswith("sqlite"):
        fresh_database(env["DANGJIAN_DATABASE_URL"])
    run([DANGJIAN, "migrate", "-v0"], env)
    run([DANGJIAN, "demo", "--today", TODAY], env)
    t = time.perf_counter()
    res = run([DANGJIAN, "development-check", "--today", TODAY, "--format", "json"], env)
    cli_s = time.perf_counter() - t
    cli_found = len(json.loads(res.stdout)["violations"])
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    rows = []
    first = None
    done = 1
    for run_no, times in enumerate(sizes):
        # Each run adds the copies still missing to reach `times` of the demo's applicants.
        grow = times // done
        res = subprocess.run([sys.executable, "-c", PROBE, str(grow), str(run_no)], env=env, capture_output=True,
                             text=True)
        if res.returncode:
            sys.exit(res.stderr[-2000:])
        done = times
        d = json.loads(res.stdout.strip().splitlines()[-1])
        first = first or d
        if d["violations"] != first["violations"] * times or d["queries"] != 3:
            sys.exit(f"发展党员检查结果不符：{d}")
        rows.append((env["DANGJIAN_DATABASE_URL"].split(":", 1)[0], d["applicants"], d["steps"], d["violations"], d["queries"], f"{d['check_s']:.3f}",
                     f"{d['floor_s']:.3f}", f"{d['check_s'] / d['floor_s']:.1f}×"))
    return rows, cli_s, cli_found


def main() -> None:
    sizes = [int(n) for n in os.environ.get("DANGJIAN_BENCH_DEVELOPMENT_SIZES", "1,10,100").split(",")]
    envs = [scratch_env("development")]
    url = os.environ.get("DANGJIAN_BENCH_DATABASE_URL")
    if url:
        envs.append(dict(scratch_env("development"), DANGJIAN_DATABASE_URL=url))
    rows = [("db", "applicants", "steps", "violations", "queries", "check (s)", "floor SQL (s)", "ratio")]
    cli = []
    try:
        for env in envs:
            got, cli_s, cli_found = measure(env, sizes)
            rows += got
            cli.append((env["DANGJIAN_DATABASE_URL"].split(":", 1)[0], cli_s, cli_found))
    finally:
        for env in envs:
            shutil.rmtree(env["DANGJIAN_VAR_DIR"], ignore_errors=True)
    table(rows)
    for db, cli_s, cli_found in cli:
        print(f"\n`dangjian development-check --format json` on the demo city, {db} (process start included): "
              f"{cli_s:.2f} s, {cli_found} violations")


if __name__ == "__main__":
    main()

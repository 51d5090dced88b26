"""A full-year evaluation of the demo city (target ≤ 2 s), for the departments' scheme and the
branches' scheme, beside a baseline of the aggregate SQL any evaluation must run over the same
rows: the year's compliance rows and attendance grouped by org and status (hand-written, no
Python roll-up). The evaluation also recomputes and stores the year's compliance first and
stores its scores; both are inside the measured time."""
import json
import subprocess
import sys

from common import DANGJIAN, run, scratch_env, table

PROBE = r"""
import datetime as dt, json, statistics, time, django
django.setup()
from django.db import connection
from django.utils import timezone
from dangjian.assessment import services
from dangjian.assessment.models import Scheme, TargetScore

year = timezone.localdate().year
today = dt.date(year + 1, 1, 1)  # a run is for a period that has ended: evaluate the year as at its end
out = {}
for scheme in Scheme.objects.filter(year=year).order_by("level"):
    times = []
    for _ in range(3):
        t = time.perf_counter(); services.run_evaluation(None, scheme, str(year), today=today, replace=True)
        times.append(time.perf_counter() - t)
    out[scheme.level] = {"targets": TargetScore.objects.filter(run__scheme=scheme, run__period=str(year)).count(),
                         "s": statistics.median(times)}
start, end = f"{year}-01-01", f"{year}-12-31"
sqls = [
    ("SELECT o.path, c.status, COUNT(*) FROM activities_compliancerow c JOIN orgs_organization o ON o.id = c.org_id "
     "WHERE c.period_end BETWEEN %s AND %s AND c.status <> 'not_applicable' GROUP BY o.path, c.status", [start, end]),
    ("SELECT o.path, t.status, COUNT(*) FROM activities_attendance t JOIN activities_activity a ON a.id = t.activity_id "
     "JOIN orgs_organization o ON o.id = a.org_id WHERE a.status = 'active' AND a.held_on BETWEEN %s AND %s "
     "AND t.status <> 'observer' GROUP BY o.path, t.status", [start, end]),
]
times = []
for _ in range(5):
    t = time.perf_counter()
    with connection.cursor() as cur:
        for sql, params in sqls:
            cur.execute(sql, params); cur.fetchall()
    times.append(time.perf_counter() - t)
out["baseline_s"] = statistics.median(times)
print(json.dumps(out))
"""


def main() -> None:
    env = scratch_env("assess")
    run([DANGJIAN, "migrate", "-v0"], env)
    run([DANGJIAN, "demo"], env)
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    res = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    data = json.loads(res.stdout.strip().splitlines()[-1])
    base = data["baseline_s"]
    rows = [("scheme level", "targets", "full-year evaluation s", "target", "baseline s (GROUP BYs)", "ratio")]
    for level in ("branch", "unit"):
        if level in data:
            d = data[level]
            rows.append((level, d["targets"], f"{d['s']:.2f}", "≤ 2 s", f"{base:.3f}", f"{d['s'] / base:.1f}×"))
    table(rows)


if __name__ == "__main__":
    main()

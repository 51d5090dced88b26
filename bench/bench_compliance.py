"""Full-year compliance for the demo city, beside a hand-written SQL baseline on the same rows.

The demo city (`dangjian demo`) gets a year of organizational life written directly with
bulk_create: every branch holds a 主题党日 each month (in the last month of each quarter it is
also the 支部党员大会 and the 党课), a 支委会 each month if it has a committee, a 党小组会 per cell
each month, a 组织生活会 and 民主评议党员 once, with attendance lists; some months are skipped and
some 党员大会 miss their quorum. Then, in the same process:

- engine: `compliance.compute` for the whole tree and year (every org × rule × period), and
  `compliance.store` of the result;
- baseline: one GROUP BY over the kind rows per org × kind × month (the least any engine must
  read), fetched in full.

Then again with 10× the activity rows (more records per branch and month, figures only).
Set DANGJIAN_BENCH_DATABASE_URL to a scratch PostgreSQL/MariaDB database to run there instead
of a fresh SQLite file (the database is reset).
"""
import json
import os
import subprocess
import sys

from common import DANGJIAN, run, scratch_env, table

YEAR = 2026
TODAY = "2027-01-10"

PROBE = r"""
import datetime as dt, json, random, statistics, sys, time
import django
django.setup()
from django.db import connection, transaction
from dangjian.activities import compliance
from dangjian.activities.models import Activity, ActivityKind, Attendance, ComplianceRow
from dangjian.members.models import Member
from dangjian.orgs.models import CommitteeSeat, Organization

YEAR, TODAY, FACTOR = %(year)d, dt.date.fromisoformat("%(today)s"), %(factor)d
rng = random.Random(7)

def generate(factor, with_attendance):
    Attendance.objects.all().delete(); ActivityKind.objects.all().delete(); Activity.objects.all().delete()
    members = {}
    for mid, org_id, cat, exempt in Member.objects.filter(status="active").values_list("pk", "org_id", "category", "is_exempt"):
        members.setdefault(org_id, []).append((mid, cat == "full", exempt))
    committee = {}
    for org_id, holder in CommitteeSeat.objects.filter(is_active=True, holder__isnull=False).values_list("org_id", "holder_id"):
        committee.setdefault(org_id, set()).add(holder)
    with_committee = set(CommitteeSeat.objects.filter(is_active=True).exclude(role__in=["secretary", "deputy_secretary"]).values_list("org_id", flat=True))
    orgs = list(Organization.objects.filter(status="active", kind__in=["branch", "cell"]).values_list("pk", "kind", "parent_id"))
    plans = []  # (org_id, day, kinds, attendees)
    for org_id, kind, parent in orgs:
        people = members.get(org_id if kind == "branch" else parent, [])
        for month in range(1, 13):
            if rng.random() < 0.06:
                continue  # a month skipped
            for copy in range(factor):
                day = dt.date(YEAR, month, rng.randint(1, 28))
                if kind == "cell":
                    plans.append((org_id, day, ["cell_meeting"], people))
                    continue
                kinds = ["theme_day"] + (["general_meeting", "party_lecture"] if month %% 3 == 0 else [])
                plans.append((org_id, day, kinds, people))
                if org_id in with_committee:
                    plans.append((org_id, day + dt.timedelta(days=1), ["committee_meeting"], people))
        if kind == "branch":
            plans.append((org_id, dt.date(YEAR, 12, 15), ["org_life_meeting", "member_appraisal"], people))
    acts, kind_rows, att_rows = [], [], []
    for org_id, day, kinds, people in plans:
        rate = rng.choice([0.4, 0.8, 0.9, 0.95, 1.0])
        status = {mid: ("present" if rng.random() < rate else rng.choice(["absent", "excused"])) for mid, _, _ in people}
        present = {m for m, s in status.items() if s == "present"}
        voting = {m for m, full, ex in people if full and (not ex or m in present)}
        holders = committee.get(org_id, set())
        acts.append(Activity(org_id=org_id, held_on=day, month=day.year * 100 + day.month, topic=f"学习{day:%%m月}",
                             minutes="会议记录", expected_count=len(status), present_count=len(present),
                             voting_expected=len(voting), voting_present=len(voting & present),
                             committee_expected=len(holders), committee_present=len(holders & present)))
    with transaction.atomic():
        Activity.objects.bulk_create(acts, batch_size=2000)
        for a, (org_id, day, kinds, people) in zip(acts, plans):
            for k in kinds:
                kind_rows.append(ActivityKind(activity_id=a.pk, kind=k, org_id=org_id, held_on=day, month=a.month))
            if with_attendance:
                for mid, _, _ in people:
                    s = "present" if rng.random() < 0.9 else "absent"
                    att_rows.append(Attendance(activity_id=a.pk, member_id=mid, status=s))
        ActivityKind.objects.bulk_create(kind_rows, batch_size=5000)
        Attendance.objects.bulk_create(att_rows, batch_size=5000)
    return len(acts), len(kind_rows), len(att_rows)

BASELINE = ("SELECT org_id, kind, month, COUNT(*) FROM activities_activitykind "
            "WHERE is_active = %%s AND month >= %%s AND month <= %%s GROUP BY org_id, kind, month")

def median(fn, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter(); result = fn(); times.append(time.perf_counter() - t)
    return statistics.median(times), result

def baseline():
    with connection.cursor() as cur:
        cur.execute(BASELINE, [True, YEAR * 100 + 1, YEAR * 100 + 12])
        return cur.fetchall()

start, end = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
out = []
for factor in (1, FACTOR):
    n_act, n_kind, n_att = generate(factor, with_attendance=factor == 1)
    baseline(); compliance.compute(start, end, today=TODAY)  # warm caches
    base_s, groups = median(baseline)
    eng_s, verdicts = median(lambda: compliance.compute(start, end, today=TODAY))
    store_s, _ = median(lambda: compliance.store(verdicts, start, end), n=3)
    statuses = {}
    for v in verdicts:
        statuses[v.status] = statuses.get(v.status, 0) + 1
    out.append(dict(factor=factor, activities=n_act, kind_rows=n_kind, attendance=n_att, groups=len(groups),
                    verdicts=len(verdicts), statuses=statuses, baseline=base_s, engine=eng_s, store=store_s,
                    orgs=Organization.objects.count(), vendor=connection.vendor))
print(json.dumps(out))
"""


def main() -> None:
    factor = int(os.environ.get("DANGJIAN_BENCH_FACTOR", "10"))
    env = scratch_env("compliance")
    url = os.environ.get("DANGJIAN_BENCH_DATABASE_URL")
    if url:
        env["DANGJIAN_DATABASE_URL"] = url
    run([DANGJIAN, "migrate", "-v0"], env)
    run([DANGJIAN, "demo", "-v0", "--reset", "--today", TODAY], env)
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    code = PROBE % {"year": YEAR, "today": TODAY, "factor": factor}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if res.returncode:
        sys.stderr.write(res.stderr)
        raise SystemExit(res.returncode)
    data = json.loads(res.stdout.strip().splitlines()[-1])
    rows = [("db", "activity rows", "kind rows", "attendance", "org×rule×period", "baseline s (GROUP BY)",
             "engine s", "ratio", "store s", "engine+store s")]
    for d in data:
        label = "demo city" if d["factor"] == 1 else f"{d['factor']}× records"
        rows.append((f"{d['vendor']} {label}", d["activities"], d["kind_rows"], d["attendance"], d["verdicts"],
                     f"{d['baseline']:.3f}", f"{d['engine']:.3f}", f"{d['engine'] / d['baseline']:.2f}×",
                     f"{d['store']:.3f}", f"{d['engine'] + d['store']:.3f}"))
    table(rows)
    print("statuses (demo city):", data[0]["statuses"])


if __name__ == "__main__":
    main()

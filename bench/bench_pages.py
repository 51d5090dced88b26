"""The pages people open most, on a PostgreSQL demo city of a chosen size: time per request
(median of 5 after a warm-up), queries, response size — beside baselines taken in the same run:
the login page (the cost of a request that reads nothing), and for each list the same first
rows fetched by one hand-written SQL with LIMIT, and the count of all its rows in SQL (what an
exact page count would cost).

Size: DANGJIAN_BENCH_PAGES_MEMBERS (10000 by default; 100000 and 1000000 on demand).
Database: DANGJIAN_BENCH_DATABASE_URL, reused if it holds a demo city (built with
`dangjian demo --members N` and the key directory DANGJIAN_KEY_DIR it was built with); by
default a database `dangjian_bench_pages_<N>` on the local PostgreSQL, created and built on first
use. The warm-up request before each page's timings does what a first visit does: the formalism
page's first visit to a year never computed computes its signals (in the job worker in service,
inside that request here, where jobs run in the calling process)."""
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from common import DANGJIAN, ROOT, run, table

PROBE = r"""
import json, os, statistics, time, django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from dangjian.accounts.models import User
from dangjian.assessment.models import Run
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

REPEAT = 5
# A city just built has no planner statistics until autovacuum gets to it (minutes later):
# measured without them, PostgreSQL picks nested loops for thousands of rows. As in service.
# The project's own tables only: a database-wide ANALYZE also takes the shared catalogs, and
# waits behind any session of the server holding them.
from django.apps import apps
with connection.cursor() as cur:
    for model in apps.get_models():
        cur.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def timed(client, url, **headers):
    r = client.get(url, **headers)  # warm-up: caches, first compliance computation
    assert r.status_code == 200, (url, r.status_code)
    times, size = [], 0
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            r = client.get(url, **headers)
            b = r.content
            times.append(time.perf_counter() - t)
        assert r.status_code == 200, (url, r.status_code)
        size = len(b)
    return {"ms": statistics.median(times) * 1000, "queries": len(ctx), "kb": size / 1024}


def sql_ms(sql, params=()):
    times = []
    for i in range(REPEAT + 1):
        with connection.cursor() as cur:
            t = time.perf_counter()
            cur.execute(sql, params)
            cur.fetchall()
            if i:
                times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


root = Organization.objects.filter(parent__isnull=True).order_by("path").first()
branch = Organization.objects.filter(kind="branch", status="active", members__isnull=False).order_by("path").first()
department = Organization.objects.filter(parent=root, status="active").order_by("path").first()
run = Run.objects.order_by("-period_start", "-id").first()
out = {"members": Member.objects.count(), "orgs": Organization.objects.count(), "load": os.getloadavg(),
       "pages": []}
admin, secretary = Client(), Client()
admin.force_login(User.objects.get(username="admin"))
secretary.force_login(User.objects.get(username="zhibu"))
anonymous = Client()
HX = {"HTTP_HX_REQUEST": "true"}
pages = [
    ("login page (baseline)", anonymous, "/accounts/login/", {}),
    ("home", admin, "/", {}),
    ("org tree", admin, "/orgs/", {}),
    ("org tree: one level (lazy)", admin, f"/orgs/{department.pk}/children/", HX),
    ("org tree search", admin, "/orgs/?q=dyzb", {}),
    ("org page: the root", admin, f"/orgs/{root.pk}/", {}),
    ("org page: a branch", admin, f"/orgs/{branch.pk}/", {}),
    ("member list", admin, "/members/", {}),
    ("member list page 50", admin, "/members/?page=50", {}),
    ("member search: pinyin", admin, "/members/?q=zhang", {}),
    ("member search: initials", admin, "/members/?q=zw", {}),
    ("member search: name", admin, "/members/?q=" + "王", {}),
    ("member search: ID tail", admin, "/members/?q=1234", {}),
    ("overview", admin, "/activities/overview/", {}),
    ("overview: alerts tab", admin, "/activities/overview/?list=alerts", {}),
    ("structure alerts", admin, "/orgs/alerts/", {}),
    ("formalism", admin, "/activities/formalism/", {}),
    ("API orgs", admin, "/api/orgs/", {}),
    ("API members", admin, "/api/members/", {}),
    ("API activities", admin, "/api/activities/", {}),
    ("home (branch secretary)", secretary, "/", {}),
    ("member list (branch secretary)", secretary, "/members/", {}),
]
if run is not None:
    pages.append(("assessment run", admin, f"/assessment/runs/{run.pk}/", {}))
for label, client, url, headers in pages:
    out["pages"].append({"page": label, "url": url, **timed(client, url, **headers)})

prefix = root.path + "%"
out["sql"] = {
    "member list": sql_ms(
        "SELECT m.id, m.name, m.gender, m.birth_date, m.id_mask, m.category, m.post, m.rank, o.name "
        "FROM members_member m JOIN orgs_organization o ON o.id = m.org_id "
        "WHERE m.status = 'active' AND o.path LIKE %s ORDER BY o.path, m.name, m.id LIMIT 50", [prefix]),
    "member list: count": sql_ms(
        "SELECT count(*) FROM members_member m JOIN orgs_organization o ON o.id = m.org_id "
        "WHERE m.status = 'active' AND o.path LIKE %s", [prefix]),
    "API orgs": sql_ms(
        "SELECT o.id, o.code, o.name, o.kind, o.path FROM orgs_organization o "
        "WHERE o.status = 'active' AND o.path LIKE %s ORDER BY o.path LIMIT 50", [prefix]),
    "API orgs: count": sql_ms(
        "SELECT count(*) FROM orgs_organization o WHERE o.status = 'active' AND o.path LIKE %s", [prefix]),
    "API activities": sql_ms(
        "SELECT a.id, a.held_on, a.topic, o.name FROM activities_activity a "
        "JOIN orgs_organization o ON o.id = a.org_id WHERE a.status = 'active' AND o.path LIKE %s "
        "ORDER BY a.held_on DESC, a.id DESC LIMIT 50", [prefix]),
    "API activities: count": sql_ms(
        "SELECT count(*) FROM activities_activity a JOIN orgs_organization o ON o.id = a.org_id "
        "WHERE a.status = 'active' AND o.path LIKE %s", [prefix]),
}
out["load_after"] = os.getloadavg()
print(json.dumps(out))
"""

# The list pages and the hand-written SQL of the same first rows.
SQL_OF = {"member list": "member list", "member list page 50": "member list", "API members": "member list",
          "API orgs": "API orgs", "API activities": "API activities"}


def database(members: int) -> tuple[dict, str]:
    env = dict(os.environ)
    url = env.get("DANGJIAN_BENCH_DATABASE_URL") or f"postgres://postgres@127.0.0.1:5432/dangjian_bench_pages_{members}"
    # Created when missing (an error saying it exists is the usual answer).
    parts = urlsplit(url)
    subprocess.run(["createdb", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
                    "-U", parts.username or "postgres", parts.path.lstrip("/")], capture_output=True)
    var = Path(env.get("DANGJIAN_VAR_DIR") or ROOT / "var" / f"bench-pages-{members}")
    env.setdefault("DANGJIAN_VAR_DIR", str(var))
    env.setdefault("DANGJIAN_KEY_DIR", str(var / "keys"))
    env.update(DANGJIAN_DATABASE_URL=url, DANGJIAN_JOBS_MODE="sync")
    run([DANGJIAN, "migrate", "-v0"], env)
    # Reused when it already holds a city; built otherwise (minutes at 100,000 members).
    run([DANGJIAN, "demo", "--members", str(members), "--if-empty", "-v0"], env)
    return env, url.rsplit("@", 1)[-1]


def main() -> None:
    members = int(os.environ.get("DANGJIAN_BENCH_PAGES_MEMBERS", "10000"))
    env, where = database(members)
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    res = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    if res.returncode:
        sys.stderr.write(res.stderr[-4000:])
        raise SystemExit(res.returncode)
    data = json.loads(res.stdout.strip().splitlines()[-1])
    login = data["pages"][0]["ms"]
    sql = data["sql"]
    print(f"{data['members']:,} members, {data['orgs']:,} organizations, PostgreSQL {where}; "
          f"load {data['load'][0]:.2f} before, {data['load_after'][0]:.2f} after (2 cores)")
    rows = [("page", "median ms", "queries", "KB", "× login page", "SQL first 50 ms", "SQL count ms")]
    for p in data["pages"]:
        key = SQL_OF.get(p["page"])
        rows.append((p["page"], f"{p['ms']:.1f}", p["queries"], f"{p['kb']:.0f}", f"{p['ms'] / login:.1f}",
                     f"{sql[key]:.1f}" if key else "", f"{sql[key + ': count']:.1f}" if key else ""))
    table(rows)


if __name__ == "__main__":
    main()

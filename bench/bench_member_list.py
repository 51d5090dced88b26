"""Member list page over the demo city (~10,000 members): query count and time per request,
beside a baseline of the same page's rows fetched with one hand-written SQL query."""
import json
import subprocess
import sys

from common import DANGJIAN, run, scratch_env, table

PROBE = r"""
import json, statistics, time, django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from dangjian.accounts.models import User
from dangjian.members.models import Member

c = Client()
c.force_login(User.objects.get(username="admin"))
out = {"members": Member.objects.count()}
for label, url in [("list", "/members/"), ("search_pinyin", "/members/?q=zh"), ("page_50", "/members/?page=50")]:
    c.get(url)  # warm
    times = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter(); r = c.get(url); times.append(time.perf_counter() - t)
        assert r.status_code == 200, (url, r.status_code)
    out[label] = {"queries": len(ctx), "ms": statistics.median(times) * 1000}
sql = ("SELECT m.id, m.name, m.gender, m.birth_date, m.id_mask, m.category, m.post, m.rank, o.name "
       "FROM members_member m JOIN orgs_organization o ON o.id = m.org_id "
       "WHERE m.status = 'active' ORDER BY o.path, m.name, m.id LIMIT 50")
times = []
for _ in range(5):
    with connection.cursor() as cur:
        t = time.perf_counter(); cur.execute(sql); cur.fetchall(); times.append(time.perf_counter() - t)
out["baseline_ms"] = statistics.median(times) * 1000
print(json.dumps(out))
"""


def main() -> None:
    env = scratch_env("list")
    run([DANGJIAN, "migrate", "-v0"], env)
    run([DANGJIAN, "demo"], env)
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    res = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    data = json.loads(res.stdout.strip().splitlines()[-1])
    base = data["baseline_ms"]
    rows = [("page", "members", "queries", "median ms", "baseline ms (raw SQL rows)", "ratio")]
    for label in ("list", "search_pinyin", "page_50"):
        d = data[label]
        rows.append((label, data["members"], d["queries"], f"{d['ms']:.1f}", f"{base:.2f}", f"{d['ms'] / base:.0f}×"))
    table(rows)


if __name__ == "__main__":
    main()

"""The member roster export of the demo city (~10,000 members) through the web page.

Measured in one run on one scratch database:
- inline: the whole workbook built while the browser waits (what the page did for every size,
  and still does up to DANGJIAN_EXPORT_INLINE_ROWS rows);
- job: the page's answer (a redirect to the job's page) and the background job until the file
  is ready, as the progress bar shows it;
- concurrent: three exports started together while another connection keeps committing small
  writes, as other users' pages do; every job must finish (on SQLite a job that kept a read
  open while writing its progress used to fail with "database is locked");
- baseline: the same rows read with one hand-written SQL query and written with openpyxl's
  write-only mode, without decrypting the 身份证号 (the floor of any export).
"""
import json
import subprocess
import sys

from common import DANGJIAN, run, scratch_env, table

PROBE = r"""
import io, json, statistics, threading, time, django
django.setup()
from django.conf import settings
from django.db import connection
from django.test import Client
from dangjian.accounts.models import User
from dangjian.core.models import Job

c = Client()
c.force_login(User.objects.get(username="admin"))
out = {}

def inline():
    settings.EXPORT_INLINE_ROWS = 10**9
    t = time.perf_counter()
    r = c.get("/exchange/export/members.xlsx")
    size = len(b"".join(r.streaming_content))
    return time.perf_counter() - t, size

def job():
    settings.EXPORT_INLINE_ROWS = 2000
    t = time.perf_counter()
    r = c.get("/exchange/export/members.xlsx")
    answered = time.perf_counter() - t
    assert r.status_code == 302, r.status_code
    pk = int(r["Location"].rstrip("/").split("/")[-1])
    while Job.objects.get(pk=pk).status not in ("done", "failed"):
        time.sleep(0.05)
    done = time.perf_counter() - t
    assert Job.objects.get(pk=pk).status == "done"
    return answered, done

def baseline():
    from openpyxl import Workbook
    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT m.name, m.gender, m.ethnicity, m.birth_date, m.id_mask, m.education, m.phone, o.code, "
                    "m.category, m.joined_on, m.confirmed_on, m.workplace, m.post, m.rank, m.is_leader "
                    "FROM members_member m JOIN orgs_organization o ON o.id = m.org_id "
                    "WHERE m.status = 'active' ORDER BY o.path, m.name, m.id")
        rows = cur.fetchall()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("党员花名册")
    for row in rows:
        ws.append(list(row))
    wb.save(io.BytesIO())
    return time.perf_counter() - t, len(rows)

def concurrent():
    from django.db import close_old_connections
    settings.EXPORT_INLINE_ROWS = 2000
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            Job.objects.create(kind="noise").delete()
            time.sleep(0.01)
        close_old_connections()

    w = threading.Thread(target=writer)
    w.start()
    t = time.perf_counter()
    pks = [int(c.get("/exchange/export/members.xlsx")["Location"].rstrip("/").split("/")[-1]) for _ in range(3)]
    while Job.objects.filter(pk__in=pks, status__in=("queued", "running")).exists():
        time.sleep(0.05)
    took = time.perf_counter() - t
    stop.set()
    w.join()
    return took, Job.objects.filter(pk__in=pks, status="done").count(), len(pks)

inl = [inline() for _ in range(3)]
out["inline_s"] = statistics.median(t for t, _ in inl)
out["bytes"] = inl[0][1]
jobs_ = [job() for _ in range(3)]
out["job_answer_s"] = statistics.median(a for a, _ in jobs_)
out["job_done_s"] = statistics.median(d for _, d in jobs_)
out["concurrent_s"], out["concurrent_done"], out["concurrent_jobs"] = concurrent()
base = [baseline() for _ in range(3)]
out["baseline_s"] = statistics.median(t for t, _ in base)
out["rows"] = base[0][1]
print(json.dumps(out))
"""


def main() -> None:
    env = scratch_env("export")
    run([DANGJIAN, "migrate", "-v0"], env)
    run([DANGJIAN, "demo"], env)
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    env["DANGJIAN_JOBS_MODE"] = "thread"  # as a server runs it: the job in the background
    res = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    d = json.loads(res.stdout.strip().splitlines()[-1])
    base = d["baseline_s"]
    table([
        ("how", "rows", "page answers (s)", "file ready (s)", "baseline (s)", "ratio (file ready / baseline)"),
        ("inline (before: every size)", d["rows"], f"{d['inline_s']:.2f}", f"{d['inline_s']:.2f}", f"{base:.2f}",
         f"{d['inline_s'] / base:.1f}×"),
        ("job with progress (now: > 2,000 rows)", d["rows"], f"{d['job_answer_s']:.3f}", f"{d['job_done_s']:.2f}",
         f"{base:.2f}", f"{d['job_done_s'] / base:.1f}×"),
        (f"3 jobs at once beside other writes: {d['concurrent_done']} of {d['concurrent_jobs']} finished", d["rows"],
         "", f"{d['concurrent_s']:.2f}", f"{base:.2f}", f"{d['concurrent_s'] / base:.1f}×"),
    ])
    if d["concurrent_done"] != d["concurrent_jobs"]:
        sys.exit("并发导出有任务失败")


if __name__ == "__main__":
    main()

"""The formalism page (形式主义提示) right after a record is saved, before and after the signals
were stored, measured in the same run on the same database.

Data: the demo city (`dangjian demo --today 2026-12-20` on a flushed scratch database): a year
of organizational life with ~15,000 records, ~13,000 of them with minutes, and ~2,000 signals.

Each probe runs in its own process, with background jobs in threads as on a one-machine
install (`DANGJIAN_JOBS_MODE=thread`), logged in as the demo's 工委 administrator:
- it opens the page until it is steady (the first view of the stored code starts the year's
  first computation; the probe waits for it);
- then, SAVES times (default 5): it records a meeting of a branch through the service, entered
  long after its date (a late entry: the page must change), and times the page at once — the
  view a user opens right after saving — then waits for the background jobs to finish before
  the next save, recording how long the formalism refresh took.

"before" is the code this branch started from (`git merge-base HEAD main`, or
DANGJIAN_BENCH_FORMALISM_BASE), unpacked with `git archive` into a temp folder and imported
ahead of the installed package: its page recomputed the whole year on the first view after a
change. "after" is this tree: the page reads the stored signals. The after probe also times
`formalism.compute` for the year in-process (what the old page did after each change), so a
ratio is printed even where git is not available.

SQLite always (a scratch file); also DANGJIAN_BENCH_DATABASE_URL if set (a scratch PostgreSQL
or MariaDB database, flushed first).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from common import DANGJIAN, ROOT, run, scratch_env, table

YEAR = 2026
TODAY = "2026-12-20"
PAGE = f"/activities/formalism/?year={YEAR}"


# ---- inside the probe process (Django set up) -----------------------------------------------

def _wait_for_jobs(after_pk: int, timeout: float = 300.0) -> None:
    from dangjian.core.models import Job

    end = time.monotonic() + timeout
    while Job.objects.filter(pk__gt=after_pk).exclude(status__in=("done", "failed")).exists():
        if time.monotonic() > end:
            raise SystemExit("background jobs did not finish")
        time.sleep(0.05)


def _timed(client, url: str) -> tuple[float, str]:
    t = time.perf_counter()
    r = client.get(url)
    seconds = time.perf_counter() - t
    if r.status_code != 200:
        raise SystemExit(f"{url}: HTTP {r.status_code}")
    return seconds, r.content.decode()


def probe(which: str, saves: int) -> dict:
    import datetime as dt

    import django

    django.setup()
    from django.test import Client
    from django.utils import timezone

    import dangjian
    from dangjian.accounts.models import User
    from dangjian.activities import formalism, services
    from dangjian.activities.models import Activity
    from dangjian.core.models import Job
    from dangjian.orgs.models import Organization

    client = Client()
    client.force_login(User.objects.get(username="admin"))
    stored = hasattr(formalism, "refresh_year")
    extra = [f"{PAGE}&list=1", f"{PAGE}&kind=copied_minutes"] if stored else []

    # Steady state: the stored code's first view starts the year's first computation.
    last_job = Job.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    _timed(client, PAGE)
    _wait_for_jobs(last_job)
    steady = {url: statistics.median(_timed(client, url)[0] for _ in range(3)) for url in [PAGE, *extra]}

    org = Organization.objects.filter(kind="branch", status="active").order_by("path").first()
    source = Activity.objects.filter(org__kind="branch", held_on__year=YEAR).exclude(org=org).exclude(minutes="")\
        .order_by("pk").values_list("minutes", flat=True).first()
    after, refresh = {url: [] for url in [PAGE, *extra]}, []
    for i in range(saves):
        held_on = dt.date(YEAR, 9, 1 + i)
        last_job = Job.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        services.record_activity(None, org, ["theme_day"], held_on, topic=f"性能测试补录{which}{i}",
                                 minutes=f"第{i}次补录。" + source[:200],
                                 today=max(timezone.localdate(), held_on))
        for url in after:  # what a user opens right after saving (the refresh runs meanwhile)
            after[url].append(_timed(client, url)[0])
        _wait_for_jobs(last_job)
        if stored:
            # The job the save started, and any the page started when it found the year out of
            # date first (whichever claims the year runs the whole-year step; the other skips it).
            jobs = list(Job.objects.filter(pk__gt=last_job, kind="formalism"))
            years = [y for j in jobs for y in j.result["years"]]
            refresh.append({
                "local": sum(y.get("local_seconds") or 0 for y in years),
                "year": sum(y["seconds"] for y in years if y["runs"]), "runs": sum(y["runs"] for y in years),
                "wall": (max(j.finished_at for j in jobs) - min(j.created_at for j in jobs)).total_seconds()})
    text = _timed(client, f"{PAGE}&org={org.code}")[1]  # the branch's cards, old code and new
    new = Activity.objects.filter(topic=f"性能测试补录{which}{saves - 1}").values_list("pk", flat=True).first()
    out = dict(which=which, code=str(Path(dangjian.__file__).parent), stored=stored, saves=saves,
               records=Activity.objects.filter(held_on__year=YEAR).count(),
               with_minutes=Activity.objects.filter(held_on__year=YEAR).exclude(minutes="").count(),
               steady=steady, after=after, refresh=refresh, shows_new=f'href="/activities/{new}/"' in text,
               load=os.getloadavg()[0])
    if stored:
        out["signals"] = formalism.FormalismSignal.objects.filter(year=YEAR).count()
        computes = []
        for _ in range(3):  # what the old page did on the first view after every change
            t = time.perf_counter()
            formalism.compute(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
            computes.append(time.perf_counter() - t)
        out["compute"] = statistics.median(computes)
    return out


# ---- the driver ------------------------------------------------------------------------------

def _base_tree() -> Path | None:
    """The starting point's `dangjian` package unpacked in a temp folder, or None."""
    rev = os.environ.get("DANGJIAN_BENCH_FORMALISM_BASE")
    try:
        if not rev:
            rev = subprocess.run(["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], check=True,
                                 capture_output=True, text=True).stdout.strip()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "dangjian"], check=True,
                                 capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"(no before probe: {e})")
        return None
    folder = Path(tempfile.mkdtemp(prefix="dangjian-bench-formalism-base-"))
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    if "year_signals" not in (folder / "dangjian/activities/formalism.py").read_text(encoding="utf-8"):
        print(f"(no before probe: {rev[:10]} already stores the signals)")
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return folder


def _probe(env: dict, which: str, saves: int, pythonpath: Path | None = None) -> dict:
    env = dict(env, DJANGO_SETTINGS_MODULE="dangjian.settings", DANGJIAN_JOBS_MODE="thread")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    res = subprocess.run([sys.executable, __file__, "--probe", which, str(saves)], env=env, capture_output=True,
                         text=True)
    if res.returncode:
        sys.stderr.write(res.stderr)
        raise SystemExit(res.returncode)
    return json.loads(res.stdout.strip().splitlines()[-1])


def measure(env: dict, saves: int, base: Path | None) -> list[dict]:
    run([DANGJIAN, "migrate", "-v0"], env)
    run([DANGJIAN, "flush", "--no-input"], env)
    run([DANGJIAN, "demo", "-v0", "--reset", "--today", TODAY], env)
    out = []
    if base is not None:
        out.append(_probe(env, "before", saves, base))
    out.append(_probe(env, "after", saves))
    return out


def _s(values) -> str:
    return f"{statistics.median(values):.3f} (max {max(values):.3f})"


def main() -> None:
    if sys.argv[1:2] == ["--probe"]:
        print(json.dumps(probe(sys.argv[2], int(sys.argv[3]))))
        return
    saves = int(os.environ.get("DANGJIAN_BENCH_FORMALISM_SAVES", "5"))
    envs = [scratch_env("formalism")]
    url = os.environ.get("DANGJIAN_BENCH_DATABASE_URL")
    if url:
        envs.append(dict(scratch_env("formalism"), DANGJIAN_DATABASE_URL=url))
    base = _base_tree()
    data = []
    try:
        for env in envs:
            vendor = run([sys.executable, "-c", "import django; django.setup(); from django.db import connection; "
                          "print(connection.vendor)"], dict(env, DJANGO_SETTINGS_MODULE="dangjian.settings"))
            for d in measure(env, saves, base):
                d["vendor"] = vendor.stdout.strip()
                data.append(d)
    finally:
        for env in envs:
            shutil.rmtree(env["DANGJIAN_VAR_DIR"], ignore_errors=True)
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)

    rows = [("db", "code", "page", "right after a save s, median (max)", "steady s", "shows the new record")]
    for d in data:
        for page, times in d["after"].items():
            shown = page.replace(PAGE, "").lstrip("&") or ("summary" if d["stored"] else "cards, page 1")
            rows.append((d["vendor"], d["which"], shown, _s(times), f"{d['steady'][page]:.3f}",
                         "yes" if d["shows_new"] else "no"))
    table(rows)
    print()
    rows = [("db", "per-org step s", "whole year s", "save to refreshed s", "whole-year runs per save")]
    for d in data:
        if d["refresh"]:
            r = d["refresh"]
            rows.append((d["vendor"], _s([x["local"] for x in r]), _s([x["year"] for x in r if x["runs"]] or [0]),
                         _s([x["wall"] for x in r]), "/".join(str(x["runs"]) for x in r)))
    table(rows)
    print()
    for vendor in dict.fromkeys(d["vendor"] for d in data):
        before = next((d for d in data if d["vendor"] == vendor and d["which"] == "before"), None)
        after = next(d for d in data if d["vendor"] == vendor and d["which"] == "after")
        now = statistics.median(after["after"][PAGE])
        print(f"{vendor}: {after['records']} records of {YEAR} ({after['with_minutes']} with minutes), "
              f"{after['signals']} signals; whole-year compute in-process {after['compute']:.3f} s "
              f"= {after['compute'] / now:.0f}× the page after a save ({now:.3f} s)")
        if before is not None:
            old = statistics.median(before["after"][PAGE])
            print(f"{vendor}: page right after a save, before {old:.3f} s → after {now:.3f} s "
                  f"({old / now:.0f}× faster); load average {before['load']:.1f} / {after['load']:.1f}")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if not all(d["shows_new"] for d in data):
        raise SystemExit("a page did not show the record saved last")


if __name__ == "__main__":
    main()

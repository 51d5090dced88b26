"""Load test: the production stack (scripts/serve: gunicorn and the job worker) on loopback
against a scratch PostgreSQL database holding the demo city, with concurrent users of every demo
role walking the main pages and API lists.

    .venv/bin/python bench/run.py load

- The database: DANGJIAN_BENCH_DATABASE_URL (default
  postgres://postgres@127.0.0.1:5432/dj_stack_bench), created if missing, migrated, and given the
  demo city (DANGJIAN_BENCH_LOAD_MEMBERS, default 10,000) when it holds no organization yet; a
  city already there is reused (its build is not what is measured here).
- The walk: DANGJIAN_BENCH_LOAD_USERS (20) threads, each logged in as one of the six demo
  accounts (several sessions per account), GET the pages of its role in a shuffled round for
  DANGJIAN_BENCH_LOAD_SECONDS (60) or until DANGJIAN_BENCH_LOAD_REQUESTS (10,000) requests in all,
  whichever comes first. Only 127.0.0.1 is ever addressed.
- The baseline, in the same run on the same server: the same threads and time fetching one
  static file (answered by WhiteNoise inside gunicorn: the server and client cost of a request
  with no page behind it). Pages are reported as p50/p95/max and as the ratio of their p95 to the
  baseline's p95.
- Before the walk, each page alone: one user, one request at a time, median of three ("alone
  ms"), what the page costs without queueing behind the other users' requests.
- An error is an answer other than 200 or an exception (a timeout, a reset connection).
"""
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DANGJIAN, ROOT, run, table  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dj_stack_bench"
PASSWORD = "Demo@2026jg"  # dangjian/demo/generator.py DEMO_PASSWORD
STATIC = "/static/css/pages.css"

# The pages of each demo account's role (dangjian/demo/generator.py DEMO_USERNAMES): what that
# person opens in a working day. "{org}" is the last organization of the account's first API page,
# "{year}" this year. A menu entry that redirects (活动 → the calendar of one's organization) is
# walked at the address it leads to, as a browser ends up there.
PAGES = {
    "admin": ["/", "/orgs/", "/orgs/{org}/", "/members/", "/members/?q=王", "/activities/",
              "/activities/overview/", "/activities/formalism/", "/assessment/", "/ratings/", "/duties/overview/",
              "/orgs/alerts/", "/api/orgs/", "/api/members/", "/api/activities/", "/api/compliance/?period={year}"],
    "caizheng": ["/", "/orgs/", "/orgs/{org}/", "/members/", "/members/?q=李", "/activities/",
                 "/activities/overview/", "/duties/", "/api/members/", "/api/activities/",
                 "/api/compliance/?period={year}"],
    "zhibu": ["/", "/orgs/{org}/", "/members/", "/activities/", "/activities/org/{org}/", "/duties/",
              "/api/activities/", "/api/members/"],
    "dangyuan": ["/", "/activities/mine/", "/api/activities/"],
    "lingdao": ["/", "/orgs/", "/activities/overview/", "/ratings/", "/api/orgs/", "/api/compliance/?period={year}"],
    "ducha": ["/", "/orgs/", "/activities/", "/activities/formalism/", "/api/orgs/"],
}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit(f"database name {name!r}: letters, digits and _ only")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stack(env: dict, port: int) -> subprocess.Popen:
    env = dict(env, DANGJIAN_BIND=f"127.0.0.1:{port}", DANGJIAN_JOBS_MODE="worker", DANGJIAN_ACCESS_LOG="",
               DANGJIAN_WEB_WORKERS=os.environ.get("DANGJIAN_WEB_WORKERS", "4"),
               DANGJIAN_DB_CONN_MAX_AGE=os.environ.get("DANGJIAN_DB_CONN_MAX_AGE", "60"),
               DANGJIAN_BIN=str(Path(sys.executable).parent))
    log = open(Path(env["DANGJIAN_VAR_DIR"]) / "serve.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen([str(ROOT / "scripts" / "serve")], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"scripts/serve stopped: see {log.name}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_stack(proc)
    raise SystemExit("the stack did not answer within 180 s")


def stop_stack(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def login(base: str, username: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    r = s.post(f"{base}/accounts/login/", data={"username": username, "password": PASSWORD,
                                               "csrfmiddlewaretoken": token},
               headers={"Referer": f"{base}/accounts/login/"}, timeout=30, allow_redirects=False)
    if r.status_code != 302:
        raise SystemExit(f"login as {username}: HTTP {r.status_code}")
    return s


def first_org(base: str, session: requests.Session) -> int:
    data = session.get(f"{base}/api/orgs/", timeout=30).json()
    results = data.get("results", data) if isinstance(data, dict) else data
    ids = [o["id"] for o in results]
    # The deepest organization the account sees first (a branch for a secretary): pages of that org.
    return ids[-1] if ids else 0


def resolve(base: str, session: requests.Session, page: str) -> str:
    r = session.get(base + page, timeout=120, allow_redirects=False)
    if r.status_code in (301, 302) and r.headers["Location"].startswith("/"):
        return r.headers["Location"]
    return page


def drain(url: str, limit: float = 600) -> float:
    import psycopg

    began = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() - began < limit:
            if not conn.execute("SELECT count(*) FROM core_job WHERE status IN ('queued', 'running')").fetchone()[0]:
                break
            time.sleep(1)
    return time.monotonic() - began


class Walk:
    """Threads walking their pages until the time is up or the shared count is reached."""

    def __init__(self, base: str, users: list[tuple[str, requests.Session, list[str]]], seconds: float, limit: int):
        self.base, self.users, self.seconds, self.limit = base, users, seconds, limit
        self.lock = threading.Lock()
        self.count = 0
        self.times: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.samples: list[str] = []

    def _take(self) -> bool:
        with self.lock:
            if self.count >= self.limit:
                return False
            self.count += 1
            return True

    def _user(self, i: int, session: requests.Session, pages: list[str], end: float) -> None:
        rng = random.Random(i)
        while time.monotonic() < end:
            order = pages[:]
            rng.shuffle(order)
            for page in order:
                if time.monotonic() >= end or not self._take():
                    return
                began = time.perf_counter()
                try:
                    r = session.get(self.base + page, timeout=30, allow_redirects=False)
                    ok, why = r.status_code == 200, f"HTTP {r.status_code}"
                    r.content  # noqa: B018 (the whole answer is part of the time)
                except requests.RequestException as e:
                    ok, why = False, type(e).__name__
                took = time.perf_counter() - began
                with self.lock:
                    self.times.setdefault(page, []).append(took)
                    if not ok:
                        self.errors[page] = self.errors.get(page, 0) + 1
                        if len(self.samples) < 5:
                            self.samples.append(f"{page}: {why}")

    def run(self) -> float:
        end = time.monotonic() + self.seconds
        threads = [threading.Thread(target=self._user, args=(i, s, pages, end))
                   for i, (_, s, pages) in enumerate(self.users)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - began


def pct(values: list[float], p: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def ms(v: float) -> str:
    return f"{v * 1000:.0f}"


def main() -> int:
    url = os.environ.get("DANGJIAN_BENCH_DATABASE_URL", DEFAULT_URL)
    members = env_int("DANGJIAN_BENCH_LOAD_MEMBERS", 10_000)
    n_users = env_int("DANGJIAN_BENCH_LOAD_USERS", 20)
    seconds = env_int("DANGJIAN_BENCH_LOAD_SECONDS", 60)
    limit = env_int("DANGJIAN_BENCH_LOAD_REQUESTS", 10_000)
    # Keys and files beside the reused database: a new field key would not fit its data.
    var = Path(os.environ.get("DANGJIAN_BENCH_LOAD_VAR", ROOT / "var" / "bench-load"))
    env = dict(os.environ, DANGJIAN_DATABASE_URL=url, DANGJIAN_VAR_DIR=str(var), DANGJIAN_KEY_DIR=str(var / "keys"),
               DANGJIAN_JOBS_MODE="sync")
    ensure_database(url)
    run([DANGJIAN, "migrate", "-v0"], env)
    began = time.perf_counter()
    built = run([DANGJIAN, "demo", "--if-empty", "--members", str(members)], env)
    print(f"demo city: {built.stdout.strip().splitlines()[-1] if built.stdout.strip() else 'ready'} "
          f"({time.perf_counter() - began:.0f} s)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_stack(env, port)
    try:
        accounts = list(PAGES)
        sessions = {}
        users = []
        for i in range(n_users):
            name = accounts[i % len(accounts)]
            s = login(base, name)
            if name not in sessions:
                sessions[name] = first_org(base, s)
            users.append((name, s, [resolve(base, s, p.format(org=sessions[name], year=time.localtime().tm_year))
                                    for p in PAGES[name]]))
        # One warm-up round per user: every process has loaded its code before the clock runs.
        Walk(base, users, seconds=600, limit=sum(len(p) for _, _, p in users)).run()
        # The jobs the first reads started (a year's formalism signals never computed by the demo)
        # run in the worker once; the measured walk is the steady state after them.
        drained = drain(url)
        print(f"jobs started by the first reads: done in {drained:.0f} s before the clock ran")
        # Each page alone (one user, one request at a time, median of 3): what a page costs without
        # waiting behind the others' requests, the figure to compare pages by.
        alone, seen = {}, set()
        for name, session, pages in users:
            if name in seen:
                continue
            seen.add(name)
            for page in pages:
                times = []
                for _ in range(3):
                    began = time.perf_counter()
                    session.get(base + page, timeout=120, allow_redirects=False).content  # noqa: B018
                    times.append(time.perf_counter() - began)
                alone[page] = min(alone.get(page, 1e9), statistics.median(times))
        load_before = os.getloadavg()
        baseline = Walk(base, [(n, s, [STATIC]) for n, s, _ in users], seconds, limit)
        base_wall = baseline.run()
        walk = Walk(base, users, seconds, limit)
        wall = walk.run()
        load_after = os.getloadavg()
    finally:
        stop_stack(proc)

    static = baseline.times[STATIC]
    base_p95 = pct(static, 95)
    every = [t for ts in walk.times.values() for t in ts]
    rows = [("page", "alone ms", "requests", "errors", "p50 ms", "p95 ms", "max ms", "p95 / baseline p95")]
    for page, ts in sorted(walk.times.items(), key=lambda kv: -pct(kv[1], 95)):
        rows.append((page, ms(alone[page]) if page in alone else "—", len(ts), walk.errors.get(page, 0),
                     ms(pct(ts, 50)), ms(pct(ts, 95)), ms(max(ts)), f"{pct(ts, 95) / base_p95:.1f}×"))
    rows.append(("all pages", ms(statistics.median(alone.values())) + " (median)", len(every),
                 sum(walk.errors.values()), ms(pct(every, 50)), ms(pct(every, 95)), ms(max(every)),
                 f"{pct(every, 95) / base_p95:.1f}×"))
    rows.append((f"baseline: {STATIC}", "—", len(static), sum(baseline.errors.values()), ms(pct(static, 50)),
                 ms(base_p95), ms(max(static)), "1.0×"))
    table(rows)
    print(f"\n{n_users} users ({', '.join(accounts)} in turn), {len(every)} page requests in {wall:.1f} s "
          f"({len(every) / wall:.0f}/s), baseline {len(static)} in {base_wall:.1f} s; "
          f"gunicorn {os.environ.get('DANGJIAN_WEB_WORKERS', '4')} sync workers + 1 job worker, PostgreSQL, "
          f"{members:,} members")
    print(f"load average (1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, "
          f"after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}; {os.cpu_count()} cores")
    if walk.samples or baseline.samples:
        print("errors, first ones: " + "; ".join(walk.samples + baseline.samples))
    target = pct(every, 95) <= 0.150 and not walk.errors
    print(f"target p95 ≤ 150 ms over all pages and 0 errors: {'met' if target else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

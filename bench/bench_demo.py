"""Demo city build (`dangjian demo`): wall time and peak memory at the default size and at
twice the size, beside a baseline in the same run: drawing the same plan in memory only
(no database), so the ratio shows what storing costs over generating."""
import json
import resource
import subprocess
import sys
import time

from common import DANGJIAN, run, scratch_env, table

PLAN_ONLY = r"""
import json, sys, time, django
django.setup()
from dangjian.demo import generator
t = time.perf_counter()
generator.plan_city(members=int(sys.argv[1]), seed=2026)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def build(members: int) -> tuple[float, float]:
    """Seconds and peak MB of one `dangjian demo` on a fresh, migrated SQLite database."""
    env = scratch_env(f"demo{members}")
    run([DANGJIAN, "migrate", "-v0"], env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    run([DANGJIAN, "demo", "--members", str(members), "-v0"], env)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far; migrate is far smaller than demo.
    return seconds, max(peak, before) / 1024


def plan_only(members: int) -> float:
    env = scratch_env("plan")
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    res = subprocess.run([sys.executable, "-c", PLAN_ONLY, str(members)], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    rows = [("members", "build s", "peak MB", "plan-only baseline s", "ratio", "s per 1k members")]
    for members in (10_000, 20_000):
        seconds, peak = build(members)
        base = plan_only(members)
        rows.append((members, f"{seconds:.1f}", f"{peak:.0f}", f"{base:.2f}", f"{seconds / base:.1f}×",
                     f"{seconds / members * 1000:.2f}"))
    table(rows)


if __name__ == "__main__":
    main()

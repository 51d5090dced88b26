"""Roster import of 10,000 rows on a fresh SQLite database: wall time and peak memory of
`dangjian import-members` (targets ≤ 15 s, ≤ 500 MB), then the same file again (every row
matched, nothing to change). Baseline, measured in the same run: a subprocess that only
starts Django and reads the same file with openpyxl — the floor any import pays."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import DANGJIAN, ROOT, run, scratch_env, table

ROWS = 10_000
BRANCHES = 400
TIME_TARGET_S = 15
MEMORY_TARGET_MB = 500

WRITE_FILES = r"""
import datetime as dt, random, sys
import openpyxl
from dangjian.core import idcard
from dangjian.members.io import COLUMNS as MEMBER_COLUMNS
from dangjian.orgs.io import COLUMNS as ORG_COLUMNS

rows, branches, orgs_path, members_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(2026)
wb = openpyxl.Workbook(); ws = wb.active
ws.append([c.header for c in ORG_COLUMNS])
ws.append(["BWC", "基准市直机关工委", "机关工委", "", "", dt.date(1990, 7, 1), "", ""])
depts = branches // 8
for d in range(depts):
    ws.append([f"BD{d:03d}", f"基准第{d + 1}局机关党委", "机关党委", "BWC", f"基准第{d + 1}局", dt.date(2000, 1, 1),
               dt.date(2023, 3, 1), dt.date(2028, 3, 1)])
for b in range(branches):
    ws.append([f"BB{b:04d}", f"基准第{b % depts + 1}局第{b // depts + 1}党支部", "党支部", f"BD{b % depts:03d}",
               f"基准第{b % depts + 1}局", dt.date(2010, 1, 1), dt.date(2024, 3, 1), dt.date(2027, 3, 1)])
wb.save(orgs_path)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"
wb = openpyxl.Workbook(); ws = wb.active
ws.append([c.header for c in MEMBER_COLUMNS])
ranks = ["一级科员", "四级主任科员", "正科级", "二级主任科员", "副处级", "四级调研员", ""]
for i in range(rows):
    born = dt.date(1965, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 30))
    seq = i % 1000
    number = idcard.make(f"{110101 + i // 1000}", born, seq)
    joined = dt.date(born.year + rng.randint(19, 26), rng.randint(1, 12), rng.randint(1, 28))
    probationary = i % 25 == 0
    if probationary:
        joined = dt.date.today() - dt.timedelta(days=rng.randint(30, 300))
    confirmed = None if probationary else joined + dt.timedelta(days=365)
    role = "书记" if i % 25 == 1 else ("组织委员" if i % 25 == 2 else "")
    ws.append([
        SURNAMES[rng.randrange(len(SURNAMES))] + "".join(rng.sample(GIVEN, rng.randint(1, 2))),
        "男" if seq % 2 else "女", "汉族", born, number, "大学本科", f"139{i:08d}", f"BB{i // 25 % 400:04d}",
        "预备党员" if probationary else "正式党员", joined, confirmed, "基准局", "科员", rng.choice(ranks),
        "是" if i % 50 == 3 else "否", role, "否", "否", "否",
    ])
wb.save(members_path)
"""

BASELINE = r"""
import sys, django
django.setup()
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True, data_only=True)
n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
print(n)
"""


def timed(args: list[str], env: dict) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (MB) of one child process. ru_maxrss of RUSAGE_CHILDREN is
    the largest of all children waited for so far, so every measured command runs in its
    own short-lived wrapper process."""
    probe = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'wall': wall, 'rss': rss, 'rc': p.returncode, 'out': p.stdout, 'err': p.stderr[-2000:]}))\n"
    )
    res = subprocess.run([sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True, check=True)
    data = json.loads(res.stdout)
    proc = subprocess.CompletedProcess(args, data["rc"], data["out"], data["err"])
    return data["wall"], data["rss"], proc


def city_with_roster(name: str, rows: int, branches: int) -> tuple[dict, Path, Path]:
    """A scratch installation whose org tree is imported, and a roster workbook of `rows`
    members over `branches` branches ready to import: (env, the roster, its folder)."""
    env = scratch_env(name)
    env["DJANGO_SETTINGS_MODULE"] = "dangjian.settings"
    env["PYTHONPATH"] = str(ROOT)
    tmp = Path(tempfile.mkdtemp(prefix=f"dangjian-bench-{name}-"))
    orgs, members = tmp / "orgs.xlsx", tmp / "members.xlsx"
    setup = "import django; django.setup()\n" + WRITE_FILES
    subprocess.run([sys.executable, "-c", setup, str(rows), str(branches), str(orgs), str(members)],
                   env=env, check=True)
    run([DANGJIAN, "migrate", "-v0"], env, check=False)
    res = run([DANGJIAN, "import-orgs", str(orgs), "--format", "json"], env, check=False)
    assert json.loads(res.stdout)["ok"], res.stdout[:2000] + res.stderr[-2000:]
    return env, members, tmp


def main() -> None:
    env, members, _ = city_with_roster("import", ROWS, BRANCHES)

    base_wall, base_rss, proc = timed([sys.executable, "-c", BASELINE, str(members)], env)
    assert proc.returncode == 0, proc.stderr
    results = []
    for label in ("first import (all new)", "re-import (all unchanged)"):
        wall, rss, proc = timed([DANGJIAN, "import-members", str(members), "--format", "json"], env)
        report = json.loads(proc.stdout)
        assert report["ok"], proc.stdout[:2000] + proc.stderr
        results.append((label, report, wall, rss))

    rows = [("run", "rows", "created", "updated", "wall s", "peak MB", "baseline s (read only)", "ratio",
             "targets")]
    for label, report, wall, rss in results:
        ok = "met" if wall <= TIME_TARGET_S and rss <= MEMORY_TARGET_MB else "MISSED"
        rows.append((label, ROWS, report["created"], report["updated"], f"{wall:.1f}", f"{rss:.0f}",
                     f"{base_wall:.1f} ({base_rss:.0f} MB)", f"{wall / base_wall:.1f}×",
                     f"≤ {TIME_TARGET_S} s, ≤ {MEMORY_TARGET_MB} MB: {ok}"))
    table(rows)


if __name__ == "__main__":
    main()

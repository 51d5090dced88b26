"""Helpers shared by the benchmarks: a scratch environment with its own SQLite database."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DANGJIAN = str(Path(sys.executable).with_name("dangjian"))


def scratch_env(name: str) -> dict:
    """Environment for a fresh SQLite database and key directory under a temp dir."""
    base = Path(tempfile.mkdtemp(prefix=f"dangjian-bench-{name}-"))
    env = dict(os.environ)
    env.update(
        DANGJIAN_VAR_DIR=str(base),
        DANGJIAN_KEY_DIR=str(base / "keys"),
        DANGJIAN_DATABASE_URL=f"sqlite:///{base / 'bench.sqlite3'}",
        DANGJIAN_JOBS_MODE="sync",
    )
    return env


def run(args: list[str], env: dict, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, check=check, capture_output=True, text=True)


def table(rows: list[tuple]) -> None:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
        if j == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")

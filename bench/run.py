"""Runs every benchmark in this folder (bench_*.py) in turn and prints their tables.

Each benchmark measures the platform beside a baseline taken in the same run on the same
machine, and prints the ratio: absolute seconds vary between machines, ratios much less."""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    only = sys.argv[1:]
    status = 0
    for script in sorted(HERE.glob("bench_*.py")):
        if only and script.stem.removeprefix("bench_") not in only:
            continue
        print(f"\n## {script.stem}", flush=True)
        status |= subprocess.call([sys.executable, str(script)])
    return status


if __name__ == "__main__":
    sys.exit(main())

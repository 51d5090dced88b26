"""Helpers shared by the benchmarks: a scratch environment with its own SQLite database."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse

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


def fresh_database(url: str) -> None:
    """Drop and create the scratch PostgreSQL or MariaDB database named in `url`: a reused one
    would hold data encrypted under another run's key, which the platform refuses to start on."""
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if parts.scheme.startswith("postgres"):
        import psycopg

        with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    elif parts.scheme in ("mysql", "mariadb"):
        import pymysql

        conn = pymysql.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                               user=parts.username or "root", password=parts.password or "")
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        finally:
            conn.close()
    else:
        raise SystemExit(f"不支持的数据库地址：{parts.scheme}")

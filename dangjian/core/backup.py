"""Backup and restore (docs/operations.md).

A backup is a folder:
- `database.sqlite3` (SQLite's online backup API), `database.pgdump` (pg_dump, custom format)
  or `database.sql` (mariadb-dump), taken from a consistent snapshot;
- `media/`: the attachments (MEDIA_ROOT) as they are stored;
- `manifest.json`: the format, the platform's version, the time, the database engine, the key
  ids and key check values the data needs, and the size, SHA-256 and SM3 of every file.
The field keys are not in it: `--with-keys DIR2` copies them to another place, so that one lost
or stolen folder is never both the data and its key.

A restore checks the manifest and every file's checksums, refuses when the configured keys are
not the ones the backup's data needs (their check values), refuses a database that holds data
unless forced, then loads the database and puts the attachments back.
"""
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from dangjian import keys

from .keycheck import encrypted_fields, mismatch_message, verify
from .models import AuditEntry, KeyCheck

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA = "media"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump", "mysql": "database.sql"}


class BackupError(RuntimeError):
    """The backup or restore cannot go on; the message says why and what to do."""


def platform_version() -> str:
    try:
        return version("dangjian")
    except PackageNotFoundError:
        return "unknown"


def checksums(path: Path) -> dict:
    sha, sm3 = hashlib.sha256(), hashes.Hash(hashes.SM3())
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
            sm3.update(block)
    return {"size": path.stat().st_size, "sha256": sha.hexdigest(), "sm3": sm3.finalize().hex()}


def _inside(a: Path, b: Path) -> bool:
    a, b = a.resolve(), b.resolve()
    return a == b or b in a.parents


def _db_env() -> tuple[dict, dict]:
    s = connection.settings_dict
    env = dict(os.environ)
    return s, env


def _run(args: list[str], env: dict, what: str, stdin=None, stdout=None) -> None:
    try:
        done = subprocess.run(args, env=env, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, check=False)
    except FileNotFoundError:
        raise BackupError(f"找不到 {args[0]}：请安装数据库客户端工具后再{what}") from None
    if done.returncode != 0:
        raise BackupError(f"{args[0]} 执行失败（{what}）：{done.stderr.decode(errors='replace').strip()[:500]}")


def _pg_args(s: dict) -> list[str]:
    args = []
    if s.get("HOST"):
        args += ["-h", str(s["HOST"])]
    if s.get("PORT"):
        args += ["-p", str(s["PORT"])]
    if s.get("USER"):
        args += ["-U", str(s["USER"])]
    return args


def _my_args(s: dict) -> list[str]:
    args = []
    if s.get("HOST"):
        args += ["-h", str(s["HOST"])]
    if s.get("PORT"):
        args += ["-P", str(s["PORT"])]
    if s.get("USER"):
        args += ["-u", str(s["USER"])]
    return args


def dump_database(target: Path) -> None:
    vendor = connection.vendor
    s, env = _db_env()
    if vendor == "sqlite":
        connection.ensure_connection()
        out = sqlite3.connect(target)
        try:
            connection.connection.backup(out)
        finally:
            out.close()
    elif vendor == "postgresql":
        if s.get("PASSWORD"):
            env["PGPASSWORD"] = str(s["PASSWORD"])
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target), *_pg_args(s),
              s["NAME"]], env, "备份")
    elif vendor == "mysql":
        if s.get("PASSWORD"):
            env["MYSQL_PWD"] = str(s["PASSWORD"])
        _run(["mariadb-dump", "--single-transaction", "--routines", "--triggers", "--default-character-set=utf8mb4",
              f"--result-file={target}", *_my_args(s), s["NAME"]], env, "备份")
    else:
        raise BackupError(f"不支持备份 {vendor} 数据库")


def load_database(source: Path) -> None:
    vendor = connection.vendor
    s, env = _db_env()
    if vendor == "sqlite":
        connection.ensure_connection()
        src = sqlite3.connect(source)
        try:
            src.backup(connection.connection)
        finally:
            src.close()
    elif vendor == "postgresql":
        connection.close()  # pg_restore drops the tables: no session of ours may hold them
        if s.get("PASSWORD"):
            env["PGPASSWORD"] = str(s["PASSWORD"])
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              *_pg_args(s), "-d", s["NAME"], str(source)], env, "恢复")
    elif vendor == "mysql":
        connection.close()
        if s.get("PASSWORD"):
            env["MYSQL_PWD"] = str(s["PASSWORD"])
        with source.open("rb") as fh:
            _run(["mariadb", "--default-character-set=utf8mb4", *_my_args(s), s["NAME"]], env, "恢复", stdin=fh)
    else:
        raise BackupError(f"不支持恢复 {vendor} 数据库")
    connection.close()


def _media_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def backup(out: Path, with_keys: Path | None = None) -> dict:
    """Write a backup into `out` (new or empty); copy the keys to `with_keys` if given."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"备份目录 {out} 不是空目录，请指定新的目录")
    if with_keys is not None:
        with_keys = Path(with_keys)
        if _inside(with_keys, out) or _inside(out, with_keys):
            raise BackupError("密钥必须备份到与数据不同的位置（--with-keys 不能是备份目录或其子目录）")
        if with_keys.exists() and any(with_keys.iterdir()):
            raise BackupError(f"密钥备份目录 {with_keys} 不是空目录，请指定新的目录")
    verify()
    out.mkdir(parents=True, exist_ok=True)
    dump = out / DUMPS.get(connection.vendor, "database")
    dump_database(dump)
    media_root = Path(settings.MEDIA_ROOT)
    for f in _media_files(media_root):
        target = out / MEDIA / f.relative_to(media_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
    files = {p.relative_to(out).as_posix(): checksums(p) for p in sorted(out.rglob("*")) if p.is_file()}
    manifest = {
        "format": FORMAT,
        "platform": "dangjian",
        "version": platform_version(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "engine": connection.vendor,
        "database": dump.name,
        "key_checks": [{"kid": k.kid, "suite": k.suite, "kcv": k.kcv} for k in KeyCheck.objects.order_by("kid")],
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    copied = []
    if with_keys is not None:
        with_keys.mkdir(parents=True, exist_ok=True, mode=0o700)
        ring = keys.field_keys()
        for p in keys.key_files():
            shutil.copy2(p, with_keys / p.name)
            os.chmod(with_keys / p.name, 0o600)
            copied.append(p.name)
        if os.environ.get("DANGJIAN_FIELD_KEY") and ring.active is not None:
            target = with_keys / keys.ACTIVE_FILE
            target.unlink(missing_ok=True)
            target.write_text(keys.encode(ring.active.secret, ring.active.suite))
            os.chmod(target, 0o600)
            copied.append(keys.ACTIVE_FILE)
    return {"out": str(out), "files": len(files), "database": dump.name, "keys": sorted(set(copied)),
            "key_ids": [k["kid"] for k in manifest["key_checks"]]}


def read_manifest(src: Path) -> dict:
    """The manifest, once every file it lists is there with its size and checksums."""
    path = Path(src) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{src} 中没有 {MANIFEST}，不是本平台的备份")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise BackupError(f"{path} 已损坏，无法读取") from None
    if manifest.get("platform") != "dangjian" or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} 不是本版本可读取的备份")
    for name, expected in manifest["files"].items():
        f = Path(src) / name
        if not f.is_file():
            raise BackupError(f"备份缺少文件 {name}，不能恢复")
        if checksums(f) != expected:
            raise BackupError(f"备份文件 {name} 的校验和不符（文件已损坏或被改动），不能恢复")
    if manifest["database"] not in manifest["files"]:
        raise BackupError("备份清单中没有数据库文件，不能恢复")
    return manifest


def database_holds_data() -> bool:
    tables = set(connection.introspection.table_names())
    probes = [get_user_model(), AuditEntry] + [m for m, _, _ in encrypted_fields()]
    return any(m._meta.db_table in tables and m._base_manager.exists() for m in probes)


def restore(src: Path, force: bool = False) -> dict:
    src = Path(src)
    manifest = read_manifest(src)
    if manifest["engine"] != connection.vendor:
        raise BackupError(f"这是 {manifest['engine']} 数据库的备份，当前配置的是 {connection.vendor} 数据库")
    ring = keys.field_keys()
    for check in manifest["key_checks"]:
        key = ring.get(check["kid"])
        if key is None or key.kcv != check["kcv"]:
            have = "、".join(k.kid for k in ring.all) or "无"
            raise BackupError(mismatch_message(f"备份中的数据需要密钥 {check['kid']}，当前配置的密钥为 {have}。"))
    media_root = Path(settings.MEDIA_ROOT)
    if not force and (database_holds_data() or _media_files(media_root)):
        raise BackupError("当前数据库（或附件目录）中已有数据，恢复会覆盖它们。确认要覆盖，请加 --force")
    load_database(src / manifest["database"])
    if media_root.exists():
        shutil.rmtree(media_root)
    media_root.mkdir(parents=True, exist_ok=True)
    restored = 0
    for name in manifest["files"]:
        if name.startswith(f"{MEDIA}/"):
            target = media_root / name[len(MEDIA) + 1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / name, target)
            restored += 1
    verify()
    return {"database": manifest["database"], "files": restored, "created_at": manifest["created_at"],
            "version": manifest["version"]}

"""Does the configured field key fit the data? Checked once at start-up, before anything reads
or writes personal data: by the `dangjian` commands (dangjian/manage.py), the server
(dangjian/wsgi.py), `migrate` (post_migrate) and `dangjian check` (a system check).

The database keeps a key check value per key its data is under (`KeyCheck`). The start is
refused, with a Chinese message naming the key directory, when
- a key the data needs is not configured (its check value names a key id that is missing), or
- no key is configured while the database holds ciphertext or a check value, or
- a database from before key check values holds ciphertext the configured key cannot open.
A field key is created only on a first install: no ciphertext and no check value anywhere.

A model holding ciphertext declares `ENCRYPTED_FIELDS = {"<ciphertext field>": "<lookup hash
field or None>"}`: the check, `rotate-key` and `backup` find the encrypted data through it,
without the kernel knowing any app.
"""
import sys

from django.apps import apps
from django.core import checks
from django.db import DatabaseError, connection

from dangjian import keys

from . import crypto
from .models import KeyCheck


class KeyMismatch(Exception):
    """The configured key does not fit the data; str() is the message for the operator."""


def encrypted_fields() -> list[tuple[type, str, str | None]]:
    """(model, ciphertext field, lookup hash field) for every encrypted column."""
    out = []
    for model in apps.get_models():
        for enc, digest in getattr(model, "ENCRYPTED_FIELDS", {}).items():
            out.append((model, enc, digest))
    return out


def _tables() -> set[str]:
    return set(connection.introspection.table_names())


def sample_ciphertexts(tables: set[str] | None = None) -> list[str]:
    """One stored ciphertext per encrypted column (an empty list: none stored)."""
    tables = _tables() if tables is None else tables
    out = []
    for model, enc, _ in encrypted_fields():
        if model._meta.db_table in tables:
            token = model._base_manager.exclude(**{enc: ""}).values_list(enc, flat=True).first()
            if token:
                out.append(token)
    return out


def mismatch_message(detail: str) -> str:
    folder = keys.key_dir()
    return (
        f"密钥与数据库中的数据不匹配，平台拒绝启动：{detail}\n"
        f"密钥目录：{folder}\n"
        "请从备份中恢复该目录中的密钥文件（field.key 及 field-*.key），或将环境变量 DANGJIAN_KEY_DIR"
        " / DANGJIAN_FIELD_KEY 指向与这份数据配套的密钥，然后重新启动。"
        "切勿生成新密钥或删除数据：没有原密钥，已存储的身份证号将无法解密。"
    )


def verify() -> keys.Keyring | None:
    """Check the configured keys against the database (creating the first key of a first
    install, and recording a check value the database still lacks). Raises KeyMismatch."""
    tables = _tables()
    ring = keys.field_keys()
    has_table = KeyCheck._meta.db_table in tables
    stored = list(KeyCheck.objects.all()) if has_table else []
    samples = sample_ciphertexts(tables)
    if ring.active is None:
        if stored or samples:
            needed = "、".join(k.kid for k in stored) or "（更早版本生成的密钥）"
            raise KeyMismatch(mismatch_message(f"数据库中已有加密数据（需要密钥 {needed}），但密钥目录中没有密钥。"))
        keys.create_first_key()
        ring = keys.field_keys()
    for row in stored:
        key = ring.get(row.kid)
        if key is None or key.kcv != row.kcv:
            have = "、".join(k.kid for k in ring.all)
            raise KeyMismatch(mismatch_message(f"数据库中的数据需要密钥 {row.kid}，当前配置的密钥为 {have}。"))
    if stored and not any(row.kid == ring.active.kid for row in stored):
        # Every key the data needs is configured, and the active one is new: a rotation that
        # stopped right after making its key. Its check value is recorded so it can resume.
        record([ring.active])
    if not stored:
        # A database from before check values (or a new one): the key must open what is stored.
        for token in samples:
            try:
                crypto.decrypt(token)
            except (crypto.DecryptError, ValueError):
                raise KeyMismatch(mismatch_message(
                    f"当前配置的密钥（{'、'.join(k.kid for k in ring.all)}）无法解密数据库中已存储的身份证号。")) from None
        if has_table:
            record(ring.all if samples else [ring.active])
    return ring


def record(field_keys) -> None:
    """Store the check value of each key (once)."""
    for key in field_keys:
        KeyCheck.objects.get_or_create(kid=key.kid, defaults={"suite": key.suite, "kcv": key.kcv})


def refuse_on_mismatch() -> None:
    """Stop the process with the message when the key does not fit. A database that cannot be
    reached is left to the command itself, which reports that in its own words."""
    try:
        verify()
    except KeyMismatch as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(3) from None
    except DatabaseError:
        return


@checks.register(checks.Tags.database)
def key_check(app_configs=None, databases=None, **kwargs):
    """`dangjian check --database default` and `migrate` report a key that does not fit the
    data (database checks only: other checks must not need the database)."""
    if not databases:
        return []
    try:
        verify()
    except KeyMismatch as exc:
        return [checks.Critical(str(exc), id="dangjian.E001")]
    except DatabaseError:
        return []
    return []

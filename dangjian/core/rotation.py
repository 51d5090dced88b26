"""Key rotation: every ciphertext re-encrypted, and every lookup hash recomputed, under a new
field key (SM4), in batches.

1. The new key becomes the active one (`keys.install_active`); the old key stays readable as
   field-<id>.key, and the new key's check value is stored beside the old one's.
2. Rows not yet under the new key are taken a batch at a time by primary key (the way
   `core.xlsx.pages` reads), each batch re-encrypted in its own transaction. Every row names
   its key in its ciphertext, so a run that stops part-way is resumed by running again: it
   picks up the rows still under another key. Meanwhile the platform reads both keys, and a
   look-up tries both hashes (`crypto.lookup_hashes`).
3. When no row is left under another key, the old check values are deleted and the old keys
   are moved to retired/ in the key directory.
"""
import secrets
from collections.abc import Callable

from django.db import transaction
from django.db.models import Q

from dangjian import keys

from . import crypto
from .keycheck import encrypted_fields, record, verify
from .models import KeyCheck

Progress = Callable[[str, int, int], None]


class RotationError(RuntimeError):
    """A row that cannot be re-encrypted; the message is for the operator."""


def pending(model, enc: str, key: keys.FieldKey):
    """Rows of `model` whose ciphertext is not yet under `key` (empty values have none)."""
    return model._base_manager.exclude(Q(**{f"{enc}__startswith": crypto.prefix(key)}) | Q(**{enc: ""}))


def rotate(new_secret: bytes | None = None, batch: int = 500, progress: Progress | None = None) -> dict:
    """Rotate to a new key, or finish a rotation that stopped. Returns what was done."""
    verify()  # the current keys must fit the data before anything is rewritten
    ring = keys.field_keys()
    resumed = bool(ring.others) and new_secret is None
    if not resumed:
        key = keys.install_active(new_secret or secrets.token_bytes(32))
        record([key])
    active = keys.field_keys().active
    done = 0
    for model, enc, digest in encrypted_fields():
        label = str(model._meta.verbose_name)
        total = pending(model, enc, active).count()
        moved = 0
        if progress:
            progress(label, moved, total)
        while True:
            ids = list(pending(model, enc, active).order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            with transaction.atomic():
                rows = list(model._base_manager.select_for_update().filter(pk__in=ids))
                for row in rows:
                    try:
                        plain = crypto.decrypt(getattr(row, enc))
                    except (crypto.DecryptError, ValueError):
                        raise RotationError(f"{label}（id {row.pk}）的数据无法用现有密钥解密，轮换已停止") from None
                    setattr(row, enc, crypto.encrypt(plain, active))
                    if digest:
                        setattr(row, digest, crypto.lookup_hash(plain, active))
                model._base_manager.bulk_update(rows, [enc] + ([digest] if digest else []))
            moved += len(rows)
            if progress:
                progress(label, moved, total)
        done += moved
    retired = []
    with transaction.atomic():
        KeyCheck.objects.exclude(kid=active.kid).delete()
    for old in keys.field_keys().others:
        if keys.retire(old.kid) is not None:
            retired.append(old.kid)
    return {"key": active.kid, "resumed": resumed, "rows": done, "retired": retired}

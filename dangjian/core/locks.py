"""Named locks for writers that must not interleave.

`hold(name)` must be called inside a transaction, as its first write: it updates the lock's
row, which PostgreSQL and MariaDB keep locked until the transaction ends and for which SQLite
takes its database write lock. A second writer calling `hold` with the same name waits there
until the first commits or rolls back, and then sees everything the first wrote. Held again in
the same transaction, it is a no-op. Readers are never blocked.
"""
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Lock

__all__ = ["hold"]


def hold(name: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("core.locks.hold() must be called inside transaction.atomic()")
    if not Lock.objects.filter(name=name).update(held_at=timezone.now()):
        try:
            with transaction.atomic():
                Lock.objects.create(name=name, held_at=timezone.now())
        except IntegrityError:  # created meanwhile by another writer: wait for it like the others
            Lock.objects.filter(name=name).update(held_at=timezone.now())

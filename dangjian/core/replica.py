"""Read-only reports on a replica (`DANGJIAN_REPLICA_URL`).

Reads go to the replica only inside `reports()` (a context manager and a decorator) that a
read-only report opens around its work: routing every read there would break read-your-writes
(a page shown right after a save would miss the save while the replica lags). Writes always go
to the primary, also for an object read from the replica. Without the setting, `reports()`
changes nothing.

A replica lags its primary by a moment: what a report run there shows is as of that moment,
which is what a report of a past period or of yesterday's figures needs.
"""
from contextlib import ContextDecorator
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
DEFAULT = "default"
_active: ContextVar[bool] = ContextVar("dangjian_replica_reports", default=False)


def configured() -> bool:
    return REPLICA in settings.DATABASES


class reports(ContextDecorator):  # noqa: N801  (used as `with replica.reports():` and `@replica.reports()`)
    """Inside: the ORM's reads go to the replica, when one is configured. Nested uses keep the
    outer state on exit; threads and asyncio tasks started inside do not inherit it."""

    def _recreate_cm(self):
        return type(self)()  # a decorated function's calls, in any thread, each their own

    def __enter__(self):
        self._token = _active.set(True)
        return self

    def __exit__(self, *exc):
        _active.reset(self._token)
        return False


def active() -> bool:
    """Whether reads now go to the replica."""
    return _active.get() and configured()


class ReplicaRouter:
    """Only answers when a replica is configured; otherwise Django's default routing applies."""

    def db_for_read(self, model, **hints):
        if not configured():
            return None
        return REPLICA if _active.get() else DEFAULT

    def db_for_write(self, model, **hints):
        # Explicit: left to Django, an object read from the replica would be saved back there.
        return DEFAULT if configured() else None

    def allow_relation(self, obj1, obj2, **hints):
        if configured() and {obj1._state.db, obj2._state.db} <= {DEFAULT, REPLICA}:
            return True  # the same rows, whichever copy they were read from
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica receives the schema from its primary, never from `migrate`.
        return False if db == REPLICA else None

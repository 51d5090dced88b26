"""Optimistic versions: two people editing one record never silently undo each other.

Every record edited through a web form or the API carries a `version` (`Versioned`). A form
sends the version it was drawn from as a hidden field, an API client sends it as `version` in
the body or as `If-Match`. The write service calls `claim(obj, expected)` first in its
transaction:

    UPDATE … SET version = version + 1 WHERE pk = %s AND version = %s

One statement both checks and takes the row: PostgreSQL and MariaDB keep it locked until the
transaction ends, SQLite holds its write lock. No row updated means someone saved in between:
`StaleVersion` names who and when, and carries the version now stored, so the form can show
the newer values and the API answers 409. `claim` then reloads the record as stored, and the
service writes only the fields that differ from it (`changed_fields`), never the whole row from
an object loaded earlier.

Without an expected version (an API PATCH that sends none) the row is still taken and bumped
in the same statement, so the write is atomic and the last writer wins field by field: a client
that wants protection sends the version it read.
"""
import re

from django.db import OperationalError, models, transaction
from django.db.models import F

from . import people
from .models import AuditEntry

__all__ = ["Versioned", "StaleVersion", "claim", "changed_fields", "parse_version", "VERSION_HELP", "CONFLICT",
           "is_conflict", "ConflictMiddleware"]

VERSION_HELP = ("记录的版本号；修改时提交读取时的版本（或 If-Match 请求头），"
                "期间已被他人修改则返回 409 与当前版本；不提交则以最后一次保存为准")


class Versioned(models.Model):
    version = models.PositiveIntegerField("版本", default=1, editable=False)

    class Meta:
        abstract = True


class StaleVersion(Exception):
    """Someone saved the record after the editor loaded it: nothing was written."""

    def __init__(self, obj, current: int | None, by: str = "", at=None):
        self.obj, self.current, self.by, self.at = obj, current, by, at
        label = obj._meta.verbose_name
        if current is None:
            message = f"此{label}已被他人删除，请返回列表核对"
        else:
            who = "，".join(p for p in (f"由 {by}" if by else "", f"于 {at:%Y-%m-%d %H:%M}" if at else "") if p)
            message = f"此{label}已被他人修改{f'（{who}）' if who else ''}，请核对最新内容后再保存"
        super().__init__(message)
        self.message = message


def _last_change(obj):
    """Who last changed the record and when, from the change history (one query)."""
    from django.utils import timezone

    e = (AuditEntry.objects.filter(table=obj._meta.label_lower, object_id=obj.pk, action__in=("create", "update"))
         .select_related("user__member").order_by("-at", "-id").first())
    if e is None:
        return "", None
    return (people.display_name(e.user) if e.user else people.NOBODY), timezone.localtime(e.at)


def claim(obj, expected: int | None = None):
    """Take `obj`'s row for this transaction and move it to the next version; raise
    StaleVersion when `expected` is given and is not the stored version. Reloads `obj`'s
    fields as stored (the caller applies its changes to the current record)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("core.versioning.claim() must be called inside transaction.atomic()")
    manager = type(obj)._base_manager
    rows = manager.filter(pk=obj.pk)
    if expected is not None:
        rows = rows.filter(version=expected)
    if not rows.update(version=F("version") + 1):
        current = manager.filter(pk=obj.pk).values_list("version", flat=True).first()
        by, at = _last_change(obj) if current is not None else ("", None)
        raise StaleVersion(obj, current, by, at)
    # A locking read: on MariaDB's repeatable read a plain one could see an older snapshot.
    fresh = manager.select_for_update().get(pk=obj.pk)
    for f in obj._meta.concrete_fields:
        setattr(obj, f.attname, getattr(fresh, f.attname))
    obj._state.fields_cache.clear()
    return obj


CONFLICT = "其他人正在同时修改相关记录，本次保存未生效，请稍后重试"


def is_conflict(exc: Exception) -> bool:
    """A deadlock or serialization failure the database ended this transaction for: the
    write did not happen and may simply be tried again (PostgreSQL 40P01/40001, MariaDB 1213/1205,
    SQLite's "database is locked")."""
    if not isinstance(exc, OperationalError):
        return False
    cause = getattr(exc, "__cause__", None)
    if (getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)) in ("40P01", "40001"):
        return True
    if exc.args and exc.args[0] in (1213, 1205):
        return True
    text = str(exc).lower()
    return "deadlock" in text or "could not serialize" in text or "database is locked" in text


class ConflictMiddleware:
    """A page whose save the database ended for a deadlock or a serialization failure shows
    why, never a server error: a form is sent back to itself with the message (nothing was
    saved), anything else answers 409. The API says the same through core.api."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if not is_conflict(exc):
            return None
        from django.contrib import messages
        from django.http import HttpResponse, HttpResponseRedirect

        if request.method == "POST":
            messages.error(request, CONFLICT)
            return HttpResponseRedirect(request.get_full_path())
        return HttpResponse(CONFLICT, status=409, content_type="text/plain; charset=utf-8")


def changed_fields(obj, fields: dict) -> list[str]:
    """Set `fields` on `obj` and return the names of those whose value changed, for
    `save(update_fields=…)`: what the editor did not change is not written back."""
    out = []
    for name, value in fields.items():
        field = obj._meta.get_field(name)
        old = getattr(obj, field.attname)
        new = value.pk if isinstance(field, models.ForeignKey) and value is not None and not isinstance(value, int) \
            else value
        setattr(obj, name, value)
        if old != new:
            out.append(name)
    return out


_DIGITS = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def parse_version(value) -> int | None:
    """A version as a client sends it: 3, "3", or an If-Match value ("3", W/"3"). None when
    absent; ValueError when it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        if value < 1:
            raise ValueError(value)
        return value
    m = _DIGITS.match(str(value))
    if not m:
        raise ValueError(value)
    return int(m.group(1))


def stored_values(obj) -> dict:
    """The record's column values as loaded (after `claim`: as stored), to compare with."""
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if not f.primary_key}


def save_changes(obj, stored: dict, always=()) -> list[str]:
    """Save only the columns that differ from `stored` (plus `always`, e.g. an auto_now
    stamp); nothing when nothing changed. Returns the saved names."""
    changed = [name for name, value in stored.items() if getattr(obj, name) != value]
    if changed:
        obj.save(update_fields=[*changed, *always])
    return changed

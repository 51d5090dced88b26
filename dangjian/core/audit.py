"""Change history: every write service records who changed what, before and after.

Models list fields that must never be copied into history in AUDIT_EXCLUDE (ciphertext,
hashes); the masked form of personal data is what history shows.
"""
import datetime as dt
import decimal

from .models import AuditEntry


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(obj) -> dict:
    # The version (core.versioning) changes with every save and says nothing about the record.
    exclude = set(getattr(obj, "AUDIT_EXCLUDE", ())) | {"id", "version"}
    return {
        f.attname: _jsonable(getattr(obj, f.attname))
        for f in obj._meta.concrete_fields
        if f.attname not in exclude and f.name not in exclude
    }


def diff(before: dict | None, after: dict) -> dict:
    before = before or {}
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def entry(user, obj, before: dict | None, action: str | None = None, note: str = "") -> AuditEntry | None:
    """An unsaved entry (for bulk_create), or None when nothing changed."""
    action = action or ("create" if before is None else "update")
    changes = diff(before, snapshot(obj))
    if action == "update" and not changes:
        return None
    return AuditEntry(
        table=obj._meta.label_lower,
        object_id=obj.pk,
        action=action,
        changes=changes,
        user=user if user is not None and user.is_authenticated else None,
        note=note,
    )


def record(user, obj, before: dict | None, action: str | None = None, note: str = "") -> None:
    e = entry(user, obj, before, action, note)
    if e is not None:
        e.save()


EXPORT_TABLE = "core.export"


def record_export(user, kind: str, label: str, count: int, filters: dict | None = None) -> AuditEntry:
    """Who took what out of the platform as a file (a roster with full 身份证号, a list of
    organizations, results): an export changes no record, so it leaves an entry of its own.
    `kind` is the export's code, `label` what it holds in Chinese (党员, 考评结果 …)."""
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    shown = "，".join(f"{k}={v}" for k, v in filters.items())
    return AuditEntry.objects.create(
        table=EXPORT_TABLE, object_id=0, action="export",
        changes={"kind": kind, "count": count, "filters": filters},
        user=user if user is not None and user.is_authenticated else None,
        note=(f"导出{label} {count} 条" + (f"（{shown}）" if shown else ""))[:200],
    )


def history(obj):
    return AuditEntry.objects.filter(table=obj._meta.label_lower, object_id=obj.pk).select_related("user__member")

"""Change history: every write service records who changed what, before and after; events
that change no record (logins, exports, reveals, tokens) are recorded beside them.

Models list fields that must never be copied into history in AUDIT_EXCLUDE (ciphertext,
hashes); the masked form of personal data is what history shows.

The entries form one hash chain (SM3, GB/T 32905): each entry stores the previous entry's hash
and `SM3(prev_hash || canonical JSON of its content)`. `chain` links entries just before they
are inserted, under the named lock "audit" so that two writers never link to the same
predecessor; `verify` walks the chain. An entry's content is what it says: the table, the
record, the action, the changes, who (the username and name as they were), when and the note —
not the account link, which becomes empty when the account is deleted.
"""
import datetime as dt
import decimal
import json

from cryptography.hazmat.primitives import hashes
from django.db import connections

from . import locks
from .models import AuditEntry
from .people import display_name

GENESIS = "0" * 64  # the "previous hash" of the first entry
AUDIT_LOCK = "audit"
VERIFY_PAGE = 2000


def sm3_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def _moment(value) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def canonical(row: dict) -> bytes:
    """The hashed content of an entry given as a dict of its fields (a model's values() row)."""
    content = {
        "table": row["table"], "object_id": int(row["object_id"]), "action": row["action"],
        "changes": row["changes"], "actor_username": row["actor_username"] or "",
        "actor_name": row["actor_name"] or "", "at": _moment(row["at"]), "note": row["note"] or "",
    }
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def link_hash(prev_hash: str, row: dict) -> str:
    return sm3_hex(prev_hash.encode("ascii") + canonical(row))


def _row(e: AuditEntry) -> dict:
    return {"table": e.table, "object_id": e.object_id, "action": e.action, "changes": e.changes,
            "actor_username": e.actor_username, "actor_name": e.actor_name, "at": e.at, "note": e.note}


def _snapshot_actors(entries: list[AuditEntry]) -> None:
    """Who acted, as text on the entry: it outlives the account."""
    from django.contrib.auth import get_user_model

    cached = AuditEntry._meta.get_field("user").is_cached
    missing = {e.user_id for e in entries if e.user_id and not e.actor_username and not cached(e)}
    loaded = {u.pk: u for u in get_user_model()._default_manager.filter(pk__in=missing).select_related("member")} \
        if missing else {}
    names: dict = {}
    for e in entries:
        if not e.user_id or e.actor_username:
            continue
        user = e.user if cached(e) else loaded.get(e.user_id)
        if user is None:
            continue
        if user.pk not in names:
            names[user.pk] = (user.get_username(), display_name(user))
        e.actor_username, e.actor_name = names[user.pk]


def _last_hash(using: str) -> str:
    # Plain SQL: this runs for every entry written, and the ORM's compiling cost more than the query.
    conn = connections[using]
    table, pk = conn.ops.quote_name(AuditEntry._meta.db_table), conn.ops.quote_name("id")
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {conn.ops.quote_name('hash')} FROM {table} ORDER BY {pk} DESC LIMIT 1")
        row = cursor.fetchone()
    return row[0] if row and row[0] else GENESIS


def chain(entries: list[AuditEntry], using: str = "default") -> None:
    """Link `entries` (unsaved, in the order they will be inserted) to the end of the chain.

    Must run inside the transaction that inserts them (AuditEntry.save and the manager's
    bulk_create do). It takes the "audit" lock, which is held until that transaction ends, so
    entries are linked in commit order; taking it at the insert — after the writer's own row
    locks — keeps the lock order the same for every writer."""
    if not entries:
        return
    locks.hold(AUDIT_LOCK)
    _snapshot_actors(entries)
    last = _last_hash(using)
    for e in entries:
        # What is hashed is what the database gives back: plain JSON.
        e.changes = json.loads(json.dumps(e.changes if e.changes is not None else {}))
        if e.at is None:
            e.at = dt.datetime.now(dt.UTC)
        e.prev_hash = last
        e.hash = last = link_hash(last, _row(e))


def link_rows(rows: list[dict], using: str = "default") -> None:
    """Link plain entries (dicts with the fields `canonical` reads, `changes` already plain
    JSON) to the end of the chain, setting their "prev_hash" and "hash": for writers that insert
    entries without model instances (core.bulk). Like `chain`, it takes the "audit" lock and must
    run inside the transaction that inserts them, before anything else is chained."""
    if not rows:
        return
    locks.hold(AUDIT_LOCK)
    last = _last_hash(using)
    for row in rows:
        row["prev_hash"] = last
        row["hash"] = last = link_hash(last, row)


def jsonable(value):
    """A field's value as history stores it (dates as ISO text, decimals as text)."""
    return _jsonable(value)


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
        user=_actor(user),
        note=note,
    )


def _actor(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def event(user, table: str, object_id: int, action: str, note: str = "", changes: dict | None = None,
          actor_username: str = "") -> AuditEntry:
    """Record something that happened without changing a record (a login, a lockout, a token):
    `table`/`object_id` name what it concerns (the account). `actor_username` names who acted
    when no account did (a failed login: the username that was tried)."""
    e = AuditEntry(table=table, object_id=object_id or 0, action=action, changes=changes or {},
                   user=_actor(user), note=note[:200], actor_username=actor_username[:150])
    e.save()
    return e


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
        user=_actor(user),
        note=(f"导出{label} {count} 条" + (f"（{shown}）" if shown else ""))[:200],
    )


def history(obj):
    return AuditEntry.objects.filter(table=obj._meta.label_lower, object_id=obj.pk).select_related("user__member")


def _break(row: dict, what: str, message: str) -> dict:
    return {"id": row["id"], "at": row["at"], "problem": what, "message": message}


def verify(page: int = VERIFY_PAGE, using: str = "default") -> dict:
    """Walk the chain in id order, a page of rows per query. Returns {"ok", "count", "head"}
    and, when a link is broken, "break": the first broken entry's id and time, and what is wrong:
    - "changed": its content no longer gives its hash (edited in the database);
    - "reordered": it links to an entry that stands later in the table (rows swapped);
    - "missing": it links to an entry that is not there (one or more entries removed before it)."""
    fields = ["id", "table", "object_id", "action", "changes", "actor_username", "actor_name", "at", "note",
              "prev_hash", "hash"]
    qs = AuditEntry.objects.using(using).order_by("id")
    expected, last_id, count = GENESIS, 0, 0
    while True:
        rows = list(qs.filter(id__gt=last_id).values(*fields)[:page])
        if not rows:
            return {"ok": True, "count": count, "head": expected}
        for row in rows:
            if link_hash(row["prev_hash"], row) != row["hash"]:
                return {"ok": False, "count": count, "break": _break(
                    row, "changed", "内容与其哈希值不符（记录在数据库中被修改）")}
            if row["prev_hash"] != expected:
                later = qs.filter(hash=row["prev_hash"], id__gt=row["id"]).values_list("id", flat=True).first()
                if later is not None:
                    return {"ok": False, "count": count, "break": _break(
                        row, "reordered", f"链接到排在其后的记录 {later}（记录顺序被调换）")}
                return {"ok": False, "count": count, "break": _break(
                    row, "missing", "与前一条记录不相连（其前有记录被删除）")}
            expected, last_id, count = row["hash"], row["id"], count + 1

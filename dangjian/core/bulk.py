"""Writing many rows fast, from plain values: PostgreSQL's COPY, multi-row INSERTs elsewhere.

For generated data (the demo) and any other writer of hundreds of thousands of rows: the ORM's
bulk_create spends most of its time building model instances. Rows are given as tuples in the
order of `columns` (attnames: `org_id`, not `org`); every other concrete field of the model takes
its default (auto_now and auto_now_add: the time of the call; nullable fields without a default:
NULL; text fields without one: blank), so a field added to the model later needs no change here — and one more entry in
`columns` when the writer knows its value.

Ids: `reserve_ids` hands out primary keys before the rows are written, so a writer can link rows
(a member's org, an org's path) without reading ids back.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from django.db import connections
from django.db.models import JSONField
from django.utils import timezone

INSERT_BATCH = 500


def defaults(model, columns: Sequence[str]) -> tuple[list[str], dict]:
    """The fields `copy_rows` fills itself (those not in `columns`, but the primary key) and the
    value each takes: (attnames in table order, {attname: value})."""
    names, values = _fixed(model, columns)
    return names, dict(zip(names, values))


def _fixed(model, columns: Sequence[str]) -> tuple[list[str], list]:
    """The fields not given by the writer, with the value each takes: (attnames, values)."""
    now = timezone.now()
    names, values = [], []
    for f in model._meta.concrete_fields:
        if f.attname in columns or f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.has_default():
            value = f.get_default()
        elif f.null:
            value = None
        elif f.empty_strings_allowed and isinstance(f.get_default(), str):
            value = ""  # a text field left blank, as the ORM writes it
        else:
            raise ValueError(f"{model._meta.label}.{f.attname} has no default: give it in columns")
        names.append(f.attname)
        values.append(value)
    return names, values


def copy_rows(model, columns: Sequence[str], rows: Iterable[Sequence], using: str = "default") -> int:
    """Insert `rows` (tuples in the order of `columns`) into the model's table; returns how many.

    PostgreSQL streams them through one COPY; other databases get multi-row INSERTs of at most
    INSERT_BATCH rows (and within their bound-parameter limit). No signals, no `save()`."""
    conn = connections[using]
    ops = conn.ops
    extra_names, extra_values = _fixed(model, columns)
    names = list(columns) + extra_names
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [c for c in columns if c not in fields]
    if unknown:
        raise ValueError(f"{model._meta.label} has no column {', '.join(unknown)}")
    table = ops.quote_name(model._meta.db_table)
    quoted = ", ".join(ops.quote_name(fields[n].column) for n in names)
    count = 0
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            # psycopg adapts dates, times, numbers and text itself; JSON goes as its text.
            json_at = [i for i, n in enumerate(names) if isinstance(fields[n], JSONField)]
            given_json = [i for i in json_at if i < len(columns)]
            extra = tuple(json.dumps(v) if i + len(columns) in json_at else v
                          for i, v in enumerate(extra_values))
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    if given_json:
                        row = list(row)
                        for i in given_json:
                            row[i] = json.dumps(row[i], ensure_ascii=False)
                    write((*row, *extra) if extra else row)
                    count += 1
            return count
        prep = [fields[n] for n in names]
        extra = [f.get_db_prep_save(v, conn) for f, v in zip(prep[len(columns):], extra_values)]
        given = prep[:len(columns)]
        limit = conn.features.max_query_params or 65535
        batch = max(1, min(INSERT_BATCH, limit // len(names)))
        one = "(" + ", ".join(["%s"] * len(names)) + ")"
        head = f"INSERT INTO {table} ({quoted}) VALUES "
        params: list = []
        n = 0

        def flush():
            cursor.execute(head + ", ".join([one] * n), params)

        for row in rows:
            params += [f.get_db_prep_save(v, conn) for f, v in zip(given, row)]
            params += extra
            n += 1
            count += 1
            if n == batch:
                flush()
                params, n = [], 0
        if n:
            flush()
    return count


def reserve_ids(model, n: int, using: str = "default") -> list[int]:
    """n primary keys for rows the caller is about to insert with explicit ids.

    PostgreSQL draws them from the table's sequence (so later ordinary inserts never collide);
    other databases continue after the table's largest id, so the rows must be inserted (in the
    same transaction) before more ids of that table are reserved."""
    if n <= 0:
        return []
    conn = connections[using]
    table = model._meta.db_table
    pk = model._meta.pk.column
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [conn.ops.quote_name(table), pk, n])
            return [r[0] for r in cursor.fetchall()]
        cursor.execute(f"SELECT MAX({conn.ops.quote_name(pk)}) FROM {conn.ops.quote_name(table)}")
        last = cursor.fetchone()[0] or 0
    return list(range(last + 1, last + 1 + n))


@contextmanager
def loading(*models, using: str = "default"):
    """Bulk-load `models`' tables without their foreign keys and secondary indexes, then put
    them back. On PostgreSQL Django's foreign keys are checked at commit, one lookup per row
    (and each row queues a check in memory until then); adding a key back checks the whole
    table in one join, and an index built once is cheaper than one kept up row by row. Primary
    keys and unique constraints stay, so a duplicate is still refused as it is written. Runs
    inside the caller's transaction (the tables are locked until it ends); a no-op elsewhere."""
    conn = connections[using]
    if conn.vendor != "postgresql" or not models:
        yield
        return
    tables = [m._meta.db_table for m in models]
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])", [tables])
        keys = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT i.indisunique "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", [tables])
        indexes = cursor.fetchall()
        # Checks the transaction has deferred so far (a clearing DELETE's) run now: a table with
        # pending checks cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, name, _ in keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {conn.ops.quote_name(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with conn.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {conn.ops.quote_name(name)} {definition}")

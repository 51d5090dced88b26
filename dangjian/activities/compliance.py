"""The compliance engine: for every org × rule × period, is the requirement met?

Set-based: whatever the size of the tree, one computation runs a fixed handful of queries —
the rules, the organizations, the kind rows of the months concerned (grouped by the database
per org × kind × month × quorums reached, each group's activity ids in one array), the orgs
that have a committee, the secretaries and the lectures they gave — and buckets them in Python
dictionaries. Nothing is queried per organization, and the cost grows with the number of
groups and ids, not with a Python step per record.

Periods are the rule's own (a month for a monthly rule …); asking for a range lists every
period of every rule that overlaps it. A period is judged by the rule version in force on its
last day. Status:
- `met`: at least `min_count` activities of the kind that count (a meeting that missed its
  quorum does not count; it is listed in `failed_quorum`);
- `due`: not met yet and the period has not ended;
- `missing`: not met and the period is over;
- `not_applicable`: the rule's condition does not hold for the org (a branch without a
  committee has no 支委会 to hold), or the org existed for only part of the period and held
  nothing (it was set up or dissolved during it). Orgs that did not exist at all during a
  period get no row.
Conditions read the tree as it is now (committees, secretaries); quorum figures are those
taken when each record was written.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Aggregate, Case, Count, Min, TextField, When
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from dangjian.core import defaults, jobs, locks, periods
from dangjian.orgs.models import CommitteeSeat, Organization, SeatRole, top_of_path

from .models import (
    QUORUM_BITS,
    Activity,
    ActivityKind,
    ActivityRule,
    ComplianceCoverage,
    ComplianceRow,
    ComplianceStale,
)

MET, MISSING, DUE, NOT_APPLICABLE = "met", "missing", "due", "not_applicable"
COMPLIANCE_LOCK = "compliance"  # held by every writer of the stored rows (core.locks)
STATUS_LABELS = dict(ComplianceRow.Status.choices)


@dataclass(slots=True)
class Verdict:
    org_id: int
    org_code: str
    org_name: str
    org_path: str
    rule: ActivityRule
    period: periods.Period
    required: int
    held: int
    status: str
    evidence: list[int] = field(default_factory=list)
    failed_quorum: list[int] = field(default_factory=list)
    reason: str = ""  # why a rule does not apply, where the rule's condition says (书记讲党课)

    @property
    def shortfall(self) -> int:
        return 0 if self.status in (MET, NOT_APPLICABLE) else max(0, self.required - self.held)

    def as_json(self) -> dict:
        return {
            "org_code": self.org_code, "org_name": self.org_name, "period": self.period.label,
            "kind": self.rule.code, "required": self.required, "held": self.held, "status": self.status,
            "evidence": self.evidence,
        }


def _plan(rules: list[ActivityRule], start: dt.date, end: dt.date) -> list[tuple[ActivityRule, periods.Period]]:
    """(rule version, period) pairs: each period of each rule code overlapping [start, end],
    judged by the version in force on the period's last day."""
    by_code: dict[str, list[ActivityRule]] = defaultdict(list)
    for r in rules:
        by_code[r.code].append(r)
    plan = []
    for versions in by_code.values():
        units = {v.period for v in versions}
        for unit in periods.UNITS:
            if unit not in units:
                continue
            for p in periods.overlapping(unit, start, end):
                version = next((v for v in versions if v.period == unit and v.in_force_on(p.end)), None)
                if version is not None:
                    plan.append((version, p))
    return plan


def compute(start: dt.date, end: dt.date, *, org: Organization | None = None, org_ids=None,
            today: dt.date | None = None) -> list[Verdict]:
    """Verdicts for every applicable org × rule × period overlapping [start, end], for the
    subtree of `org` (or the orgs `org_ids`), or the whole tree."""
    with _no_cyclic_gc():
        return list(_verdicts(start, end, org=org, org_ids=org_ids, today=today))


@contextlib.contextmanager
def _no_cyclic_gc():
    """Tens of thousands of small acyclic objects: the cyclic collector would rescan them over
    and over (a third of the time for the whole tree); reference counting frees them anyway."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _verdicts(start, end, *, org, org_ids, today) -> Iterator[Verdict]:
    today = today or timezone.localdate()
    rules = list(ActivityRule.objects.all())
    plan = _plan(rules, start, end)
    if not plan:
        return
    first = min(p.start for _, p in plan)
    last = max(p.end for _, p in plan)
    m0, m1 = periods.month_key(first), periods.month_key(last)

    # The plan per org kind, each period worked out once. Each kind × period of the plan is a
    # numbered slot; a kind row goes straight into the slots of its month, per org.
    plan.sort(key=lambda rp: (rp[0].position, rp[0].code, rp[1].start, rp[1].end))  # as streamed_rows
    steps_for: dict[str, list[tuple]] = defaultdict(list)
    slot_of: dict[tuple[str, str, int], int] = {}
    slots_at: dict[tuple[str, int], list[int]] = defaultdict(list)  # (kind, month) → slots
    for rule, p in plan:
        key = (rule.kind, p.unit, p.months[0])
        if key not in slot_of:
            slot_of[key] = len(slot_of)
            for month in p.months:
                slots_at[(rule.kind, month)].append(slot_of[key])
        step = (rule, p, p.start, p.end, slot_of[key], QUORUM_BITS.get(rule.quorum, 0), p.end >= today,
                rule.condition, rule.min_count)
        for kind in rule.org_kinds:
            steps_for[kind].append(step)

    orgs_qs = Organization.objects.filter(kind__in=sorted(steps_for))
    if org is not None:
        orgs_qs = orgs_qs.filter(path__startswith=org.path)
    if org_ids is not None:
        orgs_qs = orgs_qs.filter(pk__in=list(org_ids))
    orgs = [
        o for o in orgs_qs.order_by("path").values_list(
            "pk", "code", "name", "kind", "path", "established_on", "dissolved_on", "parent__kind")
        if not (o[6] is not None and o[6] < first) and not (o[5] is not None and o[5] > last)
    ]
    if not orgs:
        return

    rows = ActivityKind.objects.filter(is_active=True, month__gte=m0, month__lte=m1,
                                       kind__in=sorted({r.kind for r, _ in plan}))
    if org is not None:
        rows = rows.filter(org__path__startswith=org.path)
    if org_ids is not None:
        rows = rows.filter(org_id__in=[o[0] for o in orgs])
    buckets: dict[int, dict[int, list]] = defaultdict(dict)
    no_slots: list[int] = []
    for org_id, kind, month, bits, ids in _kind_groups(rows):
        found = buckets[org_id]
        for slot in slots_at.get((kind, month), no_slots):
            if slot in found:
                found[slot].append((bits, ids))
            else:
                found[slot] = [(bits, ids)]

    conditions = {r.condition for r, _ in plan}
    # The seats of the orgs judged only: for one org (a home page, an org's page) the whole
    # tree's secretaries were read, a row each, to look one up.
    seats = CommitteeSeat.objects.filter(is_active=True)
    if org is not None:
        seats = seats.filter(org__path__startswith=org.path)
    if org_ids is not None:
        seats = seats.filter(org_id__in=[o[0] for o in orgs])
    with_committee: set[int] = set()
    if "has_committee" in conditions:
        with_committee = set(
            seats
            .exclude(role__in=[SeatRole.SECRETARY, SeatRole.DEPUTY_SECRETARY])
            .order_by().values_list("org_id", flat=True).distinct()
        )
    secretary_of: dict[int, int] = {}
    seat_of: dict[int, SecretarySeat] = {}
    lectures: dict[tuple[int, int], list[int]] = defaultdict(list)
    if "lecture_by_secretary" in conditions:
        seat_of = secretary_seats(seats)
        secretary_of = {pk: s.holder_id for pk, s in seat_of.items() if s.holder_id is not None}
        lectured = ActivityKind.objects.filter(kind="party_lecture", is_active=True, month__gte=m0, month__lte=m1,
                                               activity__lecturer__isnull=False)
        holders = {secretary_of[o[0]] for o in orgs if o[0] in secretary_of}
        if org_ids is not None and len(holders) <= 1000:
            # A few orgs read only their secretaries' lectures, found from the lecturer's index
            # first: filtered on the joined kind rows, PostgreSQL scanned the year's lectures.
            given = Activity.objects.filter(lecturer_id__in=sorted(holders), month__gte=m0, month__lte=m1)
            lectured = lectured.filter(activity_id__in=list(given.values_list("pk", flat=True)))
        for lecturer_id, month, aid in lectured.order_by().values_list("activity__lecturer_id", "month", "activity_id"):
            lectures[(lecturer_id, month)].append(aid)

    no_groups: dict = {}
    for pk, code, name, kind, path, established, dissolved, parent_kind in orgs:
        # Most orgs exist the whole time: no period of theirs is cut short.
        whole = (dissolved is None or dissolved >= last) and (established is None or established <= first)
        partial = False
        holder = secretary_of.get(pk)
        lecture = secretary_lecture(seat_of.get(pk)) if "lecture_by_secretary" in conditions else None
        applies_if = {"always": True, "has_committee": pk in with_committee,
                      "top_of_unit": parent_kind in (None, "working_committee"),
                      "lecture_by_secretary": lecture is not None and lecture.applies}
        found_for = buckets.get(pk, no_groups)
        for rule, p, p_start, p_end, slot, mask, still_open, condition, required in steps_for[kind]:
            if not whole:
                if dissolved is not None and dissolved < p_start or established is not None and established > p_end:
                    continue
                partial = (dissolved is not None and dissolved < p_end) or \
                    (established is not None and established > p_start)
            applies = applies_if.get(condition, False)
            failed = []
            if condition == "lecture_by_secretary":
                evidence = []
                if applies:
                    for month in p.months:
                        evidence.extend(lectures.get((holder, month), ()))
                    if len(evidence) > 1:
                        evidence.sort()
            else:
                found = found_for.get(slot)
                if found is None:
                    evidence = []
                elif len(found) == 1:  # one month, one quorum outcome: the ids are already sorted
                    # Copied: rules of the same kind and period share the slot's list.
                    bits, ids = found[0]
                    if bits & mask == mask:
                        evidence = ids[:]
                    else:
                        evidence, failed = [], ids[:]
                else:
                    evidence = []
                    for bits, ids in found:
                        (evidence if bits & mask == mask else failed).extend(ids)
                    if len(evidence) > 1:
                        evidence.sort()
                    if len(failed) > 1:
                        failed.sort()
            held = len(evidence)
            reason = lecture.reason if condition == "lecture_by_secretary" and lecture is not None else ""
            if not applies:
                verdict, need = NOT_APPLICABLE, 0
            elif held >= required:
                verdict, need = MET, required
            elif partial:
                verdict, need = NOT_APPLICABLE, 0  # the org existed for part of the period only
            elif still_open:
                verdict, need = DUE, required
            else:
                verdict, need = MISSING, required
            yield Verdict(pk, code, name, path, rule, p, need, held, verdict, evidence, failed,
                          reason if verdict == NOT_APPLICABLE else "")


class _Ids(Aggregate):
    """The activity ids of a group as one value: a JSON array on SQLite, an array on PostgreSQL."""

    function = "JSON_GROUP_ARRAY"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="ARRAY_AGG", **extra_context)


def _kind_groups(rows) -> Iterator[tuple[int, str, int, int, list[int]]]:
    """(org, kind, month, quorum bits, sorted activity ids) of the kind rows.

    Grouped by the database where it hands back a group's ids as one array: with ten records
    of a kind a month, a tenth of the rows cross over and Python touches each group, not each
    record. A group of one (most of them) comes back as a plain id. MySQL/MariaDB cut
    GROUP_CONCAT and JSON_ARRAYAGG at group_concat_max_len, so there the rows are grouped here.
    The groups also carry the top-level org (an org has one, so the groups are the same): a
    database sharded by it runs the whole GROUP BY on each shard (docs/scale.md)."""
    rows = rows.order_by()
    if connection.vendor in ("sqlite", "postgresql"):
        for _, org_id, kind, month, bits, one, many in rows.values_list(
                "top_org_id", "org_id", "kind", "month", "quorum").annotate(
                one=Min("activity_id"), many=Case(When(GreaterThan(Count("pk"), 1), then=_Ids("activity_id")))):
            if many is None:
                yield org_id, kind, month, bits, [one]
            else:
                ids = json.loads(many) if isinstance(many, str) else many
                ids.sort()
                yield org_id, kind, month, bits, ids
        return
    groups: dict[tuple, list[int]] = defaultdict(list)
    for org_id, kind, month, bits, aid in rows.values_list("org_id", "kind", "month", "quorum", "activity_id"):
        groups[(org_id, kind, month, bits)].append(aid)
    for (org_id, kind, month, bits), ids in groups.items():
        ids.sort()
        yield org_id, kind, month, bits, ids


@transaction.atomic
def store(verdicts: Iterable[Verdict], start: dt.date, end: dt.date, *, org: Organization | None = None,
          org_ids=None, only: set[tuple[int, str]] | None = None) -> dict:
    """Make the stored rows of the recomputed range (periods overlapping [start, end]) for the
    same orgs equal to `verdicts`, writing only the difference: a row whose verdict did not
    change is not touched, so a record saved rewrites the handful of rows it changed and a
    whole-tree recompute of unchanged data writes nothing. Rows are matched by org × rule code
    × period (the unique key). Writers of the stored rows take one lock first: two writing the
    same rows at once would each compare against what they saw and insert twice. With `only`
    (org id, period code) pairs, the verdicts are those pairs' and only their rows are replaced.

    Returns {"rows": verdicts, "inserted", "updated", "deleted"}."""
    locks.hold(COMPLIANCE_LOCK)
    if connection.vendor == "postgresql":
        counts = _store_by_join(verdicts, start, end, org, org_ids, only)
    else:
        counts = _store_by_dict(verdicts, start, end, org, org_ids, only)
    if org is None and org_ids is None and only is None:
        _cover(start, end)
    return counts


def _periods_of(start: dt.date, end: dt.date) -> set[str]:
    """Codes of the periods of every unit the rules use that overlap [start, end]."""
    units = set(ActivityRule.objects.values_list("period", flat=True).distinct())
    return {p.label for unit in units for p in periods.overlapping(unit, start, end)}


def _cover(start: dt.date, end: dt.date) -> None:
    """Note that every org has its stored rows for the periods overlapping [start, end]."""
    ComplianceCoverage.objects.bulk_create(
        [ComplianceCoverage(period=label) for label in sorted(_periods_of(start, end))], ignore_conflicts=True)


_KEY = ("org_id", "code", "period")
_VALUES = ("top_org_id", "rule_id", "kind", "period_start", "period_end", "required", "held", "status", "evidence",
           "failed_quorum")
_COLUMNS = ("org_id", "top_org_id", "rule_id", "code", "kind", "period", "period_start", "period_end", "required",
            "held", "status", "evidence", "failed_quorum", "computed_at")


def _copy_text(text: str) -> str:
    """A text as COPY's text format reads it back."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _ids_json(ids: list[int]) -> str:
    """A JSON array of integers, written directly."""
    return "[" + ", ".join(map(str, ids)) + "]" if ids else "[]"


def _old_rows(start: dt.date, end: dt.date, org, org_ids):
    """The stored rows a recomputation of [start, end] for `org` / `org_ids` replaces."""
    old = ComplianceRow.objects.filter(period_start__lte=end, period_end__gte=start)
    if org is not None:
        old = old.filter(org__in=Organization.objects.filter(path__startswith=org.path).values("pk"))
    if org_ids is not None:
        old = old.filter(org_id__in=list(org_ids))
    return old


def _store_by_join(verdicts, start, end, org, org_ids, only) -> dict:
    """PostgreSQL: the verdicts stream by COPY into a temporary table, then three statements
    join it with the stored rows — delete the rows no verdict has, update those whose values
    differ (IS DISTINCT FROM over every value column), insert the verdicts no row has. The
    database compares; Python never holds the stored rows."""
    ops = connection.ops
    table = ops.quote_name(ComplianceRow._meta.db_table)
    rows = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS compliance_fresh (org_id integer, code varchar(48), period varchar(8), "
            "top_org_id integer, rule_id integer, "
            "kind varchar(32), period_start date, period_end date, required smallint, "
            "held integer, status varchar(16), evidence jsonb, failed_quorum jsonb) ON COMMIT DROP")
        cursor.execute("TRUNCATE compliance_fresh")
        spans: dict[periods.Period, tuple] = {}
        # `_verdicts` runs all its queries before its first verdict; taking that one before the
        # COPY starts keeps them off the connection while it streams (one command at a time).
        stream = iter(verdicts)
        first = next(stream, None)
        # COPY's text format written directly, a block of lines at a time: psycopg's per-row
        # conversion was most of the time. Only a rule's texts could hold a tab or a backslash.
        of_rule: dict[int, tuple[str, str]] = {}
        with cursor.cursor.copy("COPY compliance_fresh FROM STDIN") as copy:
            lines: list[str] = []
            for v in itertools.chain([first] if first is not None else [], stream):
                p, rule = v.period, v.rule
                span = spans.get(p)
                if span is None:  # a year has 19 periods and tens of thousands of rows
                    span = spans[p] = (p.label, f"{p.start.isoformat()}\t{p.end.isoformat()}")
                texts = of_rule.get(rule.id)
                if texts is None:
                    texts = of_rule[rule.id] = (_copy_text(rule.code), f"{rule.id}\t{_copy_text(rule.kind)}")
                lines.append(f"{v.org_id}\t{texts[0]}\t{span[0]}\t{top_of_path(v.org_path)}\t{texts[1]}\t{span[1]}"
                             f"\t{v.required}\t{v.held}\t{v.status}\t{_ids_json(v.evidence)}"
                             f"\t{_ids_json(v.failed_quorum)}\n")
                if len(lines) == 5000:
                    rows += len(lines)
                    copy.write("".join(lines))
                    lines = []
            rows += len(lines)
            copy.write("".join(lines))
        if rows > 1000:
            cursor.execute("ANALYZE compliance_fresh")  # temporary tables are never analysed by autovacuum
        # The rows replaced, as conditions on the table itself (a semi-join on its own ids cost more).
        scope_sql, scope_params = "r.period_start <= %s AND r.period_end >= %s", [end, start]
        if org is not None:
            scope_sql += (f" AND r.org_id IN (SELECT id FROM {ops.quote_name(Organization._meta.db_table)} "
                          "WHERE path LIKE %s)")
            scope_params.append(org.path + "%")
        if org_ids is not None:
            scope_sql += " AND r.org_id = ANY(%s)"
            scope_params.append(list(org_ids))
        same = " AND ".join(f"f.{c} = r.{c}" for c in _KEY)
        pairs, pair_params = "", []
        if only is not None:
            pairs = " AND (r.org_id, r.period) IN (SELECT * FROM unnest(%s::integer[], %s::varchar[]))"
            pair_params = [[o for o, _ in only], [p for _, p in only]]
        cursor.execute(f"DELETE FROM {table} r WHERE {scope_sql}{pairs} "
                       f"AND NOT EXISTS (SELECT 1 FROM compliance_fresh f WHERE {same})",
                       [*scope_params, *pair_params])
        deleted = cursor.rowcount
        cols = ", ".join(_VALUES)
        # The verdicts a stored row already says leave the temporary table (the stored rows named
        # by the scope as well as by the key: a chunk of a province's orgs is read from the orgs'
        # index, not by scanning the whole table per chunk); what remains is changed or new.
        cursor.execute(f"DELETE FROM compliance_fresh f USING {table} r WHERE {same} AND {scope_sql}{pairs} "
                       f"AND ({', '.join('r.' + c for c in _VALUES)}) IS NOT DISTINCT FROM "
                       f"({', '.join('f.' + c for c in _VALUES)})", [*scope_params, *pair_params])
        cursor.execute(f"UPDATE {table} r SET ({cols}, computed_at) = "
                       f"({', '.join('f.' + c for c in _VALUES)}, %s) FROM compliance_fresh f WHERE {same}",
                       [timezone.now()])
        updated = cursor.rowcount
        # Inserted without an anti-join with the table itself: planned while the table was
        # empty (a year's first computation), that join re-read the rows the statement was
        # inserting for every verdict, and a province's first chunk ran for tens of minutes. The
        # unique key still guards the insert.
        cursor.execute(f"INSERT INTO {table} ({', '.join(_KEY)}, {cols}, computed_at) "
                       f"SELECT {', '.join('f.' + c for c in _KEY)}, {', '.join('f.' + c for c in _VALUES)}, %s "
                       f"FROM compliance_fresh f ON CONFLICT ({', '.join(_KEY)}) DO NOTHING",
                       [timezone.now()])
        inserted = cursor.rowcount
        cursor.execute("TRUNCATE compliance_fresh")
    return {"rows": rows, "inserted": inserted, "updated": updated, "deleted": deleted}


def _store_by_dict(verdicts, start, end, org, org_ids, only) -> dict:
    """SQLite, MariaDB: the stored rows of the scope are read into a dictionary by key and
    compared in Python; only the differences are written (new rows by multi-row INSERT, changed
    ones by UPDATE of their id, vanished ones by DELETE of their ids)."""
    stored = {(r[1], r[2], r[3]): (r[0], r[4:]) for r in
              _old_rows(start, end, org, org_ids).order_by().values_list("id", *_KEY, *_VALUES).iterator(5000)
              if only is None or (r[1], r[3]) in only}
    new: list[Verdict] = []
    changed: list[tuple[int, Verdict]] = []
    rows = 0
    for v in verdicts:
        rows += 1
        p, rule = v.period, v.rule
        old = stored.pop((v.org_id, rule.code, p.label), None)
        if old is None:
            new.append(v)
        elif old[1] != (top_of_path(v.org_path), rule.id, rule.kind, p.start, p.end, v.required, v.held, v.status,
                        v.evidence, v.failed_quorum):
            changed.append((old[0], v))
    gone = sorted(pk for pk, _ in stored.values())
    for i in range(0, len(gone), 500):  # IN lists every database accepts
        ComplianceRow.objects.filter(pk__in=gone[i:i + 500]).delete()
    if changed:
        ops = connection.ops
        table = ops.quote_name(ComplianceRow._meta.db_table)
        now = ops.adapt_datetimefield_value(timezone.now())
        sql = (f"UPDATE {table} SET {', '.join(ops.quote_name(c) + ' = %s' for c in _VALUES)}, "
               f"{ops.quote_name('computed_at')} = %s WHERE {ops.quote_name('id')} = %s")
        with connection.cursor() as cursor:
            cursor.executemany(sql, [
                (top_of_path(v.org_path), v.rule.id, v.rule.kind, ops.adapt_datefield_value(v.period.start),
                 ops.adapt_datefield_value(v.period.end), v.required, v.held, v.status, _ids_json(v.evidence),
                 _ids_json(v.failed_quorum), now, pk) for pk, v in changed])
    _insert(new)
    return {"rows": rows, "inserted": len(new), "updated": len(changed), "deleted": len(gone)}


def _insert(verdicts: list[Verdict]) -> None:
    """Multi-row INSERTs of plain values: the ORM's bulk_create spends most of its time building
    model instances, and row-by-row executemany costs a round trip per row on MariaDB."""
    ops = connection.ops
    table = ops.quote_name(ComplianceRow._meta.db_table)
    head = f"INSERT INTO {table} ({', '.join(ops.quote_name(c) for c in _COLUMNS)}) VALUES "
    one = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    batch = min(500, (connection.features.max_query_params or 65535) // len(_COLUMNS))
    now = ops.adapt_datetimefield_value(timezone.now())
    spans: dict[periods.Period, tuple] = {}

    def span(p: periods.Period) -> tuple:
        """(label, first day, last day) of a period, worked out once."""
        if p not in spans:
            spans[p] = (p.label, ops.adapt_datefield_value(p.start), ops.adapt_datefield_value(p.end))
        return spans[p]

    with connection.cursor() as cursor:
        for i in range(0, len(verdicts), batch):
            chunk = verdicts[i:i + batch]
            params = []
            for v in chunk:
                rule = v.rule
                params += (v.org_id, top_of_path(v.org_path), rule.id, rule.code, rule.kind, *span(v.period),
                           v.required, v.held, v.status, _ids_json(v.evidence), _ids_json(v.failed_quorum), now)
            cursor.execute(head + ", ".join([one] * len(chunk)), params)


def recompute(start: dt.date, end: dt.date, *, org: Organization | None = None, org_ids=None,
              today: dt.date | None = None) -> list[Verdict]:
    """Compute and store, and hand the verdicts back (the demo and the tests read them). Large
    ranges of a large tree go through `refresh`, which holds no verdict list."""
    verdicts = compute(start, end, org=org, org_ids=org_ids, today=today)
    store(verdicts, start, end, org=org, org_ids=org_ids)
    return verdicts


ORG_CHUNK = 10000  # orgs computed and stored together by `refresh`


def refresh(start: dt.date, end: dt.date, *, org: Organization | None = None, org_ids=None,
            today: dt.date | None = None, chunk: int = ORG_CHUNK, only: set[tuple[int, str]] | None = None) -> dict:
    """Compute and store [start, end] for the subtree of `org`, the orgs `org_ids` or the whole
    tree, a chunk of orgs (in path order) at a time, the verdicts streaming into `store`: the
    memory is bounded by the chunk whatever the size of the tree, and each chunk is still the
    same fixed handful of set-based queries. One transaction, the lock taken once. `only`, a set
    of (org id, period code), keeps the computation and the write to those rows.

    Returns the counts of `store` summed, and "orgs": the orgs that have verdicts."""
    scope = Organization.objects.all()
    if org is not None:
        scope = scope.filter(path__startswith=org.path)
    if org_ids is not None:
        scope = scope.filter(pk__in=list(org_ids))
    ids = list(scope.order_by("path").values_list("pk", flat=True))
    totals = {"orgs": 0, "rows": 0, "inserted": 0, "updated": 0, "deleted": 0}
    judged: set[int] = set()

    def counted(verdicts: Iterator[Verdict]) -> Iterator[Verdict]:
        for v in verdicts:
            if only is None or (v.org_id, v.period.label) in only:
                judged.add(v.org_id)
                yield v

    with transaction.atomic(), _no_cyclic_gc():
        locks.hold(COMPLIANCE_LOCK)
        if org is None and org_ids is None and len(ids) <= chunk:
            # The whole tree in one chunk: no list of ids to filter by.
            parts = [None]
        else:
            parts = [ids[i:i + chunk] for i in range(0, len(ids), chunk)]
        for part in parts:
            found = store(counted(_verdicts(start, end, org=None, org_ids=part, today=today)), start, end,
                          org_ids=part, only=only)
            for key in ("rows", "inserted", "updated", "deleted"):
                totals[key] += found[key]
        if org is None and org_ids is None:
            _cover(start, end)
    totals["orgs"] = len(judged)
    return totals


# ---- keeping the stored rows fresh ---------------------------------------------------------------
#
# Every change that can alter a stored verdict marks the rows concerned stale, in the change's own
# transaction (`mark_stale`): a record (its org, the orgs whose secretary lectured in it, the
# periods of its days), a seat or a change of the tree (the org, from the change's date: the
# engine judges by the tree as it stands), a rule (every org, from the rule's date). After the
# commit a background job recomputes what is marked (`refresh_stale`). Readers that judge from
# the stored rows (assessment, ratings) call `ensure_fresh` first: nothing to do when the marks
# are gone and the periods covered, otherwise only the marked orgs (and, once per new period,
# the whole tree) are computed — never the whole tree on every read.

def mark_days(pairs) -> None:
    """Mark, for each (org id, day), the stored rows of that org for the periods containing
    that day — its month, quarter, half and year, nothing between two far-apart days. One mark
    per org × month (a month range overlaps exactly the periods any of its days does). Call
    inside the change's transaction."""
    months = sorted({(org_id, periods.month_key(day)) for org_id, day in pairs})
    marks = []
    for org_id, key in months:
        first = dt.date(key // 100, key % 100, 1)
        last = periods.containing("month", first).end
        marks.append(ComplianceStale(org_id=org_id, since=first, until=last))
    ComplianceStale.objects.bulk_create(marks, batch_size=1000)


def mark_stale(org_ids, since: dt.date, until: dt.date | None = None) -> None:
    """Mark the stored rows of `org_ids` (None: every org) for the periods overlapping
    [since, until] (until: today) as out of date. Call inside the change's transaction."""
    until = max(until or timezone.localdate(), since)
    if org_ids is None:
        ComplianceStale.objects.create(org=None, since=since, until=until)
        return
    ComplianceStale.objects.bulk_create(
        [ComplianceStale(org_id=pk, since=since, until=until) for pk in sorted(set(org_ids))], batch_size=1000)


def schedule_refresh(user=None) -> None:
    """After the change commits: recompute what is marked, in the background (inline in sync
    mode). A failed or lost job leaves the marks, and the next reader recomputes them."""
    transaction.on_commit(lambda: jobs.start("compliance", user, _refresh_job))


def _refresh_job(progress) -> dict:
    result = refresh_stale()
    progress(1, 1, "重新计算合规情况")
    return result


def refresh_stale(*, today: dt.date | None = None) -> dict:
    """Recompute every marked org × range, then remove exactly the marks it read (a mark
    committed meanwhile stays for the next refresh). One recomputation per distinct range, for
    all its orgs at once. Refreshes wait for each other (the lock), so the second one reads the
    marks the first left and never stores the same rows twice."""
    if not ComplianceStale.objects.exists():
        return {"orgs": 0, "rows": 0, "inserted": 0, "updated": 0, "deleted": 0}
    with transaction.atomic():
        locks.hold(COMPLIANCE_LOCK)
        marks = list(ComplianceStale.objects.order_by("id").values_list("id", "org_id", "since", "until"))
        return _refresh(marks, today)


def _refresh(marks: list[tuple], today: dt.date | None) -> dict:
    """Marks for every org: one recomputation per distinct range. Marks for orgs: one
    recomputation for all of them over the span of their ranges, keeping and storing only the
    periods each org had marked (a record of March in one branch and of July in another
    recomputes neither branch's other months) — a fixed number of queries for any import."""
    whole = sorted({(since, until) for _, org_id, since, until in marks if org_id is None})
    units = set(ActivityRule.objects.values_list("period", flat=True).distinct())
    wanted: set[tuple[int, str]] = set()
    first = last = None
    for _, org_id, since, until in marks:
        if org_id is None or (since, until) in whole:
            continue
        wanted.update((org_id, p.label) for unit in units for p in periods.overlapping(unit, since, until))
        first = since if first is None else min(first, since)
        last = until if last is None else max(last, until)
    totals = {"orgs": 0, "rows": 0, "inserted": 0, "updated": 0, "deleted": 0}
    runs = [dict(start=since, end=until) for since, until in whole]
    if wanted:
        runs.append(dict(start=first, end=last, org_ids=sorted({o for o, _ in wanted}), only=wanted))
    for run in runs:
        for key, n in refresh(today=today, **run).items():
            totals[key] += n
    ids = [m[0] for m in marks]
    for i in range(0, len(ids), 500):  # IN lists every database accepts
        ComplianceStale.objects.filter(id__in=ids[i:i + 500]).delete()
    return totals


def ensure_fresh(start: dt.date, end: dt.date, *, today: dt.date | None = None) -> None:
    """Before judging from the stored rows of [start, end]: compute for the whole tree the
    periods never computed yet, and recompute what changes have marked. Three queries when
    everything is fresh."""
    wanted = _periods_of(start, end)
    covered = set(ComplianceCoverage.objects.filter(period__in=wanted).values_list("period", flat=True))
    if wanted - covered:
        refresh(start, end, today=today)  # the whole tree, for the periods not covered yet
    if ComplianceStale.objects.filter(since__lte=end, until__gte=start).exists():
        refresh_stale(today=today)


def on_tree_changed(sender, org_ids, **kwargs) -> None:
    """An org's set-up changed (created, moved, dissolved, a seat): its verdicts depend on the
    tree as it stands (committee, secretary, parent, dates), so every stored period of it is
    marked, from the first period computed for the whole tree (or the first stored row)."""
    first = _first_stored_day()
    if first is None:
        return  # nothing stored yet: the first whole-tree computation will include it
    mark_stale(org_ids, first)
    schedule_refresh()


def _first_stored_day() -> dt.date | None:
    labels = list(ComplianceCoverage.objects.values_list("period", flat=True))
    if labels:
        return min(periods.parse(label).start for label in labels)
    return ComplianceRow.objects.order_by("period_start").values_list("period_start", flat=True).first()


# ---- the secretary's 党课: who gives it, and whether it is asked for at all ------------------------
#
# One judgement for the compliance rule `party_lecture_by_secretary` and for the duty lists' lecture
# items of a secretary (duties.completion): an org whose secretary seat is filled asks its holder for
# the 党课; an org with no secretary seat, or whose seat is vacant, asks nobody, and says why the same
# way wherever it is shown.

SEATED, VACANT, NO_SEAT = "seated", "vacant", "no_seat"


@dataclass(frozen=True, slots=True)
class SecretarySeat:
    org_id: int
    holder_id: int | None
    vacant_since: dt.date | None


@dataclass(frozen=True, slots=True)
class SecretaryLecture:
    state: str  # SEATED, VACANT or NO_SEAT
    holder_id: int | None
    reason: str  # empty when the lecture is asked for

    @property
    def applies(self) -> bool:
        return self.state == SEATED


_NO_SEAT_LECTURE = SecretaryLecture(NO_SEAT, None, "未设书记职位，“书记讲党课”不适用")


def secretary_seats(seats=None, *, org_ids=None) -> dict[int, SecretarySeat]:
    """Per org, its secretary seat (filled if it has a filled one, else the vacant one): one
    query over `seats` (a CommitteeSeat queryset, default all) or over the seats of `org_ids`."""
    qs = CommitteeSeat.objects.filter(is_active=True) if seats is None else seats
    if org_ids is not None:
        qs = qs.filter(org_id__in=sorted(set(org_ids)))
    out: dict[int, SecretarySeat] = {}
    # Lowest id first among the filled seats, as the org's secretary.
    for org_id, holder_id, vacant_since in (qs.filter(role=SeatRole.SECRETARY).order_by("id")
                                            .values_list("org_id", "holder_id", "vacant_since")):
        known = out.get(org_id)
        if known is None or (known.holder_id is None and holder_id is not None):
            out[org_id] = SecretarySeat(org_id, holder_id, vacant_since)
    return out


def secretary_lecture(seat: SecretarySeat | None) -> SecretaryLecture:
    """Whether an org's secretary owes the yearly 党课 (支部工作条例第十六条), and who: the
    holder of its secretary seat; no seat or a vacant one: not applicable, with the reason."""
    if seat is None:
        return _NO_SEAT_LECTURE
    if seat.holder_id is None:
        since = f"自 {seat.vacant_since:%Y-%m-%d} 起" if seat.vacant_since else ""
        return SecretaryLecture(VACANT, None, f"书记职位{since}空缺，“书记讲党课”暂不适用")
    return SecretaryLecture(SEATED, seat.holder_id, "")


def secretaries_orgs(member_ids) -> list[int]:
    """The orgs whose secretary is one of these members (their 书记讲党课 requirement)."""
    ids = [m for m in member_ids if m]
    if not ids:
        return []
    return list(CommitteeSeat.objects.filter(is_active=True, role=SeatRole.SECRETARY, holder_id__in=ids)
                .values_list("org_id", flat=True))


# ---- stored rows -----------------------------------------------------------------------------

def current_status(row: ComplianceRow, today: dt.date | None = None) -> str:
    """A stored row's status as of today (ComplianceRow.status_on)."""
    return ComplianceRow.status_on(row.status, row.period_end, today or timezone.localdate())


def stored_rows(start: dt.date, end: dt.date, orgs_qs=None):
    """Stored rows overlapping [start, end] for the orgs of `orgs_qs` (a scoped queryset)."""
    qs = ComplianceRow.objects.filter(period_start__lte=end, period_end__gte=start).select_related("org", "rule")
    if orgs_qs is not None:
        qs = qs.filter(org__in=orgs_qs.values("pk"))
    return qs.order_by("org__path", "rule__position", "code", "period_start")


def streamed_rows(start: dt.date, end: dt.date, *, org: Organization | None = None, chunk: int = 2000):
    """The stored rows overlapping [start, end] (for the subtree of `org`) as plain tuples
    (org code, org name, period, rule code, required, held, status, evidence, failed quorum),
    in the order `compute` yields them, read through a server-side cursor `chunk` rows at a time:
    what the commands print, in constant memory."""
    qs = ComplianceRow.objects.filter(period_start__lte=end, period_end__gte=start)
    if org is not None:
        qs = qs.filter(org__path__startswith=org.path)
    return (qs.order_by("org__path", "rule__position", "code", "period_start", "period_end")
            .values_list("org__code", "org__name", "period", "code", "required", "held", "status", "evidence",
                         "failed_quorum").iterator(chunk_size=chunk))


# ---- per-member checks -----------------------------------------------------------------------

def member_findings(year: int, *, org: Organization | None = None, today: dt.date | None = None,
                    lapse_months: int | None = None) -> list[dict]:
    """Warnings about people, never automatic measures; exempt members are never listed.

    - `lapse`: absent without leave from all organizational life for `lapse_months`
      consecutive months up to the last complete month of `year` (党章第九条: the branch
      decides, the platform only points it out);
    - `leader_org_life`: a leader (双重组织生活) not present at any 组织生活会 of their own branch
      (or its cells) in the year — listed once the branch has held one, or the year is over;
    - `secretary_lecture`: a secretary who gave no 党课 in the year (`due` while the year runs).
    """
    from dangjian.members.models import Member

    from .models import Attendance

    today = today or timezone.localdate()
    if lapse_months is None:
        lapse_months = int(defaults.section("membership").get("inactive_months_for_lapse", 6))
    year_end = dt.date(year, 12, 31)
    # The current month is not over: the window ends with the last complete one.
    last_month = periods.month_key(year_end) if year_end < today else periods.add_months(periods.month_key(today), -1)
    window = [periods.add_months(last_month, -i) for i in range(lapse_months)][::-1]
    y0, y1 = year * 100 + 1, year * 100 + 12
    members = Member.objects.filter(status=Member.Status.ACTIVE, is_exempt=False)
    if org is not None:
        members = members.filter(org__path__startswith=org.path)
    out: list[dict] = []

    # lapse: one GROUP BY member × month × status over the window.
    per: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for mid, month, status in (
        Attendance.objects.filter(activity__status="active", activity__month__gte=window[0],
                                  activity__month__lte=window[-1], member__in=members.values("pk"))
        .order_by().values_list("member_id", "activity__month", "status").distinct()
    ):
        per[mid][month].add(status)
    lapsed = [mid for mid, months in per.items()
              if all(months.get(m) == {"absent"} for m in window)]

    # leaders and their branch's 组织生活会.
    leaders = {m[0]: m for m in members.filter(is_leader=True).values_list(
        "pk", "name", "org_id", "org__code", "org__name")}
    branch_held = set()  # orgs that held a 组织生活会 in the year; a cell's counts for its branch
    for org_id, parent_id, org_kind in ActivityKind.objects.filter(
        kind="org_life_meeting", is_active=True, month__gte=y0, month__lte=y1
    ).order_by().values_list("org_id", "org__parent_id", "org__kind").distinct():
        branch_held.add(org_id)
        if org_kind == "cell" and parent_id:
            branch_held.add(parent_id)
    attended = set()
    for mid, act_org, act_parent, act_kind in Attendance.objects.filter(
        status="present", member_id__in=list(leaders), activity__status="active",
        activity__month__gte=y0, activity__month__lte=y1, activity__kinds__kind="org_life_meeting",
    ).order_by().values_list("member_id", "activity__org_id", "activity__org__parent_id",
                             "activity__org__kind").distinct():
        own = leaders[mid][2]
        if own == act_org or (act_kind == "cell" and own == act_parent):
            attended.add(mid)

    # secretaries and their lectures.
    seats = list(CommitteeSeat.objects.filter(is_active=True, role=SeatRole.SECRETARY, holder__isnull=False,
                                              holder__in=members.values("pk"))
                 .values_list("holder_id", "holder__name", "org__code", "org__name", "org__kind", "held_since"))
    lecturers = set(ActivityKind.objects.filter(kind="party_lecture", is_active=True, month__gte=y0, month__lte=y1,
                                                activity__lecturer__isnull=False)
                    .values_list("activity__lecturer_id", flat=True).distinct())

    info = {m[0]: m for m in Member.objects.filter(pk__in=lapsed).values_list(
        "pk", "name", "org_id", "org__code", "org__name")}
    since = dt.date(window[0] // 100, window[0] % 100, 1)
    for mid in sorted(lapsed, key=lambda i: (info[i][3], info[i][1], i)):
        _, name, _, code, oname = info[mid]
        out.append(dict(check="lapse", member_id=mid, member_name=name, org_code=code, org_name=oname,
                        status="warning", since=since.isoformat(),
                        message=f"{name} 自 {since:%Y年%m月} 起连续 {lapse_months} 个月无故缺席组织生活，"
                                "请支部了解情况、教育提醒（党章第九条）"))
    year_over = year_end < today
    for mid, (_, name, own, code, oname) in sorted(leaders.items(), key=lambda kv: (kv[1][3], kv[1][1], kv[0])):
        if mid in attended or not (own in branch_held or year_over):
            continue
        out.append(dict(check="leader_org_life", member_id=mid, member_name=name, org_code=code, org_name=oname,
                        status="missing" if year_over or own in branch_held else "due", since=None,
                        message=f"领导干部 {name} {year} 年未出席所在支部（{oname}）的组织生活会"))
    for holder, name, code, oname, _kind, held_since in sorted(seats, key=lambda s: (s[2], s[1])):
        if holder in lecturers:
            continue
        out.append(dict(check="secretary_lecture", member_id=holder, member_name=name, org_code=code,
                        org_name=oname, status="missing" if year_over else "due",
                        since=held_since.isoformat() if held_since else None,
                        message=f"{oname}书记 {name} {year} 年尚未讲党课"))
    return out


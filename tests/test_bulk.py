"""core.bulk: COPY on PostgreSQL, multi-row INSERTs elsewhere, from plain values; defaults
filled from the model, ids reserved ahead, keys and indexes set aside during a load."""
import datetime as dt

import pytest
from django.db import connection, transaction

from dangjian.activities.models import Activity
from dangjian.core import bulk
from dangjian.core.models import AuditEntry
from dangjian.members.models import Membership
from dangjian.orgs.models import Organization, Unit
from tests import factories


@pytest.mark.django_db
def test_copy_rows_fills_what_it_is_not_given_from_the_model():
    wc = factories.org(kind="working_committee", name="测试工委", code="WC")
    org = factories.org(parent=wc, kind="branch", name="测试党支部", code="T01")
    ids = bulk.reserve_ids(Activity, 3)
    assert len(set(ids)) == 3
    rows = [(pk, org.pk, dt.date(2026, 5, i + 1), 202605, f"主题{i}", org.top_org_id) for i, pk in enumerate(ids)]
    # a required column without a default must be given: never a row written half-filled
    with pytest.raises(ValueError, match="top_org_id has no default"):
        bulk.copy_rows(Activity, ("id", "org_id", "held_on", "month", "topic"), [r[:5] for r in rows])
    assert bulk.copy_rows(Activity, ("id", "org_id", "held_on", "month", "topic", "top_org_id"), rows) == 3
    got = list(Activity.objects.order_by("pk").values("pk", "topic", "status", "source", "place", "version",
                                                        "recorded_at", "host_id"))
    assert [g["pk"] for g in got] == ids and [g["topic"] for g in got] == ["主题0", "主题1", "主题2"]
    # defaults, blanks, NULLs and auto_now_add, as the ORM would have written them
    assert {(g["status"], g["source"], g["place"], g["version"], g["host_id"]) for g in got} == \
        {("active", "entered", "", 1, None)}
    assert all(g["recorded_at"] is not None for g in got)
    # an ordinary insert afterwards takes an id of its own
    later = Activity.objects.create(org=org, held_on=dt.date(2026, 6, 1), month=202606)
    assert later.pk not in ids


@pytest.mark.django_db
def test_copy_rows_writes_json_and_refuses_unknown_columns():
    bulk.copy_rows(AuditEntry, ("table", "object_id", "action", "changes", "note"),
                   [("orgs.organization", 7, "create", {"name": [None, "第一党支部"], "n": [None, 3]}, "测试")])
    e = AuditEntry.objects.get()
    assert e.changes == {"name": [None, "第一党支部"], "n": [None, 3]} and e.note == "测试"
    with pytest.raises(ValueError, match="no column"):
        bulk.copy_rows(Unit, ("name", "nope"), [("x", 1)])


@pytest.mark.django_db
def test_copy_rows_streams_a_generator_in_batches():
    wc = factories.org(kind="working_committee", name="测试工委", code="WC")
    org = factories.org(parent=wc, kind="branch", name="测试党支部", code="T01")
    member = factories.member(org=org)
    n = bulk.INSERT_BATCH * 2 + 7
    day = dt.date(1990, 1, 1)
    # closed rows only: a member has one open row
    rows = ((member.pk, org.pk, day + dt.timedelta(days=i), day + dt.timedelta(days=i + 1), "新增", org.top_org_id)
            for i in range(n))
    assert bulk.copy_rows(Membership, ("member_id", "org_id", "started_on", "ended_on", "reason", "top_org_id"),
                          rows) == n
    assert Membership.objects.filter(member=member, reason="新增").count() >= n


@pytest.mark.django_db(transaction=True)
def test_loading_sets_keys_and_indexes_aside_and_puts_them_back():
    def schema():
        with connection.cursor() as cursor:
            return {(c.name, tuple(c.columns), c.unique) for c in [
                type("C", (), {"name": name, "columns": info["columns"], "unique": info["unique"]})
                for name, info in connection.introspection.get_constraints(cursor, "orgs_organization").items()]}

    before = schema()
    with transaction.atomic():
        with bulk.loading(Organization):
            if connection.vendor == "postgresql":
                assert len(schema()) < len(before)  # the foreign keys and the path index are gone
            ids = bulk.reserve_ids(Organization, 2)
            rows = [(ids[0], "B", "子", "branch", ids[1], f"{ids[1]:08d}/{ids[0]:08d}/"),
                    (ids[1], "A", "父", "working_committee", None, f"{ids[1]:08d}/")]
            if connection.vendor != "postgresql":
                rows.reverse()  # keys stay in place elsewhere (MariaDB checks each row at once)
            # on PostgreSQL a row may come before its parent: its key is checked once, at the end
            bulk.copy_rows(Organization, ("id", "code", "name", "kind", "parent_id", "path"), rows)
    assert schema() == before
    assert Organization.objects.get(code="B").parent.code == "A"

"""The change history is a hash chain (SM3): an entry changed, removed or moved in the database
is found by `dangjian audit-verify` at the right place, and nothing in the platform can change
an entry."""
import json

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory

from dangjian.core import audit
from dangjian.core.audit import GENESIS, link_hash, sm3_hex
from dangjian.core.models import AuditEntry, AuditImmutable
from dangjian.orgs import services as org_services
from dangjian.orgs.models import Organization
from tests import factories


@pytest.fixture
def entries(tree, personas):
    """Six entries of several kinds, written the ways the platform writes them."""
    user = personas["wc_admin"]
    org_services.update_org(user, tree["a1"], name="财政局第一党支部（改）")
    audit.record_export(user, "orgs", "党组织", 3)
    AuditEntry.objects.bulk_create([audit.entry(user, tree["a"], None, "create", "批量"),
                                    audit.entry(None, tree["b"], None, "create", "批量")])
    audit.event(user, "accounts.user", user.pk, "login", "登录")
    return list(AuditEntry.objects.order_by("id"))


def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{t}", connection.ops.quote_name(AuditEntry._meta.db_table)), params)


def test_sm3_is_the_standard_hash():
    # GB/T 32905-2016, appendix A.1: SM3("abc").
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_every_entry_is_linked_to_the_one_before(entries):
    assert len(entries) >= 5
    prev = GENESIS
    for e in entries:
        assert e.prev_hash == prev
        row = {f: getattr(e, f) for f in ("table", "object_id", "action", "changes", "actor_username",
                                          "actor_name", "at", "note")}
        assert e.hash == link_hash(prev, row)
        prev = e.hash


def test_verify_reports_an_intact_chain(entries):
    code, out, _ = factories.cli("audit-verify")
    assert code == 0 and f"共 {len(entries)} 条" in out and entries[-1].hash in out
    code, report = factories.cli_json("audit-verify")
    assert code == 0 and report["ok"] is True and report["count"] == len(entries)


def test_changed_content_is_found_at_the_changed_entry(entries):
    target = entries[2]
    _raw("UPDATE {t} SET note = %s WHERE id = %s", ["改过的说明", target.pk])
    code, report = factories.cli_json("audit-verify")
    assert code == 1 and report["ok"] is False
    assert report["break"]["id"] == target.pk and report["break"]["problem"] == "changed"
    assert report["count"] == 2  # the two entries before it are intact
    code, out, _ = factories.cli("audit-verify")
    assert code == 1 and str(target.pk) in out and "内容被修改" in out


def test_changed_changes_are_found(entries):
    target = entries[1]
    _raw("UPDATE {t} SET changes = %s WHERE id = %s", [json.dumps({"kind": "orgs", "count": 0}), target.pk])
    code, report = factories.cli_json("audit-verify")
    assert code == 1 and report["break"]["id"] == target.pk and report["break"]["problem"] == "changed"


def test_a_deleted_entry_is_found_at_the_next_one(entries):
    _raw("DELETE FROM {t} WHERE id = %s", [entries[2].pk])
    code, report = factories.cli_json("audit-verify")
    assert code == 1 and report["break"]["id"] == entries[3].pk and report["break"]["problem"] == "missing"
    code, out, _ = factories.cli("audit-verify")
    assert code == 1 and "缺少记录" in out


def test_a_deleted_first_entry_is_found(entries):
    _raw("DELETE FROM {t} WHERE id = %s", [entries[0].pk])
    code, report = factories.cli_json("audit-verify")
    assert code == 1 and report["break"]["id"] == entries[1].pk and report["break"]["problem"] == "missing"


def test_swapped_entries_are_found_as_reordered(entries):
    a, b = entries[1], entries[2]
    columns = ["table", "object_id", "action", "changes", "user_id", "actor_username", "actor_name", "at", "note",
               "prev_hash", "hash"]
    rows = {r["id"]: r for r in AuditEntry.objects.filter(pk__in=[a.pk, b.pk]).values("id", *columns)}
    q = connection.ops.quote_name
    sets = ", ".join(f"{q(c)} = %s" for c in columns)
    # Each row takes the other's whole content (ids stay): the order of the two is swapped.
    for target, source in ((a.pk, b.pk), (b.pk, a.pk)):
        values = [json.dumps(rows[source][c]) if c == "changes"
                  else connection.ops.adapt_datetimefield_value(rows[source][c]) if c == "at"
                  else rows[source][c] for c in columns]
        _raw("UPDATE {t} SET " + sets + " WHERE id = %s", [*values, target])
    code, report = factories.cli_json("audit-verify")
    assert code == 1 and report["break"]["id"] == a.pk and report["break"]["problem"] == "reordered"
    code, out, _ = factories.cli("audit-verify")
    assert code == 1 and "顺序被调换" in out


def test_entries_cannot_be_changed_or_deleted_through_the_models(entries):
    e = entries[0]
    e.note = "改"
    with pytest.raises(AuditImmutable):
        e.save()
    with pytest.raises(AuditImmutable):
        e.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=e.pk).update(note="改")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=e.pk).delete()
    assert factories.cli_json("audit-verify")[0] == 0


def test_the_admin_cannot_add_change_or_delete_entries(entries, personas):
    model_admin = admin.site._registry.get(AuditEntry)
    superuser = factories.user(username="root", is_superuser=True, is_staff=True)
    request = RequestFactory().get("/")
    request.user = superuser
    # The trail can be read in the admin, never written.
    assert model_admin is not None and model_admin.has_view_permission(request, entries[0])
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entries[0])
    assert not model_admin.has_delete_permission(request, entries[0])
    client = factories.login(superuser)
    assert client.get(f"/admin/core/auditentry/{entries[0].pk}/change/").status_code == 200
    client.post(f"/admin/core/auditentry/{entries[0].pk}/change/", {"note": "改", "action": "update"})
    client.post(f"/admin/core/auditentry/{entries[0].pk}/delete/", {"post": "yes"})
    client.post("/admin/core/auditentry/", {"action": "delete_selected", "_selected_action": [entries[0].pk],
                                            "post": "yes"})
    assert AuditEntry.objects.get(pk=entries[0].pk).note == entries[0].note


def test_the_actor_is_named_after_the_account_is_deleted(tree):
    from dangjian.core.history import actor_of

    user = factories.user("unit_admin", tree["a"], username="goner", last_name="赵", first_name="小明")
    audit.record_export(user, "orgs", "党组织", 1)
    user.roles.all().delete()
    user.delete()
    e = AuditEntry.objects.get(table=audit.EXPORT_TABLE)
    assert e.user is None and (e.actor_username, e.actor_name) == ("goner", "赵小明")
    assert actor_of(e) == "赵小明"
    assert factories.cli_json("audit-verify")[0] == 0  # the account's removal breaks no link


def test_the_migration_chains_the_entries_written_before_it(tree):
    import importlib
    from types import SimpleNamespace

    from django.db.migrations.loader import MigrationLoader

    user = factories.user("unit_admin", tree["a"], username="older", last_name="钱", first_name="多")
    audit.record_export(user, "orgs", "党组织", 2)
    audit.record_export(None, "members", "党员", 5)
    # As the rows stood before the chain existed: no hashes, no kept names.
    _raw("UPDATE {t} SET prev_hash = '', hash = '', actor_username = '', actor_name = ''", [])
    assert factories.cli_json("audit-verify")[0] == 1
    migration = importlib.import_module("dangjian.core.migrations.0008_chain_existing_entries")
    state = MigrationLoader(connection).project_state(("core", "0008_chain_existing_entries"))
    migration.forwards(state.apps, SimpleNamespace(connection=connection))
    code, report = factories.cli_json("audit-verify")
    assert code == 0 and report["count"] == AuditEntry.objects.count()
    kept = AuditEntry.objects.get(table=audit.EXPORT_TABLE, changes__kind="orgs")
    assert (kept.actor_username, kept.actor_name) == ("older", "钱多")
    audit.record_export(user, "orgs", "党组织", 1)  # new entries continue the chain
    assert factories.cli_json("audit-verify") == (0, {"ok": True, "count": AuditEntry.objects.count(),
                                                      "head": AuditEntry.objects.order_by("-id").first().hash})


def test_concurrent_writers_extend_one_chain(transactional_db, tree):
    """Writers in several connections at once (each a transaction that changes a record and
    records it): every entry links to the one committed before it — no two link to the same
    predecessor — and no writer fails."""
    import threading

    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers itself; the test database is in memory")
    before = AuditEntry.objects.count()
    errors, start = [], threading.Barrier(6)

    def writer(n):
        try:
            start.wait(10)
            for i in range(15):
                org_services.update_org(None, Organization.objects.get(pk=tree["a1"].pk) if n % 2 else
                                        Organization.objects.get(pk=tree["b1"].pk), name=f"支部{n}-{i}")
                audit.record_export(None, "orgs", "党组织", i)
        except Exception as exc:  # noqa: BLE001 - any failure of a writer fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert AuditEntry.objects.count() == before + 6 * 15 * 2
    code, report = factories.cli_json("audit-verify")
    assert code == 0 and report["count"] == before + 6 * 15 * 2

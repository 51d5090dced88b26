"""Stored compliance is written as a difference: a saved record rewrites only the rows whose
verdict it changed, a recompute of unchanged data writes nothing, and the stored rows always
equal a fresh full computation. Real commits (`transactional_db`): the refresh runs when the
change commits, as in production."""
import datetime as dt

from dangjian.activities import compliance
from dangjian.activities import services as acts
from dangjian.activities.models import ComplianceRow, ComplianceStale
from tests.factories import TODAY, branch_with, everyone, record

START = dt.date(2025, 1, 1)


def cover():
    """Stored as of the real today, the day the background refresh judges by."""
    compliance.recompute(START, TODAY)


def snapshot() -> dict:
    """Every stored row by key, with its id and write time: a row rewritten changes either."""
    return {(r.org_id, r.code, r.period): (r.pk, r.rule_id, r.required, r.held, r.status, r.evidence,
                                           r.failed_quorum, r.computed_at)
            for r in ComplianceRow.objects.all()}


def verdicts_as_stored() -> dict:
    """A fresh computation of the whole tree, keyed and shaped like the stored rows."""
    return {(v.org_id, v.rule.code, v.period.label): (v.rule.id, v.required, v.held, v.status, v.evidence,
                                                      v.failed_quorum)
            for v in compliance.compute(START, TODAY)}


def stored_values() -> dict:
    return {key: row[1:7] for key, row in snapshot().items()}


def spy_on_store(monkeypatch) -> list[dict]:
    writes: list[dict] = []
    original = compliance.store

    def counting(*args, **kwargs):
        found = original(*args, **kwargs)
        writes.append(found)
        return found

    monkeypatch.setattr(compliance, "store", counting)
    return writes


def test_a_saved_record_rewrites_exactly_the_rows_it_changes(transactional_db, tree, monkeypatch):
    b = branch_with(tree["a"], full=4)
    branch_with(tree["b"], full=3)
    cover()
    before = snapshot()
    writes = spy_on_store(monkeypatch)

    record(b, ["theme_day", "general_meeting"], dt.date(2025, 3, 10), attendance=everyone(b))

    after = snapshot()
    changed = {k for k in after.keys() | before.keys() if after.get(k) != before.get(k)}
    # What should change is what a fresh computation says differs from the rows before.
    fresh = verdicts_as_stored()
    expected = {k for k in fresh.keys() | before.keys()
                if (before[k][1:7] if k in before else None) != fresh.get(k)}
    assert expected and changed == expected
    assert {k[0] for k in changed} == {b.pk}
    assert all(k[2] in ("2025-03", "2025Q1", "2025H1", "2025") for k in changed)
    # One refresh, for the record's org and the periods containing its day only.
    assert len(writes) == 1
    w = writes[0]
    assert w["inserted"] + w["updated"] + w["deleted"] == len(changed) == w["updated"]
    march_periods = sum(1 for k in before if k[0] == b.pk and k[2] in ("2025-03", "2025Q1", "2025H1", "2025"))
    assert w["rows"] == march_periods < sum(1 for k in before if k[0] == b.pk)
    assert stored_values() == fresh


def test_moving_a_record_marks_its_old_and_new_months_not_those_between(transactional_db, tree, monkeypatch):
    b = branch_with(tree["a"], full=4)
    cover()
    act = record(b, ["theme_day"], dt.date(2025, 3, 10))
    before = snapshot()
    marked: list = []
    original = compliance.mark_days
    monkeypatch.setattr(compliance, "mark_days", lambda pairs: marked.extend(pairs) or original(marked[-2:]))
    acts.update_activity(None, act, held_on=dt.date(2025, 7, 14), today=TODAY, version=act.version)
    assert sorted(d for _, d in marked) == [dt.date(2025, 3, 10), dt.date(2025, 7, 14)]
    after = snapshot()
    changed = {k[2] for k in after if after[k] != before[k]}
    assert {"2025-03", "2025-07"} <= changed
    assert not changed & {"2025-04", "2025-05", "2025-06"}  # the months between were not recomputed
    assert not ComplianceStale.objects.exists()
    assert stored_values() == verdicts_as_stored()


def test_a_recompute_of_unchanged_data_writes_nothing(transactional_db, tree):
    branch_with(tree["a"], full=4)
    branch_with(tree["b"], full=3)
    cover()
    before = snapshot()
    found = compliance.refresh(START, TODAY)
    assert found["rows"] == len(before) > 0
    assert (found["inserted"], found["updated"], found["deleted"]) == (0, 0, 0)
    assert snapshot() == before  # not one row rewritten: same ids, same write times


def test_the_difference_inserts_updates_and_deletes_and_ends_equal_to_a_fresh_computation(transactional_db, tree):
    b = branch_with(tree["a"], full=4)
    cover()
    row = ComplianceRow.objects.get(org=b, code="theme_day", period="2025-03")
    ComplianceRow.objects.filter(pk=row.pk).update(status="met", held=9, evidence=[1, 2, 3])  # tampered
    ComplianceRow.objects.filter(org=b, code="theme_day", period="2025-04").delete()  # lost
    stray = ComplianceRow.objects.get(org=b, code="theme_day", period="2025-05")
    stray.pk, stray.code = None, "no_such_rule"
    stray.save()  # a row no verdict has
    found = compliance.refresh(START, TODAY, chunk=1)  # one org per chunk
    assert (found["inserted"], found["updated"], found["deleted"]) == (1, 1, 1)
    assert ComplianceRow.objects.get(pk=row.pk).status == "missing"  # updated in place
    assert stored_values() == verdicts_as_stored()


def test_chunks_of_orgs_store_what_one_whole_tree_computation_stores(transactional_db, tree):
    for parent in (tree["a"], tree["b"], tree["a"]):
        branch_with(parent, full=3)
    record(tree["a1"], ["theme_day"], dt.date(2025, 2, 3))
    whole = compliance.refresh(START, TODAY)
    first = stored_values()
    ComplianceRow.objects.all().delete()
    chunked = compliance.refresh(START, TODAY, chunk=2)
    assert chunked["inserted"] == whole["rows"] == len(first)
    assert stored_values() == first == verdicts_as_stored()

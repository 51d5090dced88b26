"""Stored compliance stays true: changes to seats, people and the tree mark the rows they
affect and the background refresh recomputes them; readers compute only what is marked or was
never computed. Real commits (`transactional_db`): the refresh runs when the change commits."""
import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.activities import compliance
from dangjian.activities.models import ComplianceCoverage, ComplianceRow, ComplianceStale
from dangjian.members import services as member_services
from dangjian.orgs import services as org_services
from dangjian.orgs.models import CommitteeSeat
from tests import factories
from tests.factories import TODAY, branch_with, record

START = dt.date(2025, 1, 1)


def cover():
    """The whole tree computed for 2025 up to TODAY, as a working installation has it."""
    compliance.recompute(START, TODAY, today=TODAY)


def stored(org, code, period):
    return ComplianceRow.objects.get(org=org, code=code, period=period)


def test_the_due_rule_is_the_same_in_python_and_in_sql(transactional_db, tree):
    b = branch_with(tree["a"], full=3)
    cover()
    aug = stored(b, "theme_day", "2025-08")
    assert aug.status == "due"
    for today, expected in ((dt.date(2025, 8, 31), "due"), (dt.date(2025, 9, 1), "missing")):
        assert ComplianceRow.status_on(aug.status, aug.period_end, today) == expected
        assert ComplianceRow.objects.with_status_on(today).get(pk=aug.pk).status_now == expected
        assert ComplianceRow.objects.not_met_on(today).filter(pk=aug.pk).exists() == (expected == "missing")


def test_a_new_committee_seat_makes_the_committee_meetings_required(transactional_db, tree):
    b = branch_with(tree["a"], full=5)
    cover()
    assert stored(b, "committee_meeting", "2025-03").status == "not_applicable"  # a secretary, no committee
    org_services.fill_seat(None, b, "organization_officer", b.people[1], TODAY)
    assert stored(b, "committee_meeting", "2025-03").status == "missing"
    assert not ComplianceStale.objects.exists()


def test_a_transferred_secretary_leaves_the_seat_and_the_lecture_requirement(transactional_db, tree):
    b1, b2 = branch_with(tree["a"], full=4), branch_with(tree["a"], full=3)
    secretary = b1.people[0]
    cover()
    assert stored(b1, "party_lecture_by_secretary", "2025").status == "due"
    member_services.transfer_member(None, secretary, b2, TODAY)
    seat = CommitteeSeat.objects.get(org=b1, role="secretary")
    assert seat.holder_id is None and seat.vacant_since == TODAY
    assert stored(b1, "party_lecture_by_secretary", "2025").status == "not_applicable"
    # Moving within the subtree of an org keeps its seat: an organ committee's members sit in
    # its branches.
    deputy = factories.member(tree["a"], name="机关委员")
    org_services.fill_seat(None, tree["a"], "member", deputy, TODAY)
    member_services.transfer_member(None, deputy, b2, TODAY)
    assert CommitteeSeat.objects.get(org=tree["a"], role="member").holder_id == deputy.pk


def test_an_org_set_up_after_the_computation_gets_its_rows(transactional_db, tree):
    cover()
    late = branch_with(tree["b"], full=3)
    assert stored(late, "theme_day", "2025-03").status == "missing"
    assert not ComplianceStale.objects.exists()


def test_a_moved_org_is_judged_by_its_new_place(transactional_db, tree):
    """The 机关党员干部大会 is required of each unit's top organization: a branch moved from
    under a 机关党委 to directly under the 工委 becomes one."""
    b = branch_with(tree["a"], full=3)
    cover()
    assert stored(b, "organ_member_assembly", "2025").status == "not_applicable"
    org_services.update_org(None, b, parent=tree["wc"])
    # Recomputed in the background as of the real today, when 2025 is over.
    assert stored(b, "organ_member_assembly", "2025").status == "missing"


def test_readers_compute_only_what_is_marked(transactional_db, tree):
    b = branch_with(tree["a"], full=3)
    cover()
    # A record whose background refresh has not run yet (a worker restarting, say).
    a = record(b, ["theme_day"], dt.date(2025, 3, 10))
    ComplianceRow.objects.filter(org=b, period="2025-03", code="theme_day").update(status="missing", evidence=[])
    compliance.mark_stale([b.pk], dt.date(2025, 3, 10), dt.date(2025, 3, 10))
    with CaptureQueriesContext(connection) as marked:
        compliance.ensure_fresh(START, TODAY, today=TODAY)
    row = stored(b, "theme_day", "2025-03")
    assert row.status == "met" and row.evidence == [a.pk]
    assert not ComplianceStale.objects.exists()
    # Nothing marked and every period computed: the reader only looks.
    with CaptureQueriesContext(connection) as fresh:
        compliance.ensure_fresh(START, TODAY, today=TODAY)
    assert len(fresh) <= 3 < len(marked)
    assert not [q for q in fresh.captured_queries if "INSERT" in q["sql"] or "DELETE" in q["sql"]]


def test_a_period_never_computed_is_computed_for_the_whole_tree_once(transactional_db, tree):
    b = branch_with(tree["a"], full=3)
    assert not ComplianceCoverage.objects.exists()
    compliance.ensure_fresh(START, TODAY, today=TODAY)
    assert stored(b, "theme_day", "2025-02").status == "missing"
    assert stored(tree["b1"], "theme_day", "2025-02").status == "missing"  # an org no change touched
    assert set(ComplianceCoverage.objects.values_list("period", flat=True)) >= {"2025-02", "2025Q1", "2025"}


def test_a_mark_made_while_a_refresh_runs_survives_it(transactional_db, tree):
    b = branch_with(tree["a"], full=3)
    cover()
    compliance.mark_stale([b.pk], dt.date(2025, 3, 1), dt.date(2025, 3, 1))
    first = ComplianceStale.objects.order_by("id").last().pk
    original = compliance.refresh

    def refresh_and_mark(*args, **kwargs):
        found = original(*args, **kwargs)
        compliance.mark_stale([b.pk], dt.date(2025, 4, 1), dt.date(2025, 4, 1))  # a change meanwhile
        return found

    compliance.refresh = refresh_and_mark
    try:
        compliance.refresh_stale(today=TODAY)
    finally:
        compliance.refresh = original
    left = list(ComplianceStale.objects.values_list("pk", "since"))
    assert len(left) == 1 and left[0][0] > first and left[0][1] == dt.date(2025, 4, 1)


def test_two_refreshes_at_once_wait_for_each_other(transactional_db, tree):
    """Two background refreshes of the same marks (two saves in a row): the second waits for
    the first, then finds its marks handled — never storing the same rows twice (which a
    unique constraint would turn into a failed job or an error page)."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes writers itself; the test database is in memory")
    b = branch_with(tree["a"], full=3)
    cover()
    compliance.mark_stale([b.pk], dt.date(2025, 3, 1), dt.date(2025, 3, 1))
    held, original, main = threading.Event(), compliance.refresh, threading.current_thread()

    def slow(*args, **kwargs):
        found = original(*args, **kwargs)
        if threading.current_thread() is not main:
            held.set()
            time.sleep(0.5)  # still inside its transaction
        return found

    def first():
        try:
            compliance.refresh_stale(today=TODAY)
        finally:
            connection.close()

    compliance.refresh = slow
    try:
        t = threading.Thread(target=first)
        t.start()
        assert held.wait(10)
        began = time.monotonic()
        second = compliance.refresh_stale(today=TODAY)
        t.join()
    finally:
        compliance.refresh = original
    assert time.monotonic() - began >= 0.3  # it waited
    assert second == {"orgs": 0, "rows": 0, "inserted": 0, "updated": 0, "deleted": 0}  # the first handled the marks
    assert ComplianceRow.objects.filter(org=b, code="theme_day", period="2025-03").count() == 1
    assert not ComplianceStale.objects.exists()

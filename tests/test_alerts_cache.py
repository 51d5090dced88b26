"""The structure alerts of a scope, read per department from the cache: the same alerts as the
whole computation, recomputed after the writes that change them, and a fixed number of queries
whatever the number of departments."""
import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dangjian.members import services as member_services
from dangjian.orgs import services as org_services
from dangjian.orgs.alerts import scope_alerts, structure_alerts
from tests import factories

TODAY = dt.date(2025, 8, 15)


def department(wc, i):
    """A department whose one branch has two full members (正式党员不足三人) and an expired term."""
    organ = factories.org(wc, kind="organ_committee", code=f"D{i:02d}", name=f"第{i}局机关党委")
    b = factories.org(organ, kind="branch", code=f"D{i:02d}01", name=f"第{i}局第一党支部")
    people = [factories.member(b, name=f"第{i}局党员{k}") for k in range(2)]
    org_services.set_current_term(None, b, dt.date(2020, 1, 1), dt.date(2023, 1, 1))
    return b, people


def test_scope_alerts_are_the_whole_computation(tree):
    for i in range(4):
        department(tree["wc"], i)
    whole = structure_alerts(today=TODAY)
    assert whole and scope_alerts([tree["wc"].path], TODAY) == whole
    # Read again: from the cache, the same.
    assert scope_alerts([tree["wc"].path], TODAY) == whole
    # A unit admin's subtree, and a prefix inside a department.
    assert scope_alerts([tree["a"].path], TODAY) == structure_alerts(org=tree["a"], today=TODAY)
    assert scope_alerts([tree["a1"].path], TODAY) == structure_alerts(org=tree["a1"], today=TODAY)
    assert scope_alerts([], TODAY) == []


def kinds_of(alerts, org):
    return sorted(a.kind for a in alerts if a.org_id == org.pk)


def test_writes_move_their_department_on(tree, django_capture_on_commit_callbacks):
    b, people = department(tree["wc"], 1)
    other, _ = department(tree["wc"], 2)
    wc = tree["wc"].path
    assert kinds_of(scope_alerts([wc], TODAY), b) == ["branch_too_small", "term_expired"]
    with django_capture_on_commit_callbacks(execute=True):
        factories.member(b, name="新党员")  # through members.services.create_member
    assert kinds_of(scope_alerts([wc], TODAY), b) == ["term_expired"]  # three full members now
    with django_capture_on_commit_callbacks(execute=True):
        org_services.set_current_term(None, b, dt.date(2024, 1, 1), dt.date(2027, 1, 1))
    assert kinds_of(scope_alerts([wc], TODAY), b) == []
    with django_capture_on_commit_callbacks(execute=True):
        member_services.update_member(None, people[0], category="probationary", confirmed_on=None)
    assert kinds_of(scope_alerts([wc], TODAY), b) == ["branch_too_small"]
    with django_capture_on_commit_callbacks(execute=True):
        member_services.transfer_member(None, people[1], other, TODAY)
    found = scope_alerts([wc], TODAY)
    assert kinds_of(found, b) == ["branch_too_small"] and kinds_of(found, other) == ["term_expired"]
    # Each answer is still the whole computation's.
    assert found == structure_alerts(today=TODAY)


def test_a_write_another_process_made_is_seen_within_a_minute_with_a_per_process_cache(tree, settings, monkeypatch):
    """Another process's write (a command beside the server) moves only that process's own
    copy of the generations: with a per-process cache the entries live a minute, so the server
    sees it then; a shared cache is moved on by the writer itself and keeps them a day."""
    import time

    from dangjian.orgs.models import Term

    b, _ = department(tree["wc"], 1)
    wc = tree["wc"].path
    settings.CACHE_SHARED = False
    assert kinds_of(scope_alerts([wc], TODAY), b) == ["branch_too_small", "term_expired"]
    # The write as this process sees another's: in the database, no `touch` here.
    Term.objects.filter(org=b).update(ends_on=dt.date(2027, 1, 1))  # its term renewed
    assert kinds_of(scope_alerts([wc], TODAY), b) == ["branch_too_small", "term_expired"]  # still the old entry
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    found = scope_alerts([wc], TODAY)
    assert found == structure_alerts(today=TODAY) and kinds_of(found, b) == ["branch_too_small"]
    # A shared cache keeps them a day (its writers move it on).
    stored = {}
    from django.core.cache import cache
    real = cache.set_many
    monkeypatch.setattr(cache, "set_many", lambda data, timeout: stored.update(t=timeout) or real(data, timeout))
    settings.CACHE_SHARED = True
    scope_alerts([tree["a"].path], dt.date(2025, 8, 16))
    assert stored["t"] == 24 * 3600


def test_alert_pages_do_not_grow_with_departments(tree, personas, client, settings):
    settings.PAGE_SIZE = 50
    client.force_login(personas["wc_admin"])
    urls = [reverse("orgs:alerts"), reverse("activities:overview") + "?list=alerts"]

    def queries(url, clear):
        from django.core.cache import cache

        if clear:
            cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    for i in range(3):
        department(tree["wc"], i)
    small = {(u, c): queries(u, c) for u in urls for c in (True, False)}
    for i in range(3, 33):
        department(tree["wc"], i)
    large = {(u, c): queries(u, c) for u in urls for c in (True, False)}
    assert large == small
    # Warm, the alerts cost the departments' list and the fingerprint only.
    for u in urls:
        assert small[(u, False)] < small[(u, True)]
    # And the page counts what the whole computation finds.
    from django.utils import timezone

    page = client.get(reverse("orgs:alerts")).content.decode()
    assert f"共 {len(structure_alerts(today=timezone.localdate()))} 条" in page


def test_a_move_and_a_rename_reach_both_departments(tree, django_capture_on_commit_callbacks):
    from dangjian.orgs import queries as org_queries

    b, _ = department(tree["wc"], 1)
    wc = tree["wc"].path
    before = scope_alerts([wc], TODAY)
    counts = org_queries.MemberCounts.of([wc])
    old = b.path[:18]  # the department it leaves
    assert counts.total(tree["a"].path) == 1 and counts.total(old) == 2
    assert kinds_of(before, b) == ["branch_too_small", "term_expired"]
    with django_capture_on_commit_callbacks(execute=True):
        org_services.update_org(None, b, parent=tree["a"], name="改名后的支部")
    after = scope_alerts([wc], TODAY)
    assert {a.org_name for a in after if a.org_id == b.pk} == {"改名后的支部"}
    assert after == structure_alerts(today=TODAY)
    assert org_queries.MemberCounts.of([wc]).total(tree["a"].path) == 3  # 李明 and the two moved in
    assert org_queries.MemberCounts.of([wc]).total(old) == 0

"""Structure alerts: each planted problem is found, a sound org has none."""
import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dangjian.orgs import services as org_services
from dangjian.orgs.alerts import ALERT_KINDS, Thresholds, structure_alerts
from dangjian.orgs.models import CommitteeSeat
from tests import factories

TODAY = dt.date(2025, 8, 15)


def sound_branch(parent, code, full=5, rank=50):
    """A branch with nothing to report: enough full members, a secretary who ranks highest,
    a term well within its years."""
    b = factories.org(parent, kind="branch", code=code)
    people = [factories.member(b, name=f"{code}成员{i}", rank=rank if i == 0 else 20) for i in range(full)]
    org_services.fill_seat(None, b, "secretary", people[0], dt.date(2024, 1, 1))
    org_services.set_current_term(None, b, dt.date(2024, 1, 1), dt.date(2027, 1, 1))
    b.people = people
    return b


def kinds_for(alerts, org):
    return sorted(a.kind for a in alerts if a.org_id == org.pk)


def test_clean_org_has_no_alerts(tree):
    organ = factories.org(tree["wc"], kind="organ_committee", code="CLEAN")
    b = sound_branch(organ, "CLEAN01")
    org_services.set_current_term(None, organ, dt.date(2023, 1, 1), dt.date(2028, 1, 1))
    # an organ committee's officers are members of its branches (as the demo city and imports hold them)
    CommitteeSeat.objects.create(org=organ, role="discipline_officer", holder=b.people[1], held_since=dt.date(2024, 1, 1))
    alerts = structure_alerts(org=organ, today=TODAY)
    assert alerts == []


def test_terms_expired_and_expiring(tree):
    old = sound_branch(tree["a"], "OLD")
    org_services.set_current_term(None, old, dt.date(2021, 3, 1), dt.date(2024, 3, 1))
    soon = sound_branch(tree["a"], "SOON")
    org_services.set_current_term(None, soon, dt.date(2022, 11, 1), dt.date(2025, 11, 1))
    later = sound_branch(tree["a"], "LATER")
    org_services.set_current_term(None, later, dt.date(2023, 3, 1), dt.date(2026, 3, 1))  # 6½ months away
    alerts = structure_alerts(org=tree["a"], today=TODAY)
    expired = next(a for a in alerts if a.org_id == old.pk)
    assert (expired.kind, expired.since) == ("term_expired", dt.date(2024, 3, 1)) and "超期未换届" in expired.message
    expiring = next(a for a in alerts if a.org_id == soon.pk)
    assert (expiring.kind, expiring.since) == ("term_expiring", dt.date(2025, 5, 1))
    assert kinds_for(alerts, later) == []


def test_vacant_seat_longer_than_three_months(tree):
    b = sound_branch(tree["a"], "VAC", full=8)
    for i, role in enumerate(["organization_officer", "publicity_officer", "discipline_officer"], start=1):
        org_services.fill_seat(None, b, role, b.people[i], dt.date(2024, 1, 1))
    org_services.vacate_seat(None, b.seats.get(role="publicity_officer"), dt.date(2025, 5, 10))
    org_services.vacate_seat(None, b.seats.get(role="discipline_officer"), dt.date(2025, 6, 1))
    alerts = [a for a in structure_alerts(org=b, today=TODAY)]
    assert [(a.kind, a.since) for a in alerts] == [("seat_vacant", dt.date(2025, 5, 10))]
    assert "宣传委员" in alerts[0].message


def test_branch_size_and_committee(tree):
    crowded = sound_branch(tree["a"], "SEVEN", full=7)
    thin = factories.org(tree["a"], kind="branch", code="THIN")
    for i in range(2):
        factories.member(thin, name=f"正式{i}")
    for i in range(3):
        factories.member(thin, name=f"预备{i}", category="probationary", confirmed_on=None)
    alerts = structure_alerts(org=tree["a"], today=TODAY)
    assert kinds_for(alerts, crowded) == ["no_committee"]
    assert kinds_for(alerts, thin) == ["branch_too_small"]
    assert "仅 2 名" in next(a.message for a in alerts if a.org_id == thin.pk)
    # with a committee the seven-member branch is fine
    org_services.fill_seat(None, crowded, "organization_officer", crowded.people[1], dt.date(2024, 1, 1))
    assert kinds_for(structure_alerts(org=tree["a"], today=TODAY), crowded) == []
    # thresholds come from defaults.yaml and can be overridden
    t = Thresholds.from_defaults()
    assert (t.branch_max_members, t.branch_min_full_members, t.reelection_reminder_months) == (50, 3, 6)
    small_limit = Thresholds.from_defaults(branch_max_members=6)
    assert "branch_oversized" in kinds_for(structure_alerts(org=tree["a"], today=TODAY, thresholds=small_limit),
                                           crowded)
    with pytest.raises(ValueError, match="未知的阈值"):
        Thresholds.from_defaults(max_members=3)


def test_branch_over_fifty_members(tree):
    big = factories.org(tree["b"], kind="branch", code="BIG")
    for i in range(51):
        factories.member(big, name=f"党员{i}")
    assert "branch_oversized" in kinds_for(structure_alerts(org=tree["b"], today=TODAY), big)


def test_secretary_outranked(tree):
    # 副科长领导科长: a committee member outranks the secretary
    b = sound_branch(tree["a"], "RANK", full=7, rank=30)
    org_services.fill_seat(None, b, "organization_officer", b.people[1], dt.date(2024, 1, 1))
    factories.member(b, name="王科长", rank=50)
    alerts = [a for a in structure_alerts(org=b, today=TODAY)]
    assert [a.kind for a in alerts] == ["secretary_outranked"]
    assert "副科级" in alerts[0].message and "正科级" in alerts[0].message and "王科长" in alerts[0].message
    # a leader keeping dual organizational life in the branch is not compared
    c = sound_branch(tree["a"], "LEAD", rank=50)
    factories.member(c, name="局长", rank=110, is_leader=True)
    # the same level in another rank series is not "lower" (副科级 and 四级主任科员 share a level)
    d = sound_branch(tree["a"], "SAME", rank=30)
    factories.member(d, name="主任科员", rank=31)
    alerts = structure_alerts(org=tree["a"], today=TODAY)
    assert kinds_for(alerts, c) == [] and kinds_for(alerts, d) == []
    # the member quoted is the branch's highest-ranked ordinary member, the first by name among
    # equals; one no longer on the roll is not compared
    e = sound_branch(tree["a"], "TIE", rank=30)
    factories.member(e, name="B科长", rank=50)
    factories.member(e, name="A科长", rank=50)
    factories.member(e, name="C处长", rank=70, status="transferred_out")
    alert = next(a for a in structure_alerts(org=tree["a"], today=TODAY)
                 if a.org_id == e.pk and a.kind == "secretary_outranked")
    assert "支部党员 A科长（正科级）" in alert.message


def test_organ_committee_without_discipline_officer(tree):
    alerts = structure_alerts(today=TODAY)
    assert kinds_for(alerts, tree["a"]) == ["no_discipline_officer"]
    CommitteeSeat.objects.create(org=tree["a"], role="discipline_officer", holder=tree["ma"],
                                 held_since=dt.date(2024, 1, 1))
    assert kinds_for(structure_alerts(today=TODAY), tree["a"]) == []
    seat = tree["a"].seats.get(role="discipline_officer")
    org_services.vacate_seat(None, seat, dt.date(2025, 7, 1))
    alert = next(a for a in structure_alerts(today=TODAY) if a.org_id == tree["a"].pk)
    assert (alert.kind, alert.since) == ("no_discipline_officer", dt.date(2025, 7, 1))


def test_dissolved_orgs_are_not_checked(tree):
    empty = factories.org(tree["a"], kind="branch", code="EMPTY")
    assert kinds_for(structure_alerts(today=TODAY), empty) == ["branch_too_small"]
    org_services.dissolve_org(None, empty, dt.date(2025, 1, 1))
    assert kinds_for(structure_alerts(today=TODAY), empty) == []


def test_cli_json_exact_shape(tree):
    old = sound_branch(tree["a"], "OLDCLI")
    org_services.set_current_term(None, old, dt.date(2021, 3, 1), dt.date(2024, 3, 1))
    out = io.StringIO()
    call_command("alerts", "--org", "CZ", "--format", "json", "--today", "2025-08-15", stdout=out)
    rows = json.loads(out.getvalue())
    assert all(list(r) == ["org_code", "kind", "message", "since"] for r in rows)
    assert {"org_code": "OLDCLI", "kind": "term_expired", "message": "本届任期已于 2024年03月01日 届满，超期未换届",
            "since": "2024-03-01"} in rows
    assert {r["org_code"] for r in rows} <= {"CZ", "CZ01", "OLDCLI"}
    assert {"org_code": "CZ", "kind": "no_discipline_officer", "message": "机关党委未配备纪检委员（应设立机关纪委）",
            "since": None} in rows
    assert all(r["kind"] in ALERT_KINDS for r in rows)
    table = io.StringIO()
    call_command("alerts", "--format", "table", "--today", "2025-08-15", stdout=table)
    assert "超期未换届" in table.getvalue() and "OLDCLI" in table.getvalue()
    with pytest.raises(CommandError, match="不存在") as e:
        call_command("alerts", "--org", "NOPE", "--format", "json", stdout=io.StringIO())
    assert e.value.returncode == 2


def test_alert_queries_do_not_grow_with_orgs(tree):
    for i in range(3):
        sound_branch(tree["a"], f"Q{i}", full=3, rank=30)
    with CaptureQueriesContext(connection) as small:
        few = structure_alerts(today=TODAY)
    for i in range(3, 25):
        b = sound_branch(tree["b"], f"Q{i}", full=3, rank=30)
        factories.member(b, name="科长", rank=50)  # outranks the secretary: one alert each
    with CaptureQueriesContext(connection) as large:
        many = structure_alerts(today=TODAY)
    assert len(many) >= len(few) + 22
    assert len(large) == len(small) <= 8

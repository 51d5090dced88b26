import datetime as dt

import pytest

from dangjian.core import audit
from dangjian.core.models import AuditEntry
from dangjian.members import services as ms
from dangjian.members.models import Member, Membership
from dangjian.orgs import services as os_
from dangjian.orgs.models import Organization
from tests import factories


def open_rows(member):
    return list(Membership.objects.filter(member=member, ended_on__isnull=True))


def test_transfer_keeps_member_in_exactly_one_org(tree):
    m = tree["ma"]
    ms.transfer_member(None, m, tree["b1"], dt.date(2024, 3, 1))
    rows = list(Membership.objects.filter(member=m).order_by("started_on"))
    assert [r.org_id for r in rows] == [tree["a1"].pk, tree["b1"].pk]
    # the old row ends the day the new one starts: no gap, no overlap
    assert rows[0].ended_on == rows[1].started_on == dt.date(2024, 3, 1)
    assert [r.org_id for r in open_rows(m)] == [Member.objects.get(pk=m.pk).org_id] == [tree["b1"].pk]


def test_transfer_refuses_dissolved_org_and_backdating(tree):
    m = tree["ma"]
    empty = factories.org(tree["b"], kind="branch")
    os_.dissolve_org(None, empty, dt.date(2025, 1, 1))
    with pytest.raises(ms.MemberError, match="已撤销"):
        ms.transfer_member(None, m, empty, dt.date(2025, 2, 1))
    with pytest.raises(ms.MemberError, match="不能早于"):
        ms.transfer_member(None, m, tree["b1"], dt.date(2000, 1, 1))
    assert len(open_rows(m)) == 1


def test_dissolve_refuses_org_with_members(tree):
    with pytest.raises(os_.OrgError, match="在册党员"):
        os_.dissolve_org(None, tree["a1"], dt.date(2025, 1, 1))
    assert Organization.objects.get(pk=tree["a1"].pk).status == "active"


def test_move_subtree_rewrites_paths(tree):
    gb = factories.org(tree["b"], kind="general_branch", code="JY-Z1")
    cell = factories.org(tree["a1"], kind="cell", code="CZ01-1")
    os_.update_org(None, tree["a1"], parent=gb)
    cell = Organization.objects.get(pk=cell.pk)
    assert cell.path.startswith(Organization.objects.get(pk=gb.pk).path)
    assert cell.depth == 5
    with pytest.raises(os_.OrgError, match="下级组织"):
        os_.update_org(None, gb, parent=Organization.objects.get(pk=tree["a1"].pk))


def test_history_records_before_and_after_without_plain_id(tree):
    m = tree["ma"]
    ms.update_member(None, m, phone="13900000000", post="科长")
    e = audit.history(m).filter(action="update").first()
    assert e.changes["phone"][1] == "13900000000" and e.changes["post"] == ["科员", "科长"]
    created = audit.history(m).get(action="create")
    assert "id_number_enc" not in created.changes and created.changes["id_mask"][1] == m.id_mask
    plain = m.id_number
    assert not AuditEntry.objects.filter(changes__icontains=plain).exists()


def test_terms_and_seats(tree):
    org = tree["a1"]
    t1 = os_.set_current_term(None, org, dt.date(2020, 1, 1), dt.date(2023, 1, 1))
    t2 = os_.set_current_term(None, org, dt.date(2023, 1, 5), dt.date(2026, 1, 5))
    t1.refresh_from_db()
    assert not t1.is_current and t2.is_current
    with pytest.raises(os_.OrgError, match="届满日期"):
        os_.set_current_term(None, org, dt.date(2026, 1, 1), dt.date(2025, 1, 1))
    seat = os_.fill_seat(None, org, "secretary", tree["ma"], dt.date(2023, 1, 5))
    os_.vacate_seat(None, seat, dt.date(2025, 6, 1))
    seat.refresh_from_db()
    assert seat.is_vacant and seat.vacant_since == dt.date(2025, 6, 1)
    with pytest.raises(os_.OrgError, match="不是该组织的党员"):
        os_.fill_seat(None, org, "secretary", tree["mb"], dt.date(2025, 7, 1))

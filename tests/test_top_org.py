"""The top-level org column (the distribution key of a sharded database, docs/scale.md) stays
equal to what the path gives, whatever writes the rows: the services, the imports, a move of
a subtree to another department, and the demo city's bulk writes."""
import datetime as dt

from dangjian.activities import compliance
from dangjian.activities.models import Activity, ActivityKind, Attendance, ComplianceRow
from dangjian.members import services as member_services
from dangjian.members.models import Member, Membership
from dangjian.orgs import services as org_services
from dangjian.orgs.models import Organization, top_of_path
from dangjian.orgs.queries import top_org_ids, top_org_mismatches
from tests import factories
from tests.factories import TODAY, branch_with, everyone, record


def test_the_path_names_the_top_level_org():
    assert top_of_path("00000001/") == 1
    assert top_of_path("00000001/00000042/") == 42
    assert top_of_path("00000001/00000042/00000107/00000300/") == 42
    assert top_of_path("") is None


def test_rows_written_by_the_services_carry_their_top_level_org(db, tree):
    b = branch_with(tree["a"], full=3)
    record(b, ["theme_day"], dt.date(2025, 3, 3), attendance=everyone(b))
    compliance.refresh(dt.date(2025, 1, 1), TODAY, today=TODAY)
    for name, rows in (("org", Organization.objects.filter(pk=b.pk)), ("member", Member.objects.filter(org=b)),
                       ("membership", Membership.objects.filter(org=b)), ("record", Activity.objects.filter(org=b)),
                       ("kind", ActivityKind.objects.filter(org=b)),
                       ("attendance", Attendance.objects.filter(activity__org=b)),
                       ("verdict", ComplianceRow.objects.filter(org=b))):
        assert set(rows.values_list("top_org_id", flat=True)) == {tree["a"].pk}, name
    assert Organization.objects.get(pk=tree["wc"].pk).top_org_id == tree["wc"].pk  # the root is its own
    assert Organization.objects.get(pk=tree["a"].pk).top_org_id == tree["a"].pk  # a department's top org too
    assert top_org_ids([b.pk, tree["b1"].pk, tree["wc"].pk]) == {
        b.pk: tree["a"].pk, tree["b1"].pk: tree["b"].pk, tree["wc"].pk: tree["wc"].pk}
    assert top_org_mismatches() == {}


def test_a_subtree_moved_to_another_department_takes_its_rows_along(transactional_db, tree):
    a, b = tree["a"], tree["b"]
    gb = factories.org(a, kind="general_branch", name="财政局机关党总支", code="CZZ")
    br = branch_with(gb, full=3)
    record(br, ["theme_day"], dt.date(2025, 3, 3), attendance=everyone(br))
    assert set(Member.objects.filter(org=br).values_list("top_org_id", flat=True)) == {a.pk}
    org_services.update_org(None, gb, parent=b)
    assert Organization.objects.get(pk=br.pk).top_org_id == b.pk
    for model, rows in ((Member, Member.objects.filter(org=br)), (Activity, Activity.objects.filter(org=br)),
                        (Attendance, Attendance.objects.filter(activity__org=br)),
                        (ComplianceRow, ComplianceRow.objects.filter(org=br))):
        assert rows.exists() and set(rows.values_list("top_org_id", flat=True)) == {b.pk}, model
    # Moved directly under the working committee, the 党总支 becomes a top-level org itself.
    org_services.update_org(None, gb, parent=tree["wc"])
    assert set(Member.objects.filter(org=br).values_list("top_org_id", flat=True)) == {gb.pk}
    assert top_org_mismatches() == {}


def test_a_transferred_member_takes_the_new_department(db, tree):
    m = factories.member(tree["a1"], name="调动者")
    member_services.transfer_member(None, m, tree["b1"], TODAY)
    m.refresh_from_db()
    assert m.top_org_id == tree["b"].pk
    assert dict(Membership.objects.filter(member=m).values_list("org_id", "top_org_id")) == {
        tree["a1"].pk: tree["a"].pk, tree["b1"].pk: tree["b"].pk}  # history keeps where it was
    assert top_org_mismatches() == {}


def test_the_check_finds_a_wrong_row(db, tree):
    Member.objects.filter(pk=tree["ma"].pk).update(top_org_id=tree["b"].pk)
    Organization.objects.filter(pk=tree["a1"].pk).update(top_org_id=tree["wc"].pk)
    assert top_org_mismatches() == {"orgs.Organization": 1, "members.Member": 1}

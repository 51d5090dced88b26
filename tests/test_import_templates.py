"""The import templates from the web import page: the columns are the contract and never
change; the example row names an organization (and people) of the downloading user's own
scope, so the untouched template passes a dry run; the 填写说明 sheet says first that the
example row is to be replaced."""
import io

import openpyxl
import pytest

from dangjian.activities import io as activity_io
from dangjian.core import xlsx
from dangjian.core.models import AuditEntry
from dangjian.members import io as member_io
from dangjian.members.models import Member
from dangjian.orgs import io as org_io
from dangjian.orgs.models import Organization
from tests import factories
from tests.factories import counts, login

IMPORTS = {"members": (member_io.COLUMNS, member_io.import_members),
           "orgs": (org_io.COLUMNS, org_io.import_orgs),
           "activities": (activity_io.COLUMNS, activity_io.import_activities)}


def download(client, kind: str, tmp_path):
    r = client.get(f"/exchange/template/{kind}.xlsx")
    assert r.status_code == 200
    path = tmp_path / f"{kind}.xlsx"
    path.write_bytes(b"".join(r.streaming_content))
    return path


def example_row(path, columns) -> dict:
    rows = list(openpyxl.load_workbook(path).worksheets[0].values)
    assert len(rows) == 2
    return dict(zip([c.key for c in columns], rows[1]))


@pytest.fixture
def education(tree):
    """The 教育局 side holds codes unlike the templates' own examples (CZ, CZ01), and a second
    member, so an activity can have a host and an absentee."""
    factories.member(tree["b1"], name="赵六")
    return tree


@pytest.mark.parametrize("who", ["unit_admin_b", "unit_admin_a", "wc_admin"])
def test_an_untouched_template_passes_a_dry_run_for_whoever_downloads_it(education, personas, tmp_path, who):
    c = login(personas[who])
    for kind, (columns, run) in IMPORTS.items():
        path = download(c, kind, tmp_path)
        book = openpyxl.load_workbook(path)
        assert [cell.value for cell in book.worksheets[0][1]] == [col.header for col in columns], kind  # the contract
        before = counts()
        report = run(path, user=personas[who], dry_run=True)
        assert report["errors"] == [], (who, kind, report["errors"])
        assert report["created"] == 1 and counts() == before, (who, kind)


def test_the_example_names_the_users_own_organization_and_people(education, personas, tmp_path):
    tree = education
    c = login(personas["unit_admin_b"])
    member = example_row(download(c, "members", tmp_path), member_io.COLUMNS)
    assert member["org"] == "JY01" and member["workplace"] == tree["b1"].unit.name
    org = example_row(download(c, "orgs", tmp_path), org_io.COLUMNS)
    assert org["parent"] == "JY" and org["kind"] == "党支部"
    assert not Organization.objects.filter(code=org["code"]).exists() and org["code"].startswith("JY-")
    activity = example_row(download(c, "activities", tmp_path), activity_io.COLUMNS)
    roll = set(Member.objects.filter(org=tree["b1"], status="active").values_list("name", flat=True))
    assert activity["org"] == "JY01" and {activity["host"], activity["absentees"]} <= roll
    assert activity["host"] != activity["absentees"]
    # The example row is real data of the user's scope: each download is recorded as an export.
    taken = AuditEntry.objects.filter(action="export", user=personas["unit_admin_b"]).order_by("id")
    assert [e.changes["kind"] for e in taken] == ["template_members", "template_orgs", "template_activities"]
    assert (activity["expected_count"], activity["present_count"]) == (len(roll), len(roll) - 1)
    # nothing of another subtree is named in the example rows
    for row in (member, org, activity):
        text = " ".join(str(v) for v in row.values() if v)
        assert "CZ" not in text and "财政局" not in text and "李明" not in text, text


def test_the_instructions_say_first_that_the_example_is_to_be_replaced(education, personas, tmp_path):
    c = login(personas["unit_admin_b"])
    for kind, (columns, _run) in IMPORTS.items():
        book = openpyxl.load_workbook(download(c, kind, tmp_path))
        notes = list(book["填写说明"].values)
        first = notes[1][2]
        assert "第 2 行是示例" in first and "改成实际数据" in first and "JY" in first, kind
        # the example column of the instructions shows the example row's own values
        shown = {r[0]: r[3] for r in notes[2:] if r[0]}
        row = list(book.worksheets[0].values)[1]
        assert [shown[col.header] for col in columns] == [xlsx.cell_text(v) for v in row], kind


def test_without_a_user_the_template_keeps_its_examples_and_says_to_replace_them():
    out = io.BytesIO()
    org_io.OrgImporter.write_template(out)
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert list(book.worksheets[0].values)[1][0] == org_io.COLUMNS[0].example
    first = list(book["填写说明"].values)[1][2]
    assert "第 2 行是示例" in first and "须换成系统中已有的组织" in first


def test_a_user_whose_scope_has_no_branch_gets_the_plain_examples(db, tmp_path):
    wc = factories.org(kind="working_committee", name="工委", code="WC")
    user = factories.user("unit_admin", factories.org(wc, kind="leading_group", name="某局党组", code="DZ"))
    path = download(login(user), "members", tmp_path)
    assert example_row(path, member_io.COLUMNS)["org"] == "CZ01"

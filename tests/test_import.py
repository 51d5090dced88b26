"""Roster and organization import: valid files create, update and leave unchanged rows
alone; seats, transfers and terms follow the services' semantics; the commands' exit codes
and JSON report; the web page with its background job and scoping."""
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone

from dangjian.core import crypto, idcard
from dangjian.core.models import AuditEntry, Job
from dangjian.members import io as member_io
from dangjian.members.models import Member
from dangjian.orgs import io as org_io
from dangjian.orgs.models import CommitteeSeat, Organization, Term
from dangjian.orgs.queries import top_org_mismatches
from tests import factories
from tests.factories import cli, cli_json, counts, org_row, person, run_console, sheet

MEMBER_HEADERS = [c.header for c in member_io.COLUMNS if c.required]
ORG_HEADERS = [c.header for c in org_io.COLUMNS]
def member_of(row: dict) -> Member:
    return Member.objects.by_id_number(row["身份证号"]).get()


# ---- members ---------------------------------------------------------------------------

def test_create_then_reimport_unchanged_then_update(tree, tmp_path):
    rows = [person(1), person(2, 职级="", 职务="", 是否领导干部="是"), person(3, org="JY01", 性别="男")]
    path = sheet(tmp_path / "r.xlsx", rows)
    before = counts()
    code, report = cli_json("import-members", str(path))
    assert (code, report) == (0, {"ok": True, "created": 3, "updated": 0, "errors": []})
    after = counts()
    assert after["Member"] == before["Member"] + 3
    assert after["Membership"] == before["Membership"] + 3
    assert after["AuditEntry"] == before["AuditEntry"] + 3

    m = member_of(rows[0])
    assert (m.name, m.gender, m.org.code, m.rank, m.education, m.category) == (
        "钱二", "male", "CZ01", 21, "bachelor", "full")
    assert m.id_number == rows[0]["身份证号"] and m.id_hash == crypto.lookup_hash(rows[0]["身份证号"])
    assert m.name_initials == "qe" and m.memberships.get().started_on == dt.date(2010, 7, 1)
    m2 = member_of(rows[1])
    assert (m2.rank, m2.post, m2.is_leader) == (None, "", True)
    entry = AuditEntry.objects.get(table="members.member", object_id=m.pk)
    assert entry.action == "create" and entry.changes["id_mask"][1] == idcard.mask(rows[0]["身份证号"])
    assert "id_number_enc" not in entry.changes and "id_hash" not in entry.changes

    assert cli_json("import-members", str(path)) == (0, {"ok": True, "created": 0, "updated": 0, "errors": []})
    assert counts() == after

    rows[0]["手机号码"] = "010-87654321"
    sheet(path, rows)
    assert cli_json("import-members", str(path))[1] == {"ok": True, "created": 0, "updated": 1, "errors": []}
    m.refresh_from_db()
    assert m.phone == "010-87654321"
    latest = AuditEntry.objects.filter(table="members.member", object_id=m.pk).order_by("-id").first()
    assert latest.action == "update" and latest.changes == {"phone": [f"139{1:08d}", "010-87654321"]}
    assert counts()["AuditEntry"] == after["AuditEntry"] + 1


def test_dry_run_counts_but_writes_nothing(tree, tmp_path):
    existing = person(1)
    cli("import-members", str(sheet(tmp_path / "a.xlsx", [existing])))
    path = sheet(tmp_path / "b.xlsx", [dict(existing, 职务="副科长"), person(2), person(4)])
    before = counts()
    code, out, _ = cli("import-members", str(path), "--dry-run")
    assert code == 0 and "将新增 2 人，更新 1 人" in out and "未写入" in out
    assert counts() == before
    assert member_of(existing).post == "科员"


def test_text_dates_excel_serials_and_optional_flags(tree, tmp_path):
    base = dt.date(1899, 12, 30)
    rows = [
        person(1, 出生日期="1985/06/02", 入党日期="2010.07.01", 转正日期="20110701", 是否流动党员="是"),
        person(2, 出生日期=dt.datetime(1985, 6, 3, 0, 0), 入党日期=(dt.date(2010, 7, 1) - base).days,
               转正日期=20110701, 是否流动党员="否", 是否免于硬性要求="是", 是否党务干部="是"),
        person(3, 出生日期="1985年6月4日", 入党日期="2010-7-1", 转正日期="2011-07-01 00:00:00", 是否流动党员=""),
    ]
    assert cli_json("import-members", str(sheet(tmp_path / "d.xlsx", rows)))[1]["created"] == 3
    for r in rows:
        m = member_of(r)
        assert (m.joined_on, m.confirmed_on) == (dt.date(2010, 7, 1), dt.date(2011, 7, 1))
    m1, m2 = member_of(rows[0]), member_of(rows[1])
    assert (m1.is_mobile, m1.is_exempt, m1.is_party_staff) == (True, False, False)
    assert (m2.is_mobile, m2.is_exempt, m2.is_party_staff) == (False, True, True)
    assert member_of(rows[2]).birth_date == dt.date(1985, 6, 4)


def test_id_number_with_x_and_lower_case(tree, tmp_path):
    born = dt.date(1979, 1, 9)
    seq = next(s for s in range(1, 999, 2) if idcard.make("110105", born, s).endswith("X"))
    number = idcard.make("110105", born, seq)
    row = person(1, 出生日期=born, 身份证号=number.lower())
    assert cli_json("import-members", str(sheet(tmp_path / "x.xlsx", [row])))[1]["ok"]
    assert Member.objects.by_id_number(number).get().id_mask.endswith("X")


def test_party_posts_fill_and_vacate_seats(tree, tmp_path):
    a1 = tree["a1"]
    vacant = CommitteeSeat.objects.create(org=a1, role="organization_officer", vacant_since=dt.date(2025, 1, 1))
    rows = [person(1, 党内职务="书记"), person(2, 党内职务="组织委员、宣传委员"), person(3, 党内职务="")]
    path = sheet(tmp_path / "s.xlsx", rows)
    assert cli_json("import-members", str(path))[1] == {"ok": True, "created": 3, "updated": 0, "errors": []}
    p1, p2, p3 = (member_of(r) for r in rows)
    held = {(s.role, s.holder_id) for s in CommitteeSeat.objects.filter(org=a1, holder__isnull=False)}
    assert held == {("secretary", p1.pk), ("organization_officer", p2.pk), ("publicity_officer", p2.pk)}
    vacant.refresh_from_db()
    assert vacant.holder_id == p2.pk and vacant.vacant_since is None and vacant.held_since == timezone.localdate()
    seat_entries = AuditEntry.objects.filter(table="orgs.committeeseat").count()
    assert seat_entries == 3

    assert cli_json("import-members", str(path))[1]["updated"] == 0  # unchanged seats count as unchanged

    # 孙三 becomes 书记 (the seat changes holder), 钱二 keeps no post (his seats fall vacant).
    rows[0]["党内职务"], rows[1]["党内职务"], rows[2]["党内职务"] = "", "", "书记"
    sheet(path, rows)
    assert cli_json("import-members", str(path))[1] == {"ok": True, "created": 0, "updated": 3, "errors": []}
    secretary = CommitteeSeat.objects.get(org=a1, role="secretary")
    assert secretary.holder_id == p3.pk
    assert not CommitteeSeat.objects.filter(holder__in=[p1, p2]).exists()
    assert CommitteeSeat.objects.filter(org=a1, holder__isnull=True, vacant_since=timezone.localdate()).count() == 2

    # Without the column, seats are left as they are.
    rows[2].pop("党内职务")
    rows[2]["职务"] = "副科长"
    sheet(path, [rows[2]])
    assert cli_json("import-members", str(path))[1]["updated"] == 1
    assert CommitteeSeat.objects.get(org=a1, role="secretary").holder_id == p3.pk


def test_moved_member_is_transferred_with_dated_memberships(tree, tmp_path):
    row = person(1, 党内职务="组织委员")
    path = sheet(tmp_path / "t.xlsx", [row])
    cli("import-members", str(path))
    m = member_of(row)
    row["所在党组织代码"] = "JY01"
    row.pop("党内职务")
    sheet(path, [row])
    assert cli_json("import-members", str(path))[1] == {"ok": True, "created": 0, "updated": 1, "errors": []}
    m.refresh_from_db()
    today = timezone.localdate()
    assert m.org == tree["b1"]
    history = list(m.memberships.order_by("started_on", "id").values_list("org__code", "started_on", "ended_on"))
    assert history == [("CZ01", dt.date(2010, 7, 1), today), ("JY01", today, None)]
    seat = CommitteeSeat.objects.get(org=tree["a1"], role="organization_officer")
    assert seat.holder_id is None and seat.vacant_since == today  # left the old committee
    entry = AuditEntry.objects.filter(table="members.member", object_id=m.pk).order_by("-id").first()
    assert "转接" in entry.note and entry.changes["org_id"] == [tree["a1"].pk, tree["b1"].pk]
    assert m.top_org_id == tree["b"].pk and top_org_mismatches() == {}  # the import's bulk writes keep it


def test_json_report_shape_and_exit_codes(tree, tmp_path):
    good = sheet(tmp_path / "g.xlsx", [person(1)])
    code, out, err = cli("import-members", str(good), "--format", "json", "--dry-run")
    assert code == 0 and list(json.loads(out)) == ["ok", "created", "updated", "errors"]
    bad_rows = sheet(tmp_path / "b.xlsx", [person(1, 手机号码="123")])
    code, report = cli_json("import-members", str(bad_rows))
    assert code == 1 and report["ok"] is False and (report["created"], report["updated"]) == (0, 0)
    assert report["errors"] == [{"row": 2, "column": "手机号码", "message": report["errors"][0]["message"]}]
    assert set(report["errors"][0]) == {"row", "column", "message"}
    not_xlsx = tmp_path / "n.xlsx"
    not_xlsx.write_text("姓名,性别\n张三,男\n", encoding="utf-8")
    assert cli_json("import-members", str(not_xlsx))[0] == 2
    assert cli_json("import-orgs", str(tmp_path / "missing.xlsx")) == (
        2, {"ok": False, "created": 0, "updated": 0,
            "errors": [{"row": 0, "column": "", "message": f"找不到文件：{tmp_path / 'missing.xlsx'}"}]})
    code, out, _ = cli("import-members", str(bad_rows))
    assert code == 1 and "1 行有错误" in out and "未写入任何数据" in out and "手机号码" in out


def test_real_command_line_exit_code_and_clean_output(tmp_path):
    """The console script itself: a refused file exits 2 with JSON on stdout and no traceback."""
    bad = tmp_path / "old.xls"
    bad.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    proc = run_console("import-members", str(bad), "--format", "json")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is False and report["errors"][0]["row"] == 0 and ".xls" in report["errors"][0]["message"]


# ---- organizations ---------------------------------------------------------------------

def test_org_import_any_order_terms_and_reimport(tree, tmp_path):
    rows = [
        org_row("CZ0101", parent="CZ01X", 组织类别="党小组", 本届开始日期=None, 本届届满日期=None),
        org_row("CZ01X", parent="CZ02", 组织类别="联合党支部"),
        org_row("CZ02", parent="CZ", 组织类别="党总支", 所属单位="市财政局（新）"),
    ]
    path = sheet(tmp_path / "o.xlsx", rows, ORG_HEADERS)
    before = counts()
    assert cli_json("import-orgs", str(path)) == (0, {"ok": True, "created": 3, "updated": 0, "errors": []})
    cell, joint, general = (Organization.objects.get(code=c) for c in ("CZ0101", "CZ01X", "CZ02"))
    assert general.parent == tree["a"] and joint.parent == general and cell.parent == joint
    assert cell.path == tree["a"].path + f"{general.pk:08d}/{joint.pk:08d}/{cell.pk:08d}/"
    assert (joint.kind, joint.is_joint, general.kind, cell.kind) == ("branch", True, "general_branch", "cell")
    assert general.unit.name == "市财政局（新）"
    assert (joint.current_term().starts_on, joint.current_term().ends_on) == (dt.date(2024, 3, 1), dt.date(2027, 3, 1))
    assert not cell.terms.exists()
    assert counts()["AuditEntry"] == before["AuditEntry"] + 3 + 2  # three orgs, two terms

    assert cli_json("import-orgs", str(path))[1] == {"ok": True, "created": 0, "updated": 0, "errors": []}

    # Same start: the term is updated; a new start: 换届 (the old term stays, not current).
    rows[1]["本届届满日期"] = dt.date(2027, 6, 1)
    rows[2]["本届开始日期"], rows[2]["本届届满日期"] = dt.date(2025, 5, 1), dt.date(2028, 5, 1)
    sheet(path, rows, ORG_HEADERS)
    assert cli_json("import-orgs", str(path))[1] == {"ok": True, "created": 0, "updated": 2, "errors": []}
    assert list(joint.terms.values_list("ends_on", "is_current")) == [(dt.date(2027, 6, 1), True)]
    assert list(general.terms.order_by("starts_on").values_list("starts_on", "is_current")) == [
        (dt.date(2024, 3, 1), False), (dt.date(2025, 5, 1), True)]
    assert Term.objects.filter(org=general, is_current=True).count() == 1


def test_org_move_carries_its_subtree(tree, tmp_path):
    cell = factories.org(tree["a1"], kind="cell", code="CZ01A")
    path = sheet(tmp_path / "m.xlsx", [org_row("CZ01", parent="JY", 组织名称="财政局第一党支部", 所属单位="",
                                               成立日期=None, 本届开始日期=None, 本届届满日期=None)],
                 ORG_HEADERS)
    assert cli_json("import-orgs", str(path))[1] == {"ok": True, "created": 0, "updated": 1, "errors": []}
    a1 = Organization.objects.get(code="CZ01")
    cell.refresh_from_db()
    assert a1.parent == tree["b"] and a1.path == tree["b"].path + f"{a1.pk:08d}/"
    assert cell.path == a1.path + f"{cell.pk:08d}/"
    assert a1.unit is None and a1.established_on is None
    # Moved to another department: its rows take the new top-level org, in the import's write.
    assert (a1.top_org_id, cell.top_org_id) == (tree["b"].pk, tree["b"].pk)
    assert Member.objects.get(pk=tree["ma"].pk).top_org_id == tree["b"].pk
    assert top_org_mismatches() == {}


def test_org_import_root_and_new_parent_chain_mixed_with_existing(tree, tmp_path):
    rows = [org_row("NEWB", parent="NEWC", 本届开始日期=None, 本届届满日期=None),
            org_row("NEWC", parent="", 组织类别="机关工委", 所属单位="", 本届开始日期=None, 本届届满日期=None),
            org_row("JY01", parent="NEWC", 组织名称="教育局第一党支部", 所属单位="", 成立日期=None,
                    本届开始日期=None, 本届届满日期=None)]
    assert cli_json("import-orgs", str(sheet(tmp_path / "n.xlsx", rows, ORG_HEADERS)))[1] == {
        "ok": True, "created": 2, "updated": 1, "errors": []}
    root, b1 = Organization.objects.get(code="NEWC"), Organization.objects.get(code="JY01")
    assert root.parent is None and root.path == f"{root.pk:08d}/"
    assert b1.path == root.path + f"{b1.pk:08d}/"
    assert Organization.objects.get(code="NEWB").path.startswith(root.path)


# ---- web -------------------------------------------------------------------------------

@pytest.fixture
def web(settings, tmp_path):
    settings.JOBS_MODE = "sync"
    settings.VAR_DIR = tmp_path / "var"
    return settings


def upload(client, kind: str, path: Path, dry_run: bool = False):
    with path.open("rb") as fh:
        data = {"kind": kind, "file": fh}
        if dry_run:
            data["dry_run"] = "1"
        return client.post("/exchange/import/", data)


def test_import_page_forms_and_templates(client, personas):
    client.force_login(personas["unit_admin_a"])
    page = client.get("/exchange/import/").content.decode()
    for kind in ("members", "orgs"):
        assert f'data-kind="{kind}"' in page and f"/exchange/template/{kind}.xlsx" in page
    assert 'type="file"' in page and 'name="dry_run"' in page and 'type="submit"' in page
    for kind, columns in (("members", member_io.COLUMNS), ("orgs", org_io.COLUMNS)):
        resp = client.get(f"/exchange/template/{kind}.xlsx")
        assert resp.status_code == 200
        wb = openpyxl.load_workbook(io.BytesIO(b"".join(resp.streaming_content)))
        assert wb.sheetnames[1] == "填写说明"
        data = list(wb.worksheets[0].values)
        assert list(data[0]) == [c.header for c in columns] and len(data) == 2
        notes = [r[0] for r in wb["填写说明"].values]
        assert all(c.header in notes for c in columns)


def test_template_example_rows_import_cleanly(tree, tmp_path, client, personas):
    """The example rows of both templates pass the checks (only the org codes are local)."""
    client.force_login(personas["wc_admin"])
    for kind, fn in (("orgs", org_io.import_orgs), ("members", member_io.import_members)):
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(b"".join(client.get(f"/exchange/template/{kind}.xlsx").streaming_content))
        assert fn(path, dry_run=True)["errors"] == []


def test_web_import_success_and_upload_removed(tree, personas, client, tmp_path, web):
    client.force_login(personas["unit_admin_a"])
    path = sheet(tmp_path / "ok.xlsx", [person(1), person(2)])
    resp = upload(client, "members", path)
    assert resp.status_code == 302
    job = Job.objects.get()
    assert resp["Location"] == f"/exchange/jobs/{job.pk}/" and job.kind == "import-members"
    page = client.get(resp["Location"]).content.decode()
    assert "导入完成：新增 2 人，更新 0 人" in page and "hx-trigger" not in page
    assert Member.objects.filter(org__code="CZ01").count() == 3
    assert list((web.VAR_DIR / "uploads").iterdir()) == []
    assert AuditEntry.objects.filter(table="members.member", user=personas["unit_admin_a"]).count() == 2


def test_web_import_scoping_and_report(tree, personas, client, tmp_path, web):
    client.force_login(personas["unit_admin_a"])
    before = counts()
    path = sheet(tmp_path / "jy.xlsx", [person(1), person(2, org="JY01")])
    page = client.get(upload(client, "members", path)["Location"]).content.decode()
    assert "无权导入到该组织" in page and "未写入任何数据" in page and ">3</td>" in page
    assert counts() == before
    orgs = sheet(tmp_path / "o.xlsx", [org_row("JY09", parent="JY")], ORG_HEADERS)
    page = client.get(upload(client, "orgs", orgs)["Location"]).content.decode()
    assert "无权导入到该组织" in page and "上级组织代码" in page
    assert counts() == before


def test_web_dry_run_bad_file_and_missing_file(tree, personas, client, tmp_path, web):
    client.force_login(personas["wc_admin"])
    page = client.get(upload(client, "members", sheet(tmp_path / "d.xlsx", [person(1)]), dry_run=True)["Location"])
    assert "校验通过" in page.content.decode() and not Member.objects.filter(name="钱二").exists()
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    resp = client.get(upload(client, "orgs", junk)["Location"])
    assert resp.status_code == 200 and "未写入任何数据" in resp.content.decode()
    resp = client.post("/exchange/import/", {"kind": "members"})
    assert resp.status_code == 400 and "请选择要导入的 .xlsx 文件" in resp.content.decode()


def test_job_page_polls_until_done_and_is_owner_only(tree, personas, client):
    job = Job.objects.create(kind="import-members", user=personas["unit_admin_a"], status="running", done=30,
                             total=120, message="正在校验")
    client.force_login(personas["unit_admin_a"])
    partial = client.get(f"/exchange/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in partial and "25%" in partial and "<html" not in partial
    job.status, job.result = "done", {"ok": True, "created": 1, "updated": 0, "errors": [],
                                      "summary": "导入完成：新增 1 人，更新 0 人"}
    job.save()
    partial = client.get(f"/exchange/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in partial and "导入完成" in partial
    client.force_login(personas["unit_admin_b"])
    assert client.get(f"/exchange/jobs/{job.pk}/").status_code == 404


@pytest.mark.parametrize("username", ["member_a", "secretary_a1", "leader"])
def test_pages_are_404_without_import_capability(personas, client, username):
    client.force_login(personas[username])
    for url in ("/exchange/import/", "/exchange/template/members.xlsx", "/exchange/export/members.xlsx",
                "/exchange/export/orgs.xlsx"):
        assert client.get(url).status_code == 404, url
    assert client.post("/exchange/import/", {"kind": "members"}).status_code == 404


def test_a_failure_after_the_commit_still_reports_what_was_written(tree, tmp_path, monkeypatch):
    """The follow-up work after the write (a recomputation) may fail; the rows are committed
    and the report says so, instead of telling the clerk nothing was written."""
    def broken(self, rows):
        raise RuntimeError("recomputation failed")

    monkeypatch.setattr(member_io.MemberImporter, "after", broken)
    code, report = cli_json("import-members", str(sheet(tmp_path / "m.xlsx", [person(1)])))
    assert code == 0 and report["ok"] and report["created"] == 1
    assert Member.objects.by_id_number(person(1)["身份证号"]).exists()

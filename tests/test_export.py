"""Exports write the import's own headers and re-import unchanged; the web export is
scoped to the "import" capability and leaves an audit note."""
import datetime as dt
import io

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone

from dangjian.accounts.models import RoleAssignment
from dangjian.core import idcard
from dangjian.core.audit import EXPORT_TABLE
from dangjian.core.models import AuditEntry, Job
from dangjian.members import io as member_io
from dangjian.members.models import Member
from dangjian.orgs import io as org_io
from dangjian.orgs import services as org_services
from dangjian.orgs.models import Organization
from tests import factories
from tests.factories import cli, cli_json, counts, person, sheet

TODAY = timezone.localdate()


@pytest.fixture
def consistent(tree):
    """The shared fixture's members get a gender matching their 身份证号, so every row of
    the database passes the import's checks."""
    for m in Member.objects.all():
        Member.objects.filter(pk=m.pk).update(gender=idcard.gender(m.id_number))
    return tree


def rows_of(data: bytes | str):
    wb = openpyxl.load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data, read_only=True)
    return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


def test_member_export_round_trip(consistent, tmp_path):
    cli("import-members", str(sheet(tmp_path / "in.xlsx", [
        person(1, 党内职务="书记", 是否流动党员="是"), person(2, 党内职务="组织委员、纪检委员", 职级="", 职务=""),
        person(3, org="JY01", 人员类别="预备党员", 入党日期=TODAY - dt.timedelta(days=100), 转正日期=None),
    ])))
    out = tmp_path / "out.xlsx"
    code, text, _ = cli("export-members", "--out", str(out))
    assert code == 0 and "已导出 5 名党员" in text
    data = rows_of(str(out))
    assert data[0] == [c.header for c in member_io.COLUMNS]
    by_name = {r[0]: r for r in data[1:]}
    assert by_name["钱二"][4] == person(1)["身份证号"] and by_name["钱二"][15] == "书记"
    assert by_name["孙三"][15] == "组织委员、纪检委员" and by_name["孙三"][13] is None
    before = counts()
    assert cli_json("import-members", str(out), "--dry-run") == (
        0, {"ok": True, "created": 0, "updated": 0, "errors": []})
    assert cli_json("import-members", str(out)) == (0, {"ok": True, "created": 0, "updated": 0, "errors": []})
    assert counts() == before


def test_member_export_of_a_subtree(consistent, tmp_path):
    out = tmp_path / "cz.xlsx"
    assert cli("export-members", "--out", str(out), "--org", "CZ")[0] == 0
    assert [r[0] for r in rows_of(str(out))[1:]] == ["李明"]
    code, _, err = cli("export-members", "--out", str(out), "--org", "NOPE")
    assert code == 2 and "组织代码“NOPE”不存在" in err


def test_org_export_round_trip(tree, tmp_path):
    org_services.set_current_term(None, tree["a1"], dt.date(2024, 3, 1), dt.date(2027, 3, 1))
    factories.org(tree["b"], kind="branch", code="JY02", is_joint=True)
    dissolved = factories.org(tree["b"], code="JY03")
    org_services.dissolve_org(None, dissolved, dt.date(2025, 1, 1))
    out = tmp_path / "orgs.xlsx"
    code, text, _ = cli("export-orgs", "--out", str(out))
    assert code == 0 and "已导出 6 个党组织" in text
    data = rows_of(str(out))
    assert data[0] == [c.header for c in org_io.COLUMNS]
    by_code = {r[0]: r for r in data[1:]}
    assert [r[0] for r in data[1:]][0] == "WC" and "JY03" not in by_code
    assert by_code["JY02"][2] == "联合党支部" and by_code["CZ01"][3] == "CZ"
    assert by_code["CZ01"][6].date() == dt.date(2024, 3, 1)
    before = counts()
    assert cli_json("import-orgs", str(out), "--dry-run") == (0, {"ok": True, "created": 0, "updated": 0, "errors": []})
    assert cli_json("import-orgs", str(out)) == (0, {"ok": True, "created": 0, "updated": 0, "errors": []})
    assert counts() == before


def test_web_member_export_is_scoped_filtered_and_audited(consistent, personas, client):
    factories.member(consistent["a1"], name="张伟")
    client.force_login(personas["unit_admin_a"])
    resp = client.get("/exchange/export/members.xlsx")
    assert resp.status_code == 200 and "attachment" in resp["Content-Disposition"]
    data = rows_of(b"".join(resp.streaming_content))
    assert sorted(r[0] for r in data[1:]) == ["张伟", "李明"]  # not 王芳 of 教育局
    assert data[1][4] in {m.id_number for m in Member.objects.filter(org__code="CZ01")}  # full number
    resp = client.get("/exchange/export/members.xlsx?q=zw")
    assert [r[0] for r in rows_of(b"".join(resp.streaming_content))[1:]] == ["张伟"]
    resp = client.get("/exchange/export/members.xlsx?org=JY")
    assert rows_of(b"".join(resp.streaming_content))[1:] == []
    notes = list(AuditEntry.objects.filter(table=EXPORT_TABLE).order_by("id"))
    assert len(notes) == 3 and all(n.user == personas["unit_admin_a"] for n in notes)
    assert notes[0].changes["count"] == 2 and notes[1].changes["filters"]["q"] == "zw"


def test_web_org_export_is_scoped(tree, personas, client):
    client.force_login(personas["unit_admin_b"])
    resp = client.get("/exchange/export/orgs.xlsx")
    assert resp.status_code == 200
    assert [r[0] for r in rows_of(b"".join(resp.streaming_content))[1:]] == ["JY", "JY01"]
    assert AuditEntry.objects.get(table=EXPORT_TABLE).changes["kind"] == "orgs"


def test_web_export_reimports_through_the_web(consistent, personas, client, tmp_path, settings):
    settings.JOBS_MODE = "sync"
    settings.VAR_DIR = tmp_path / "var"
    client.force_login(personas["unit_admin_a"])
    path = tmp_path / "web.xlsx"
    path.write_bytes(b"".join(client.get("/exchange/export/members.xlsx").streaming_content))
    with path.open("rb") as fh:
        resp = client.post("/exchange/import/", {"kind": "members", "file": fh})
    assert "导入完成：新增 0 人，更新 0 人" in client.get(resp["Location"]).content.decode()


def test_a_long_roster_is_exported_by_a_job_with_its_progress(consistent, personas, client, settings):
    """Above EXPORT_INLINE_ROWS the export becomes a background job: its page shows progress,
    then a download for its owner only; the export is recorded once the file is written."""
    settings.EXPORT_INLINE_ROWS = 1
    factories.member(consistent["a1"], name="张伟")
    client.force_login(personas["unit_admin_a"])
    resp = client.get("/exchange/export/members.xlsx?q=")
    assert resp.status_code == 302 and "/exchange/jobs/" in resp["Location"]
    page = client.get(resp["Location"]).content.decode()
    assert "已导出 2 名党员" in page and "下载党员花名册.xlsx" in page
    job = Job.objects.get(kind="export-members")
    assert job.status == "done" and job.user == personas["unit_admin_a"]
    assert AuditEntry.objects.get(table=EXPORT_TABLE).changes["count"] == 2
    data = rows_of(b"".join(client.get(f"/exchange/jobs/{job.pk}/file/").streaming_content))
    assert sorted(r[0] for r in data[1:]) == ["张伟", "李明"]
    other = Client()
    other.force_login(personas["unit_admin_b"])
    assert other.get(f"/exchange/jobs/{job.pk}/file/").status_code == 404
    assert other.get(f"/exchange/jobs/{job.pk}/").status_code == 404
    # The owner whose role is withdrawn can no longer take the file.
    assignments = list(RoleAssignment.objects.filter(user=personas["unit_admin_a"]))
    RoleAssignment.objects.filter(user=personas["unit_admin_a"]).delete()
    assert client.get(f"/exchange/jobs/{job.pk}/file/").status_code == 404
    RoleAssignment.objects.bulk_create(assignments)
    # Past its keeping time the file is gone and the page says so.
    from dangjian.exchange import tasks

    for path in tasks.exports_dir().glob("*.xlsx"):
        path.unlink()
    r = client.get(f"/exchange/jobs/{job.pk}/file/", follow=True)
    assert "已过保留期限" in r.content.decode()


def job_page(client, location) -> str:
    return factories.visible_text(client.get(location).content.decode())


def broken_export(progress, user_id, params):
    """Module-level, as every job's work must be: the worker imports it by its dotted path."""
    raise RuntimeError("disk full")


def test_an_export_jobs_page_speaks_of_the_export_and_leads_back_to_the_roster(consistent, personas, client,
                                                                              settings, monkeypatch):
    settings.EXPORT_INLINE_ROWS = 1
    factories.member(consistent["a1"], name="张伟")
    client.force_login(personas["unit_admin_a"])
    resp = client.get("/exchange/export/members.xlsx?q=&category=full")
    page = job_page(client, resp["Location"])
    assert "导出党员花名册" in page and "数据导入" not in page and "导入页面" not in page
    assert 'href="/members/?category=full">返回党员名册' in client.get(resp["Location"]).content.decode()
    # A failed export says that no file was made, not the import's "no data written".
    from dangjian.exchange import tasks

    monkeypatch.setattr(tasks, "run_member_export", broken_export)
    resp = client.get("/exchange/export/members.xlsx")
    page = job_page(client, resp["Location"])
    assert "没有生成文件" in page and "未写入任何数据" not in page and "返回党员名册" in page


def test_an_import_jobs_page_names_the_file_while_it_still_runs(consistent, personas, client, tmp_path,
                                                                 settings, monkeypatch):
    """The heading names the uploaded file from the first look at the page, not only once the job
    is done (the job's own result used to be the only place the name was kept)."""
    settings.VAR_DIR = tmp_path / "var"
    settings.JOBS_MODE = "worker"  # on the queue, and no worker runs here: the job stays queued
    client.force_login(personas["unit_admin_a"])
    path = sheet(tmp_path / "二季度名册.xlsx", [person(1)])
    with path.open("rb") as fh:
        resp = client.post("/exchange/import/", {"kind": "members", "file": fh})
    assert Job.objects.get().status == "queued"
    assert "导入党员花名册：二季度名册.xlsx" in job_page(client, resp["Location"])


def test_exports_write_formula_like_text_as_text(consistent, tmp_path):
    """A name typed as a formula (=HYPERLINK …, +…, @…) is exported as text Excel shows and
    never runs; the CSV output marks it with an apostrophe. Numbers stay numbers."""
    Member.objects.filter(name="李明").update(name='=HYPERLINK("http://x","点我")')
    Organization.objects.filter(pk=consistent["b1"].pk).update(name="@SUM(1+1)", code="=1+1")  # an old code
    out = tmp_path / "out.xlsx"
    assert cli("export-members", "--out", str(out))[0] == 0
    cells = {c.value: c for row in openpyxl.load_workbook(out).worksheets[0].iter_rows(min_row=2) for c in row}
    formula = cells['=HYPERLINK("http://x","点我")']
    assert formula.data_type == "s" and formula.quotePrefix
    assert cells["=1+1"].data_type == "s"  # a text column (组织代码) too
    assert all(c.data_type != "f" for c in cells.values())
    code, text, _ = cli("compliance", "--period", str(TODAY.year), "--format", "csv", "--today", TODAY.isoformat())
    assert code == 0 and "'@SUM(1+1)" in text and ",@SUM" not in text

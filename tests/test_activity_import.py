"""Historical organizational-life records from Excel: a valid file writes activities, kind
rows, absentees and history and recomputes compliance; any bad row leaves the database as it
was, with the same JSON report and exit codes as the roster import. The same import from the
web page, as a background job with its report."""
import datetime as dt
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import timezone

from dangjian.activities import io as activity_io
from dangjian.activities import services as acts
from dangjian.activities.models import Activity, ActivityKind, Attendance, ComplianceRow
from dangjian.core.models import AuditEntry, Job
from dangjian.orgs import services as org_services
from tests import factories

TODAY = timezone.localdate()
PAST = TODAY - dt.timedelta(days=40)


def sheet(path: Path, rows: list[dict], headers: list[str] | None = None) -> Path:
    """The activities workbook: the template's headers unless told otherwise."""
    return factories.sheet(path, rows, headers or [c.header for c in activity_io.COLUMNS])


def row(**over) -> dict:
    r = {"组织代码": "CZ01", "类型": "主题党日、支部党员大会", "日期": PAST, "主题": "学习党章",
         "主持人": "李明", "应到人数": 3, "实到人数": 2, "缺席人员": "赵强"}
    r.update(over)
    return r


def cli(*args) -> tuple[int, dict]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("import-activities", *args, "--format", "json", stdout=out, stderr=err, verbosity=0)
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def counts() -> dict:
    return {m.__name__: m.objects.count() for m in (Activity, ActivityKind, Attendance, AuditEntry, ComplianceRow)}


@pytest.fixture
def branch(tree):
    factories.member(tree["a1"], name="赵强")
    factories.member(tree["a1"], name="孙丽", gender="female")
    return tree["a1"]


def test_valid_file_writes_records_kinds_absentees_history_and_compliance(tree, branch, tmp_path):
    path = sheet(tmp_path / "a.xlsx", [
        row(),
        row(类型="支部委员会", 主题="研究发展党员", 主持人=None, 应到人数=None, 实到人数=None, 缺席人员=None),
        row(组织代码="JY01", 类型="党课", 主持人="王芳", 缺席人员=None, 日期=PAST.strftime("%Y/%m/%d")),
    ])
    before = counts()
    code, report = cli(str(path), "--dry-run")
    assert (code, report) == (0, {"ok": True, "created": 3, "updated": 0, "errors": []})
    assert counts() == before

    code, report = cli(str(path))
    assert (code, report) == (0, {"ok": True, "created": 3, "updated": 0, "errors": []})
    first = Activity.objects.get(org=branch, topic="学习党章")
    assert first.source == Activity.Source.IMPORTED and first.held_on == PAST
    assert first.host == tree["ma"] and (first.expected_count, first.present_count) == (3, 2)
    # A 党员大会's quorum is judged by the file's figures.
    assert (first.voting_expected, first.voting_present) == (3, 2)
    assert sorted(first.kind_list) == ["general_meeting", "theme_day"]
    assert {(k.org_id, k.held_on, k.month, k.is_active) for k in first.kinds.all()} == {
        (branch.pk, PAST, PAST.year * 100 + PAST.month, True)}
    absent = list(first.attendances.values_list("member__name", "status"))
    assert absent == [("赵强", "absent")]
    assert AuditEntry.objects.filter(table="activities.activity", object_id=first.pk, action="create").exists()
    assert AuditEntry.objects.filter(table="activities.attendance", object_id=first.pk).exists()
    lecture = Activity.objects.get(org=tree["b1"])
    assert lecture.kind_list == ["party_lecture"] and lecture.host == tree["mb"]
    # Compliance recomputed for the imported orgs: the theme day counts as evidence.
    theme = ComplianceRow.objects.get(org=branch, code="theme_day", period=f"{PAST:%Y-%m}")
    assert first.pk in theme.evidence and theme.status == "met"

    # The same file again: every row is a duplicate of an existing record; nothing is written.
    before = counts()
    code, report = cli(str(path))
    assert code == 1 and not report["ok"] and report["created"] == 0
    assert [e["row"] for e in report["errors"]] == [2, 3, 4]
    assert all(e["column"] == "主题" and "已经存在" in e["message"] for e in report["errors"])
    assert counts() == before


@pytest.mark.parametrize("over, column, words", [
    ({"组织代码": "NOPE"}, "组织代码", "不存在"),
    ({"类型": "主题党日、喝茶"}, "类型", "“喝茶”不是组织生活类型"),
    ({"类型": "民主生活会"}, "类型", "不开展“民主生活会”"),
    ({"类型": "谈心谈话"}, "类型", "谈心谈话"),
    ({"类型": None}, "类型", "类型不能为空"),
    ({"日期": TODAY + dt.timedelta(days=3)}, "日期", "将来的日期"),
    ({"日期": "2025-02-30"}, "日期", "不是存在的日期"),
    ({"实到人数": 5}, "实到人数", "不能多于应到人数"),
    ({"应到人数": "十"}, "应到人数", "不是有效的人数"),
    ({"缺席人员": "王芳"}, "缺席人员", "“王芳”不是财政局第一党支部的在册党员"),
    ({"缺席人员": "赵强、孙丽"}, "缺席人员", "多于应到与实到人数之差"),
    ({"主持人": "张无忌"}, "主持人", "不是财政局第一党支部的在册党员"),
])
def test_bad_row_is_reported_and_nothing_is_written(tree, branch, tmp_path, over, column, words):
    path = sheet(tmp_path / "bad.xlsx", [row(主题="好的一行"), row(**over)])
    before = counts()
    code, report = cli(str(path))
    assert code == 1 and report["ok"] is False and report["created"] == 0
    assert any(e["row"] == 3 and e["column"] == column and words in e["message"] for e in report["errors"]), report
    assert all(e["row"] == 3 for e in report["errors"])
    assert counts() == before


def test_dissolved_org_duplicate_rows_and_existing_record(tree, branch, tmp_path):
    gone = factories.org(tree["a"], kind="branch", code="CZ09", name="已撤销支部")
    org_services.dissolve_org(None, gone, TODAY - dt.timedelta(days=100))
    acts.record_activity(None, tree["b1"], ["theme_day"], PAST, topic="已录入的主题党日")
    path = sheet(tmp_path / "d.xlsx", [
        row(),
        row(类型="支部党员大会、主题党日"),  # the same kinds in another order
        row(组织代码="CZ09", 主持人=None, 缺席人员=None),
        row(组织代码="JY01", 类型="主题党日", 主题="已录入的主题党日", 主持人=None, 缺席人员=None),
    ])
    code, report = cli(str(path))
    assert code == 1
    by_row = {e["row"]: e for e in report["errors"]}
    assert set(by_row) == {3, 4, 5}
    assert "与第 2 行重复" in by_row[3]["message"]
    assert by_row[4]["column"] == "组织代码" and "已撤销" in by_row[4]["message"]
    assert "已经存在" in by_row[5]["message"]
    assert Activity.objects.count() == 1


def test_file_level_problems_exit_2(tree, tmp_path):
    text = tmp_path / "x.xlsx"
    text.write_text("组织代码,类型\nCZ01,党课\n", encoding="utf-8")
    code, report = cli(str(text))
    assert code == 2 and report["errors"][0]["row"] == 0 and "不是 Excel" in report["errors"][0]["message"]
    code, report = cli(str(sheet(tmp_path / "h.xlsx", [row()], headers=["组织代码", "日期", "心得"])))
    assert code == 2
    assert {(e["row"], e["column"]) for e in report["errors"]} == {(1, "心得"), (1, "类型")}
    code, report = cli(str(tmp_path / "missing.xlsx"))
    assert code == 2 and "找不到文件" in report["errors"][0]["message"]
    assert Activity.objects.count() == 0


def test_scope_of_the_importing_user(tree, personas, branch, tmp_path):
    path = sheet(tmp_path / "s.xlsx", [row(), row(组织代码="JY01", 主持人="王芳", 缺席人员=None)])
    report = activity_io.import_activities(path, user=personas["unit_admin_a"])
    assert not report["ok"]
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "组织代码")]
    assert "不在您的导入范围内" in report["errors"][0]["message"]
    report = activity_io.import_activities(sheet(tmp_path / "t.xlsx", [row()]), user=personas["unit_admin_a"])
    assert report == {"ok": True, "created": 1, "updated": 0, "errors": []}
    assert Activity.objects.get().recorded_by == personas["unit_admin_a"]


def test_import_is_set_based(tree, branch, tmp_path, django_assert_max_num_queries):
    """The number of queries does not grow with the number of rows."""
    def rows(n):
        return [row(主题=f"第{i}次学习", 日期=PAST - dt.timedelta(days=i)) for i in range(n)]

    small = sheet(tmp_path / "small.xlsx", rows(3))
    large = sheet(tmp_path / "large.xlsx", rows(60))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as q_small:
        assert activity_io.import_activities(small, dry_run=True)["ok"]
    with CaptureQueriesContext(connection) as q_large:
        assert activity_io.import_activities(large, dry_run=True)["ok"]
    assert len(q_large) == len(q_small)
    with django_assert_max_num_queries(60):
        report = activity_io.import_activities(large)
    assert report["created"] == 60 and Activity.objects.count() == 60
    assert Attendance.objects.count() == 60


def test_template_reimports_its_headers(tmp_path):
    out = tmp_path / "template.xlsx"
    activity_io.write_template(out)
    wb = openpyxl.load_workbook(out)
    assert [c.value for c in wb.worksheets[0][1]] == [c.header for c in activity_io.COLUMNS]
    assert wb.sheetnames == ["组织生活记录", "填写说明"]


# ---- web -------------------------------------------------------------------------------

@pytest.fixture
def web(settings, tmp_path):
    settings.JOBS_MODE = "sync"
    settings.VAR_DIR = tmp_path / "var"
    return settings


def upload(client, path: Path, dry_run: bool = False):
    with path.open("rb") as fh:
        data = {"kind": "activities", "file": fh}
        if dry_run:
            data["dry_run"] = "1"
        return client.post("/exchange/import/", data)


def test_import_page_offers_activities_with_a_template_that_imports(tree, personas, client, tmp_path):
    client.force_login(personas["unit_admin_a"])
    page = client.get("/exchange/import/").content.decode()
    assert 'data-kind="activities"' in page and "/exchange/template/activities.xlsx" in page
    assert "导入组织生活记录" in page
    resp = client.get("/exchange/template/activities.xlsx")
    assert resp.status_code == 200 and resp["Content-Disposition"].startswith("attachment")
    path = tmp_path / "template.xlsx"
    path.write_bytes(b"".join(resp.streaming_content))
    wb = openpyxl.load_workbook(path)
    assert [c.value for c in wb.worksheets[0][1]] == [c.header for c in activity_io.COLUMNS]
    # The example row passes every check once its people exist in the example org.
    for name in ("赵小刚", "钱小红"):
        factories.member(tree["a1"], name=name)
    assert activity_io.import_activities(path, user=personas["unit_admin_a"], dry_run=True)["errors"] == []


def test_web_import_writes_records_reports_and_removes_the_upload(tree, branch, personas, client, tmp_path, web):
    client.force_login(personas["unit_admin_a"])
    path = sheet(tmp_path / "ok.xlsx", [row(), row(类型="党课", 主题="专题党课", 缺席人员=None)])
    resp = upload(client, path, dry_run=True)
    page = client.get(resp["Location"]).content.decode()
    assert "校验通过（试运行，未写入任何数据）：将新增 2 条" in page and not Activity.objects.exists()

    resp = upload(client, path)
    assert resp.status_code == 302
    job = Job.objects.filter(kind="import-activities").latest("pk")
    assert resp["Location"] == f"/exchange/jobs/{job.pk}/"
    page = client.get(resp["Location"]).content.decode()
    assert "导入完成：新增 2 条" in page and "导入组织生活记录：ok.xlsx" in page and "hx-trigger" not in page
    assert Activity.objects.filter(org=branch, source="imported", recorded_by=personas["unit_admin_a"]).count() == 2
    assert ComplianceRow.objects.filter(org=branch, code="theme_day", period=f"{PAST:%Y-%m}", status="met").exists()
    assert list((web.VAR_DIR / "uploads").iterdir()) == []
    listing = client.get("/exchange/import/").content.decode()
    assert "组织生活记录" in listing.split("最近的导入")[1] and "已导入" in listing


def test_web_import_row_errors_and_scope_write_nothing(tree, branch, personas, client, tmp_path, web):
    client.force_login(personas["unit_admin_a"])
    before = counts()
    path = sheet(tmp_path / "bad.xlsx", [
        row(),
        row(组织代码="JY01", 主持人="王芳", 缺席人员=None),
        row(主题="第二次", 日期=TODAY + dt.timedelta(days=5)),
    ])
    page = client.get(upload(client, path)["Location"]).content.decode()
    assert "2 行有错误" in page and "未写入任何数据" in page
    rows = re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*>([^<]*)</td><td>([^<]*)</td></tr>", page)
    assert [(r[0], r[1]) for r in rows] == [("3", "组织代码"), ("4", "日期")]
    assert "不在您的导入范围内" in rows[0][2] and "将来的日期" in rows[1][2]
    assert counts() == before
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 not a workbook")
    resp = client.get(upload(client, junk)["Location"])
    assert resp.status_code == 200 and "文件无法导入" in resp.content.decode()
    assert counts() == before


@pytest.mark.parametrize("username", ["member_a", "secretary_a1", "leader"])
def test_activity_import_needs_the_import_capability(tree, personas, client, tmp_path, username, web):
    client.force_login(personas[username])
    assert client.get("/exchange/template/activities.xlsx").status_code == 404
    assert upload(client, sheet(tmp_path / "a.xlsx", [row()])).status_code == 404
    assert not Activity.objects.exists() and not Job.objects.exists()

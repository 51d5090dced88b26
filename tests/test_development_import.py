"""入党申请人 imported from a branch's Excel list as clerks keep it (a merged title, header names
in other words, a 序号 and a 备注 column, the branch merged down the rows and written by a short
name, dates as 2026.3.5 / 2026年3月5日 / Excel dates, the 身份证号 as text or as a number, a
signature footer): all or nothing, a preview, Chinese errors per row, the steps already taken
checked by the page's rules, and a template that passes a dry run for whoever downloads it."""
import datetime as dt

import openpyxl
import pytest

from dangjian.core import idcard
from dangjian.core.models import AuditEntry
from dangjian.development.io import COLUMNS, ApplicantImporter
from dangjian.development.models import Applicant, DevelopmentStep
from dangjian.members.models import Member
from tests import factories

TODAY = dt.date(2026, 11, 20)
HEADER = ["序号", "姓 名", "性别", "身份证号码", "学历", "所在党支部", "工作单位", "申请入党时间", "手机号", "谈话时间", "谈话人",
          "确定积极分子日期", "备注"]


# A valid number that a spreadsheet's floating-point cell holds exactly: typed as a number, it
# keeps every digit, and its check digit proves it.
KEPT = "110102199801010896"


def number(n, born=dt.date(1998, 4, 2)):
    return idcard.make("110102", born, 100 + 2 * n + 1)  # odd 17th digit: 男


def clerk_list(path, people, org="财政局一支部"):
    """The list as a branch keeps it: a merged title and a unit line, the branch merged down the
    rows in a short name, a blank line between two people, a footer of signatures."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["财政局第一党支部入党申请人花名册（2026年）"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(["填报单位：市财政局机关党委", None, None, None, None, None, None, None, "单位：人"])
    ws.append(HEADER)
    first = ws.max_row + 1
    for n, p in enumerate(people, 1):
        ws.append([n, *p])
        if n == 2:
            ws.append([])
    column = HEADER.index("所在党支部") + 1
    for row in range(first, ws.max_row + 1):
        ws.cell(row=row, column=column).value = None
    ws.merge_cells(start_row=first, start_column=column, end_row=ws.max_row, end_column=column)
    ws.cell(row=first, column=column).value = org
    ws.append([])
    ws.append(["填表人：张小红", None, None, None, "审核人：王大伟", None, None, None, "填表日期：2026年11月20日"])
    wb.save(path)
    return path


def person(n, **over):
    v = {"name": f"申请{n}", "gender": "男", "id": number(n), "education": "本科", "org": None, "workplace": "市财政局",
         "applied": "2026.3.5", "phone": f"139 0000 11{n:02d}", "talk": None, "talker": None, "activist": None,
         "note": ""}
    v.update(over)
    return [v["name"], v["gender"], v["id"], v["education"], v["org"], v["workplace"], v["applied"], v["phone"],
            v["talk"], v["talker"], v["activist"], v["note"]]


def counts():
    return (Applicant.objects.count(), DevelopmentStep.objects.count(), Member.objects.count(),
            AuditEntry.objects.count())


def run(path, user, dry_run=False):
    return ApplicantImporter(user, today=TODAY).run(path, dry_run=dry_run)


def errors(report) -> list[tuple]:
    return [(e["row"], e["column"], e["message"]) for e in report["errors"]]


@pytest.fixture
def talker(tree):
    return factories.member(tree["a1"], name="周谈话")


def test_a_messy_clerks_list_imports_with_the_steps_taken(tree, personas, talker, tmp_path):
    people = [
        person(1, applied="2026.3.5"),
        person(2, applied="2026年3月5日", talk="2026.3.20", talker="周谈话", id=int(KEPT)),
        person(3, applied=dt.datetime(2025, 1, 10), talk=dt.date(2025, 1, 25), talker="周谈话",
               activist="2025年4月1日", education="大学本科", note="已确定积极分子"),
    ]
    path = clerk_list(tmp_path / "申请人.xlsx", people)
    before = counts()
    preview = run(path, personas["unit_admin_a"], dry_run=True)
    assert preview["errors"] == [] and preview["created"] == 3, preview
    assert counts() == before  # the preview writes nothing
    shown = " ".join(n["shown"] for n in preview["normalized"] if "shown" in n) or str(preview["normalized"])
    assert "财政局第一党支部（CZ01）" in shown and "大学本科" in shown
    report = run(path, personas["unit_admin_a"])
    assert report["errors"] == [] and report["created"] == 3, report
    made = {a.name: a for a in Applicant.objects.filter(org=tree["a1"])}
    assert made["申请1"].applied_on == dt.date(2026, 3, 5) and made["申请1"].stage == "application"
    assert made["申请1"].phone == "13900001101" and made["申请1"].education == "bachelor"
    assert list(made["申请2"].steps.values_list("code", flat=True)) == ["apply", "talk"]
    assert made["申请2"].steps.get(code="talk").talker_id == talker.pk
    assert made["申请2"].id_number == KEPT
    third = made["申请3"]
    assert (third.stage, third.stage_since) == ("activist", dt.date(2025, 4, 1))
    assert list(third.steps.values_list("code", "decision")) == [("apply", ""), ("talk", ""), ("recommend", "yes")]
    assert AuditEntry.objects.filter(table="development.applicant", object_id=third.pk, action="create").exists()


def test_every_bad_row_is_reported_in_chinese_and_nothing_is_written(tree, personas, talker, tmp_path):
    factories.applicant(tree["a1"], name="已登记", id_number=number(5), birth=dt.date(1998, 4, 2))
    lost = int(number(6)[:15] + "000")  # Excel kept 15 digits of an 18-digit number
    people = [
        person(1),  # a good row: still not written
        person(2, id=lost),
        person(3, applied="2026.2.30"),
        person(4, applied="2026.3"),
        person(5),  # already an applicant
        person(7, id=tree["ma"].id_number, gender=None),  # already on the roster
        person(8, education="研究生"),
        person(9, talk="2026.3.1"),  # a talk without 谈话人, and before the application
        person(10, talk="2026.3.20", talker="王芳"),  # a member of another unit
        person(11, talk="2026.3.1", talker="周谈话"),  # before the application
        person(12, activist="2026.4.1"),  # no talk before
        person(13, id=idcard.make("110102", dt.date(2010, 1, 1), 101)),  # under 18
        person(14, applied="2026.12.1"),  # in the future
        person(1, name="重复"),  # the same 身份证号 as row 1
        person(15, gender="女"),
    ]
    path = clerk_list(tmp_path / "错误.xlsx", people)
    before = counts()
    report = run(path, personas["unit_admin_a"])
    assert counts() == before and report["created"] == 0
    found = errors(report)
    text = "\n".join(f"{r}|{c}|{m}" for r, c, m in found)
    first = 4  # the first data row of the sheet (title, unit line, header)
    expect = [
        (first + 1, "身份证号", "后几位已丢失"),
        (first + 3, "递交申请日期", "不是存在的日期"),  # blank line after row 2
        (first + 4, "递交申请日期", "只有年月"),
        (first + 5, "身份证号", "该申请人已登记"),
        (first + 6, "身份证号", "已在党员名册中"),
        (first + 7, "学历", "不明确"),
        (first + 8, "谈话人", "谈话人必填"),
        (first + 9, "谈话人", "不是财政局第一党支部所在单位的在册党员"),
        (first + 10, "谈话日期", "早于上一步骤“递交入党申请书”"),
        (first + 11, "确定为入党积极分子日期", "须先由党组织派人谈话"),
        (first + 12, "递交申请日期", "未满 18 周岁"),
        (first + 13, "递交申请日期", "晚于今天"),
        (first + 14, "身份证号", f"与第 {first} 行是同一身份证号"),
        (first + 15, "性别", "与身份证号不符"),
    ]
    for row, column, words in expect:
        assert any(r == row and c == column and words in m for r, c, m in found), (row, column, words, text)
    assert all(r != first for r, _, _ in found), text  # the good row has no error


def test_an_organization_outside_the_scope_or_ambiguous_is_refused(tree, personas, tmp_path):
    factories.org(tree["a"], kind="branch", name="财政局第二党支部", code="CZ02")
    for org, words in [("JY01", "不在您的导入范围内"), ("CZ", "入党申请由党支部（或党总支）受理和培养"),
                       ("财政局支部", "请填写组织代码"), ("教育局第一党支部", "不是您导入范围内的党支部")]:
        path = clerk_list(tmp_path / f"{org}.xlsx", [person(1)], org=org)
        report = run(path, personas["unit_admin_a"])
        assert any(c == "培养党支部" and words in m for _, c, m in errors(report)), (org, report["errors"])
    path = clerk_list(tmp_path / "ok.xlsx", [person(1)], org="CZ02")
    assert run(path, personas["unit_admin_a"])["created"] == 1
    assert Applicant.objects.get().org.code == "CZ02"


def test_a_secretary_without_the_import_right_imports_nothing(tree, personas, tmp_path):
    path = clerk_list(tmp_path / "sec.xlsx", [person(1)], org="CZ01")
    report = run(path, personas["secretary_a1"])
    assert report["created"] == 0 and any(c == "培养党支部" for _, c, _ in errors(report))


@pytest.mark.parametrize("who", ["unit_admin_a", "unit_admin_b", "wc_admin"])
def test_the_template_from_the_exchange_page_passes_a_dry_run(tree, personas, tmp_path, who):
    from dangjian.exchange.tasks import IMPORTERS

    assert IMPORTERS["applicants"] is ApplicantImporter
    client = factories.login(personas[who])
    assert "入党申请人" in client.get("/exchange/import/").content.decode()
    r = client.get("/exchange/template/applicants.xlsx")
    assert r.status_code == 200
    path = tmp_path / "template.xlsx"
    path.write_bytes(b"".join(r.streaming_content))
    book = openpyxl.load_workbook(path)
    assert [c.value for c in book.worksheets[0][1]] == [c.header for c in COLUMNS]
    before = counts()
    report = ApplicantImporter(personas[who]).run(path, dry_run=True)
    assert report["errors"] == [] and report["created"] == 1 and counts() == before, report

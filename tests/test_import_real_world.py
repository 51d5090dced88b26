"""Workbooks as clerks really keep them import: a title merged across the columns above the
header, header names with spaces or other names, a 序号 and a 备注 column, blank rows between the
data, a value merged down several rows, short names for coded values, phone numbers with
spaces and dashes, a footer of signatures and dates — each accepted and reported as
normalized. What cannot be right (an ID number Excel stored as a number, a value that could
mean two things, a date without its day) is refused on its row."""
import datetime as dt

import openpyxl
import pytest

from dangjian.core import idcard
from dangjian.members.models import Member
from dangjian.orgs.models import Organization
from tests import factories
from tests.factories import cli, cli_json, counts

ROSTER_HEADER = ["序号", "姓 名", "性　别", "民族", "出生日期", "身份证号码", "学 历", "手机号", "所在党组织代码", "人员类别",
                 "入党时间", "转正时间", "工作单位", "职务", "职级", "是否领导干部", "备注"]


def clerk_roster(path, people, org_code="CZ01", *, merge_org=True, title=True, footer=True):
    """The roster as a branch keeps it: title and date lines, a header in other words, the org
    code merged down the rows, blank rows, and a signature footer."""
    wb = openpyxl.Workbook()
    ws = wb.active
    width = len(ROSTER_HEADER)
    if title:
        ws.append(["财政局第一党支部党员花名册（截至2026年10月31日）"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        ws.append(["填报单位：市财政局机关党委", None, None, None, None, None, None, None, "单位：人"])
        ws.append([])
    ws.append(ROSTER_HEADER)
    first = ws.max_row + 1
    for n, p in enumerate(people, 1):
        ws.append([n, *p])
        if n == 2:
            ws.append([])  # a blank line left between two people
    if merge_org and len(people) > 1:
        column = ROSTER_HEADER.index("所在党组织代码") + 1
        for row in range(first + 1, ws.max_row + 1):
            ws.cell(row=row, column=column).value = None
        ws.merge_cells(start_row=first, start_column=column, end_row=ws.max_row, end_column=column)
        ws.cell(row=first, column=column).value = org_code
    if footer:
        ws.append([])
        ws.append(["填表人：张小红", None, None, None, "审核人：王大伟", None, None, None, "填表日期：2026年10月31日"])
        ws.append(["注：本表由支部组织委员填报，每季度更新一次。"])
    wb.save(path)
    return path


def person(n, **over):
    born = dt.date(1986, 3, 1) + dt.timedelta(days=n)
    values = {
        "name": f"张{'一二三四五六七八九'[n % 9]}{n}", "gender": "男性", "ethnicity": "汉", "birth": born,
        "id": idcard.make("110102", born, 101 + 2 * n), "education": "本科", "phone": f"139 {n:04d} 8000",
        "org": "CZ01", "category": "正式", "joined": "2012.07.01", "confirmed": "2013年7月1日", "workplace": "市财政局",
        "post": "科员", "rank": "副科", "leader": "否",
    }
    values.update(over)
    return [values["name"], values["gender"], values["ethnicity"], values["birth"], values["id"],
            values["education"], values["phone"], values["org"], values["category"], values["joined"],
            values["confirmed"], values["workplace"], values["post"], values["rank"], values["leader"], "",
            ][:len(ROSTER_HEADER) - 1]


def messages(report) -> str:
    return "\n".join(f"{n['row']}|{n['column']}|{n['message']}" for n in report.get("normalized", []))


def test_a_clerks_roster_imports_and_says_what_it_normalized(tree, tmp_path):
    people = [person(1), person(2, education="大专", gender="女性", id=None), person(3, education="中专")]
    people[1][4] = idcard.make("110102", dt.date(1986, 3, 3), 102)  # a woman: even 17th digit
    path = clerk_roster(tmp_path / "花名册.xlsx", people)
    before = counts()
    code, report = cli_json("import-members", str(path), "--dry-run")
    assert code == 0 and report["ok"] and report["created"] == 3, report
    assert counts() == before  # a dry run writes nothing
    notes = messages(report)
    for piece in ("表头在第 4 行", "第 1–2 行", "“姓 名”按“姓名”识别", "“身份证号码”按“身份证号”识别", "“序号”",
                  "“备注”", "不是本表的列，已忽略", "“本科”按“大学本科”导入", "“大专”按“大学专科”导入",
                  "“中专”按“中等专科”导入", "“男性”按“男”导入", "“女性”按“女”导入", "“汉”按“汉族”导入",
                  "“正式”按“正式党员”导入", "“副科”按“副科级”导入", "规范写法", "表尾"):
        assert piece in notes, (piece, notes)
    code, report = cli_json("import-members", str(path))
    assert code == 0 and report["created"] == 3
    saved = {m.name: m for m in Member.objects.filter(org__code="CZ01").exclude(pk=tree["ma"].pk)}
    assert len(saved) == 3
    m = saved[people[0][0]]
    assert (m.education, m.gender, m.ethnicity, m.category, m.rank) == ("bachelor", "male", "汉族", "full", 30)
    assert m.phone == "13900018000" and m.joined_on == dt.date(2012, 7, 1) and m.confirmed_on == dt.date(2013, 7, 1)
    assert saved[people[1][0]].education == "college" and saved[people[1][0]].gender == "female"
    # The org code merged down the rows counts for each of them.
    assert {x.org.code for x in saved.values()} == {"CZ01"}


def test_the_template_itself_still_reads_without_notes(tree, tmp_path):
    path = tmp_path / "t.xlsx"
    factories.sheet(path, [factories.person(1)])
    code, report = cli_json("import-members", str(path), "--dry-run")
    assert code == 0 and report == {"ok": True, "created": 1, "updated": 0, "errors": []}


@pytest.mark.parametrize("over, column, words", [
    ({"education": "研究生"}, "学历", "“博士研究生”或“硕士研究生”"),
    ({"category": "党员"}, "人员类别", "不明确"),
    ({"joined": "2012.07"}, "入党日期", "只有年月"),
    ({"phone": "139-0000"}, "手机号码", "格式不正确"),
])
def test_what_cannot_be_right_is_refused_on_its_row(tree, tmp_path, over, column, words):
    path = clerk_roster(tmp_path / "r.xlsx", [person(1), person(2, **over)], merge_org=False)
    before = counts()
    code, report = cli_json("import-members", str(path))
    assert code == 1 and not report["ok"]
    # The header is on row 4: person 1 on row 5, person 2 on row 6.
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(6, column)], report["errors"]
    assert words in report["errors"][0]["message"]
    assert counts() == before


def test_an_id_number_stored_as_a_number_asks_for_a_text_column(tree, tmp_path):
    row = person(1)
    row[4] = int(row[4][:15])  # what Excel makes of a long number typed into a general cell
    path = clerk_roster(tmp_path / "n.xlsx", [row], merge_org=False)
    code, report = cli_json("import-members", str(path))
    assert code == 1 and report["errors"][0]["column"] == "身份证号"
    assert "文本格式" in report["errors"][0]["message"] and report["errors"][0]["row"] == 5


def test_the_report_never_shows_personal_numbers(tree, tmp_path):
    row = person(1)
    row[4] = row[4][:6] + " " + row[4][6:14] + " " + row[4][14:]  # typed in groups
    path = clerk_roster(tmp_path / "s.xlsx", [row], merge_org=False)
    code, report = cli_json("import-members", str(path), "--dry-run")
    assert code == 0
    assert "身份证号" in messages(report) and row[4].replace(" ", "")[:10] not in messages(report)
    assert "139 0001 8000" not in messages(report) and "13900018000" not in messages(report)


def test_data_on_a_later_sheet_is_found(tree, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["请按下一页填写，身份证号请设为文本格式。"])
    ws = wb.create_sheet("花名册")
    ws.append(ROSTER_HEADER)
    ws.append([1, *person(1)])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    code, report = cli_json("import-members", str(path), "--dry-run")
    assert code == 0 and report["created"] == 1
    assert "数据取自工作表“花名册”" in messages(report)


def test_a_header_that_cannot_be_found_still_names_what_is_missing(tree, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["党员情况统计"])
    wb.active.append(["名字", "号码"])
    wb.active.append(["张三", "123"])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    code, report = cli_json("import-members", str(path))
    assert code == 2 and any("缺少必填列“姓名”" in e["message"] for e in report["errors"])


def test_a_clerks_org_list_imports(tree, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["市财政局党组织设置情况"])
    ws.merge_cells("A1:F1")
    ws.append(["组织 代码", "党组织名称", "组织类别", "上级党组织代码", "所属单位", "成立时间"])
    ws.append(["ＣＺ０２", "财政局第二党支部", "党支部", "CZ", "市财政局", "2019年3月1日"])
    ws.append(["CZ03", "财政局第三党支部", "党支部", "CZ", "市财政局", "20190301"])
    ws.append(["填表人：李四"])
    path = tmp_path / "orgs.xlsx"
    wb.save(path)
    code, report = cli_json("import-orgs", str(path))
    assert code == 0 and report["created"] == 2, report
    assert "“ＣＺ０２”按“CZ02”导入" in messages(report) and "表头在第 2 行" in messages(report)
    assert Organization.objects.get(code="CZ02").parent.code == "CZ"


def test_an_org_code_is_one_rule_at_every_door(tree, tmp_path, personas):
    """The code rule of the form is the API's and the import's: a code with a space is refused
    by each, a full-width one is folded by each."""
    path = factories.sheet(tmp_path / "o.xlsx", [factories.org_row("CZ 99")])
    code, report = cli_json("import-orgs", str(path))
    assert code == 1 and "不能有空格" in report["errors"][0]["message"]
    web = factories.login(personas["unit_admin_a"])
    form = {"code": "CZ 99", "name": "第九支部", "kind": "branch", "unit": "市财政局"}
    r = web.post(f"/orgs/{tree['a'].pk}/new/", form)
    assert r.status_code == 200 and "不能有空格" in r.content.decode()
    r = web.post(f"/orgs/{tree['a'].pk}/new/", {**form, "code": "ＣＺ９９"})
    assert r.status_code == 302 and Organization.objects.filter(code="CZ99").exists()
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(personas["unit_admin_a"])
    r = api.post("/api/orgs/", {"code": "CZ 98", "name": "第八支部", "kind": "branch", "parent": "CZ"}, format="json")
    assert r.status_code == 400 and "不能有空格" in r.json()["errors"]["code"][0]


def test_a_clerks_record_list_imports(tree, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2025年财政局第一党支部组织生活台账"])
    ws.merge_cells("A1:H1")
    ws.append(["组织代码", "类 型", "日期", "主题", "主持人", "应到人数", "实到人数", "缺席人员"])
    ws.append(["CZ01", "主题党日、党课", "2025.3.28", "学习党章", "", "1人", "1", ""])
    ws.append([None, "主题党日", "2025年4月25日", "参观红色教育基地", "", 1, 1, ""])
    ws.merge_cells("A3:A4")
    ws.append(["合计", "2 次"])
    path = tmp_path / "acts.xlsx"
    wb.save(path)
    code, out, _ = cli("import-activities", str(path), "--format", "json")
    import json

    report = json.loads(out)
    assert code == 0 and report["created"] == 2, report
    assert "表尾" in messages(report) and "“类 型”按“类型”识别" in messages(report)


def test_the_web_page_shows_what_was_normalized(tree, personas, tmp_path):
    path = clerk_roster(tmp_path / "w.xlsx", [person(1)], merge_org=False)
    web = factories.login(personas["unit_admin_a"])
    with open(path, "rb") as fh:
        r = web.post("/exchange/import/", {"kind": "members", "file": fh, "dry_run": "1"})
    page = web.get(r["Location"]).content.decode()
    assert "以下内容已按规范写法读取" in page and "“本科”按“大学本科”导入" in page and "（表头）" in page

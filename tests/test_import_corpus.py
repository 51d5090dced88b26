"""A corpus of bad files. Each case names exactly the (row, column) pairs it must be
reported at, with a piece of the Chinese message, and checks that nothing at all was
written (organizations, members, memberships, seats, change history)."""
import datetime as dt
import zipfile

import openpyxl
import pytest
from django.utils import timezone

from dangjian.core import idcard
from dangjian.orgs import io as org_io
from dangjian.orgs import services as org_services
from tests import factories
from tests.factories import cli_json, counts, org_row, person, sheet

ORG_HEADERS = [c.header for c in org_io.COLUMNS]

TODAY = timezone.localdate()


def _dissolved(tree):
    org = factories.org(tree["a"], code="CZ99", name="已撤销支部")
    org_services.dissolve_org(None, org, dt.date(2024, 1, 1))


def _renamed_text(path):
    path.write_text("这不是表格，只是一段文字。\n", encoding="utf-8")


def _renamed_csv(path):
    path.write_text("姓名,性别,身份证号\n张三,男,110101199001011234\n", encoding="gbk")


def _plain_zip(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")


def _old_xls(path):
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048)


def _broken_xlsx(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<<< not xml")


def _empty_workbook(path):
    openpyxl.Workbook().save(path)


def _number_id(path):
    row = person(1)
    row["身份证号"] = int(row["身份证号"][:15])
    sheet(path, [row])


def _seq_x(born):
    return next(s for s in range(1, 999, 2) if idcard.make("110105", born, s).endswith("X"))


D = dt.date
born2 = D(1985, 6, 3)
MEMBER_CASES = {
    # name: (rows or a writer, setup, [(row, column, message piece)], exit code)
    "checksum": ([person(1, 身份证号=person(1)["身份证号"][:17] + ("0" if person(1)["身份证号"][17] != "0" else "1"))],
                 None, [(2, "身份证号", "校验码")], 1),
    "id_shape": ([person(1, 身份证号="11010219850602")], None, [(2, "身份证号", "应为18位")], 1),
    "id_empty": ([person(1, 身份证号="")], None, [(2, "身份证号", "不能为空")], 1),
    "id_as_number": (_number_id, None, [(2, "身份证号", "数字")], 1),
    "birth_mismatch": ([person(1, 出生日期=D(1985, 6, 9))], None, [(2, "出生日期", "与身份证号不一致")], 1),
    "gender_mismatch": ([person(1, 性别="女")], None, [(2, "性别", "与身份证号不一致")], 1),
    "join_future": ([person(1, 入党日期=TODAY + dt.timedelta(days=10), 转正日期=None, 人员类别="预备党员")],
                    None, [(2, "入党日期", "不能晚于今天")], 1),
    "join_underage": ([person(1, 入党日期=D(2001, 1, 1), 转正日期=D(2002, 1, 1))], None,
                      [(2, "入党日期", "未满18周岁")], 1),
    "confirm_before_join": ([person(1, 转正日期=D(2009, 7, 1))], None, [(2, "转正日期", "应晚于入党日期")], 1),
    "confirm_too_soon": ([person(1, 转正日期=D(2010, 10, 1))], None, [(2, "转正日期", "不足一年")], 1),
    "confirm_future": ([person(1, 入党日期=TODAY - dt.timedelta(days=300), 转正日期=TODAY + dt.timedelta(days=65))],
                       None, [(2, "转正日期", "不能晚于今天")], 1),
    "full_without_confirm": ([person(1, 转正日期=None)], None, [(2, "转正日期", "正式党员应填写转正日期")], 1),
    "probationary_with_confirm": ([person(1, 人员类别="预备党员")], None, [(2, "转正日期", "预备党员不应有转正日期"),
                                                                      (2, "人员类别", "超过两年")], 1),
    "probation_too_long": ([person(1, 人员类别="预备党员", 转正日期=None)], None, [(2, "人员类别", "超过两年")], 1),
    "birth_future": ([person(1, 出生日期=TODAY + dt.timedelta(days=3))], None,
                     [(2, "出生日期", "不能晚于今天")], 1),
    "duplicates": ([person(1), person(2), person(1, 姓名="重复")], None,
                   [(2, "身份证号", "第 4 行"), (4, "身份证号", "第 2 行")], 1),
    "unknown_org": ([person(1, 所在党组织代码="NOPE")], None, [(2, "所在党组织代码", "不存在")], 1),
    "dissolved_org": ([person(1, 所在党组织代码="CZ99")], _dissolved, [(2, "所在党组织代码", "已撤销")], 1),
    "empty_org": ([person(1, 所在党组织代码="")], None, [(2, "所在党组织代码", "不能为空")], 1),
    "phone": ([person(1, 手机号码="138-0000")], None, [(2, "手机号码", "格式不正确")], 1),
    "phone_empty": ([person(1, 手机号码=None)], None, [(2, "手机号码", "不能为空")], 1),
    # 男性 and 本科 are what clerks write for 男 and 大学本科 (read, and reported as normalized);
    # 党员 could be either category and 研究生 either degree: asked, never guessed.
    "enums": ([person(1, 性别="男人", 学历="研究生", 人员类别="党员", 职级="科长", 是否领导干部="可能")], None,
              [(2, "性别", "可选：男、女"), (2, "学历", "博士研究生"), (2, "人员类别", "不明确"),
               (2, "职级", "一级巡视员"), (2, "是否领导干部", "应填“是”或“否”")], 1),
    "empty_required": ([person(1, 姓名=" ", 民族=None, 工作单位="", 学历=None)], None,
                       [(2, "姓名", "不能为空"), (2, "民族", "不能为空"), (2, "工作单位", "不能为空"),
                        (2, "学历", "不能为空")], 1),
    "too_long": ([person(1, 姓名="长" * 51, 职务="职" * 61)], None,
                 [(2, "姓名", "最多50个字"), (2, "职务", "最多60个字")], 1),
    "bad_dates": ([person(1, 出生日期="1985-13-01", 入党日期="去年七月", 转正日期="2011/02/30")], None,
                  [(2, "出生日期", "不是存在的日期"), (2, "入党日期", "不是有效日期"), (2, "转正日期", "不是存在的日期")], 1),
    "party_post_unknown": ([person(1, 党内职务="书记、主任")], None, [(2, "党内职务", "“主任”不在可选范围内")], 1),
    "party_post_probationary": ([person(1, 人员类别="预备党员", 入党日期=TODAY - dt.timedelta(days=100), 转正日期=None,
                                        党内职务="委员")], None, [(2, "党内职务", "预备党员")], 1),
    "two_secretaries": ([person(1, 党内职务="书记"), person(2, 党内职务="副书记"), person(3, 党内职务="书记")], None,
                        [(2, "党内职务", "只能有一名书记"), (4, "党内职务", "只能有一名书记")], 1),
    "flag_optional_bad": ([person(1, 是否流动党员="有时")], None, [(2, "是否流动党员", "应填“是”或“否”")], 1),
    "errors_on_many_rows": ([person(1), person(2, 手机号码="x"), person(3), person(4, 性别="女")], None,
                            [(3, "手机号码", "格式不正确"), (5, "性别", "与身份证号不一致")], 1),
    # Whole-file problems: row 0 = the file, row 1 = the header row; exit code 2.
    "renamed_text": (_renamed_text, None, [(0, "", "不是 Excel 工作簿")], 2),
    "renamed_csv": (_renamed_csv, None, [(0, "", "不是 Excel 工作簿")], 2),
    "zip_not_xlsx": (_plain_zip, None, [(0, "", "压缩包不是 Excel 工作簿")], 2),
    "old_xls": (_old_xls, None, [(0, "", "旧版 Excel（.xls）")], 2),
    "broken_xlsx": (_broken_xlsx, None, [(0, "", "无法作为 Excel 工作簿")], 2),
    "empty_workbook": (_empty_workbook, None, [(0, "", "文件是空的")], 2),
    "zero_bytes": (lambda p: p.write_bytes(b""), None, [(0, "", "0 字节")], 2),
    "header_only": (lambda p: sheet(p, [], list(person(1))), None, [(0, "", "没有数据行")], 2),
    "blank_rows_only": (lambda p: sheet(p, [{}, {}], list(person(1))), None, [(0, "", "没有数据行")], 2),
    "wrong_headers": (lambda p: sheet(p, [dict({k: v for k, v in person(1).items() if k != "姓名"}, 备注="x")]),
                      None, [(1, "备注", "不是可识别的列"), (1, "姓名", "缺少必填列")], 2),
    "repeated_header": (lambda p: sheet(p, [person(1)], list(person(1)) + ["姓名"]), None,
                        [(1, "姓名", "重复出现")], 2),
}


@pytest.mark.parametrize("case", sorted(MEMBER_CASES))
def test_bad_member_file(case, tree, tmp_path):
    content, setup, expected, exit_code = MEMBER_CASES[case]
    if setup:
        setup(tree)
    path = tmp_path / "bad.xlsx"
    if callable(content):
        content(path)
    else:
        sheet(path, content)
    before = counts()
    for args in ((), ("--dry-run",)):
        code, report = cli_json("import-members", str(path), *args)
        assert code == exit_code
        assert report["ok"] is False and (report["created"], report["updated"]) == (0, 0)
        assert sorted((e["row"], e["column"]) for e in report["errors"]) == sorted((r, c) for r, c, _ in expected), \
            report["errors"]
        for row, column, piece in expected:
            messages = [e["message"] for e in report["errors"] if (e["row"], e["column"]) == (row, column)]
            assert any(piece in m for m in messages), (piece, messages)
    assert counts() == before


ORG_CASES = {
    "unknown_kind": ([org_row("CZ02", 组织类别="支部")], None, [(2, "组织类别", "不在可选范围内")]),
    "unknown_parent": ([org_row("CZ02", parent="NOPE")], None, [(2, "上级组织代码", "都不存在")]),
    "self_parent": ([org_row("CZ02", parent="CZ02")], None, [(2, "上级组织代码", "本组织自己")]),
    "cycle_in_file": ([org_row("X1", parent="X2"), org_row("X2", parent="X3"), org_row("X3", parent="X1")], None,
                      [(2, "上级组织代码", "循环"), (3, "上级组织代码", "循环"), (4, "上级组织代码", "循环")]),
    "cycle_through_db": ([org_row("CZ", parent="CZ01", 组织类别="机关党委")], None, [(2, "上级组织代码", "循环")]),
    "duplicate_code": ([org_row("CZ02"), org_row("CZ03"), org_row("CZ02", 组织名称="另一个")], None,
                       [(2, "组织代码", "第 4 行"), (4, "组织代码", "第 2 行")]),
    "term_half": ([org_row("CZ02", 本届届满日期=None)], None, [(2, "本届届满日期", "同时填写")]),
    "term_order": ([org_row("CZ02", 本届届满日期=dt.date(2023, 1, 1))], None, [(2, "本届届满日期", "应晚于本届开始日期")]),
    "term_future": ([org_row("CZ02", 本届开始日期=TODAY + dt.timedelta(days=5), 本届届满日期=TODAY + dt.timedelta(days=900))],
                    None, [(2, "本届开始日期", "不能晚于今天")]),
    "term_older_than_current": ([org_row("CZ01", 本届开始日期=dt.date(2020, 1, 1), 本届届满日期=dt.date(2023, 1, 1))],
                                lambda tree: org_services.set_current_term(None, tree["a1"], dt.date(2024, 1, 1),
                                                                           dt.date(2027, 1, 1)),
                                [(2, "本届开始日期", "早于系统中现任届次")]),
    "dissolved_parent": ([org_row("CZ02", parent="CZ99")], _dissolved, [(2, "上级组织代码", "已撤销")]),
    "dissolved_org": ([org_row("CZ99")], _dissolved, [(2, "组织代码", "已撤销")]),
    "empty_code_and_name": ([org_row("", 组织名称="")], None, [(2, "组织代码", "不能为空"), (2, "组织名称", "不能为空")]),
    "code_with_space": ([org_row("CZ 02")], None, [(2, "组织代码", "不能有空格")]),
    "established_bad": ([org_row("CZ02", 成立日期="2018-02-30")], None, [(2, "成立日期", "不是存在的日期")]),
    "established_future": ([org_row("CZ02", 成立日期=TODAY + dt.timedelta(days=1))], None,
                           [(2, "成立日期", "不能晚于今天")]),
}


@pytest.mark.parametrize("case", sorted(ORG_CASES))
def test_bad_org_file(case, tree, tmp_path):
    rows, setup, expected = ORG_CASES[case]
    if setup:
        setup(tree)
    path = sheet(tmp_path / "bad.xlsx", rows, ORG_HEADERS)
    before = counts()
    code, report = cli_json("import-orgs", str(path))
    assert code == 1 and report["ok"] is False
    assert sorted((e["row"], e["column"]) for e in report["errors"]) == sorted((r, c) for r, c, _ in expected), \
        report["errors"]
    for row, column, piece in expected:
        assert any(piece in e["message"] for e in report["errors"] if (e["row"], e["column"]) == (row, column)), piece
    assert counts() == before


def test_org_file_problems(tree, tmp_path):
    before = counts()
    missing = sheet(tmp_path / "h.xlsx", [{"组织代码": "X", "组织名称": "X"}])
    code, report = cli_json("import-orgs", str(missing))
    assert code == 2
    assert {(e["row"], e["column"]) for e in report["errors"]} == {
        (1, "组织类别"), (1, "上级组织代码"), (1, "所属单位"), (1, "成立日期")}
    code, report = cli_json("import-orgs", str(sheet(tmp_path / "t.xlsx", [org_row("CZ02")], ORG_HEADERS[:-1])))
    assert code == 1 and report["errors"][0]["column"] == "本届届满日期"
    assert counts() == before


def test_too_many_rows_and_too_large(tree, tmp_path, settings):
    before = counts()
    path = sheet(tmp_path / "many.xlsx", [person(n) for n in range(1, 5)])
    settings.IMPORT_MAX_ROWS = 3
    code, report = cli_json("import-members", str(path))
    assert code == 2 and report["errors"] == [
        {"row": 0, "column": "", "message": "数据行超过 3 行，请分成几个文件导入"}]
    settings.IMPORT_MAX_ROWS = 50_000
    settings.IMPORT_MAX_BYTES = 2048
    code, report = cli_json("import-members", str(path))
    assert code == 2 and "文件过大" in report["errors"][0]["message"] and "最大允许" in report["errors"][0]["message"]
    assert counts() == before


def test_default_limits_are_the_documented_ones(settings):
    assert settings.IMPORT_MAX_ROWS == 50_000 and settings.IMPORT_MAX_BYTES == 20 * 1024 * 1024

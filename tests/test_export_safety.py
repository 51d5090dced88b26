"""Exports are data, never code, whatever text is stored: every control character, direction
override and formula-like start is written so the file opens and shows it, and no export
answers 500. The same characters are refused where text is typed in: form, API and import."""
import datetime as dt
import io
import json
import zipfile

import openpyxl
import pytest
from django.db import connection
from docx import Document

from dangjian.assessment import bulletin, services
from dangjian.core import text as core_text
from dangjian.core import xlsx
from dangjian.core.cli import to_csv, to_json
from dangjian.members.models import Member
from dangjian.orgs.models import Organization
from tests import factories
from tests.factories import TODAY, cli, login

CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f"]
BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
HOSTILE = CONTROLS + BIDI
# Kept as they are inside a cell: a tab or a line break is data (a multi-line address).
KEPT = {"\t", "\n", "\r"}


def storable(chars):
    """The characters the database under test can hold: PostgreSQL refuses NUL in text."""
    return [c for c in chars if not (c == "\x00" and connection.vendor == "postgresql")]


def hostile_name(prefix: str) -> str:
    return prefix + "".join(storable(HOSTILE)) + "支部"


def cell_texts(data: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def assert_clean(text: str) -> None:
    """No character that breaks XML or reorders text reaches the file; each shows as its code."""
    for ch in HOSTILE:
        if ch not in KEPT:
            assert ch not in text, f"U+{ord(ch):04X} 原样写入了导出文件"


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# ---- the one export path ---------------------------------------------------------------------

def test_the_workbook_writer_takes_every_control_and_direction_character(tmp_path):
    """Each character alone, embedded, at the start, in a text column, in a header and on the
    notes sheet: the workbook is written and opens, and shows the character's code."""
    columns = [xlsx.Column("名称", "name"), xlsx.Column("代码", "code", text=True)]
    rows = [[f"a{ch}b", f"{ch}X"] for ch in [*HOSTILE, "\ud800", "\udfff", "\ufffe"]]
    rows.append(["=HYPERLINK(\"http://x\",\"点我\")", "+1"])
    out = tmp_path / "out.xlsx"
    assert xlsx.write(out, columns, rows, notes=[("名称\x01", "", "说明\u202e", "")]) == len(rows)
    book = openpyxl.load_workbook(out)
    values = [[c.value for c in row] for row in book.worksheets[0].iter_rows(min_row=2)]
    assert values[1][0] == "a[U+0001]b" and values[0][1] == "[U+0000]X"
    assert values[HOSTILE.index("\u202e")][0] == "a[U+202E]b"
    assert values[HOSTILE.index("\n")][0] == "a\nb"  # a line break is data
    assert values[len(HOSTILE)][0] == "a[U+D800]b"
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f"
                if isinstance(c.value, str):
                    assert_clean(c.value)
    # A text beginning like a formula — or with the tab or CR that some spreadsheets strip
    # before one — is stored as text with Excel's own mark.
    assert all(c.quotePrefix for c in book.worksheets[0]["A"][1:] if c.value and c.value[0] in "=+-@\t\r")


def test_command_outputs_escape_what_they_print():
    value = "财政\x01局\u202e\x1b[2J\ud800"
    assert json.loads(to_json({"name": value}))["name"] == value  # reads back the same
    printed = to_json({"name": value})
    assert "\u202e" not in printed and "\ud800" not in printed and "\x1b" not in printed
    csv_text = to_csv(["名称"], [[value], ["=1+1"], ["\t=1"], [-3]])
    assert_clean(csv_text)
    assert "[U+0001]" in csv_text and "'=1+1" in csv_text and "'\t=1" in csv_text and "\n-3" in csv_text
    table = core_text.terminal_table([("名称",), (value,), ("a\nb",)])
    assert "\x1b" not in table and "\u202e" not in table and "a[U+000A]b" in table
    table.encode("utf-8")  # a lone surrogate would make printing fail


# ---- the exports themselves, with the characters stored in the database ------------------------

@pytest.fixture
def hostile(city):
    """Stored straight in the database, past every check: an org name holding every control
    and direction character, and a 职务 holding a backspace (U+0008)."""
    for i, b in enumerate(city["branches"][2:5]):
        Organization.objects.filter(pk=b.pk).update(name=hostile_name(f"第{i}"))
    Organization.objects.filter(pk=city["a"].pk).update(name=hostile_name("=HYPERLINK(\"x\")"))
    Member.objects.filter(pk=city["ma"].pk).update(post="科员\x08", name="=李明\x01")
    return city


def test_web_exports_never_fail_on_stored_text(hostile, personas):
    c = login(personas["wc_admin"])
    for url in ("/exchange/export/orgs.xlsx", f"/activities/overview/export.xlsx?year={TODAY.year}",
                f"/activities/overview/export.xlsx?year={TODAY.year}&unit={hostile['a'].pk}"):
        r = c.get(url)
        assert r.status_code == 200, url
        texts = cell_texts(content(r))
        for t in texts:
            assert_clean(t)
        assert any("[U+0001]" in t and "[U+202E]" in t for t in texts), url
    r = c.get("/exchange/export/members.xlsx")
    assert r.status_code == 200
    members = cell_texts(content(r))
    for t in members:
        assert_clean(t)
    assert "科员[U+0008]" in members and "=李明[U+0001]" in members


def test_an_evaluations_export_and_bulletin_never_fail_on_stored_text(hostile, personas):
    s = factories.scheme(level="branch", thresholds={"excellent": 75, "good": 65, "fair": 55}, admonish_below=62)
    factories.score_manual(s, "2025Q2")  # a final run: a bulletin is issued from final results only
    run = services.run_evaluation(None, s, "2025Q2", today=TODAY)
    c = login(personas["wc_admin"])
    r = c.get(f"/assessment/runs/{run.pk}/export.xlsx")
    assert r.status_code == 200
    texts = cell_texts(content(r))
    assert any("[U+0001]" in t for t in texts)
    for t in texts:
        assert_clean(t)
    r = c.get(f"/assessment/runs/{run.pk}/bulletin.docx")
    assert r.status_code == 200
    data = content(r)
    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    assert_clean(text)
    assert "[U+0001]" in text or "[U+202E]" in text
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert_clean(zf.read("word/document.xml").decode())
    # Written directly, as the command does.
    assert_clean(zipfile.ZipFile(io.BytesIO(bulletin.to_docx(bulletin.for_run(run)))).read("word/document.xml").decode())


def test_commands_print_stored_text_safely(hostile):
    for fmt in ("csv", "json", "table"):
        code, out, _ = cli("compliance", "--period", str(TODAY.year), "--format", fmt, "--today", TODAY.isoformat())
        assert code == 0, fmt
        assert "\x01" not in out and "\u202e" not in out and "\x1b" not in out, fmt
        if fmt == "json":
            assert any("\x01" in v["org_name"] for v in json.loads(out) if "org_name" in v)


# ---- the same characters typed in --------------------------------------------------------------

@pytest.mark.parametrize("ch", [*[c for c in CONTROLS if c not in " "], *BIDI, "\u200b", "\u200d", "\ufeff"])
def test_the_one_check_names_the_character_and_its_place(ch):
    message = core_text.unsafe_characters_problem(f"市财政{ch}局", "名称")
    assert message.startswith("名称第 4 个字符是") and f"U+{ord(ch):04X}" in message and "请删除后重试" in message


def test_multi_line_texts_keep_line_breaks_and_tabs():
    assert core_text.unsafe_characters_problem("一、学习\n\t二、讨论\r\n", "会议记录", multiline=True) == ""
    assert "U+0001" in core_text.unsafe_characters_problem("一、学习\x01", "会议记录", multiline=True)
    assert "U+202E" in core_text.unsafe_characters_problem("一\u202e", "会议记录", multiline=True)
    assert "换行符" in core_text.unsafe_characters_problem("第一\n党支部", "组织名称")


def test_the_api_and_form_refuse_a_name_with_a_direction_override(tree, personas):
    c = login(personas["unit_admin_a"])
    r = c.patch(f"/api/orgs/{tree['a1'].pk}/", {"name": "财政局\u202e部支一第"}, content_type="application/json")
    assert r.status_code == 400
    assert "组织名称第 4 个字符是改变文字显示方向的控制字符（U+202E），请删除后重试" in r.content.decode()
    assert Organization.objects.get(pk=tree["a1"].pk).name == "财政局第一党支部"


def test_the_member_api_refuses_a_control_character_in_the_post(tree, personas):
    c = login(personas["unit_admin_a"])
    r = c.patch(f"/api/members/{tree['ma'].pk}/", {"post": "科员\x08"}, content_type="application/json")
    assert r.status_code == 400
    assert "职务第 3 个字符是不可见的控制字符（U+0008），请删除后重试" in r.content.decode()
    assert Member.objects.get(pk=tree["ma"].pk).post != "科员\x08"


def test_an_import_refuses_the_row_and_changes_no_name(tree, tmp_path):
    from tests.factories import counts, org_row, person, sheet

    before = counts()
    code, out, _ = cli("import-orgs", str(sheet(tmp_path / "o.xlsx", [org_row("CZ09", **{"组织名称": "财政局\u202e支部"})])),
                       "--format", "json")
    report = json.loads(out)
    assert code == 1 and any("U+202E" in e["message"] and e["row"] == 2 for e in report["errors"])
    code, out, _ = cli("import-members", str(sheet(tmp_path / "m.xlsx", [person(1, **{"职务": "科员\u200b"})])),
                       "--format", "json")
    report = json.loads(out)
    assert code == 1 and any("职务第 3 个字符是不可见的零宽字符（U+200B）" in e["message"] for e in report["errors"])
    assert counts() == before


def test_an_activity_refuses_control_characters_but_keeps_line_breaks(tree):
    from dangjian.activities.checks import ActivityError

    with pytest.raises(ActivityError) as exc:
        factories.record(tree["a1"], ["theme_day"], TODAY - dt.timedelta(days=3), topic="学习\x07",
                         attendance={tree["ma"].pk: "present"})
    assert exc.value.field == "topic" and "U+0007" in exc.value.message
    saved = factories.record(tree["a1"], ["theme_day"], TODAY - dt.timedelta(days=3), topic="学习",
                             minutes="一、学习\n\t二、讨论", attendance={tree["ma"].pk: "present"})
    assert saved.minutes == "一、学习\n\t二、讨论"


def test_every_apps_forms_and_api_refuse_them_too(tree, personas):
    """The check is in the forms' and serializers' shared base, so an app whose own checks do
    not name it (a scheme's name, a leave reason in the API) refuses the same characters."""
    from dangjian.assessment.models import Scheme

    c = login(personas["wc_admin"])
    r = c.post("/assessment/schemes/new/", {"code": "S-BIDI", "name": "2026\u202e年考核方案", "year": 2026,
                                             "level": "unit", "total": 100, "excellent": 90, "good": 80, "fair": 60,
                                             "admonish_below": 60})
    assert r.status_code == 200 and not Scheme.objects.filter(code="S-BIDI").exists()
    assert "方案名称第 5 个字符是改变文字显示方向的控制字符（U+202E），请删除后重试" in r.content.decode()
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(personas["secretary_a1"])
    body = {"org": tree["a1"].code, "kinds": ["theme_day"], "held_on": (TODAY - dt.timedelta(days=2)).isoformat(),
            "attendance": [{"member": tree["ma"].pk, "status": "excused", "reason": "出差\x1b[2J"}]}
    r = api.post("/api/activities/", body, format="json")
    assert r.status_code == 400 and "U+001B" in r.content.decode()

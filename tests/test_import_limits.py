"""Imports with real limits: a workbook is refused before it is parsed when its zip expands too
far, and while it is read when a sheet is wider or longer than allowed; blank rows stop the
reading instead of costing a parse each. The hostile files are built here, streamed into the
zip, so the tests themselves stay quick."""
import re
import time
import tracemalloc
import zipfile
from pathlib import Path

from tests.factories import cli_json, counts, login, person, sheet

SHEET = "xl/worksheets/sheet1.xml"
# A row of sixteen styled empty cells without row or cell numbers: each one is read as a row,
# and a million of them compress to a few hundred kilobytes.
BLANK_ROW = "<row>" + '<c s="0"/>' * 16 + "</row>"


def hostile(path: Path, base: Path, filler, dimension: str | None = None) -> Path:
    """`base` (a real roster) with the rows `filler` yields written into its sheet after the
    data, chunk by chunk, and its declared range replaced by `dimension`."""
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename != SHEET:
                out.writestr(info, data)
                continue
            xml = data.decode()
            if dimension:
                xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>', xml)
            head, tail = xml.split("</sheetData>")
            with out.open(SHEET, "w", force_zip64=True) as fh:
                fh.write(head.encode())
                for chunk in filler:
                    fh.write(chunk)
                fh.write(("</sheetData>" + tail).encode())
    return path


def roster(tmp_path, n=2) -> Path:
    return sheet(tmp_path / "base.xlsx", [person(i) for i in range(1, n + 1)])


def measured(*args):
    """(exit code, report, seconds, peak bytes allocated) of an import command."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        code, report = cli_json(*args)
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return code, report, seconds, peak


def messages(report) -> str:
    return " ".join(e["message"] for e in report["errors"])


def test_a_zip_bomb_of_blank_rows_is_refused_at_once_in_little_memory(tree, tmp_path):
    """A million blank rows of 48 styled cells (≈ 500 MB of XML in a file of a few MB), with an
    honest declared range: refused before anything is parsed, in seconds and a few MB."""
    rows = 1_000_000
    chunk = ("<row>" + '<c s="0"/>' * 48 + "</row>").encode() * 10_000
    bomb = hostile(tmp_path / "bomb.xlsx", roster(tmp_path), (chunk for _ in range(rows // 10_000)),
                   dimension=f"A1:AV{rows}")
    expanded = sum(i.file_size for i in zipfile.ZipFile(bomb).infolist())
    assert bomb.stat().st_size < 5 * 1024 * 1024 and expanded > 300 * 1024 * 1024
    before = counts()
    code, report, seconds, peak = measured("import-members", str(bomb), "--dry-run")
    assert code == 2 and report["errors"][0]["row"] == 0
    assert "文件解压后超过 100 MB" in messages(report)
    assert seconds < 10 and peak < 100 * 1024 * 1024, (seconds, peak)
    assert counts() == before


def test_a_sheet_that_compresses_like_a_bomb_is_refused_under_the_size_limit(tree, tmp_path, settings):
    """Twelve MB of identical rows stay under the expansion limit, but no real sheet
    compresses a thousand times: refused before parsing, naming the ratio."""
    chunk = (BLANK_ROW * 10_000).encode()
    bomb = hostile(tmp_path / "dense.xlsx", roster(tmp_path), (chunk for _ in range(7)))
    code, report, seconds, _ = measured("import-members", str(bomb), "--dry-run")
    assert code == 2 and "倍（上限 200 倍）" in messages(report)
    assert seconds < 10


def test_blank_rows_after_the_data_end_the_reading_and_the_report_says_so(tree, tmp_path):
    """Numbered blank rows (as Excel writes formatted ones) do not compress like a bomb: the
    reader stops after a run of them instead of parsing every one, and says where."""
    def rows():
        for start in range(4, 200_004, 10_000):
            yield "".join(f'<row r="{r}" spans="1:16"><c r="A{r}" s="0"/></row>' for r in range(start, start + 10_000)
                          ).encode()

    path = hostile(tmp_path / "blank.xlsx", roster(tmp_path), rows(), dimension="A1:P200003")
    code, report, seconds, _ = measured("import-members", str(path), "--dry-run")
    assert code == 0 and report["created"] == 2, report
    notes = [n["message"] for n in report.get("normalized", [])]
    assert any("第 4 行起连续 1,000 行为空，读取到此为止" in n for n in notes), notes
    assert seconds < 10


def test_a_declared_range_of_the_whole_sheet_is_refused(tree, tmp_path):
    path = hostile(tmp_path / "lie.xlsx", roster(tmp_path), [], dimension="A1:XFD1048576")
    code, report = cli_json("import-members", str(path), "--dry-run")
    assert code == 2 and "声明的范围有 16,384 列，列数超过上限 200 列" in messages(report)
    path = hostile(tmp_path / "long.xlsx", roster(tmp_path), [], dimension="A1:P1048576")
    code, report = cli_json("import-members", str(path), "--dry-run")
    assert code == 2 and "一直到第 1,048,576 行" in messages(report)


def test_a_row_wider_than_the_limit_is_refused_while_reading(tree, tmp_path, settings):
    """The declared range says 16 columns, a row holds a cell in column 300: found on the row."""
    wide = '<row r="3"><c r="KN3" t="inlineStr"><is><t>x</t></is></c></row>'
    base = sheet(tmp_path / "base.xlsx", [person(1)])
    path = hostile(tmp_path / "wide.xlsx", base, [wide.encode()], dimension="A1:P3")
    code, report = cli_json("import-members", str(path), "--dry-run")
    assert code == 2 and "第 3 行有 300 列，列数超过上限 200 列" in messages(report)
    settings.IMPORT_MAX_COLUMNS = 400
    assert cli_json("import-members", str(path), "--dry-run")[0] == 0


def test_the_import_page_refuses_the_bomb_in_its_job_without_parsing_it(tree, personas, tmp_path):
    """Through the web: the upload is saved and handed to a job (a thread of the web process
    where no worker exists, inline here); the job refuses the bomb before parsing a row."""
    from dangjian.core.models import Job

    chunk = ("<row>" + '<c s="0"/>' * 48 + "</row>").encode() * 10_000
    bomb = hostile(tmp_path / "bomb.xlsx", roster(tmp_path), (chunk for _ in range(100)), dimension="A1:AV1000000")
    c = login(personas["unit_admin_a"])
    started = time.perf_counter()
    with bomb.open("rb") as fh:
        r = c.post("/exchange/import/", {"kind": "members", "file": fh})
    seconds = time.perf_counter() - started
    assert r.status_code == 302 and seconds < 10
    job = Job.objects.get()
    assert job.status == "done" and not job.result["ok"]
    assert "文件解压后超过 100 MB" in " ".join(e["message"] for e in job.result["errors"])
    page = c.get(r["Location"]).content.decode()
    assert "文件解压后超过 100 MB" in page

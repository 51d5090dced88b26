"""Excel (.xlsx) in and out, shared by every import and export.

Reading is strict about the file and lenient about how clerks type values: a file that is
not an .xlsx workbook, is too big, has too many rows, no data rows or unexpected headers
fails as a whole (`FileProblem`) before any row is looked at. Cell values are parsed by the
small functions below, which raise `CellError` with a Chinese message naming the column.

Where a problem is reported:
- row 0, column "": the file as a whole (not an .xlsx, too large, empty, too many rows,
  no data rows);
- row 1, column = the header concerned: the header row (unknown, missing, repeated headers);
- row N ≥ 2: Excel's own row number of the data row, column = its Chinese header.

Writing uses openpyxl's write-only mode, so memory stays flat whatever the number of rows.
"""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

FILE_ROW = 0
HEADER_ROW = 1
DATE_HINT = "可填 2024-01-31、2024/01/31、2024.01.31、20240131 或 Excel 日期"
# An .xlsx is a zip; its parts can expand far beyond the upload size limit (a "zip bomb").
MAX_EXPANSION = 30

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls (and other OLE compound files)
_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


class CellError(ValueError):
    """A cell value that cannot be used; the message is shown to the user."""


class FileProblem(Exception):
    """The file cannot be imported at all; carries the report rows."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def problem(message: str, row: int = FILE_ROW, column: str = "") -> FileProblem:
    return FileProblem([{"row": row, "column": column, "message": message}])


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = True  # the header must be present (values may still be optional)
    help: str = ""  # shown on the 填写说明 sheet of the template
    example: object = ""
    width: int = 12
    text: bool = False  # written as text so Excel keeps leading zeros and all digits
    number_format: str = ""  # for numbers, e.g. "0.0%" (a value of 0.875 shows as 87.5%)


class Errors:
    """Row errors collected while checking a whole file, reported together."""

    def __init__(self, columns: list[Column] | None = None):
        self.items: list[dict] = []
        self._order = {c.header: i for i, c in enumerate(columns or [])}
        self.rows: set[int] = set()

    def add(self, row: int, column: str, message: str) -> None:
        self.items.append({"row": row, "column": column, "message": message})
        self.rows.add(row)

    def extend(self, items: list[dict]) -> None:
        for e in items:
            self.add(e["row"], e["column"], e["message"])

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def as_list(self) -> list[dict]:
        seen, out = set(), []
        for e in sorted(self.items, key=lambda e: (e["row"], self._order.get(e["column"], 99))):
            key = (e["row"], e["column"], e["message"])
            if key not in seen:
                seen.add(key)
                out.append(e)
        return out


def result(created: int = 0, updated: int = 0, errors: list[dict] | None = None) -> dict:
    """The report every import returns (and `--format json` prints) — exactly these keys."""
    errors = errors or []
    return {"ok": not errors, "created": 0 if errors else created, "updated": 0 if errors else updated,
            "errors": errors}


def is_file_level(report: dict) -> bool:
    """True when the file itself was refused (exit code 2), not some of its rows."""
    return any(e["row"] <= HEADER_ROW for e in report["errors"])


# ---- reading ---------------------------------------------------------------------------

@dataclass
class Sheet:
    present: set[str]  # keys of the columns found in the header row
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (Excel row number, {key: raw value})


def _check_container(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError:
        raise problem("找不到文件或无法读取") from None
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise problem(f"文件过大（{size / 1048576:.1f} MB），最大允许 {limit / 1048576:.0f} MB，请分成几个文件导入")
    if size == 0:
        raise problem("文件是空的（0 字节），请选择填好的 .xlsx 文件")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == _OLE_MAGIC:
        raise problem("这是旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 格式后再导入")
    if not zipfile.is_zipfile(path):
        raise problem("文件不是 Excel 工作簿（.xlsx），可能是改了扩展名的文本、CSV 或其他文件，请用模板填写后上传")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            expanded = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise problem("文件已损坏，无法作为 Excel 工作簿（.xlsx）打开") from None
    if "xl/workbook.xml" not in names:
        raise problem("压缩包不是 Excel 工作簿（.xlsx），请用模板填写后上传")
    if expanded > max(limit, size) * MAX_EXPANSION:
        raise problem("文件解压后过大，无法导入，请检查文件内容或分成几个文件导入")


def read(source, columns: list[Column], progress=None) -> Sheet:
    """Read the first sheet: row 1 = headers (matched to `columns` by Chinese name), then
    data rows. Blank rows are skipped. Raises FileProblem for whole-file problems."""
    import openpyxl

    path = Path(source)
    _check_container(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, InvalidFileException, XML errors …)
        raise problem("文件无法作为 Excel 工作簿（.xlsx）读取，可能已损坏或不是 Excel 文件") from None
    try:
        return _read_sheet(wb, columns, progress)
    except FileProblem:
        raise
    except Exception:
        raise problem("文件内容无法读取，可能已损坏，请在 Excel 中重新保存为 .xlsx 后再导入") from None
    finally:
        wb.close()


def _read_sheet(wb, columns: list[Column], progress) -> Sheet:
    if not wb.worksheets:
        raise problem("工作簿中没有工作表")
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is not None and _blank(header):
        if all(_blank(r) for r in rows):
            header = None
        else:
            raise problem("第 1 行是空行：第 1 行应为表头（列名），数据从第 2 行起填写", HEADER_ROW)
    if header is None:
        raise problem("文件是空的：第一个工作表没有任何内容（第 1 行应为表头）")
    names = [cell_text(v) for v in header]
    while names and not names[-1]:
        names.pop()
    by_header = {c.header: c for c in columns}
    errors: list[dict] = []
    seen: dict[str, int] = {}
    keys: list[str | None] = []
    unknown = []
    for i, name in enumerate(names):
        base = name.rstrip("*＊").strip()  # templates elsewhere mark required columns with *
        if not base:
            keys.append(None)
            continue
        if base in seen:
            errors.append({"row": HEADER_ROW, "column": base, "message": f"表头“{base}”重复出现，请只保留一列"})
        seen[base] = i
        col = by_header.get(base)
        if col is None:
            unknown.append(base)
            keys.append(None)
        else:
            keys.append(col.key)
    expected = "、".join(c.header for c in columns)
    for name in unknown:
        errors.append({"row": HEADER_ROW, "column": name,
                       "message": f"表头“{name}”不是可识别的列，请使用模板中的列名：{expected}"})
    for c in columns:
        if c.required and c.header not in seen:
            errors.append({"row": HEADER_ROW, "column": c.header, "message": f"缺少必填列“{c.header}”，请使用模板中的表头"})
    if errors:
        raise FileProblem(errors)

    limit = settings.IMPORT_MAX_ROWS
    width = len(keys)
    out = Sheet(present={k for k in keys if k})
    for number, values in enumerate(rows, start=2):
        if _blank(values[:width]):
            continue
        if len(out.rows) >= limit:
            raise problem(f"数据行超过 {limit:,} 行，请分成几个文件导入")
        out.rows.append((number, {k: v for k, v in zip(keys, values) if k}))
        if progress and len(out.rows) % 2000 == 0:
            progress(0, 0, f"正在读取文件（已读 {len(out.rows)} 行）")
    if not out.rows:
        raise problem("没有数据行：文件只有表头，请从第 2 行起填写数据")
    return out


def _blank(values) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


# ---- cell values -----------------------------------------------------------------------

def cell_text(value) -> str:
    """A cell as the text a clerk sees: 13800001111.0 → "13800001111", None → ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def text(value, label: str, max_length: int | None = None, required: bool = False) -> str:
    s = cell_text(value)
    if required and not s:
        raise CellError(f"{label}不能为空")
    if max_length and len(s) > max_length:
        raise CellError(f"{label}过长（最多{max_length}个字，现有{len(s)}个字）")
    return s


def date(value, label: str, required: bool = False) -> dt.date | None:
    """Real Excel dates, datetime cells, and text YYYY-MM-DD / YYYY/MM/DD / YYYY.MM.DD / YYYYMMDD."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CellError(f"{label}不能为空（{DATE_HINT}）")
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and 10_000_000 <= value <= 99_999_999:
            return _ymd(str(int(value)), label, str(int(value)))
        if 1 <= value < 2_958_466:  # an Excel serial day number in a cell not formatted as a date
            from openpyxl.utils.datetime import from_excel

            return from_excel(value).date()
        raise CellError(f"{label}“{cell_text(value)}”不是有效日期（{DATE_HINT}）")
    s = str(value).strip()
    m = _DATE_TEXT.match(s) or _DATE_COMPACT.match(s)
    if not m:
        raise CellError(f"{label}“{s}”不是有效日期（{DATE_HINT}）")
    return _ymd("".join(f"{int(g):02d}" if i else g for i, g in enumerate(m.groups())), label, s)


def _ymd(digits: str, label: str, shown: str) -> dt.date:
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise CellError(f"{label}“{shown}”不是存在的日期（{DATE_HINT}）") from None


def choice(value, label: str, options: dict[str, object], required: bool = True):
    """A value from a fixed list of Chinese labels → its code."""
    s = cell_text(value)
    if not s:
        if required:
            raise CellError(f"{label}不能为空，可选：{'、'.join(options)}")
        return None
    if s not in options:
        raise CellError(f"{label}“{s}”不在可选范围内，可选：{'、'.join(options)}")
    return options[s]


_YES = {"是": True, "否": False, "Y": True, "N": False}


def flag(value, label: str) -> bool:
    """是/否 (an empty cell is 否; Excel's TRUE/FALSE are accepted too)."""
    if isinstance(value, bool):
        return value
    s = cell_text(value).upper()
    if not s:
        return False
    if s not in _YES:
        raise CellError(f"{label}应填“是”或“否”，现为“{cell_text(value)}”")
    return _YES[s]


def yes_no(value: bool) -> str:
    return "是" if value else "否"


# ---- writing ---------------------------------------------------------------------------

def write(out, columns: list[Column], rows, notes: list[tuple] | None = None, title: str = "数据",
          sheets=()) -> int:
    """Write a workbook (write-only mode): sheet 1 = headers + rows, then any further
    `sheets` given as (title, columns, rows), then an optional sheet "填写说明" with one
    line per column. `out` is a path or a binary file. Returns the number of data rows
    written on sheet 1."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F2DCDB")

    def head(value):
        cell = WriteOnlyCell(ws, value=value)
        cell.font, cell.fill = bold, fill
        return cell

    counts = []
    for sheet_title, sheet_columns, sheet_rows in ((title, columns, rows), *sheets):
        ws = wb.create_sheet(sheet_title)
        for i, c in enumerate(sheet_columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = c.width
        ws.freeze_panes = "A2"
        ws.append([head(c.header) for c in sheet_columns])
        text_cols = {i for i, c in enumerate(sheet_columns) if c.text}
        formats = {i: c.number_format for i, c in enumerate(sheet_columns) if c.number_format}
        count = 0
        for values in sheet_rows:
            line = []
            for i, v in enumerate(values):
                if isinstance(v, dt.date):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = "yyyy-mm-dd"
                    line.append(cell)
                elif i in text_cols and v not in (None, ""):
                    cell = WriteOnlyCell(ws, value=str(v))
                    cell.number_format = "@"
                    line.append(cell)
                elif i in formats and isinstance(v, (int, float)) and not isinstance(v, bool):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = formats[i]
                    line.append(cell)
                else:
                    line.append(None if v == "" else v)
            ws.append(line)
            count += 1
        counts.append(count)
    count = counts[0]
    if notes:
        help_ws = wb.create_sheet("填写说明")
        for letter, width in zip("ABCD", (18, 10, 70, 24)):
            help_ws.column_dimensions[letter].width = width
        help_ws.append([head(h) for h in ("列名", "是否必填", "填写要求与可选值", "示例")])
        for line in notes:
            help_ws.append(list(line))
    wb.save(out)
    return count


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook_response(write, filename: str, done=None):
    """An HTTP download of the workbook that `write(file)` writes (returning its row count).
    The workbook goes to an anonymous temporary file (gone when the response closes it) and is
    streamed from there in chunks; `done(count)` runs once it is written (the export's audit
    entry)."""
    import tempfile

    from django.http import FileResponse

    folder = Path(settings.VAR_DIR) / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryFile(dir=folder)
    count = write(tmp)
    if done is not None:
        done(count)
    tmp.seek(0)
    return FileResponse(tmp, as_attachment=True, filename=filename, content_type=XLSX_TYPE)


def notes_for(columns: list[Column], intro: list[str] = ()) -> list[tuple]:
    lines = [(c.header, "必填列" if c.required else "可选列", c.help, cell_text(c.example)) for c in columns]
    return lines + [("", "", line, "") for line in intro]

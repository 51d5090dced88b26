"""Excel (.xlsx) in and out, shared by every import and export.

Reading takes workbooks as clerks really keep them. The header row is found by its content
(title rows above it, often merged across the columns, are skipped), header names match with
spaces and full-width characters folded (“姓 名” is 姓名) and by common synonyms (身份证号码), blank
rows and footers (填表人、审核人、填表日期 …) are skipped, a value merged down several rows
counts for each of them, and extra columns (序号, 备注) are ignored. Cell values are parsed by
the small functions below: lenient about how clerks type them (short names, phone numbers
with spaces), strict about what cannot be right. A parser that accepted a value by normalizing
it says so (`Fixed`), and every import reports what it normalized. A file that is not an .xlsx
workbook, is too big, has too many rows, no data rows or no usable header fails as a whole
(`FileProblem`) before any row is looked at.

Where a problem is reported:
- row 0, column "": the file as a whole (not an .xlsx, too large, empty, too many rows,
  no data rows);
- the header row's number (1 for the template), column = the header concerned: unknown,
  missing or repeated headers;
- row N: Excel's own row number of the data row, column = its Chinese header.

Every import runs through `Importer` (at the end of this module): parse each row, check the
whole file set-based, then write all of it in one transaction or nothing, with progress.

Writing uses openpyxl's write-only mode, so memory stays flat whatever the number of rows.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from .text import export_text, unsafe_characters_problem

logger = logging.getLogger(__name__)

FILE_ROW = 0
HEADER_ROW = 1
DATE_HINT = "可填 2024-01-31、2024/01/31、2024.01.31、20240131 或 Excel 日期"
# An .xlsx is a zip; its parts can expand far beyond the upload size limit (a "zip bomb"). Before
# anything is parsed: the number of parts, the sum of their declared sizes (settings
# IMPORT_MAX_UNCOMPRESSED_BYTES) and each large part's compression ratio. A workbook has a few
# dozen parts and its XML compresses about ten times; blank rows compress a thousand times.
MAX_ENTRIES = 1000
MAX_RATIO = 200
RATIO_FROM_BYTES = 1024 * 1024  # small parts may compress as they like
# While reading: this many blank rows in a row end the sheet (and the report says so), so a
# sheet padded with a million empty rows costs no more than a short one.
MAX_BLANK_RUN = 1000
SHEET_LAST_ROW = 1_048_576  # Excel's last row: a dimension claiming it is not a real range
# The header is looked for among the first rows (title, unit, date lines above it).
HEADER_SCAN_ROWS = 30

# What starts a formula (or a DDE call) in Excel and other spreadsheets: exports write such
# texts as plain text, so data typed by anyone can never run in the reader's spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls (and other OLE compound files)
_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_YEAR_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
# Lines clerks write below the data: who filled and checked the form, when, notes, totals.
_FOOTER_WORDS = (r"填表人|填报人|制表人|统计人|审核人|审批人|复核人|负责人|单位负责人|联系人|联系电话|"
                 r"填表日期|填报日期|制表日期|报送日期|统计日期|审核日期|盖章|单位盖章|单位（盖章）|"
                 r"注|备注|说明|填表说明|合计|总计|小计")
_FOOTER = re.compile(rf"^({_FOOTER_WORDS})\s*[:：]")  # 填表人：张三
_FOOTER_ALONE = re.compile(rf"^({_FOOTER_WORDS})$")  # 合计 (with a few figures beside it)
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+)(\d+):([A-Z]+)(\d+)\"")


class CellError(ValueError):
    """A cell value that cannot be used; the message is shown to the user."""


class FileProblem(Exception):
    """The file cannot be imported at all; carries the report rows."""

    def __init__(self, errors: list[dict], header_row: int = HEADER_ROW):
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors
        self.header_row = header_row


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
    aliases: tuple[str, ...] = ()  # other names clerks give the column (身份证号码 for 身份证号)


@dataclass(frozen=True, slots=True)
class Fixed:
    """A cell value accepted after normalizing what was typed (`typed`) into `shown`."""

    value: object
    typed: str
    shown: str


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


class Notes:
    """What an import normalized, for its report: values typed another way (“本科” read as
    大学本科, per column and value, with the rows) and lines of the sheet it skipped."""

    def __init__(self):
        self.lines: list[dict] = []
        self._values: dict[tuple[str, str, str], list[int]] = {}

    def line(self, row: int, message: str, column: str = "") -> None:
        self.lines.append({"row": row, "column": column, "message": message})

    def value(self, row: int, column: str, typed: str, shown: str) -> None:
        self._values.setdefault((column, typed, shown), []).append(row)

    def as_list(self) -> list[dict]:
        out = list(self.lines)
        for (column, typed, shown), rows in self._values.items():
            listed = "、".join(str(r) for r in rows[:10]) + ("等" if len(rows) > 10 else "")
            out.append({"row": rows[0], "column": column,
                        "message": f"“{typed}”按“{shown}”导入（第 {listed} 行，共 {len(rows)} 行）"})
        return sorted(out, key=lambda n: (n["row"], n["column"]))


class Report(dict):
    """The report every import returns (and `--format json` prints): {"ok", "created",
    "updated", "errors"}, plus "normalized" (the same row/column/message shape) when the import
    read some lines or values in a way it says. Whether the file was refused as a whole (not
    an .xlsx, no usable header …: exit code 2) travels beside it, not as a key."""

    file_level: bool = False
    header_row: int = HEADER_ROW  # where the header was found, for labelling rows


def result(created: int = 0, updated: int = 0, errors: list[dict] | None = None,
           normalized: list[dict] | None = None, file_level: bool = False, header_row: int = HEADER_ROW) -> Report:
    errors = errors or []
    report = Report(ok=not errors, created=0 if errors else created, updated=0 if errors else updated,
                    errors=errors)
    if normalized:
        report["normalized"] = normalized
    report.file_level = bool(errors) and file_level
    report.header_row = header_row
    return report


def is_file_level(report: dict) -> bool:
    """True when the file itself was refused (exit code 2), not some of its rows."""
    if isinstance(report, Report):
        return report.file_level
    return any(e["row"] <= HEADER_ROW for e in report["errors"])  # a report read back from a job


# ---- reading ---------------------------------------------------------------------------

@dataclass
class Sheet:
    present: set[str]  # keys of the columns found in the header row
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (Excel row number, {key: raw value})
    header_row: int = HEADER_ROW
    notes: Notes = field(default_factory=Notes)


def header_key(text: str) -> str:
    """A header as it is matched: full-width folded, spaces and a required-mark (*) dropped:
    “姓　名*” → 姓名."""
    s = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", s).rstrip("*")


def _by_header(columns: list[Column]) -> dict[str, Column]:
    out = {}
    for c in columns:
        for name in (c.header, *c.aliases):
            out[header_key(name)] = c
    return out


def _match(name: str, by_header: dict[str, Column]) -> Column | None:
    key = header_key(name)
    if key in by_header:
        return by_header[key]
    # A hint in brackets after the name: 出生日期(yyyy-mm-dd), 身份证号（18位）.
    bare = re.sub(r"[(（\[【].*$", "", key)
    return by_header.get(bare) if bare else None


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
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise problem("文件已损坏，无法作为 Excel 工作簿（.xlsx）打开") from None
    if len(infos) > MAX_ENTRIES:
        raise problem(f"文件中的部件过多（{len(infos):,} 个，上限 {MAX_ENTRIES:,} 个），不是正常的 Excel 工作簿，无法导入")
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise problem("压缩包不是 Excel 工作簿（.xlsx），请用模板填写后上传")
    # Python's zip reader never yields more than a part's declared size, so their sum bounds
    # what any reading below can expand to.
    expanded = sum(i.file_size for i in infos)
    _check_expanded(expanded)
    for i in infos:
        if i.file_size > RATIO_FROM_BYTES and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise problem(f"文件解压后比压缩时大 {i.file_size // max(i.compress_size, 1):,} 倍（上限 {MAX_RATIO} 倍），"
                          "可能含有大量空行或重复内容，请删除多余的行后另存为新文件再导入")


def _mb(n: int) -> str:
    return f"{n / 1048576:,.0f} MB" if n >= 1048576 else f"{n / 1024:,.0f} KB"


def _check_expanded(expanded: int) -> None:
    limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    if expanded > limit:
        raise problem(f"文件解压后超过 {_mb(limit)}（约 {_mb(expanded)}，上限 {_mb(limit)}），"
                      "可能含有大量空行或格式，请删除多余的行后另存，或分成几个文件导入")


class _Metered:
    """A workbook's zip as openpyxl reads it, counting the uncompressed bytes each part yields
    while it is streamed, so reading stops the moment a part passes the limit."""

    def __init__(self, archive):
        self._archive = archive

    def open(self, name, *args, **kwargs):
        return _MeteredPart(self._archive.open(name, *args, **kwargs))

    def __getattr__(self, name):
        return getattr(self._archive, name)


class _MeteredPart(io.RawIOBase):
    def __init__(self, raw):
        self._raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def read(self, size=-1):
        data = self._raw.read(size)
        self.count += len(data)
        _check_expanded(self.count)
        return data

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self):
        self._raw.close()
        super().close()


def read(source, columns: list[Column], progress=None) -> Sheet:
    """Read the data rows of the first worksheet that has the columns' header (see the module
    docstring). Raises FileProblem for whole-file problems."""
    import openpyxl

    path = Path(source)
    _check_container(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, InvalidFileException, XML errors …)
        raise problem("文件无法作为 Excel 工作簿（.xlsx）读取，可能已损坏或不是 Excel 文件") from None
    wb._archive = _Metered(wb._archive)  # openpyxl's read-only sheets stream their XML from here
    try:
        return _read_book(path, wb, columns, progress)
    except FileProblem:
        raise
    except Exception:
        raise problem("文件内容无法读取，可能已损坏，请在 Excel 中重新保存为 .xlsx 后再导入") from None
    finally:
        wb.close()


def _read_book(path: Path, wb, columns: list[Column], progress) -> Sheet:
    if not wb.worksheets:
        raise problem("工作簿中没有工作表")
    by_header = _by_header(columns)
    for ws in wb.worksheets:
        _check_dimension(ws)
    chosen = None
    for ws in wb.worksheets:
        top = [r for _, r in zip(range(HEADER_SCAN_ROWS), ws.iter_rows(values_only=True))]
        found = _find_header(top, by_header)
        if found is not None:
            chosen = (ws, found)
            break
    if chosen is None:
        ws = wb.worksheets[0]
        top = [r for _, r in zip(range(HEADER_SCAN_ROWS), ws.iter_rows(values_only=True))]
        first = next((i for i, r in enumerate(top, 1) if not _blank(r)), None)
        if first is None:
            raise problem("文件是空的：第一个工作表没有任何内容（第 1 行应为表头）")
        chosen = (ws, first)
    ws, header_at = chosen
    sheet = _read_sheet(path, ws, header_at, columns, by_header, progress)
    if ws is not wb.worksheets[0]:
        sheet.notes.line(FILE_ROW, f"数据取自工作表“{ws.title}”（前面的工作表中没有本表的表头）")
    return sheet


def _check_dimension(ws) -> None:
    """Refuse a sheet whose declared range (<dimension ref="A1:XFD1048576">) claims more
    columns than allowed or every row of the sheet: read as claimed, each row would be padded
    to 16,384 cells and a million blank rows added. Then forget the claim, so rows are as wide
    as their own cells and reading ends with the last row really there."""
    limit = settings.IMPORT_MAX_COLUMNS
    columns, rows = ws.max_column, ws.max_row
    if columns and columns > limit:
        raise problem(f"工作表“{ws.title}”声明的范围有 {columns:,} 列，列数超过上限 {limit:,} 列，"
                      "请删除多余的列（或只复制有数据的区域到新工作簿）后再导入")
    if rows and rows >= SHEET_LAST_ROW:
        raise problem(f"工作表“{ws.title}”声明的范围一直到第 {rows:,} 行（工作表的最后一行），行数超过上限 "
                      f"{settings.IMPORT_MAX_ROWS:,} 行，请删除多余的空行（或只复制有数据的区域到新工作簿）后再导入")
    ws.reset_dimensions()


def _check_width(number: int, values) -> None:
    limit = settings.IMPORT_MAX_COLUMNS
    if len(values) > limit:
        raise problem(f"第 {number} 行有 {len(values):,} 列，列数超过上限 {limit:,} 列，请删除多余的列后再导入")


def _find_header(rows: list[tuple], by_header: dict[str, Column]) -> int | None:
    """The row (1-based) naming the most known columns, if it names at least two."""
    best, best_at = 1, None
    for i, row in enumerate(rows, 1):
        found = {_match(cell_text(v), by_header) for v in row if isinstance(v, str) and v.strip()}
        found.discard(None)
        if len(found) > best:
            best, best_at = len(found), i
    return best_at


def _read_sheet(path: Path, ws, header_at: int, columns: list[Column], by_header, progress) -> Sheet:
    rows = ws.iter_rows(values_only=True)
    notes = Notes()
    skipped = []
    for number, values in enumerate(rows, 1):
        if number == header_at:
            header = values
            break
        if not _blank(values):
            skipped.append(number)
    if skipped:
        span = f"第 {skipped[0]} 行" if len(skipped) == 1 else f"第 {skipped[0]}–{skipped[-1]} 行"
        notes.line(header_at, f"表头在第 {header_at} 行，其上的{span}（标题等）已跳过")
    names = [cell_text(v) for v in header]
    while names and not names[-1]:
        names.pop()
    errors: list[dict] = []
    seen: dict[str, int] = {}
    keys: list[str | None] = []
    unknown = []
    for name in names:
        if not header_key(name):
            keys.append(None)
            continue
        col = _match(name, by_header)
        if col is None:
            unknown.append(name)
            keys.append(None)
            continue
        if col.key in seen:
            errors.append({"row": header_at, "column": col.header,
                           "message": f"表头“{col.header}”重复出现，请只保留一列"})
        seen[col.key] = len(keys)
        keys.append(col.key)
        if name.rstrip("*＊").strip() != col.header:
            notes.line(header_at, f"表头“{name}”按“{col.header}”识别", col.header)
    missing = [c for c in columns if c.required and c.key not in seen]
    expected = "、".join(c.header for c in columns)
    if missing or errors:
        for name in unknown:
            errors.append({"row": header_at, "column": name,
                           "message": f"表头“{name}”不是可识别的列，请使用模板中的列名：{expected}"})
        for c in missing:
            errors.append({"row": header_at, "column": c.header, "message": f"缺少必填列“{c.header}”，请使用模板中的表头"})
        raise FileProblem(errors, header_at)
    if unknown:
        notes.line(header_at, "表头" + "、".join(f"“{n}”" for n in unknown) + "不是本表的列，已忽略")

    limit = settings.IMPORT_MAX_ROWS
    width = len(keys)
    out = Sheet(present={k for k in keys if k}, header_row=header_at, notes=notes)
    merged = _merged_below(path, ws, header_at)
    carried: dict[tuple[int, int], object] = {}  # (first row, column) of a merged range → its value
    footers = []
    blank_run = 0
    for number, values in enumerate(rows, header_at + 1):
        _check_width(number, values)
        values = list(values[:width]) + [None] * (width - len(values))
        blank = _blank(values)  # before merged values are carried in: a blank line stays blank
        blank_run = blank_run + 1 if blank else 0
        if blank_run >= MAX_BLANK_RUN:
            notes.line(number - MAX_BLANK_RUN + 1, f"第 {number - MAX_BLANK_RUN + 1} 行起连续 {MAX_BLANK_RUN:,} 行为空，"
                       "读取到此为止；其后如还有数据，请删除中间的空行后重新导入")
            break
        for first, c1, c2 in merged.get(number, ()):
            if first == number and c1 < width:
                carried[(first, c1)] = values[c1]
            for c in range(c1, min(c2, width - 1) + 1):
                if values[c] is None:
                    values[c] = carried.get((first, c1))
        if blank:
            continue
        filled = [cell_text(v) for v in values if cell_text(v)]
        if _FOOTER.match(filled[0]) or (_FOOTER_ALONE.match(filled[0]) and len(filled) <= 3):
            footers.append(number)
            continue
        if len(out.rows) >= limit:
            raise problem(f"数据行超过 {limit:,} 行，请分成几个文件导入")
        out.rows.append((number, {k: v for k, v in zip(keys, values) if k}))
        if progress and len(out.rows) % 2000 == 0:
            progress(0, 0, f"正在读取文件（已读 {len(out.rows)} 行）")
    if footers:
        listed = "、".join(str(n) for n in footers[:5]) + ("等" if len(footers) > 5 else "")
        notes.line(footers[0], f"第 {listed} 行是表尾（填表人、审核人、日期、说明或合计），已跳过")
    if not out.rows:
        raise problem("没有数据行：文件只有表头，请在表头下一行起填写数据")
    return out


def _merged_below(path: Path, ws, header_at: int) -> dict[int, list[tuple[int, int, int]]]:
    """Cells merged down or across below the header: {row: [(first row, first col, last col)]}
    (0-based columns), so a value merged over several rows counts for each of them. Read from
    the sheet's own XML: openpyxl's read-only mode does not keep merged ranges."""
    from openpyxl.utils import column_index_from_string

    part = getattr(ws, "_worksheet_path", None)
    if not part:
        return {}
    out: dict[int, list[tuple[int, int, int]]] = {}
    with zipfile.ZipFile(path) as zf, zf.open(part) as fh:
        tail = b""
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            if b"mergeCell" not in data:  # the rows before the merged ranges: nothing to match
                tail = data[-200:]
                continue
            for m in _MERGE.finditer(data):
                r1, r2 = int(m.group(2)), int(m.group(4))
                if r1 <= header_at:
                    continue  # a title or a header merged across: nothing to fill
                c1, c2 = column_index_from_string(m.group(1).decode()) - 1, column_index_from_string(m.group(3).decode()) - 1
                for r in range(r1, r2 + 1):
                    out.setdefault(r, []).append((r1, c1, c2))
            tail = data[-200:]
    for spans in out.values():
        spans[:] = sorted(set(spans))
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


def code_text(value) -> str:
    """A code, a number or a phone as typed, with full-width letters and digits folded
    (ＣＺ０１ → CZ01) — Chinese input methods type them so."""
    return unicodedata.normalize("NFKC", cell_text(value)).strip()


def text(value, label: str, max_length: int | None = None, required: bool = False, multiline: bool = False) -> str:
    s = cell_text(value)
    if required and not s:
        raise CellError(f"{label}不能为空")
    problem = unsafe_characters_problem(s, label, multiline=multiline)
    if problem:  # refused on its row, never silently changed
        raise CellError(problem)
    if max_length and len(s) > max_length:
        raise CellError(f"{label}过长（最多{max_length}个字，现有{len(s)}个字）")
    return s


def date(value, label: str, required: bool = False) -> dt.date | None:
    """Real Excel dates, datetime cells, and text YYYY-MM-DD / YYYY/MM/DD / YYYY.MM.DD /
    YYYY年M月D日 / YYYYMMDD."""
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
    s = unicodedata.normalize("NFKC", str(value)).strip()
    m = _DATE_TEXT.match(s) or _DATE_COMPACT.match(s)
    if not m:
        if _YEAR_MONTH.match(s):
            raise CellError(f"{label}“{s}”只有年月，请填写到具体日期（{DATE_HINT}）")
        raise CellError(f"{label}“{s}”不是有效日期（{DATE_HINT}）")
    return _ymd("".join(f"{int(g):02d}" if i else g for i, g in enumerate(m.groups())), label, s)


def _ymd(digits: str, label: str, shown: str) -> dt.date:
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise CellError(f"{label}“{shown}”不是存在的日期（{DATE_HINT}）") from None


def choice(value, label: str, options: dict[str, object], required: bool = True,
           aliases: dict[str, str] | None = None, ambiguous: dict[str, str] | None = None):
    """A value from a fixed list of Chinese labels → its code. `aliases` maps the short or
    older names clerks use to a label (本科 → 大学本科), accepted and reported as normalized;
    `ambiguous` maps names that could mean several labels to the question to ask (研究生)."""
    s = cell_text(value)
    if not s:
        if required:
            raise CellError(f"{label}不能为空，可选：{'、'.join(options)}")
        return None
    if s in options:
        return options[s]
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))
    if folded in options:
        return Fixed(options[folded], s, folded)
    if ambiguous and folded in ambiguous:
        raise CellError(f"{label}“{s}”不明确：{ambiguous[folded]}")
    if aliases and folded in aliases:
        return Fixed(options[aliases[folded]], s, aliases[folded])
    raise CellError(f"{label}“{s}”不在可选范围内，可选：{'、'.join(options)}")


_YES = {"是": True, "否": False, "Y": True, "N": False, "√": True, "✓": True, "✔": True, "×": False, "✗": False,
        "无": False}


def flag(value, label: str) -> bool:
    """是/否 (an empty cell is 否; Excel's TRUE/FALSE, √ and × are accepted too)."""
    if isinstance(value, bool):
        return value
    s = code_text(value).upper()
    if not s:
        return False
    if s not in _YES:
        raise CellError(f"{label}应填“是”或“否”，现为“{cell_text(value)}”")
    return _YES[s]


def yes_no(value: bool) -> str:
    return "是" if value else "否"


# ---- importing -------------------------------------------------------------------------

CONCURRENT_CHANGE = "导入期间数据被其他操作修改，未写入任何数据，请重新导入"


def chunks(items: list, size: int = 500):
    """Slices of `items`, for look-ups with `IN (…)` that stay under every database's limits."""
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def fetch(queryset, field: str, values, size: int = 500) -> dict:
    """{value of `field`: object} for the objects of `queryset` whose `field` is among `values`,
    in chunked queries — never one query per row."""
    out = {}
    for chunk in chunks(sorted(set(v for v in values if v not in (None, ""))), size):
        out.update((getattr(o, field), o) for o in queryset.filter(**{f"{field}__in": chunk}))
    return out


def pages(queryset, size: int = 2000):
    """The objects of `queryset`, in its order, fetched `size` at a time by primary key, with
    every query read to its end. Unlike `iterator()`, no read stays open between pages, so the
    caller may write meanwhile (a job's progress): SQLite refuses a write from a connection
    whose open read began before another connection's commit ("database is locked")."""
    keys = list(queryset.values_list("pk", flat=True))
    for chunk in chunks(keys, size):
        found = {o.pk: o for o in queryset.order_by().filter(pk__in=chunk)}
        yield from (found[k] for k in chunk if k in found)


class RowReader:
    """One data row being parsed: `cell(key, parse)` runs a parser on the raw value and records
    its problem against the row and the column's header (and what it normalized); `fail`
    records a problem found otherwise. `bad` holds the keys already reported."""

    def __init__(self, importer: Importer, number: int, raw: dict):
        self.importer, self.number, self.raw = importer, number, raw
        self.bad: set[str] = set()

    def has(self, key: str) -> bool:
        """The column is in the file (optional columns change what a row means)."""
        return key in self.importer.present

    def cell(self, key: str, parse):
        try:
            value = parse(self.raw.get(key))
        except CellError as exc:
            self.fail(key, str(exc))
            return None
        if isinstance(value, Fixed):
            self.importer.notes.value(self.number, self.importer.headers[key], value.typed, value.shown)
            return value.value
        return value

    def fail(self, key: str, message: str) -> None:
        if key not in self.bad:
            self.importer.fail(self.number, key, message)
            self.bad.add(key)


class Importer:
    """The one import: read the workbook, parse every row (`parse`), check the whole file
    against itself and the database set-based (`check`), and only when not a single problem
    was found, count (`plan`) and write everything in one transaction (`write`), or nothing.
    Problems carry Excel's row number and the column's Chinese header; progress is reported
    while reading, checking and writing. `user` None means an administrator at the command
    line (no scope limit); otherwise every row must lie in the user's import scope.

    Subclasses give `columns`, `noun`, `title`, the template's `notes` and the four steps.
    """

    columns: list[Column] = []
    noun = "条"  # what the counts count, as the report's sentence says it (人, 个组织, 条)
    title = "数据"  # the sheet's name in the template and the name of what is imported
    hint = ""  # one sentence on the import page: how rows are matched
    notes: list[str] = []  # lines of the template's 填写说明 after the columns

    def __init__(self, user=None, *, today: dt.date | None = None, progress=None):
        from django.utils import timezone

        from .scoping import scope_of

        self.user = user
        self.today = today or timezone.localdate()
        self.progress = progress or (lambda done, total, message="": None)
        self.headers = {c.key: c.header for c in self.columns}
        self.errors = Errors(self.columns)
        self.notes = Notes()
        self.present: set[str] = set()
        self._scope = scope_of(user) if user is not None else None

    # ---- for the steps ----

    def allowed(self, path: str, capability: str = "import") -> bool:
        """Whether the importing user may write under this org path (always at the command line)."""
        return self._scope is None or self._scope.allows(capability, path)

    def fail(self, row: int, key: str, message: str) -> None:
        self.errors.add(row, self.headers.get(key, key), message)

    @property
    def actor(self):
        return self.user if self.user is not None and self.user.is_authenticated else None

    # ---- the steps ----

    def parse(self, row: RowReader):
        raise NotImplementedError

    def check(self, rows: list) -> None:
        """Checks across rows and against the database; add problems with `fail`."""

    def plan(self, rows: list) -> tuple[int, int]:
        """(created, updated) once the file is known to be good."""
        return len(rows), 0

    def write(self, rows: list) -> None:
        raise NotImplementedError

    def after(self, rows: list) -> None:
        """Work after the commit (recomputations). It must be safe to lose: a failure is logged
        and the import still reports what it wrote (the rows are committed)."""

    # ---- the driver ----

    def run(self, path, dry_run: bool = False) -> Report:
        from django.db import IntegrityError, transaction

        self.progress(0, 0, "正在读取文件")
        try:
            sheet = read(path, self.columns, self.progress)
        except FileProblem as exc:
            return result(errors=exc.errors, file_level=True, header_row=exc.header_row)
        self.present, self.notes = sheet.present, sheet.notes
        at = sheet.header_row
        total = len(sheet.rows)
        rows = []
        for i, (number, raw) in enumerate(sheet.rows, start=1):
            rows.append(self.parse(RowReader(self, number, raw)))
            if i % 500 == 0:
                self.progress(i, total * 2, "正在校验")
        self.progress(total, total * 2, "正在校验")
        self.check(rows)
        normalized = self.notes.as_list()
        if self.errors:
            return result(errors=self.errors.as_list(), normalized=normalized, header_row=at)
        created, updated = self.plan(rows)
        if dry_run:
            self.progress(total * 2, total * 2, "校验完成（未写入）")
            return result(created, updated, normalized=normalized, header_row=at)
        self.progress(total, total * 2, "正在写入")
        try:
            with transaction.atomic():
                self.write(rows)
        except IntegrityError:
            # Someone changed the same records between the checks and the write.
            return result(errors=[{"row": FILE_ROW, "column": "", "message": CONCURRENT_CHANGE}], file_level=True)
        try:
            self.after(rows)
        except Exception:  # the rows are committed: report them; the follow-up work can be redone
            logger.exception("导入后的后续处理失败（数据已写入）")
        self.progress(total * 2, total * 2, "导入完成")
        return result(created, updated, normalized=normalized, header_row=at)

    # ---- the template ----

    @classmethod
    def sample(cls, user) -> tuple[dict, str]:
        """The template's example row for `user`, by column key, where their own scope has
        something real to show (an organization they may import into, people on its roll), so
        the untouched template passes a dry run; and one sentence saying where the values come
        from. ({}, "") keeps the columns' own examples."""
        return {}, ""

    @classmethod
    def write_template(cls, out, user=None) -> int:
        """The template: the headers (the contract, always the same), one example row — from the
        user's scope when `user` is given (`sample`) — and the 填写说明 sheet, which says first
        that the example row is to be replaced."""
        values, where = cls.sample(user) if user is not None else ({}, "")
        row = [values.get(c.key, c.example) for c in cls.columns]
        first = ("", "", SAMPLE_NOTE + (where or SAMPLE_CODES_NOTE), "")  # read before the columns
        return write(out, cls.columns, [row], notes=[first, *notes_for(cls.columns, cls.notes, examples=row)],
                     title=cls.title)


# ---- writing ---------------------------------------------------------------------------

def write(out, columns: list[Column], rows, notes: list[tuple] | None = None, title: str = "数据",
          sheets=()) -> int:
    """Write a workbook (write-only mode): sheet 1 = headers + rows, then any further
    `sheets` given as (title, columns, rows), then an optional sheet "填写说明" with one
    line per column. `out` is a path or a binary file. Returns the number of data rows
    written on sheet 1.

    Every export goes through here, so every text cell is data, never code: a text that
    starts like a formula is stored as text (`_as_text`), and control characters and direction
    overrides are shown as their code (`core.text.export_text`), so no stored name can make
    the file fail to write or open."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F2DCDB")

    def head(value):
        cell = WriteOnlyCell(ws, value=export_text(value) if isinstance(value, str) else value)
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
                if isinstance(v, str):
                    v = export_text(v)  # stored text never breaks the file nor reorders what is read
                if isinstance(v, dt.date):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = "yyyy-mm-dd"
                    line.append(cell)
                elif i in text_cols and v not in (None, ""):
                    cell = _as_text(ws, export_text(str(v)))
                    cell.number_format = "@"
                    line.append(cell)
                elif i in formats and isinstance(v, (int, float)) and not isinstance(v, bool):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = formats[i]
                    line.append(cell)
                elif isinstance(v, str) and v.startswith(FORMULA_START):
                    line.append(_as_text(ws, v))  # never a formula
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
            help_ws.append([export_text(v) if isinstance(v, str) else v for v in line])
    wb.save(out)
    return count


def _as_text(ws, value: str):
    """A text cell. One that Excel would take for a formula (“=HYPERLINK(…)” typed into a
    name) is stored as a string with Excel's own text mark, so it is shown, never run, and
    stays text when the cell is edited."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    if value.startswith(FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


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


SAMPLE_NOTE = ("模板第 2 行是示例，只用来说明怎样填写：导入前请把它改成实际数据，或者删除这一行"
               "（示例行留在表中会被当作实际数据导入）。")
SAMPLE_CODES_NOTE = "示例中的组织代码和人员须换成系统中已有的组织和在册党员。"


def notes_for(columns: list[Column], intro: list[str] = (), examples: list | None = None) -> list[tuple]:
    """The 填写说明 sheet: one line per column (its help and its example, `examples` when the
    example row differs from the columns' own), then the lines of `intro`."""
    shown = examples if examples is not None else [c.example for c in columns]
    lines = [(c.header, "必填列" if c.required else "可选列", c.help, cell_text(v)) for c, v in zip(columns, shown)]
    return lines + [("", "", line, "") for line in intro]

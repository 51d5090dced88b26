"""What the `dangjian` commands share: output as JSON, CSV or a table that lines up with
Chinese text, the common arguments (--today), and the import command with its progress bar,
report and exit codes.

Exit codes of the import commands: 0 = imported (or, with --dry-run, would import); 1 = some
rows are wrong; 2 = the file itself was refused (not an .xlsx, empty, headers, too big) or bad
usage. The code is raised as SystemExit, so `call_command` callers can read it too.
"""
import csv
import datetime as dt
import io
import json
import json.encoder
import re
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from dangjian.core import xlsx
from dangjian.core.text import display_width, export_text, terminal_text
from dangjian.core.text import terminal_table as table

__all__ = ["EXIT_FILE", "EXIT_ROWS", "ImportCommand", "export_done", "fail", "row_label", "stream_csv",
           "stream_json", "stream_table", "summary", "table", "to_csv", "to_json", "today_arg"]

EXIT_ROWS = 1
EXIT_FILE = 2


# ---- output ------------------------------------------------------------------------------------

def to_json(rows, indent: int | None = 1) -> str:
    """JSON as every command prints it: Chinese as itself, but control characters, lone
    surrogates and direction overrides escaped (\\u202e), so a stored value reads back the same
    and can neither reorder nor garble the terminal (nor fail to encode)."""
    out = json.dumps(rows, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", out)


def stream_json(out, rows, indent: int | None = 1, batch: int = 1000, keys: tuple[str, ...] | None = None) -> int:
    """Write a JSON array of `rows` (any iterable, e.g. a server-side cursor) to `out` (a
    command's stdout) item by item, byte for byte what `to_json(list(rows))` prints, so a list of
    a million rows is never held in memory. Returns the number of rows.

    With `keys`, each row is a tuple of values in that order, printed as the dict
    `dict(zip(keys, row))`: the keys are encoded once, not per row (a province's year of
    compliance rows is millions of them)."""
    if indent is None:
        opening, separator, closing, inner = "[", ", ", "]", None
    else:
        # An item nested in the array is its own dump with every line indented one level more.
        pad = " " * indent
        opening, separator, closing, inner = "[\n" + pad, ",\n" + pad, "\n]", "\n" + pad
    if keys is not None and indent is not None and keys:
        dump = _record_writer(keys, indent)
    elif keys is not None:
        def dump(row):
            return _dump(dict(zip(keys, row)), indent, inner)
    else:
        def dump(row):
            return _dump(row, indent, inner)
    count, pending = 0, []
    for row in rows:
        if len(pending) >= batch:  # flushed before the next item: the last write is never empty
            out.write(_escape((opening if count == len(pending) else separator) + separator.join(pending)), ending="")
            pending = []
        pending.append(dump(row))
        count += 1
    if count == 0:
        out.write("[]")
        return 0
    out.write(_escape((opening if count == len(pending) else separator) + separator.join(pending)) + closing)
    return count


def stream_table(out, rows, batch: int = 1000) -> int:
    """Write `table(rows)` (first row = the header) to `out` (a command's stdout), byte for byte
    what `out.write(table(list(rows)))` writes, without holding the rows: a column's width is
    only known after the last row, so the rows are spooled to a temporary file while the widths
    are measured, then read back line by line (one pass over `rows`, e.g. a server-side cursor,
    which a second query could not repeat exactly). Returns the number of rows under the header."""
    widths: list[int] | None = None
    count = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        for row in rows:
            cells = [terminal_text(str(c)) for c in row]
            sizes = [display_width(c) for c in cells]
            widths = sizes if widths is None else [max(w, n) for w, n in zip(widths, sizes)]
            spool.write(json.dumps(cells) + "\n")  # ASCII escapes: any text reads back as written
            count += 1
        if widths is None:
            return 0
        spool.seek(0)
        lines: list[str] = []
        started = False
        last = ""
        for j, line in enumerate(spool):
            cells = json.loads(line)
            lines.append("  ".join(c + " " * (w - display_width(c)) for c, w in zip(cells, widths)).rstrip())
            if j == 0:
                lines.append("  ".join("-" * w for w in widths))
            if len(lines) >= batch:
                out.write(("\n" if started else "") + "\n".join(lines), ending="")
                started, last, lines = True, lines[-1], []
        if lines:
            out.write(("\n" if started else "") + "\n".join(lines), ending="")
            last = lines[-1]
    # The line ending the single write would have had: none when the text ended with one.
    out.write("", ending="" if last == "" else "\n")
    return count - 1


def _dump(row, indent: int | None, inner: str | None) -> str:
    if indent is None:
        return json.dumps(row, ensure_ascii=False)
    return _dump_flat(row, indent).replace("\n", inner)


def _record_writer(keys: tuple[str, ...], indent: int):
    """A writer of rows given as value tuples, already indented as an item of the array: what
    `_dump` makes of `dict(zip(keys, row))`, with each key's text made once."""
    pad = " " * indent
    heads = [f"\n{pad}{pad}{_encode_string(k)}: " for k in keys]
    item_pad = "\n" + pad * 3
    closing = "\n" + pad + "}"
    width = len(keys)

    def write(row) -> str:
        if len(row) != width:
            raise ValueError(f"{len(row)} values for {width} keys")
        parts = []
        for head, v in zip(heads, row):
            t = type(v)
            if t is str:
                parts.append(head + _encode_string(v))
            elif t is int:
                parts.append(head + int.__repr__(v))
            elif t is list and all(type(x) is int for x in v):
                parts.append(head + ("[]" if not v else "[" + item_pad + ("," + item_pad).join(map(int.__repr__, v))
                                     + "\n" + pad + pad + "]"))
            else:  # anything else as the dict writer would write it
                return _dump(dict(zip(keys, row)), indent, "\n" + pad)
        return "{" + ",".join(parts) + closing

    return write


_SCALARS = (str, int, float, type(None))


def _scalar(v) -> str:
    if isinstance(v, str):
        return _encode_string(v)
    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, int):
        return int.__repr__(v)
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError  # json writes NaN and Infinity its own way: left to it
    return float.__repr__(v)


def _dump_flat(row, indent: int) -> str:
    """`json.dumps(row, ensure_ascii=False, indent=indent)` for a dict of scalars and lists of
    scalars (every command's row), written here: with an indent, json's encoder runs in pure
    Python and was most of the time of printing a province's year. Anything else goes to json."""
    if type(row) is dict and row:
        try:
            pad, pad2 = " " * indent, " " * (2 * indent)
            parts = []
            for k, v in row.items():
                if type(k) is not str:
                    raise ValueError
                if type(v) is list:
                    if not v:
                        value = "[]"
                    elif all(isinstance(x, _SCALARS) for x in v):
                        value = "[\n" + pad2 + (",\n" + pad2).join(map(_scalar, v)) + "\n" + pad + "]"
                    else:
                        raise ValueError
                elif isinstance(v, _SCALARS):
                    value = _scalar(v)
                else:
                    raise ValueError
                parts.append(f"{pad}{_encode_string(k)}: {value}")
            return "{\n" + ",\n".join(parts) + "\n}"
        except ValueError:
            pass
    return json.dumps(row, ensure_ascii=False, indent=indent)


def stream_csv(out, header: list[str], rows, batch: int = 1000) -> int:
    """`to_csv` written to `out` a batch of rows at a time (same bytes). Returns the number of rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    count = 0
    for row in rows:
        if count and count % batch == 0:  # flushed before the next row: the last write is never empty
            out.write(buf.getvalue(), ending="")
            buf.seek(0)
            buf.truncate()
        w.writerow([_neutral(v) for v in row])
        count += 1
    out.write(buf.getvalue().rstrip("\n"))
    return count


def _escape(text: str) -> str:
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


_encode_string = json.encoder.encode_basestring  # json's own (C) string writer for ensure_ascii=False

_JSON_UNSAFE = re.compile("[\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def to_csv(header: list[str], rows: list[list]) -> str:
    """CSV whose texts cannot run as formulas when the file is opened in a spreadsheet: a text
    starting like a formula (=, +, -, @, tab, CR) gets a leading apostrophe; numbers are left as
    they are. Control characters and direction overrides are shown as their code, as in every
    export (`core.text.export_text`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([_neutral(v) for v in row] for row in rows)
    return buf.getvalue().rstrip("\n")


def _neutral(value):
    if isinstance(value, str):
        value = export_text(value)
    if isinstance(value, str) and value.startswith(xlsx.FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def today_arg(value: str | None) -> dt.date:
    """--today YYYY-MM-DD (default: today)."""
    if not value:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--today 应为 YYYY-MM-DD 格式的日期，收到“{value}”", returncode=2) from None


def fail(command: BaseCommand, message: str, code: int = EXIT_FILE):
    command.stderr.write(message)
    raise SystemExit(code)


def export_done(command: BaseCommand, count: int, noun: str, out: str) -> None:
    command.stdout.write(f"已导出 {count} {noun}到 {out}")


# ---- imports -----------------------------------------------------------------------------------

def row_label(row: int, header_row: int = xlsx.HEADER_ROW) -> str:
    if row == xlsx.FILE_ROW:
        return "文件"
    if row == header_row:
        return "表头" if row == xlsx.HEADER_ROW else f"{row}（表头）"
    return str(row)


def summary(report: dict, noun: str, dry_run: bool) -> str:
    """One Chinese sentence, the same on the command line and on the web page."""
    if report["ok"]:
        if dry_run:
            return f"校验通过（试运行，未写入任何数据）：将新增 {report['created']} {noun}，更新 {report['updated']} {noun}"
        return f"导入完成：新增 {report['created']} {noun}，更新 {report['updated']} {noun}"
    rows = {e["row"] for e in report["errors"]}
    where = "文件无法导入" if xlsx.is_file_level(report) else f"{len(rows)} 行有错误"
    return f"{where}，共 {len(report['errors'])} 处问题，未写入任何数据"


class ImportCommand(BaseCommand):
    """`dangjian import-… FILE [--dry-run] [--format json]`; subclasses name their importer."""

    noun = "条"

    def add_arguments(self, parser):
        parser.add_argument("file", help="要导入的 .xlsx 文件（第一行为中文表头，可先导出或下载模板）")
        parser.add_argument("--dry-run", action="store_true", help="只校验并报告将新增、更新的数量，不写入")
        parser.add_argument("--format", choices=["text", "json"], default="text",
                            help='报告格式：text（中文表格）或 json（{"ok", "created", "updated", "errors"}；'
                                 'errors 中 row 为 Excel 行号，0 表示整个文件的问题，1 表示表头）')

    def run_import(self, path, dry_run: bool, progress) -> dict:
        raise NotImplementedError

    def handle(self, *args, file, dry_run, format, **options):
        path = Path(file)
        if not path.is_file():
            report = xlsx.result(errors=[{"row": xlsx.FILE_ROW, "column": "", "message": f"找不到文件：{file}"}],
                                 file_level=True)
        else:
            bar = tqdm(total=0, file=sys.stderr, unit="行", desc="导入", dynamic_ncols=True,
                       disable=None if options.get("verbosity", 1) else True)

            def progress(done: int, total: int, message: str = "") -> None:
                bar.total, bar.n = total, done
                bar.set_description(message, refresh=False)
                bar.refresh()

            try:
                report = self.run_import(path, dry_run, progress)
            finally:
                bar.close()
        if format == "json":
            self.stdout.write(to_json(report, indent=None))
        else:
            self.stdout.write(self.render(report, dry_run))
        if not report["ok"]:
            raise SystemExit(EXIT_FILE if xlsx.is_file_level(report) else EXIT_ROWS)

    def render(self, report: dict, dry_run: bool) -> str:
        header = getattr(report, "header_row", xlsx.HEADER_ROW)
        lines = [summary(report, self.noun, dry_run)]
        if report["errors"]:
            lines += ["", table([("行", "列", "原因")] + [
                (row_label(e["row"], header), e["column"] or "—", e["message"]) for e in report["errors"]
            ])]
        if report.get("normalized"):
            lines += ["", "以下内容已按规范写法读取（请核对）：", table([("行", "列", "说明")] + [
                (row_label(n["row"], header), n["column"] or "—", n["message"]) for n in report["normalized"]
            ])]
        return "\n".join(lines)

"""`dangjian textcheck PATH...`: find copied passages between .txt / .docx documents."""
import json
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from dangjian.core import similarity
from dangjian.core.text import display_width

SUFFIXES = (".txt", ".docx")
COLUMN = 34  # display cells per side in the table report
EXCERPT_LINES = 3


def _error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _wanted(name: str) -> bool:
    # Word leaves "~$name.docx" lock files next to open documents; they are not documents.
    return name.lower().endswith(SUFFIXES) and not name.startswith(("~$", "."))


def collect(paths: list[str]) -> list[tuple[str, Path]]:
    """(path as shown, file) for every document named or found under a named folder, each once."""
    out, seen = [], set()
    for given in paths:
        p = Path(given)
        if p.is_dir():
            found = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(os.path.join(root, f) for f in sorted(files) if _wanted(f))
            if not found:
                raise _error(f"目录“{given}”中没有 .txt 或 .docx 文件")
            shown = [os.path.join(given, os.path.relpath(f, p)) for f in found]
            items = list(zip(shown, map(Path, found)))
        elif p.is_file():
            if not given.lower().endswith(SUFFIXES):
                raise _error(f"文件“{given}”不是 .txt 或 .docx 文件，无法检查")
            items = [(given, p)]
        elif p.exists():
            raise _error(f"“{given}”不是普通文件或目录")
        else:
            raise _error(f"文件或目录“{given}”不存在")
        for shown, f in items:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append((shown, f))
    return out


def _wrap(text: str, width: int, lines: int) -> list[str]:
    text = " ".join(text.split())
    out, line, w = [], "", 0
    for c in text:
        cw = display_width(c)
        if w + cw > width:
            out.append(line)
            if len(out) == lines:
                out[-1] = out[-1][:-1] + "…"
                return out
            line, w = "", 0
        line += c
        w += cw
    if line:
        out.append(line)
    return out


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def report(pairs: list[similarity.Pair], texts: dict[str, str], files: int, min_passage: int) -> str:
    if files < 2:
        return f"共 {files} 份文件，至少需要两份才能比较。"
    if not pairs:
        return f"共检查 {files} 份文件，未发现抄袭段落。"
    out = [f"共检查 {files} 份文件，发现 {len(pairs)} 对含有相同段落"
           f"（每段去除标点和通用表述后至少 {min_passage} 字）："]
    for n, pair in enumerate(pairs, 1):
        out.append("")
        out.append(f"【{n}】重复程度 {pair.score:.1%}，相同 {pair.copied} 字，{len(pair.passages)} 处")
        out.append(f"  甲：{pair.a}")
        out.append(f"  乙：{pair.b}")
        for i, p in enumerate(pair.passages, 1):
            left = _wrap(texts[pair.a][p.a_start:p.a_end], COLUMN, EXCERPT_LINES)
            right = _wrap(texts[pair.b][p.b_start:p.b_end], COLUMN, EXCERPT_LINES)
            out.append(f"  第 {i} 处")
            out.append(f"    {_pad(f'甲 第 {p.a_start + 1}–{p.a_end} 字', COLUMN)} │ 乙 第 {p.b_start + 1}–{p.b_end} 字")
            for j in range(max(len(left), len(right))):
                a = left[j] if j < len(left) else ""
                b = right[j] if j < len(right) else ""
                out.append(f"    {_pad(a, COLUMN)} │ {b}".rstrip())
    return "\n".join(out)


class Command(BaseCommand):
    help = "检查述职报告、会议记录等文档之间的抄袭段落（.txt 或 .docx；目录会递归查找），扣除各类文稿共有的通用表述"
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help=".txt / .docx 文件或目录")
        parser.add_argument("--format", choices=["table", "json"], default="table",
                            help="table：中文报告，并列显示相同段落（默认）；json：机器可读")
        parser.add_argument("--min-passage", type=int, default=similarity.MIN_PASSAGE,
                            help=f"认定为抄袭的段落最少字数（去除标点和通用表述后），默认 {similarity.MIN_PASSAGE}")

    def handle(self, *args, paths, format, min_passage, **options):
        if min_passage < similarity.K:
            raise _error(f"--min-passage 至少为 {similarity.K}，收到 {min_passage}")
        files = collect(paths)
        texts = {}
        for shown, path in tqdm(files, desc="读取", unit="份", disable=len(files) < 200 or not sys.stderr.isatty()):
            try:
                texts[shown] = similarity.read_document(path)
            except similarity.DocumentError as exc:
                raise _error(f"文件“{shown}”：{exc}") from None
            except OSError as exc:
                raise _error(f"无法读取文件“{shown}”：{exc.strerror or exc}") from None
        bar = tqdm(total=len(texts), desc="比对", unit="份", disable=len(texts) < 200 or not sys.stderr.isatty())

        def progress(done, total):
            bar.update(done - bar.n)

        pairs = similarity.find_copies(texts, min_passage=min_passage, progress=progress)
        bar.close()
        if format == "json":
            self.stdout.write(json.dumps({"pairs": [
                {"a": p.a, "b": p.b, "score": float(p.score), "passages": [
                    {"a_start": s.a_start, "a_end": s.a_end, "b_start": s.b_start, "b_end": s.b_end}
                    for s in p.passages]}
                for p in pairs]}, ensure_ascii=False))
        else:
            self.stdout.write(report(pairs, texts, len(texts), min_passage))

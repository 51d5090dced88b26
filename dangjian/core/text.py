"""Chinese text helpers: pinyin for search, phone numbers, terminal widths, and the characters
that may be neither typed into a name nor written into an exported file."""
import re
import unicodedata

from pypinyin import Style, lazy_pinyin

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# Landlines as clerks write them: 0xxx-xxxxxxx(-ext) or 7-8 digits.
LANDLINE_RE = re.compile(r"^(0\d{2,3}-?)?\d{7,8}(-\d{1,6})?$")


def pinyin_full(name: str) -> str:
    return "".join(lazy_pinyin(name)).lower()


def pinyin_initials(name: str) -> str:
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()


# A file name in running text ("rules/defaults.yaml", "SOURCES.md"): where users write a citation
# (a regulation's name and article), one is refused.
FILE_NAME_RE = re.compile(r"[\w./\\-]*\w\.(?:ya?ml|md|py|json|txt|csv|docx?|xlsx?|pdf)(?![A-Za-z0-9])", re.IGNORECASE)


def file_name_in(text: str) -> str:
    """The first file name in `text`, or ""."""
    found = FILE_NAME_RE.search(text or "")
    return found.group(0) if found else ""


CITATION_MAX = 300


def citation_problem(text: str, *, required: bool = True) -> str:
    """What is wrong with a cited source (依据) of a rule, a duty or a scheme, or "": the one
    rule every editor shares — present when required, at most CITATION_MAX characters, the
    regulation's or document's name and article, never a file name (“rules/defaults.yaml”
    says nothing to a reader)."""
    text = (text or "").strip()
    if not text:
        return "请写明依据：法规或文件的名称和条款" if required else ""
    if len(text) > CITATION_MAX:
        return f"不能超过 {CITATION_MAX} 个字（现有 {len(text)} 个字）"
    name = file_name_in(text)
    if name:
        return f"请写法规或文件的名称和条款，不要写文件名（“{name}”）"
    return ""


def valid_phone(value: str) -> bool:
    return bool(PHONE_RE.match(value) or LANDLINE_RE.match(value))


def normalize_phone(value: str) -> str:
    """A phone number as clerks type it, in the form it is kept: full-width digits folded,
    spaces dropped, a mobile number's dashes and +86 prefix dropped (138 0013 8000 and
    +86-138-0013-8000 are 13800138000); a landline keeps its area-code dash (010 1234 5678 is
    010-12345678). Anything else comes back as typed, for the check to refuse."""
    s = unicodedata.normalize("NFKC", value or "").strip()
    squeezed = re.sub(r"[\s\-－—–()（）]", "", s)
    for prefix in ("+86", "0086", "86"):
        if squeezed.startswith(prefix) and PHONE_RE.match(squeezed[len(prefix):]):
            squeezed = squeezed[len(prefix):]
    if PHONE_RE.match(squeezed):
        return squeezed
    area = re.match(r"^(0\d{2,3})[\s\-－—–]+(\d{3,4})[\s\-－—–]?(\d{4})$", s)
    if area and len(area.group(2) + area.group(3)) in (7, 8):
        return f"{area.group(1)}-{area.group(2)}{area.group(3)}"
    spaced = re.sub(r"\s+", "", s)
    return spaced if LANDLINE_RE.match(spaced) else s


def display_width(text: str) -> int:
    """Columns a terminal gives `text`: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def terminal_table(rows: list[tuple]) -> str:
    """A plain table (first row = header) that lines up in a terminal with Chinese text."""
    rows = [tuple(terminal_text(str(c)) for c in r) for r in rows]
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for j, row in enumerate(rows):
        out.append("  ".join(str(c) + " " * (w - display_width(str(c))) for c, w in zip(row, widths)).rstrip())
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# ---- characters that hide or reorder text ------------------------------------------------------

# Control characters (C0 but tab and line breaks, DEL, C1), lone surrogates and the two
# noncharacters that XML refuses: a name holding one breaks every .xlsx/.docx it is written to.
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
_LINE_BREAKS = "\t\n\r"
# Bidirectional embeddings, overrides and isolates (and the invisible direction marks): they make
# a name read otherwise than it is stored (“局委党” shown as “党委局”).
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
# Zero-width characters: two names that look identical but differ, or a name that looks empty.
_ZERO_WIDTH = "\u200b-\u200d\u2060\ufeff"
_UNSAFE_LINE = re.compile(f"[{_CONTROL}{_LINE_BREAKS}{_BIDI}{_ZERO_WIDTH}]")
_UNSAFE_MULTILINE = re.compile(f"[{_CONTROL}{_BIDI}]")
_UNSAFE_EXPORT = re.compile(f"[{_CONTROL}{_BIDI}]")
_UNSAFE_TERMINAL = re.compile(f"[{_CONTROL}{_LINE_BREAKS}{_BIDI}\x1b]")


def _character_kind(ch: str) -> str:
    if re.match(f"[{_BIDI}]", ch):
        return "改变文字显示方向的控制字符"
    if re.match(f"[{_ZERO_WIDTH}]", ch):
        return "不可见的零宽字符"
    if ch in "\n\r":
        return "换行符（此处只能填写一行）"
    if ch == "\t":
        return "制表符（此处只能填写一行）"
    if "\ud800" <= ch <= "\udfff":
        return "无效的字符编码"
    return "不可见的控制字符"


def unsafe_characters_problem(value, label: str, *, multiline: bool = False) -> str:
    """What is wrong with `value` as text a person typed, or "": a control character, a
    direction override or (in a one-line field) a zero-width character or a line break, named
    with its position so the person can find it. Multi-line texts (minutes, notes) keep
    their line breaks and tabs. The one check behind every door's record rules and the
    importers; values are refused, never silently changed."""
    if not isinstance(value, str):
        return ""
    found = (_UNSAFE_MULTILINE if multiline else _UNSAFE_LINE).search(value)
    if not found:
        return ""
    ch = found.group(0)
    return (f"{label}第 {found.start() + 1} 个字符是{_character_kind(ch)}（U+{ord(ch):04X}），"
            "请删除后重试")


def visible_code(ch: str) -> str:
    """A character that must not reach a file or a screen as itself, shown as its code."""
    return f"[U+{ord(ch):04X}]"


def export_text(value: str) -> str:
    """`value` as written into an exported file (.xlsx, .docx, CSV): control characters,
    lone surrogates and direction overrides are shown as their code ([U+0001]), so stored text
    can neither break the file nor reorder what the reader sees; tabs and line breaks stay."""
    if not _UNSAFE_EXPORT.search(value):
        return value
    return _UNSAFE_EXPORT.sub(lambda m: visible_code(m.group(0)), value)


def terminal_text(value: str) -> str:
    """`value` as printed in a terminal table: as `export_text`, and line breaks, tabs and
    escape sequences shown as codes too, so a stored value cannot redraw the screen."""
    if not _UNSAFE_TERMINAL.search(value):
        return value
    return _UNSAFE_TERMINAL.sub(lambda m: visible_code(m.group(0)), value)

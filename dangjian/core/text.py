"""Chinese text helpers: pinyin for search, phone numbers."""
import re

from pypinyin import Style, lazy_pinyin

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# Landlines as clerks write them: 0xxx-xxxxxxx(-ext) or 7-8 digits.
LANDLINE_RE = re.compile(r"^(0\d{2,3}-?)?\d{7,8}(-\d{1,6})?$")


def pinyin_full(name: str) -> str:
    return "".join(lazy_pinyin(name)).lower()


def pinyin_initials(name: str) -> str:
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()


def valid_phone(value: str) -> bool:
    return bool(PHONE_RE.match(value) or LANDLINE_RE.match(value))

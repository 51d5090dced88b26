"""What a careful clerk checks in an organization's record. One set of rules, used by the web
form, the API and the Excel import, so every door accepts and refuses the same codes and names
(a code the form accepts can always round-trip through Excel).

Each check takes plain values and returns Chinese problems as (field, message); uniqueness
against the database is the caller's (an import updates an existing code, a form refuses it).
"""
import datetime as dt
import re
import unicodedata

from .models import OrgKind

CODE_MAX = 32
NAME_MAX = 100
# Letters, digits and the separators codes use (CZ-01, 01.02, CZ_01); no spaces.
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


def normalize_code(value) -> str:
    """A code as typed: full-width letters and digits folded (ＣＺ０１ → CZ01), ends trimmed."""
    return unicodedata.normalize("NFKC", str(value or "")).strip()


def code_problem(code: str, label: str = "组织代码") -> str | None:
    """The code rule: 1–32 letters, digits, “-”, “_” or “.”, starting with a letter or digit."""
    if not code:
        return f"{label}不能为空"
    if len(code) > CODE_MAX:
        return f"{label}过长（最多{CODE_MAX}个字符，现有{len(code)}个）"
    if any(ch.isspace() for ch in code):
        return f"{label}“{code}”中不能有空格"
    if not _CODE.match(code):
        return f"{label}“{code}”只能由字母、数字和“-”“_”“.”组成"
    return None


def check_org(d: dict, today: dt.date | None = None) -> list[tuple[str, str]]:
    """Problems of an organization's fields (those given: a partial change checks only
    what it changes, with `kind`/`is_joint` read together)."""
    today = today or dt.date.today()
    out: list[tuple[str, str]] = []
    if "code" in d:
        problem = code_problem(normalize_code(d["code"]))
        if problem:
            out.append(("code", problem))
    if "name" in d:
        name = (d["name"] or "").strip()
        if not name:
            out.append(("name", "组织名称不能为空"))
        elif len(name) > NAME_MAX:
            out.append(("name", f"组织名称过长（最多{NAME_MAX}个字）"))
    if d.get("is_joint") and d.get("kind") not in (None, OrgKind.BRANCH):
        out.append(("is_joint", "只有党支部可以设为联合党支部"))
    established = d.get("established_on")
    if established is not None and established > today:
        out.append(("established_on", "成立日期不能晚于今天"))
    return out

"""What a careful clerk checks in an organization's record. One set of rules, used by the web
form, the API and the Excel import, so every door accepts and refuses the same codes and names
(a code the form accepts can always round-trip through Excel).

Each check takes plain values and returns Chinese problems as (field, message); uniqueness
against the database is the caller's (an import updates an existing code, a form refuses it).
"""
import calendar
import datetime as dt
import re
import unicodedata

from dangjian.core import defaults, periods
from dangjian.core.text import unsafe_characters_problem

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
        elif problem := unsafe_characters_problem(name, "组织名称"):
            out.append(("name", problem))
    if d.get("is_joint") and d.get("kind") not in (None, OrgKind.BRANCH):
        out.append(("is_joint", "只有党支部可以设为联合党支部"))
    established = d.get("established_on")
    if established is not None and established > today:
        out.append(("established_on", "成立日期不能晚于今天"))
    elif problem := periods.history_problem(established, "成立日期"):
        out.append(("established_on", problem))
    return out


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def term_rule(kind: str | None) -> dict | None:
    """How long a term of an org of `kind` may last, from the `organization` section of
    defaults.yaml: the regular years, the extension a higher organization may approve, and
    the documents saying so. None for a kind without elected terms (党组, 机关工委, 党小组)."""
    section = defaults.section("organization")
    years = (section.get("term_years") or {}).get(kind)
    if years is None:
        return None
    return {"years": int(years), "change": int(section.get("term_change_max_years") or 0),
            "source": (section.get("term_sources") or {}).get(kind, ""),
            "change_source": section.get("term_change_source", "")}


def check_term(kind: str | None, starts_on: dt.date | None, ends_on: dt.date | None) -> list[tuple[str, str]]:
    """Problems of a term (届) of an org of `kind`: it ends after it starts, and it is no longer
    than the regulation allows for the kind — the regular term plus the most a higher
    organization may approve as an extension (延期换届)."""
    if problem := periods.history_problem(starts_on, "本届开始日期"):
        return [("starts_on", problem)]
    if starts_on is None or ends_on is None:
        return []
    if ends_on <= starts_on:
        return [("ends_on", "本届届满日期应晚于本届开始日期")]
    rule = term_rule(kind)
    if rule is None:
        return []
    latest = add_years(starts_on, rule["years"] + rule["change"])
    if ends_on <= latest:
        return []
    label = OrgKind(kind).label
    source = f"（{rule['source']}）" if rule["source"] else ""
    change = (f"，经上级党组织批准延期换届的一般不超过 {rule['change']} 年"
              + (f"（{rule['change_source']}）" if rule["change_source"] else "")) if rule["change"] else ""
    return [("ends_on", f"{label}每届任期 {rule['years']} 年{source}{change}：本届自 {starts_on:%Y-%m-%d} 开始，"
                        f"届满日期最晚为 {latest:%Y-%m-%d}，{ends_on:%Y-%m-%d} 超出了规定的任期，请核对")]

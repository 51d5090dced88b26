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


def allowed_parent_kinds(kind: str | None) -> list[str] | None:
    """The kinds an org of `kind` may be set up under, from defaults.yaml (`allowed_parents`);
    [] for the root kind (机关工委); None for a kind the rule does not know."""
    rule = defaults.section("organization").get("allowed_parents") or {}
    return None if kind not in rule else list(rule[kind] or [])


def _kind_label(kind: str | None) -> str:
    return OrgKind(kind).label if kind in OrgKind.values else str(kind or "")


def hierarchy_problems(kind: str, parent_kind: str | None, child_kinds=()) -> list[tuple[str, str]]:
    """The hierarchy rule for an org of `kind` under a parent of `parent_kind` (None: at the
    root) with children of `child_kinds`: 机关工委 is the root; 党组, 党委 and 机关党委 hang under
    the 工委; a 党总支 under the 工委, a 党委 or a 机关党委; a 党支部 under those or a 党总支; a
    党小组 under a 党支部. One rule for creating, moving and re-kinding, at every door."""
    source = defaults.section("organization").get("allowed_parents_source") or ""
    cite = f"（{source}）" if source else ""
    out: list[tuple[str, str]] = []
    allowed = allowed_parent_kinds(kind)
    label = _kind_label(kind)
    if allowed is not None:
        if parent_kind is None and allowed:
            out.append(("parent", f"{label}须设在{'、'.join(_kind_label(k) for k in allowed)}之下，请填写上级组织{cite}"))
        elif parent_kind is not None and not allowed:
            out.append(("kind", f"{label}是组织体系的最上级，不能设在其他组织之下{cite}"))
        elif parent_kind is not None and parent_kind not in allowed:
            out.append(("kind", f"{_kind_label(parent_kind)}之下不能设立{label}：{label}只能设在"
                                f"{'、'.join(_kind_label(k) for k in allowed)}之下{cite}"))
    problem = children_problem(kind, child_kinds)
    if problem:
        out.append(("kind", problem))
    return out


def children_problem(kind: str, child_kinds) -> str | None:
    """An org re-kinded to `kind` must still be a parent its children may hang under."""
    refused = sorted({k for k in child_kinds if kind not in (allowed_parent_kinds(k) or [kind])},
                     key=lambda k: OrgKind.values.index(k) if k in OrgKind.values else 99)
    if not refused:
        return None
    source = defaults.section("organization").get("allowed_parents_source") or ""
    return (f"该组织下设有{'、'.join(_kind_label(k) for k in refused)}，不能改为{_kind_label(kind)}"
            + (f"（{source}）" if source else ""))


def member_org_problem(kind: str | None, name: str = "") -> str | None:
    """Members belong to an organization that holds a roll: a 党小组 is part of its branch,
    whose roll its people stay on."""
    kinds = defaults.section("organization").get("member_org_kinds")
    if kinds is None or kind in kinds:
        return None
    what = f"“{name}”" if name else "该组织"
    return f"{what}是{_kind_label(kind)}，党员的组织关系应在其所属党支部，不能转入或登记在{_kind_label(kind)}"

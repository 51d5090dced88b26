"""The rules of an inspection plan, its targets, team, findings and evaluations, as Chinese
messages per field: the forms, the API and the services all ask these (the services raise the
first as `InspectionError`)."""
from __future__ import annotations

import datetime as dt

from dangjian.core import people
from dangjian.core.scoping import SUPERVISING, can_anywhere
from dangjian.core.text import unsafe_characters_problem
from dangjian.orgs.models import Organization

from .models import FindingList, Kind

ISSUER_KINDS = SUPERVISING
FIRST_YEAR = 2000
MAX_DAYS = 366
MAX_TARGETS = 500
MAX_TEXT = 2000


class InspectionError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def first(problems: list[tuple[str | None, str]]) -> None:
    if problems:
        raise InspectionError(*problems[0])


def text_problem(value, field: str, label: str, max_length: int, *, required=True, multiline=False):
    value = (value or "").strip() if isinstance(value, str) else value
    if not value:
        return (field, f"{label}：必填") if required else None
    if not isinstance(value, str):
        return field, f"{label}：应为文字"
    if len(value) > max_length:
        return field, f"{label}：过长（最多 {max_length} 个字）"
    if problem := unsafe_characters_problem(value, label, multiline=multiline):
        return field, problem
    return None


def plan_problems(*, title, kind, issuer, starts_on, ends_on, note="") -> list[tuple[str, str]]:
    """What is wrong with a plan's header, by field (empty: nothing)."""
    out = []
    for p in (text_problem(title, "title", "名称", 120), text_problem(note, "note", "督查内容", MAX_TEXT,
                                                                     required=False, multiline=True)):
        if p:
            out.append(p)
    if kind not in Kind.values:
        out.append(("kind", "督查方式：请选择日常督查、随机督查、集中督查或专项督查"))
    if not isinstance(issuer, Organization):
        out.append(("issuer", "组织单位：必填"))
    elif issuer.kind not in ISSUER_KINDS:
        out.append(("issuer", f"组织单位：“{issuer.name}”是{issuer.kind_label}，督查由机关工委或单位党组织（党组、党委、"
                              "机关党委、党总支）组织"))
    elif issuer.status != Organization.Status.ACTIVE:
        out.append(("issuer", f"组织单位：“{issuer.name}”已撤销"))
    if not isinstance(starts_on, dt.date):
        out.append(("starts_on", "计划开始日期：必填（格式：2026-01-31）"))
    elif starts_on.year < FIRST_YEAR:
        out.append(("starts_on", f"计划开始日期：{starts_on:%Y-%m-%d} 早于 {FIRST_YEAR} 年"))
    if not isinstance(ends_on, dt.date):
        out.append(("ends_on", "计划结束日期：必填（格式：2026-01-31）"))
    elif isinstance(starts_on, dt.date):
        if ends_on < starts_on:
            out.append(("ends_on", f"计划结束日期：{ends_on:%Y-%m-%d} 早于开始日期 {starts_on:%Y-%m-%d}"))
        elif (ends_on - starts_on).days > MAX_DAYS:
            out.append(("ends_on", "计划结束日期：一次督查最长一年，请分为几次督查"))
    return out


def target_problems(issuer: Organization, orgs: list[Organization], *, required=True) -> list[tuple[str, str]]:
    if not orgs:
        return [("targets", "督查对象：请至少选择一个党组织")] if required else []
    if len(orgs) > MAX_TARGETS:
        return [("targets", f"督查对象：一次最多 {MAX_TARGETS} 个")]
    seen = set()
    for org in orgs:
        if org.pk == issuer.pk or not org.path.startswith(issuer.path):
            return [("targets", f"督查对象：“{org.name}”不在{issuer.name}的下级组织中，{issuer.name}只能督查本组织以下的党组织")]
        if org.status != Organization.Status.ACTIVE:
            return [("targets", f"督查对象：“{org.name}”已撤销")]
        if org.pk in seen:
            return [("targets", f"督查对象：“{org.name}”重复")]
        seen.add(org.pk)
    return []


def team_problems(users) -> list[tuple[str, str]]:
    """Team members are accounts that inspect or keep records (督查考核员, 党务工作人员)."""
    for u in users:
        if not u.is_active:
            return [("team", f"督查组成员：账号“{people.display_name(u)}”已停用")]
        if not (can_anywhere(u, "inspect") or can_anywhere(u, "edit")):
            return [("team", f"督查组成员：“{people.display_name(u)}”不是督查考核员或党务工作人员账号")]
    return []


def finding_problems(text, list_) -> list[tuple[str, str]]:
    out = []
    if p := text_problem(text, "text", "发现情况", MAX_TEXT, multiline=True):
        out.append(p)
    if list_ not in FindingList.values:
        out.append(("list", "清单：请选择问题清单、任务清单或建议清单"))
    return out


def visit_problems(visited_on, starts_on: dt.date, today: dt.date, note="") -> list[tuple[str, str]]:
    if not isinstance(visited_on, dt.date):
        return [("visited_on", "督查日期：必填（格式：2026-01-31）")]
    if visited_on > today:
        return [("visited_on", f"督查日期：{visited_on:%Y-%m-%d} 晚于今天，不能填写将来的日期")]
    if visited_on < starts_on:
        return [("visited_on", f"督查日期：{visited_on:%Y-%m-%d} 早于督查计划开始日期 {starts_on:%Y-%m-%d}")]
    if p := text_problem(note, "visit_note", "现场情况", MAX_TEXT, required=False, multiline=True):
        return [p]
    return []

"""The rules of a decision and of its entries, as Chinese messages per field: the forms, the API
and the services all ask these (the services raise the first as `CommendationError`)."""
from __future__ import annotations

import datetime as dt
import re

from dangjian.core.scoping import SUPERVISING
from dangjian.core.text import unsafe_characters_problem
from dangjian.orgs.models import Organization

from .models import Commendation, Decision, Honour, Recipient

FIRST_YEAR = 2000
# 市直机关工委〔2026〕12号: an issuer's abbreviation, the year in 〔〕, a serial number and 号.
NUMBER_PATTERN = re.compile(r"^\S+〔\d{4}〕\d+号$")
ISSUER_KINDS = SUPERVISING


class CommendationError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def decision_problems(*, number, decided_on, title, year, issuer, today: dt.date,
                      exclude_pk: int | None = None) -> list[tuple[str, str]]:
    """What is wrong with a decision's header, by field (empty: nothing)."""
    out = []
    number = (number or "").strip()
    if not number:
        out.append(("number", "文号：必填（如 市直机关工委〔2026〕12号）"))
    elif len(number) > 60:
        out.append(("number", "文号：过长（最多 60 个字）"))
    elif problem := unsafe_characters_problem(number, "文号"):
        out.append(("number", problem))
    elif not NUMBER_PATTERN.match(number):
        out.append(("number", f"文号：“{number}”格式不对，应为 发文机关代字〔年份〕序号号，如 市直机关工委〔2026〕12号"))
    elif Decision.objects.filter(number=number).exclude(pk=exclude_pk).exists():
        out.append(("number", f"文号：“{number}”已被另一份表彰决定使用，文号不能重复"))
    if not isinstance(decided_on, dt.date):
        out.append(("decided_on", "成文日期：必填（格式：2026-01-31）"))
    elif decided_on > today:
        out.append(("decided_on", f"成文日期：{decided_on:%Y-%m-%d} 晚于今天，不能填写将来的日期"))
    title = (title or "").strip()
    if not title:
        out.append(("title", "标题：必填（如 关于表彰2025年度先进基层党组织、优秀共产党员和优秀党务工作者的决定）"))
    elif len(title) > 120:
        out.append(("title", "标题：过长（最多 120 个字）"))
    elif problem := unsafe_characters_problem(title, "标题"):
        out.append(("title", problem))
    if not isinstance(year, int) or isinstance(year, bool):
        out.append(("year", "表彰年度：必填（如 2025）"))
    elif not FIRST_YEAR <= year <= today.year:
        out.append(("year", f"表彰年度：{year} 不在 {FIRST_YEAR}—{today.year} 年之间"))
    elif isinstance(decided_on, dt.date) and decided_on.year < year:
        out.append(("decided_on", f"成文日期：{decided_on:%Y-%m-%d} 早于表彰年度 {year} 年"))
    if not isinstance(issuer, Organization):
        out.append(("issuer", "发文党组织：必填"))
    elif issuer.kind not in ISSUER_KINDS:
        out.append(("issuer", f"发文党组织：“{issuer.name}”是{issuer.kind_label}，表彰决定由机关工委或单位党组织（党组、党委、"
                              "机关党委、党总支）印发"))
    elif issuer.status != Organization.Status.ACTIVE:
        out.append(("issuer", f"发文党组织：“{issuer.name}”已撤销"))
    return out


def commendation_problems(decision: Decision, honour: Honour | None, org: Organization | None, member=None,
                          taken: list[Commendation] | None = None) -> list[tuple[str, str]]:
    """What is wrong with giving `honour` to `org` (or `member`) in `decision`. `taken` are the
    decision's entries already made (read once by the caller when adding several)."""
    if decision.is_published:
        return [(None, f"表彰决定 {decision.number} 已印发，不能修改；如需更正，请另行起草表彰决定")]
    if honour is None:
        return [("honour", "荣誉称号：必选")]
    if honour.for_member and member is None:
        return [("member", f"“{honour.name}”表彰党员个人，请选择党员")]
    if not honour.for_member and member is not None:
        return [("member", f"“{honour.name}”表彰党组织，不能授予个人（{member.name}）")]
    if member is not None:
        org = member.org
        if member.status != member.Status.ACTIVE:
            return [("member", f"“{member.name}”不是在册党员，不能表彰")]
    if org is None:
        return [("org", "党组织：必选")]
    if not org.path.startswith(decision.issuer.path):
        return [("org", f"“{org.name}”不在{decision.issuer.name}的范围内，{decision.issuer.name}的表彰决定只能表彰本组织及下级组织")]
    if member is None and org.status != Organization.Status.ACTIVE:
        return [("org", f"“{org.name}”已撤销，不能表彰")]
    if taken is None:
        taken = list(decision.commendations.select_related("honour"))
    for c in taken:
        if member is not None and c.member_id == member.pk:
            return [("member", f"“{member.name}”已在本决定中受到表彰（{c.honour.name}），同一名党员在一份决定中只能表彰一次")]
        if member is None and c.member_id is None and c.org_id == org.pk and c.honour_id == honour.pk:
            return [("org", f"“{org.name}”已在本决定中获评“{honour.name}”")]
    return []


def honour_problems(name, recipient) -> list[tuple[str, str]]:
    name = (name or "").strip()
    out = []
    if not name:
        out.append(("name", "荣誉称号：必填"))
    elif len(name) > 60:
        out.append(("name", "荣誉称号：过长（最多 60 个字）"))
    elif problem := unsafe_characters_problem(name, "荣誉称号"):
        out.append(("name", problem))
    elif Honour.objects.filter(name=name).exists():
        out.append(("name", f"荣誉称号“{name}”已存在"))
    if recipient not in Recipient.values:
        out.append(("recipient", "表彰对象：请选择党组织或党员个人"))
    return out


def first(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise CommendationError(*problems[0])

"""The rules of a visit and of a feedback, as Chinese messages per field: the forms, the API and
the services all ask these (the services raise the first as `FeedbackError`)."""
from __future__ import annotations

import datetime as dt

from dangjian.core.periods import history_problem
from dangjian.core.text import unsafe_characters_problem
from dangjian.members.models import Membership
from dangjian.orgs.models import Organization

from .models import Channel, VisitKind

TEXT_MIN, TEXT_MAX = 5, 2000
PLACE_MAX = 100
COUNT_MAX = 100_000
ISSUES_MAX = 50


class FeedbackError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def first(problems: list[tuple[str | None, str]]) -> None:
    if problems:
        raise FeedbackError(*problems[0])


def text_problem(value, label: str = "内容") -> str:
    """"" or why `value` cannot be a feedback's text (or an answer): 5 to 2000 characters."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        return f"{label}：必填，请写明具体的意见、问题或建议"
    if len(text) < TEXT_MIN:
        return f"{label}：过短（至少 {TEXT_MIN} 个字），请写明具体情况"
    if len(text) > TEXT_MAX:
        return f"{label}：过长（最多 {TEXT_MAX} 个字，现为 {len(text)} 个字）"
    return unsafe_characters_problem(text, label, multiline=True)


def org_problem(org, label: str) -> str:
    if not isinstance(org, Organization):
        return f"{label}：必选"
    if org.status != Organization.Status.ACTIVE:
        return f"{label}：“{org.name}”已撤销"
    return ""


def date_problem(day, label: str, today: dt.date) -> str:
    if not isinstance(day, dt.date):
        return f"{label}：必填（格式：2026-01-31）"
    if day > today:
        return f"{label}：{day:%Y-%m-%d} 晚于今天，不能填写将来的日期"
    return history_problem(day, label)


def feedback_problems(*, channel, org, text, anonymous, received_on, today: dt.date) -> list[tuple[str, str]]:
    out = []
    if channel not in Channel.values:
        out.append(("channel", "来源渠道：请选择走访收集、党员提出或投诉建议"))
    elif anonymous and channel != Channel.COMPLAINT:
        out.append(("anonymous", "匿名：只有投诉建议可以匿名提出"))
    if problem := org_problem(org, "涉及的党组织"):
        out.append(("org", problem))
    if problem := text_problem(text):
        out.append(("text", problem))
    if problem := date_problem(received_on, "收到日期", today):
        out.append(("received_on", problem))
    return out


def issue_lines(text) -> list[str]:
    """The issues raised on a visit, one a line (blank lines dropped)."""
    if not isinstance(text, str):
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def visit_problems(*, org, visited_on, kind, place, households, people, participants, issues,
                   today: dt.date) -> list[tuple[str, str]]:
    out = []
    if problem := org_problem(org, "组织走访的党组织"):
        out.append(("org", problem))
    if problem := date_problem(visited_on, "走访日期", today):
        out.append(("visited_on", problem))
    if kind not in VisitKind.values:
        out.append(("kind", "走访类型：请选择" + "、".join(VisitKind.labels)))
    place = (place or "").strip() if isinstance(place, str) else ""
    if not place:
        out.append(("place", "走访地点：必填（如 XX社区、XX公司）"))
    elif len(place) > PLACE_MAX:
        out.append(("place", f"走访地点：过长（最多 {PLACE_MAX} 个字）"))
    elif problem := unsafe_characters_problem(place, "走访地点"):
        out.append(("place", problem))
    for field, label, value in (("households", "走访户数", households), ("people", "走访人数", people)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= COUNT_MAX:
            out.append((field, f"{label}：应为 0 到 {COUNT_MAX} 之间的整数"))
    if (isinstance(households, int) and isinstance(people, int) and not isinstance(households, bool)
            and not isinstance(people, bool) and households == 0 and people == 0):
        out.append(("people", "走访户数和走访人数不能都为 0"))
    if not participants:
        out.append(("participants", "参加党员：至少填写一名参加走访的党员"))
    elif not out:
        out += participant_problems(org, visited_on, participants)
    if len(issues) > ISSUES_MAX:
        out.append(("issues", f"群众反映的问题：最多 {ISSUES_MAX} 条，请分次登记"))
    for n, line in enumerate(issues, start=1):
        if problem := text_problem(line, f"群众反映的问题第 {n} 条"):
            out.append(("issues", problem))
            break
    return out


def participant_problems(org: Organization, day: dt.date, members) -> list[tuple[str, str]]:
    """Each participant must belong to `org`'s subtree on `day` (their membership then): one query."""
    ids = {m.pk for m in members}
    inside = set(Membership.objects.filter(
        member_id__in=ids, org__path__startswith=org.path, started_on__lte=day)
        .exclude(ended_on__lt=day).values_list("member_id", flat=True))
    outside = [m.name for m in members if m.pk not in inside]
    if outside:
        return [("participants", f"参加党员：{'、'.join(outside[:5])} 在 {day:%Y-%m-%d} 不是“{org.name}”"
                                 "及其下级组织的党员")]
    return []

"""What a record of organizational life must satisfy, whoever writes it: the record form and
the API (through services.record_activity) and the Excel import of historical records check
with these same functions, so the doors accept and refuse the same kinds, dates and texts.
Each raises `ActivityError` naming the field, with a Chinese message."""
from __future__ import annotations

import datetime as dt

from dangjian.core import periods
from dangjian.core.text import unsafe_characters_problem
from dangjian.orgs.models import Organization

from .models import KIND_LABELS, KINDS_FOR_ORG

FIELD_LABELS = {
    "org": "党组织", "kinds": "类型", "held_on": "日期", "starts_at": "开始时间", "place": "地点", "topic": "主题",
    "host": "主持人", "recorder": "记录人", "lecturer": "授课人", "lecturer_name": "授课人（非本组织）",
    "talk_parties": "谈话双方", "minutes": "会议记录", "decisions": "决定事项", "attendance": "出席情况",
    "reason": "撤回原因", "file": "附件", "counts": "应到/实到人数",
}

class ActivityError(ValueError):
    """Bad input; `field` names the field (see FIELD_LABELS), the message is shown as is."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message
        self.errors = {field: [message]}


def fail(field: str, message: str):
    raise ActivityError(field, f"{FIELD_LABELS.get(field, field)}：{message}")


# ---- validation ------------------------------------------------------------------------------

def member_scope_path(org: Organization, parent_path: str | None = None) -> str | None:
    """Path prefix of the members who belong to this org's meetings; None = anyone (党组 and
    工委 have no members of their own: their people are members of branches). A 党小组 meets
    with its branch's members (`parent_path`, when the caller already has it)."""
    if org.kind in ("leading_group", "working_committee"):
        return None
    if org.kind == "cell" and org.parent_id:
        if parent_path is None:
            parent_path = Organization.objects.filter(pk=org.parent_id).values_list("path", flat=True).first()
        return parent_path or org.path
    return org.path


def check_kinds(org: Organization, kinds) -> list[str]:
    if isinstance(kinds, str):
        kinds = [kinds]
    kinds = list(dict.fromkeys(k for k in (kinds or []) if k))
    if not kinds:
        fail("kinds", "请至少选择一种组织生活类型")
    for k in kinds:
        if k not in KIND_LABELS:
            fail("kinds", f"“{k}”不是有效的组织生活类型")
        if org.kind not in KINDS_FOR_ORG[k]:
            fail("kinds", f"{org.get_kind_display()}不开展“{KIND_LABELS[k]}”")
    if "talk" in kinds and len(kinds) > 1:
        fail("kinds", "谈心谈话单独记录，不能与其他类型合并为一条记录")
    return kinds


def check_date(held_on, today: dt.date) -> dt.date:
    if not isinstance(held_on, dt.date) or isinstance(held_on, dt.datetime):
        fail("held_on", "请填写日期")
    if held_on > today:
        fail("held_on", f"{held_on:%Y-%m-%d} 是将来的日期，只能记录已经开展的活动")
    if problem := periods.history_problem(held_on, "日期"):
        raise ActivityError("held_on", problem)
    return held_on


# The one set of length limits for a record's texts, used by the form, the API and the import:
# the model's own max_length for the one-line texts; the minutes and decisions are unlimited
# in the database, so their limits live here.
TEXT_LIMITS = {"place": 100, "topic": 200, "lecturer_name": 50, "minutes": 100_000, "decisions": 20_000}
MULTILINE = {"minutes", "decisions"}


def check_text(fields: dict) -> dict:
    out = {}
    for name, limit in TEXT_LIMITS.items():
        if name in fields:
            value = (fields[name] or "").strip()
            if len(value) > limit:
                fail(name, f"不能超过 {limit:,} 个字（现有 {len(value):,} 个字）")
            problem = unsafe_characters_problem(value, FIELD_LABELS[name], multiline=name in MULTILINE)
            if problem:
                raise ActivityError(name, problem)
            out[name] = value
    return out

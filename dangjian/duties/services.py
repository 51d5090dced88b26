"""Writes to duty lists: marking a manual item done (and withdrawing the mark), and 工委
staff's changes to the items. Each is one transaction and audited; bad input raises
`DutyError` with a Chinese message naming the field, and nothing is written.

Who may do what is the views' business (scoping); these functions check the data.
"""
from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from dangjian.activities.models import KIND_LABELS, KINDS_FOR_ORG, Period
from dangjian.core import audit, defaults, periods, versioning
from dangjian.core.text import citation_problem
from dangjian.orgs.models import OrgKind

from . import completion
from .models import (
    BODY_ROLES,
    ROLE_LABELS,
    ROLE_ORG_KINDS,
    AdministrativeHead,
    DutyItem,
    DutyMark,
    DutyRole,
    Evidence,
    Per,
    Relation,
    Where,
)

FIELD_LABELS = {
    "item": "责任事项", "period": "周期", "done_on": "完成日期", "note": "完成情况", "reason": "撤销原因",
    "title": "责任内容", "min_count": "每周期至少次数", "evidence": "完成依据", "kinds": "计入的组织生活类型",
    "where": "记录所在组织", "relation": "本人身份", "fact": "共用标记", "per": "标记范围", "source": "依据",
    "confirmed": "已核对原文", "item_note": "说明", "year": "生效年度", "role": "职务",
    "unit": "单位", "member": "行政负责人", "since": "任职日期",
}
NOTE_MAX = 200
ITEM_FIELDS = ("title", "period", "min_count", "evidence", "kinds", "where", "relation", "fact", "per", "source",
               "confirmed", "note")
# How far ahead a change may take effect: next year's list can be prepared, a slip (2062) is caught.
MAX_YEARS_AHEAD = 1
CODE_PREFIX = {"party_group_secretary": "pgs", "leadership_member": "lm", "organ_committee_secretary": "ocs",
               "administrative_head": "ah", "discipline_secretary": "ds", "organ_committee": "oc", "party_member": "pm",
               "general_branch_secretary": "gbs", "branch_secretary": "bs"}
# What a duty may never ask for (减负): words of the forbidden features and indicator bases.
FORBIDDEN_WORDS = {
    "打卡": "打卡签到", "签到": "打卡签到", "在线时长": "统计在线时长", "学习时长": "以学习时长考评", "积分": "积分排名",
    "排名": "积分排名", "点赞": "以点赞量考评", "转发": "以转发量考评", "截图": "要求截图留痕", "拍照": "要求拍照留痕",
    "照片": "要求上传照片留痕", "留痕": "要求拍照截图留痕", "登录": "强制登录", "学习笔记": "以学习笔记考评",
}


class DutyError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _fail(field: str, message: str):
    raise DutyError(field, f"{FIELD_LABELS.get(field, field)}：{message}")


# ---- marking manual items ----------------------------------------------------------------------

def _holder_item(member, item_code: str, year: int) -> tuple[completion.Holder, DutyItem]:
    items = {i.code: i for i in completion.items_for_year(year)}
    item = items.get((item_code or "").strip())
    if item is None:
        _fail("item", f"{year} 年的责任清单中没有这一项")
    holder = next((h for h in completion.holders(member_ids=[member.pk], members=True) if h.role == item.role),
                  None)
    if holder is None:
        if item.role in BODY_ROLES:
            _fail("item", f"{member.name} 目前不是机关党委书记，不能标记机关党委清单中的事项")
        if item.role == DutyRole.PARTY_MEMBER:
            _fail("item", f"{member.name} 目前不是在册党员，这一项不在其责任清单中")
        _fail("item", f"{member.name} 目前不担任{ROLE_LABELS[item.role]}，这一项不在其责任清单中")
    return holder, item


def _period(item: DutyItem, label: str, today: dt.date) -> periods.Period:
    try:
        p = periods.parse(label)
    except periods.PeriodError:
        _fail("period", f"“{(label or '')[:20]}”不是有效的周期")
    if p.unit != item.period:
        _fail("period", f"这一项按{item.get_period_display().removeprefix('每')}计，{p.chinese}不是它的周期")
    if p.start > today:
        _fail("period", f"{p.chinese}还没有开始，不能标记完成")
    return p


def _mark_row(item: DutyItem, holder: completion.Holder, p: periods.Period):
    subject = completion.subject_of(item, holder)
    return subject, DutyMark.objects.select_for_update().filter(fact=item.fact_code, subject=subject,
                                                                period=p.label).first()


@transaction.atomic
def mark_done(user, member, item_code: str, period: str, done_on, note: str, *,
              today: dt.date | None = None) -> DutyMark:
    """Mark a manual item of `member` done for one period, with what was done."""
    today = today or timezone.localdate()
    try:
        year = periods.parse(period).year
    except periods.PeriodError:
        _fail("period", f"“{(period or '')[:20]}”不是有效的周期")
    holder, item = _holder_item(member, item_code, year)
    if not item.is_manual:
        _fail("item", "这一项由组织生活记录自动反映，无需也不能手工标记；请先在组织生活中记录相应活动")
    p = _period(item, period, today)
    if not isinstance(done_on, dt.date) or isinstance(done_on, dt.datetime):
        _fail("done_on", "请填写完成日期")
    if done_on > today:
        _fail("done_on", f"{done_on:%Y-%m-%d} 是将来的日期")
    if not p.start <= done_on <= p.end:
        _fail("done_on", f"应在{p.chinese}（{p.start:%Y-%m-%d} 至 {p.end:%Y-%m-%d}）之内")
    note = " ".join((note or "").split())
    if not note:
        _fail("note", "请简要写明做了什么（如会议名称、时间、议题）")
    if len(note) > NOTE_MAX:
        _fail("note", f"不能超过 {NOTE_MAX} 个字，简要写明即可")
    subject, row = _mark_row(item, holder, p)
    if row is not None and row.is_active:
        shared = "（同一单位共用）" if subject.startswith("u") else ""
        _fail("period", f"{p.chinese}已标记完成{shared}：{row.note}")
    fields = dict(member_id=holder.member_id if subject.startswith("m") else None,
                  unit_id=holder.unit_id if subject.startswith("u") else None, org_id=holder.org_id,
                  item_code=item.code, year=p.year, done_on=done_on, note=note, is_active=True, withdrawn_reason="",
                  marked_by=user if user is not None and user.is_authenticated else None)
    if row is None:
        try:
            with transaction.atomic():
                row = DutyMark.objects.create(fact=item.fact_code, subject=subject, period=p.label, **fields)
        except IntegrityError:
            _fail("period", f"{p.chinese}刚刚已被标记完成，请刷新后查看")
        audit.record(user, row, None, note=f"标记完成：{item.title}")
        return row
    before = audit.snapshot(row)
    for key, value in fields.items():
        setattr(row, key, value)
    row.save()
    audit.record(user, row, before, note=f"重新标记完成：{item.title}")
    return row


@transaction.atomic
def withdraw_mark(user, member, item_code: str, period: str, reason: str, *,
                  today: dt.date | None = None) -> DutyMark:
    """Withdraw a mark made by mistake; the row stays, with the reason, in the history."""
    today = today or timezone.localdate()
    try:
        year = periods.parse(period).year
    except periods.PeriodError:
        _fail("period", f"“{(period or '')[:20]}”不是有效的周期")
    holder, item = _holder_item(member, item_code, year)
    p = _period(item, period, today)
    reason = " ".join((reason or "").split())
    if not reason:
        _fail("reason", "请写明撤销的原因")
    if len(reason) > NOTE_MAX:
        _fail("reason", f"不能超过 {NOTE_MAX} 个字")
    _, row = _mark_row(item, holder, p)
    if row is None or not row.is_active:
        _fail("period", f"{p.chinese}没有已标记完成的记录")
    before = audit.snapshot(row)
    row.is_active, row.withdrawn_reason = False, reason
    row.save(update_fields=["is_active", "withdrawn_reason", "marked_at"])
    audit.record(user, row, before, note=f"撤销标记：{item.title}")
    return row


# ---- a unit's administrative head ---------------------------------------------------------------

@transaction.atomic
def name_administrative_head(user, unit, member, since: dt.date | None = None, *,
                             today: dt.date | None = None) -> AdministrativeHead:
    """Name (or change) the 行政负责人 of `unit`: an active member of one of the unit's
    organizations. The one fact of a unit the tree does not hold; audited."""
    from dangjian.members.models import Member

    today = today or timezone.localdate()
    if unit is None:
        _fail("unit", "请选择单位")
    if member is None:
        _fail("member", "请选择行政负责人")
    member = Member.objects.select_related("org").filter(pk=member.pk).first()
    if member is None or member.status != Member.Status.ACTIVE:
        _fail("member", "只能是在册党员")
    if member.org.unit_id != unit.pk:
        _fail("member", f"{member.name} 所在党组织不属于{unit.name}")
    if since is not None and (not isinstance(since, dt.date) or since > today):
        _fail("since", "不能是将来的日期")
    row = AdministrativeHead.objects.select_for_update().filter(unit=unit).first()
    if row is None:
        row = AdministrativeHead.objects.create(unit=unit, member=member, since=since)
        audit.record(user, row, None, note=f"确定行政负责人：{member.name}")
        return row
    if row.member_id == member.pk and row.since == since:
        raise DutyError(None, "没有修改任何内容")
    before = audit.snapshot(row)
    row.member, row.since = member, since
    row.save()
    audit.record(user, row, before, note=f"更换行政负责人：{member.name}")
    return row


# ---- items ---------------------------------------------------------------------------------------

def _burden_source() -> str:
    return defaults.section("burden_reduction").get("sources", "")


def check_item_fields(role: str, fields: dict) -> dict:
    """The item's values, normalised; each bad value names its field."""
    out = dict(fields)
    title = " ".join((out.get("title") or "").split())
    if not title:
        _fail("title", "请填写责任内容")
    if len(title) > 200:
        _fail("title", "不能超过 200 个字")
    for word, what in FORBIDDEN_WORDS.items():
        if word in title:
            raise DutyError("title", f"责任内容：含“{word}”——按减负规定，平台不得要求{what}"
                                     f"（依据：{_burden_source()}）。请写明要做的实际工作")
    out["title"] = title
    if out.get("period") not in Period.values:
        _fail("period", "应为每月、每季度、每半年或每年")
    count = out.get("min_count")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 99:
        _fail("min_count", "应为 1 到 99 的整数")
    if out.get("evidence") not in Evidence.values:
        _fail("evidence", "请选择由记录生成或标记完成")
    if out["evidence"] == Evidence.MANUAL:
        if count != 1:
            _fail("min_count", "标记完成的事项每个周期标记一次，次数应为 1")
        fact = (out.get("fact") or "").strip()
        manual = DutyItem.objects.filter(evidence=Evidence.MANUAL)
        if fact and not (re.fullmatch(r"[a-z][a-z0-9_]{0,47}", fact) and (
                manual.filter(fact=fact).exists() or manual.filter(fact="", code=fact).exists())):
            _fail("fact", "所选的共用事项不存在或已停用，请重新选择")
        per = out.get("per") or Per.PERSON
        if per not in Per.values:
            _fail("per", "不是有效的选项")
        out.update(kinds=[], where="", relation="", fact=fact, per=per)
    else:
        kinds = out.get("kinds")
        if isinstance(kinds, str) or not isinstance(kinds, (list, tuple)):
            _fail("kinds", "应为组织生活类型的列表")
        kinds = [k for k in KIND_LABELS if k in set(kinds)] + sorted(set(kinds) - set(KIND_LABELS))
        if not kinds:
            _fail("kinds", "请至少选择一种组织生活类型")
        for k in kinds:
            if k not in KIND_LABELS:
                _fail("kinds", f"“{k}”不是组织生活类型")
        where, relation = out.get("where"), out.get("relation")
        if where not in Where.values:
            _fail("where", "不是有效的选项")
        if relation not in Relation.values:
            _fail("relation", "不是有效的选项")
        if relation == Relation.ORG and where != Where.ROLE_ORG:
            _fail("relation", "“组织召开即可”只能用于本职务所在组织的记录")
        if relation == Relation.LECTURER and kinds != ["party_lecture"]:
            _fail("relation", "“本人为授课人”只适用于党课")
        if relation == Relation.TALK_PARTY and kinds != ["talk"]:
            _fail("relation", "“本人为谈话一方”只适用于谈心谈话")
        if "talk" in kinds and relation != Relation.TALK_PARTY:
            _fail("kinds", "谈心谈话只记录谈话双方，请选择“本人为谈话一方”")
        if where == Where.ROLE_ORG:
            org_kinds = ROLE_ORG_KINDS[role]
            labels = dict(OrgKind.choices)
            for k in kinds:
                if not any(o in KINDS_FOR_ORG[k] for o in org_kinds):
                    _fail("kinds", f"{'、'.join(labels[o] for o in org_kinds)}不开展“{KIND_LABELS[k]}”")
        out.update(kinds=kinds, fact="", per=Per.PERSON)
    source = " ".join((out.get("source") or "").split())
    problem = citation_problem(source)
    if problem:
        _fail("source", problem)
    out["source"] = source
    out["note"] = (out.get("note") or "").strip()
    if len(out["note"]) > 2000:
        raise DutyError("note", "说明：不能超过 2000 个字")
    out["confirmed"] = bool(out.get("confirmed"))
    return out


def _check_year(year, low: int, today: dt.date) -> int:
    if isinstance(year, bool) or not isinstance(year, int):
        _fail("year", "请填写生效年度")
    if year < low:
        _fail("year", f"不能早于 {low} 年")
    if year > today.year + MAX_YEARS_AHEAD:
        _fail("year", f"不能晚于 {today.year + MAX_YEARS_AHEAD} 年")
    return year


@transaction.atomic
def change_item(user, item: DutyItem, year: int, *, today: dt.date | None = None, version: int | None = None,
                **fields) -> DutyItem:
    """A change from `year` on: a new version (the current one ends the year before), or, if
    the current version starts that year, the same version changed — earlier years keep being
    judged by the list then in force. `version` is the one the editor read (core.versioning):
    a change saved since raises StaleVersion."""
    today = today or timezone.localdate()
    unknown = sorted(set(fields) - set(ITEM_FIELDS))
    if unknown:
        raise DutyError(unknown[0], f"“{unknown[0]}”不能修改")
    current = DutyItem.objects.select_for_update().get(pk=item.pk)
    versioning.claim(current, version)
    if DutyItem.objects.filter(code=current.code, from_year__gt=current.from_year).exists():
        _fail("year", "该条目已有更新的版本，请修改最新版本")
    year = _check_year(year, current.from_year, today)
    if current.to_year is not None and year > current.to_year:
        _fail("year", f"该条目已于 {current.to_year} 年后停用")
    merged = {k: getattr(current, k) for k in ITEM_FIELDS}
    merged.update(fields)
    values = check_item_fields(current.role, merged)
    if set(values["kinds"]) == set(current.kinds):
        values["kinds"] = list(current.kinds)  # the same kinds in their stored order compare equal
    if all(getattr(current, k) == v for k, v in values.items()):
        raise DutyError(None, "没有修改任何内容")
    before = audit.snapshot(current)
    if year == current.from_year:
        for key, value in values.items():
            setattr(current, key, value)
        current.save()
        audit.record(user, current, before, note=f"修改条目（自 {year} 年起）")
        return current
    new = DutyItem(code=current.code, role=current.role, position=current.position, from_year=year,
                   to_year=current.to_year, leaders_only=current.leaders_only, **values)
    current.to_year = year - 1
    current.save(update_fields=["to_year"])
    audit.record(user, current, before, note=f"条目调整：旧版本截至 {year - 1} 年")
    new.save()
    audit.record(user, new, None, note=f"条目调整：自 {year} 年起执行")
    return new


@transaction.atomic
def add_item(user, role: str, year: int, *, today: dt.date | None = None, **fields) -> DutyItem:
    today = today or timezone.localdate()
    if role not in ROLE_LABELS:
        _fail("role", "不是有效的职务")
    unknown = sorted(set(fields) - set(ITEM_FIELDS))
    if unknown:
        raise DutyError(unknown[0], f"“{unknown[0]}”不能填写")
    year = _check_year(year, 2000, today)
    values = check_item_fields(role, fields)
    codes = set(DutyItem.objects.values_list("code", flat=True))
    n = 1
    while f"{CODE_PREFIX[role]}_{n}" in codes:
        n += 1
    last = DutyItem.objects.filter(role=role).order_by("-position").values_list("position", flat=True).first()
    item = DutyItem.objects.create(code=f"{CODE_PREFIX[role]}_{n}", role=role, from_year=year,
                                   position=(last or 0) + 1, **values)
    audit.record(user, item, None, note=f"新增条目（自 {year} 年起）")
    return item


@transaction.atomic
def retire_item(user, item: DutyItem, last_year: int, *, today: dt.date | None = None,
                version: int | None = None) -> DutyItem:
    """Stop an item after `last_year`; the years before keep it. `version` is the item's as
    the editor read it (core.versioning): an item changed since raises StaleVersion, so
    nobody stops an item whose new wording they have not seen."""
    today = today or timezone.localdate()
    current = DutyItem.objects.get(pk=item.pk)
    versioning.claim(current, version)
    if DutyItem.objects.filter(code=current.code, from_year__gt=current.from_year).exists():
        _fail("year", "该条目已有更新的版本，请停用最新版本")
    if isinstance(last_year, bool) or not isinstance(last_year, int):
        _fail("year", "请填写最后执行的年度")
    if last_year < current.from_year:
        _fail("year", f"不能早于该版本的起始年度 {current.from_year} 年")
    if last_year > today.year + MAX_YEARS_AHEAD:
        _fail("year", f"不能晚于 {today.year + MAX_YEARS_AHEAD} 年")
    if current.to_year is not None and current.to_year <= last_year:
        _fail("year", f"该条目已于 {current.to_year} 年后停用")
    before = audit.snapshot(current)
    current.to_year = last_year
    current.save(update_fields=["to_year"])
    audit.record(user, current, before, note=f"停用条目：{last_year} 年后不再执行")
    return current

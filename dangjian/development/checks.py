"""The rules of development, as Chinese messages per field, asked by the forms, the API and the
services alike (the services raise the first as `DevelopmentError`), and the timeline check.

Two kinds of rule:
- **Refused when recorded** (`applicant_problems`, `step_problems`): a step out of the catalog's
  order or dated before the step before it, a date in the future, an applicant under 18 on the
  day of the application, a 培养联系人 or 入党介绍人 who is not a full member, vote figures that
  cannot be (more present than expected), a resolution recorded without a quorum or a majority,
  a second extension of the probation or one outside 6–12 months.
- **Flagged** (`violations`): a duration of the regulation broken — by a step recorded late or
  early (history entered afterwards, imports) or by a step not recorded in time (the talk more
  than a month after the application, an activist not reviewed for six months, an approval
  pending past three months). Flags are what the board and `dangjian development-check` list.

`violations(queryset, today)` reads the applicants, their steps and the rules in three queries,
then judges each applicant in Python: never a query per applicant or per organization.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dangjian.core.text import unsafe_characters_problem
from dangjian.members.models import Category, Member
from dangjian.orgs.models import Organization

from . import catalog
from .catalog import CANCEL, EXTEND, YES
from .models import Applicant, DevelopmentStep
from .rules import Rules, add_months, age_on
from .rules import load as load_rules

# The party committees that approve an admission (具有审批权限的基层党委) or, above a branch
# under no such committee, the working committee (机关工委).
APPROVER_KINDS = ("committee", "organ_committee", "working_committee")
DEVELOPING_KINDS = ("branch", "general_branch")


class DevelopmentError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def first(problems: list[tuple[str | None, str]]) -> None:
    if problems:
        raise DevelopmentError(*problems[0])


def _day(d: dt.date) -> str:
    return f"{d:%Y-%m-%d}"


# ---- refused when recorded ----------------------------------------------------------------------

def applicant_problems(*, name, gender, birth_date, workplace, org, applied_on, today: dt.date,
                       rules: Rules) -> list[tuple[str, str]]:
    out = []
    name = (name or "").strip()
    if not name:
        out.append(("name", "姓名：必填"))
    elif len(name) > 50:
        out.append(("name", "姓名：过长（最多 50 个字）"))
    elif problem := unsafe_characters_problem(name, "姓名"):
        out.append(("name", problem))
    if gender not in ("male", "female"):
        out.append(("gender", "性别：请选择男或女"))
    workplace = (workplace or "").strip()
    if not workplace:
        out.append(("workplace", "工作单位：必填"))
    elif len(workplace) > 100:
        out.append(("workplace", "工作单位：过长（最多 100 个字）"))
    elif problem := unsafe_characters_problem(workplace, "工作单位"):
        out.append(("workplace", problem))
    if not isinstance(org, Organization):
        out.append(("org", "培养党支部：必选"))
    elif org.kind not in DEVELOPING_KINDS:
        out.append(("org", f"培养党支部：“{org.name}”是{org.kind_label}，入党申请由党支部（或党总支）受理和培养"))
    elif org.status != Organization.Status.ACTIVE:
        out.append(("org", f"培养党支部：“{org.name}”已撤销"))
    if not isinstance(applied_on, dt.date):
        out.append(("applied_on", "递交申请日期：必填（格式：2026-01-31）"))
    elif applied_on > today:
        out.append(("applied_on", f"递交申请日期：{_day(applied_on)} 晚于今天，不能填写将来的日期"))
    elif isinstance(birth_date, dt.date):
        least = rules.on("min_age", applied_on).value
        if age_on(birth_date, applied_on) < least:
            out.append(("applied_on", f"递交申请日期：{_day(applied_on)} 时申请人未满 {least} 周岁"
                                      f"（出生于 {_day(birth_date)}），按党章第一条不能申请入党"))
    return out


@dataclass
class StepInput:
    code: str
    done_on: dt.date | None
    talker: Member | None = None
    first_sponsor: Member | None = None
    second_sponsor: Member | None = None
    decision: str = ""
    vote_expected: int | None = None
    vote_present: int | None = None
    vote_for: int | None = None
    training_days: int | None = None
    training_hours: int | None = None
    extension_months: int | None = None
    approver: Organization | None = None
    party_group_consulted: bool = False
    document_received: bool = False
    note: str = ""


SPONSOR_FIELDS = (("first_sponsor", "第一"), ("second_sponsor", "第二"))


def sponsor_word(code: str) -> str:
    return "入党介绍人" if code == "introducers" else "培养联系人"


def step_problems(applicant: Applicant, recorded: list[DevelopmentStep], s: StepInput, *, today: dt.date,
                  rules: Rules) -> list[tuple[str | None, str]]:
    """What is wrong with recording `s` after the applicant's `recorded` steps (in order)."""
    step = catalog.BY_CODE.get(s.code)
    if step is None:
        return [("code", "步骤：请选择要记录的步骤")]
    if applicant.status != Applicant.Status.ACTIVE:
        return [(None, f"{applicant.name}的发展程序{applicant.get_status_display()}，不能再记录步骤")]
    codes, decisions = [r.code for r in recorded], [r.decision for r in recorded]
    allowed = catalog.allowed_next(codes, decisions)
    if step not in allowed:
        if not allowed:
            return [("code", f"步骤：{applicant.name}的发展程序已结束，不能再记录“{step.name}”")]
        names = "或".join(f"“{a.name}”" for a in allowed)
        return [("code", f"步骤：现在不能记录“{step.name}”，按《发展党员工作细则》的顺序，下一步应为{names}")]
    out: list[tuple[str | None, str]] = []
    if not isinstance(s.done_on, dt.date):
        return [("done_on", "日期：必填（格式：2026-01-31）")]
    if s.done_on > today:
        out.append(("done_on", f"日期：{_day(s.done_on)} 晚于今天，不能填写将来的日期"))
    if recorded and s.done_on < recorded[-1].done_on:
        prev = recorded[-1]
        out.append(("done_on", f"日期：{_day(s.done_on)} 早于上一步骤“{prev.name}”的日期 {_day(prev.done_on)}"))
    if step.talker:
        if s.talker is None:
            out.append(("talker", "谈话人：必选（党员）"))
        elif s.talker.status != Member.Status.ACTIVE:
            out.append(("talker", f"谈话人：“{s.talker.name}”不是在册党员"))
    if step.sponsors:
        word = sponsor_word(step.code)
        chosen = [(f, label, getattr(s, f)) for f, label in SPONSOR_FIELDS]
        if chosen[0][2] is None:
            out.append(("first_sponsor", f"第一{word}：必选（正式党员）"))
        if step.sponsors_exact and chosen[1][2] is None:
            out.append(("second_sponsor", f"第二{word}：必选，入党介绍人为两名正式党员（细则第十四条）"))
        for f, label, m in chosen:
            if m is None:
                continue
            if m.status != Member.Status.ACTIVE:
                out.append((f, f"{label}{word}：“{m.name}”不是在册党员"))
            elif m.category != Category.FULL:
                out.append((f, f"{label}{word}：“{m.name}”是{m.get_category_display()}，{word}须由正式党员担任"))
        if chosen[0][2] is not None and chosen[1][2] is not None and chosen[0][2].pk == chosen[1][2].pk:
            out.append(("second_sponsor", f"第二{word}：与第一{word}是同一人，应为两名不同的党员"))
    if step.decision:
        if s.decision not in step.decision:
            labels = "、".join(catalog.DECISION_LABELS[d] for d in step.decision)
            out.append(("decision", f"决定：请选择（{labels}）"))
    elif s.decision:
        out.append(("decision", f"决定：“{step.name}”不作决定，请留空"))
    if step.vote:
        out += _vote_problems(s)
    if step.training:
        days, hours = s.training_days or 0, s.training_hours or 0
        if days <= 0 and hours <= 0:
            out.append(("training_days", "培训天数：请填写培训天数或学时"))
        elif days > 366 or hours > 2000:
            out.append(("training_days", "培训天数：数值不合理，请核对"))
    if step.code == "confirm_meeting" and s.decision == EXTEND:
        ext = rules.on("extension", s.done_on)
        if s.extension_months is None:
            out.append(("extension_months", "延长预备期（月）：延长预备期时必填"))
        elif not ext.value <= s.extension_months <= (ext.value_max or ext.value):
            out.append(("extension_months", f"延长预备期（月）：{s.extension_months} 个月不符合规定，"
                                            f"延长时间不少于 {ext.value} 个月、最长不超过 {ext.value_max} 个月"))
        elif extended(codes, decisions):
            out.append(("decision", "决定：预备期只能延长一次（党章第七条），已延长过的不能再延长"))
    elif s.extension_months:
        out.append(("extension_months", "延长预备期（月）：只有支部大会决定延长预备期时填写"))
    if step.approval:
        if s.approver is None:
            out.append(("approver", "审批党委：必选"))
        elif s.approver.kind not in APPROVER_KINDS or not applicant.org.path.startswith(s.approver.path) \
                or s.approver.pk == applicant.org_id:
            out.append(("approver", f"审批党委：“{s.approver.name}”不是培养党支部的上级党委，"
                                    "应由具有审批权限的基层党委（机关党委、党委）或机关工委审批"))
    out += _unused_fields(step, s)
    if len(s.note or "") > 300:
        out.append(("note", "说明：过长（最多 300 个字）"))
    elif s.note and (problem := unsafe_characters_problem(s.note, "说明")):
        out.append(("note", problem))
    return out


def _unused_fields(step: catalog.Step, s: StepInput) -> list[tuple[str, str]]:
    """A value given for what the step does not record (the API and the import may send any
    field; the form shows only the step's): refused rather than kept unseen."""
    unused = []
    if not step.talker and s.talker is not None:
        unused.append(("talker", "谈话人"))
    if not step.sponsors:
        unused += [(f, f"{label}联系人/介绍人") for f, label in SPONSOR_FIELDS if getattr(s, f) is not None]
    if not step.vote:
        unused += [(f, label) for f, label in (("vote_expected", "应到会有表决权党员"), ("vote_present", "实到会有表决权党员"),
                                               ("vote_for", "赞成票")) if getattr(s, f) is not None]
    if not step.training:
        unused += [(f, label) for f, label in (("training_days", "培训天数"), ("training_hours", "培训学时"))
                   if getattr(s, f) is not None]
    if not step.approval:
        if s.approver is not None:
            unused.append(("approver", "审批党委"))
        if s.party_group_consulted:
            unused.append(("party_group_consulted", "已报党组讨论"))
    return [(f, f"{label}：“{step.name}”不记录此项，请留空") for f, label in unused]


def correction_problems(applicant: Applicant, earlier: list[DevelopmentStep], s: StepInput, *, today: dt.date,
                        rules: Rules) -> list[tuple[str | None, str]]:
    """What is wrong with `s` as the corrected latest step after the `earlier` steps: the same
    rules as recording it anew, and for the application itself the age on its new date."""
    out = []
    if s.code == "apply" and isinstance(s.done_on, dt.date):
        least = rules.on("min_age", s.done_on).value
        if age_on(applicant.birth_date, s.done_on) < least:
            out.append(("done_on", f"日期：{_day(s.done_on)} 时申请人未满 {least} 周岁"
                                   f"（出生于 {_day(applicant.birth_date)}），按党章第一条不能申请入党"))
    return out + step_problems(applicant, earlier, s, today=today, rules=rules)


def _vote_problems(s: StepInput) -> list[tuple[str, str]]:
    fields = (("vote_expected", "应到会有表决权党员", s.vote_expected), ("vote_present", "实到会有表决权党员", s.vote_present),
              ("vote_for", "赞成票", s.vote_for))
    missing = [(f, f"{label}：必填（人数）") for f, label, v in fields if not isinstance(v, int) or v < 0]
    if missing:
        return missing
    if s.vote_expected == 0:
        return [("vote_expected", "应到会有表决权党员：不能为 0")]
    if s.vote_present > s.vote_expected:
        return [("vote_present", f"实到会有表决权党员：{s.vote_present} 人多于应到会的 {s.vote_expected} 人")]
    if s.vote_for > s.vote_present:
        return [("vote_for", f"赞成票：{s.vote_for} 票多于实到会的 {s.vote_present} 人")]
    if s.decision in (YES, EXTEND, CANCEL):
        if not quorum(s.vote_expected, s.vote_present):
            return [("vote_present", f"实到会有表决权党员：{s.vote_present} 人未超过应到会 {s.vote_expected} 人的半数，"
                                     "会议不能作出决议（细则第二十二条）")]
        if not majority(s.vote_expected, s.vote_for):
            return [("vote_for", f"赞成票：{s.vote_for} 票未超过应到会有表决权党员 {s.vote_expected} 人的半数，"
                                 "决议未通过，请选择“不同意”（细则第二十二条）")]
    return []


def quorum(expected: int, present: int) -> bool:
    """More than half of the voting members present."""
    return present * 2 > expected


def majority(expected: int, in_favour: int) -> bool:
    """More than half of the members entitled to vote (应到会), not of those present."""
    return in_favour * 2 > expected


def extended(codes: list[str], decisions: list[str]) -> bool:
    return any(c == "confirm_meeting" and d == EXTEND for c, d in zip(codes, decisions))


# ---- flagged: the timeline check ----------------------------------------------------------------

@dataclass
class Violation:
    applicant_id: int
    person: str
    org_code: str
    step: str  # the step's code (catalog.py)
    rule: str  # the rule's code (TimelineRule.code, or quorum/majority/political_review/party_group)
    message: str
    on: dt.date | None = None  # the day it happened, or the deadline passed

    def as_dict(self) -> dict:
        return {"person": self.person, "org_code": self.org_code, "step": self.step, "rule": self.rule,
                "message": self.message}

    @property
    def step_name(self) -> str:
        return catalog.name_of(self.step)


STEP_COLUMNS = ("applicant_id", "code", "done_on", "decision", "vote_expected", "vote_present", "vote_for",
                "training_days", "training_hours", "extension_months", "approver__kind", "party_group_consulted")


def violations(queryset, today: dt.date, rules: Rules | None = None) -> list[Violation]:
    """The timeline rules broken by the applicants of `queryset`, as of `today`: three queries
    (applicants, their steps, the rules), then Python over the rows."""
    rules = rules or load_rules()
    people = list(queryset.order_by().values_list("id", "name", "birth_date", "applied_on", "status", "org__code"))
    steps: dict[int, list[tuple]] = {}
    rows = (DevelopmentStep.objects.filter(applicant__in=queryset.order_by().values("pk"))
            .order_by("applicant_id", "done_on", "id").values_list(*STEP_COLUMNS))
    for row in rows.iterator(chunk_size=5000):
        steps.setdefault(row[0], []).append(row)
    out = []
    for pk, name, born, applied, status, code in sorted(people, key=lambda p: (p[5], p[1], p[0])):
        out += judge(pk, name, code, born, applied, status == Applicant.Status.ACTIVE, steps.get(pk, []),
                     today, rules)
    return out


def judge(pk, name, org_code, born, applied, active: bool, rows: list[tuple], today: dt.date,
          rules: Rules) -> list[Violation]:
    """One applicant's violations from their step rows (STEP_COLUMNS, in date order)."""
    out: list[Violation] = []

    def flag(step, rule, message, on=None):
        out.append(Violation(pk, name, org_code, step, rule, message, on))

    first_of: dict[str, tuple] = {}
    for r in rows:
        first_of.setdefault(r[1], r)
    has = first_of.__contains__

    def on(code):
        return first_of[code][2] if code in first_of else None

    # 年满十八周岁
    least = rules.on("min_age", applied).value
    if born and applied and age_on(born, applied) < least:
        flag("apply", "min_age", f"递交入党申请时未满 {least} 周岁（{_day(born)} 出生，{_day(applied)} 申请）", applied)
    # 一个月内谈话
    r = rules.on("talk_within", applied)
    limit = add_months(applied, r.value)
    if has("talk") and on("talk") > limit:
        flag("talk", r.code, f"谈话日期 {_day(on('talk'))} 超过收到入党申请书后 {r.value} 个月（应在 {_day(limit)} 前）",
             on("talk"))
    elif not has("talk") and active and today > limit:
        flag("talk", r.code, f"收到入党申请书已超过 {r.value} 个月（应在 {_day(limit)} 前）仍未派人谈话", limit)
    # 每半年考察一次; 一年以上培养考察
    if has("recommend") and first_of["recommend"][3] == YES:
        start = on("recommend")
        reviews = [row[2] for row in rows if row[1] == "activist_review"]
        end = on("candidate") if has("candidate") else (today if active else None)
        points = [start, *reviews] + ([end] if end else [])
        r = rules.on("activist_review", start)
        for a, b in zip(points, points[1:]):
            due = add_months(a, r.value)
            if b > due:
                flag("activist_review", r.code, f"入党积极分子自 {_day(a)} 起超过 {r.value} 个月未考察（应在 {_day(due)} 前）",
                     due)
                break
        if has("candidate"):
            r = rules.on("activist_min", on("candidate"))
            ready = add_months(start, r.value)
            if on("candidate") < ready:
                flag("candidate", r.code, f"确定为发展对象（{_day(on('candidate'))}）时培养考察不满 {r.value} 个月"
                                          f"（{_day(start)} 确定为入党积极分子，应在 {_day(ready)} 以后）", on("candidate"))
    # 集中培训不少于三天或二十四学时
    if has("training"):
        t = first_of["training"]
        days_rule, hours_rule = rules.on("training_days", t[2]), rules.on("training_hours", t[2])
        if (t[7] or 0) < days_rule.value and (t[8] or 0) < hours_rule.value:
            flag("training", "training_min", f"集中培训 {t[7] or 0} 天、{t[8] or 0} 学时，不足 {days_rule.value} 天"
                                             f"或 {hours_rule.value} 学时", t[2])
    # 政治审查在支部大会之前
    if has("branch_meeting"):
        meeting = on("branch_meeting")
        passed = [row for row in rows if row[1] == "political_review" and row[3] == YES and row[2] <= meeting]
        if not passed:
            flag("branch_meeting", "political_review", f"支部大会（{_day(meeting)}）讨论前没有合格的政治审查结论", meeting)
    # 预审后一个月内提交支部大会
    if has("pre_review") and first_of["pre_review"][3] == YES:
        r = rules.on("branch_meeting_within", on("pre_review"))
        limit = add_months(on("pre_review"), r.value)
        if has("branch_meeting") and on("branch_meeting") > limit:
            flag("branch_meeting", r.code, f"支部大会（{_day(on('branch_meeting'))}）超过预审后 {r.value} 个月"
                                           f"（应在 {_day(limit)} 前）", on("branch_meeting"))
        elif not has("branch_meeting") and active and today > limit:
            flag("branch_meeting", r.code, f"预审合格已超过 {r.value} 个月（应在 {_day(limit)} 前）仍未提交支部大会讨论", limit)
    # 表决：过半数到会，赞成超过应到会半数
    for row in rows:
        if row[1] in ("branch_meeting", "confirm_meeting") and row[3] in (YES, EXTEND, CANCEL) and row[4]:
            expected, present, in_favour = row[4], row[5] or 0, row[6] or 0
            if not quorum(expected, present):
                flag(row[1], "quorum", f"{catalog.name_of(row[1])}（{_day(row[2])}）实到 {present} 人，"
                                       f"未超过应到会 {expected} 人的半数", row[2])
            elif not majority(expected, in_favour):
                flag(row[1], "majority", f"{catalog.name_of(row[1])}（{_day(row[2])}）赞成 {in_favour} 票，"
                                         f"未超过应到会有表决权党员 {expected} 人的半数", row[2])
    # 三个月内审批，最长不超过六个月
    if has("branch_meeting") and first_of["branch_meeting"][3] == YES:
        meeting = on("branch_meeting")
        r = rules.on("approval_within", meeting)
        soon, latest = add_months(meeting, r.value), add_months(meeting, r.value_max or r.value)
        approved = on("approval")
        if approved and approved > latest:
            flag("approval", "approval_max", f"审批（{_day(approved)}）超过支部大会后 {r.value_max} 个月的上限"
                                             f"（应在 {_day(latest)} 前）", approved)
        elif approved and approved > soon:
            flag("approval", r.code, f"审批（{_day(approved)}）超过支部大会后 {r.value} 个月（应在 {_day(soon)} 前）",
                 approved)
        elif not approved and active and today > latest:
            flag("approval", "approval_max", f"支部大会通过已超过 {r.value_max} 个月（应在 {_day(latest)} 前）仍未审批", latest)
        elif not approved and active and today > soon:
            flag("approval", r.code, f"支部大会通过已超过 {r.value} 个月（应在 {_day(soon)} 前）仍未审批", soon)
    # 党组讨论（机关党委审批前）
    for row in rows:
        if row[1] in ("approval", "confirm_approval") and row[10] == "organ_committee" and not row[11]:
            flag(row[1], "party_group", f"机关党委审批（{_day(row[2])}）前没有报党组讨论（机关基层组织工作条例第三十七条）",
                 row[2])
    # 预备期一年；延长一次，六至十二个月；转正三个月内审批
    if has("approval") and first_of["approval"][3] == YES and has("branch_meeting"):
        r = rules.on("probation", on("branch_meeting"))
        end = add_months(on("branch_meeting"), r.value)
        meetings = [row for row in rows if row[1] == "confirm_meeting"]
        extension = 0
        for i, m in enumerate(meetings):
            if m[2] < end:
                flag("confirm_meeting", r.code, f"讨论转正（{_day(m[2])}）早于预备期满（{_day(end)}）", m[2])
            if m[3] == EXTEND:
                ext = rules.on("extension", m[2])
                if i > 0 or extension:
                    flag("confirm_meeting", ext.code, f"预备期第二次延长（{_day(m[2])}），只能延长一次", m[2])
                elif not ext.value <= (m[9] or 0) <= (ext.value_max or ext.value):
                    flag("confirm_meeting", ext.code, f"预备期延长 {m[9] or 0} 个月，应不少于 {ext.value} 个月、"
                                                      f"不超过 {ext.value_max} 个月", m[2])
                extension = m[9] or 0
                end = add_months(end, extension)
        approvals = [row for row in rows if row[1] == "confirm_approval"]
        rc = rules.on("confirm_within", meetings[0][2]) if meetings else rules.on("confirm_within", end)
        for m in meetings:
            limit = add_months(m[2], rc.value)
            after = [a for a in approvals if a[2] >= m[2]]
            if after and after[0][2] > limit:
                flag("confirm_approval", rc.code, f"转正审批（{_day(after[0][2])}）超过支部大会讨论后 {rc.value} 个月"
                                                  f"（应在 {_day(limit)} 前）", after[0][2])
            elif not after and active and today > limit:
                flag("confirm_approval", rc.code, f"支部大会讨论转正已超过 {rc.value} 个月（应在 {_day(limit)} 前）仍未审批",
                     limit)
        if not meetings and active and today > add_months(end, 6):
            late = add_months(end, 6)
            flag("confirm_meeting", r.code, f"预备期已于 {_day(end)} 期满，超过 6 个月（{_day(late)}）仍未讨论转正", late)
    return out


# ---- the next step and its date -------------------------------------------------------------------

def next_due(rows: list[tuple], active: bool, rules: Rules) -> tuple[str, dt.date | None]:
    """The next step's name and the date it is due by (None: no deadline), from one applicant's
    step rows (STEP_COLUMNS, in date order)."""
    if not active or not rows:
        return "", None
    codes, decisions = [r[1] for r in rows], [r[3] for r in rows]
    allowed = catalog.allowed_next(codes, decisions)
    if not allowed:
        return "", None
    last = rows[-1]
    nxt = allowed[-1]
    first_of: dict[str, tuple] = {}
    for r in rows:
        first_of.setdefault(r[1], r)
    due = None
    if nxt.code == "talk":
        due = add_months(last[2], rules.on("talk_within", last[2]).value)
    elif last[1] in ("contacts", "activist_review"):
        due = add_months(last[2], rules.on("activist_review", last[2]).value)
        nxt = catalog.BY_CODE["activist_review"]
    elif nxt.code == "branch_meeting" and "pre_review" in first_of:
        d = first_of["pre_review"][2]
        due = add_months(d, rules.on("branch_meeting_within", d).value)
    elif nxt.code in ("committee_talk", "approval") and "branch_meeting" in first_of:
        d = first_of["branch_meeting"][2]
        due = add_months(d, rules.on("approval_within", d).value)
    elif nxt.code == "confirm_approval":
        due = add_months(last[2], rules.on("confirm_within", last[2]).value)
    elif nxt.code in ("probation_review", "confirm_request", "confirm_meeting") and "branch_meeting" in first_of:
        d = first_of["branch_meeting"][2]
        due = add_months(d, rules.on("probation", d).value)
        for r in rows:
            if r[1] == "confirm_meeting" and r[3] == EXTEND:
                due = add_months(due, r[9] or 0)
    return nxt.name, due


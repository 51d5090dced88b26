"""The five stages and twenty-five steps of 发展党员 (中国共产党发展党员工作细则, 2014; the 2026
revision keeps the stages and durations and renumbers the articles), as data: each step's code,
name, stage, order, article, what it records and the document it needs.

The document is what the branch keeps on file (入党申请书, 谈话记录 …): written by the people
concerned, uploaded or marked as received on the platform, never written by it and never
required as a photo.
"""
from __future__ import annotations

from dataclasses import dataclass


class Stage:
    APPLICATION = "application"
    ACTIVIST = "activist"
    CANDIDATE = "candidate"
    PROBATIONARY = "probationary"
    FULL = "full"

    CHOICES = [
        (APPLICATION, "申请入党"),
        (ACTIVIST, "入党积极分子"),
        (CANDIDATE, "发展对象"),
        (PROBATIONARY, "预备党员"),
        (FULL, "正式党员"),
    ]
    ORDER = [c for c, _ in CHOICES]
    LABELS = dict(CHOICES)
    # The stage names of the regulation's five chapters, as the timeline shows them.
    CHAPTERS = {
        APPLICATION: "入党申请",
        ACTIVIST: "入党积极分子的确定和培养教育",
        CANDIDATE: "发展对象的确定和考察",
        PROBATIONARY: "预备党员的接收",
        FULL: "预备党员的教育考察和转正",
    }


@dataclass(frozen=True)
class Step:
    code: str
    name: str
    stage: str  # the chapter the step belongs to
    order: int
    article: str
    document: str = ""  # the document kept on file for this step
    talker: bool = False  # a person talks with the applicant (谈话人)
    sponsors: int = 0  # full members named: 培养联系人 (1–2) or 入党介绍人 (2)
    sponsors_exact: bool = False
    vote: bool = False  # a meeting decides by vote (应到/实到/赞成)
    decision: tuple[str, ...] = ()  # the decisions the step may record
    training: bool = False  # days and hours of training
    approval: bool = False  # an approving party committee (审批), the 党组 consulted before
    repeatable: bool = False  # recorded again while it is the latest step (考察 every six months)
    enters: str = ""  # the stage the applicant enters when the step is recorded (with a yes)


YES, NO, EXTEND, CANCEL = "yes", "no", "extend", "cancel"
DECISION_LABELS = {YES: "同意", NO: "不同意", EXTEND: "延长预备期", CANCEL: "取消预备党员资格"}

STEPS: list[Step] = [
    # 一、入党申请
    Step("apply", "递交入党申请书", Stage.APPLICATION, 1, "第五、六条", "入党申请书"),
    Step("talk", "党组织派人谈话", Stage.APPLICATION, 2, "第七条", "谈话记录", talker=True),
    # 二、入党积极分子的确定和培养教育
    Step("recommend", "推荐和确定入党积极分子", Stage.ACTIVIST, 3, "第八条", "推荐材料、支委会确定记录",
         decision=(YES, NO), enters=Stage.ACTIVIST),
    Step("activist_file", "报上级党委备案（入党积极分子）", Stage.ACTIVIST, 4, "第八条", "备案材料"),
    Step("contacts", "指定培养联系人", Stage.ACTIVIST, 5, "第九条", "", sponsors=2),
    Step("activist_review", "培养教育考察（每半年一次）", Stage.ACTIVIST, 6, "第十、十一条", "培养教育考察登记表",
         repeatable=True),
    # 三、发展对象的确定和考察
    Step("candidate", "确定发展对象", Stage.CANDIDATE, 7, "第十三条", "支委会讨论记录、群众意见",
         decision=(YES, NO), enters=Stage.CANDIDATE),
    Step("candidate_file", "报上级党委备案（发展对象）", Stage.CANDIDATE, 8, "第十三条", "备案材料"),
    Step("introducers", "确定入党介绍人", Stage.CANDIDATE, 9, "第十四条", "", sponsors=2, sponsors_exact=True),
    Step("political_review", "进行政治审查", Stage.CANDIDATE, 10, "第十五、十六条", "政审材料（结论性材料）",
         decision=(YES, NO)),
    Step("training", "开展集中培训", Stage.CANDIDATE, 11, "第十七条", "培训结业证明", training=True),
    # 四、预备党员的接收
    Step("committee_review", "支部委员会审查", Stage.PROBATIONARY, 12, "第十八条", "支委会审查意见",
         decision=(YES, NO)),
    Step("pre_review", "上级党委预审", Stage.PROBATIONARY, 13, "第十九条", "预审意见", decision=(YES, NO)),
    Step("volunteer_form", "填写入党志愿书", Stage.PROBATIONARY, 14, "第二十条", "入党志愿书"),
    Step("branch_meeting", "支部大会讨论接收预备党员", Stage.PROBATIONARY, 15, "第二十一、二十二条", "支部大会决议",
         vote=True, decision=(YES, NO)),
    Step("committee_talk", "上级党委派人谈话", Stage.PROBATIONARY, 16, "第二十四条", "谈话记录", talker=True),
    Step("approval", "上级党委审批", Stage.PROBATIONARY, 17, "第二十五条；机关基层组织工作条例第三十七条", "审批意见",
         decision=(YES, NO), approval=True, enters=Stage.PROBATIONARY),
    Step("approval_file", "报上级党委组织部门备案", Stage.PROBATIONARY, 18, "第二十五条", "备案材料"),
    # 五、预备党员的教育考察和转正
    Step("oath", "入党宣誓", Stage.FULL, 19, "第二十八条", ""),
    Step("grouping", "编入党支部和党小组", Stage.FULL, 20, "第二十七条", ""),
    Step("probation_review", "继续教育考察", Stage.FULL, 21, "第二十九条", "考察材料", repeatable=True),
    Step("confirm_request", "提出转正申请", Stage.FULL, 22, "第三十条", "转正申请书"),
    Step("confirm_meeting", "支部大会讨论转正", Stage.FULL, 23, "第三十一、三十二条", "支部大会决议", vote=True,
         decision=(YES, EXTEND, CANCEL)),
    # Approves (yes) or not the meeting's decision: to confirm, to extend the probation, to cancel.
    Step("confirm_approval", "上级党委审批转正", Stage.FULL, 24, "第三十三条；机关基层组织工作条例第三十七条", "审批意见",
         decision=(YES, NO), approval=True, enters=Stage.FULL),
    Step("archive", "材料归档", Stage.FULL, 25, "第三十四、三十六条", "归档目录"),
]
BY_CODE = {s.code: s for s in STEPS}
BY_ORDER = {s.order: s for s in STEPS}
CODES = [s.code for s in STEPS]
LAST = STEPS[-1]


def step(code: str) -> Step:
    return BY_CODE[code]


def name_of(code: str) -> str:
    s = BY_CODE.get(code)
    return s.name if s else code


def meeting_decision(codes: list[str], decisions: list[str]) -> str:
    """The decision of the latest confirmation meeting ("" before one)."""
    for code, decision in zip(reversed(codes), reversed(decisions)):
        if code == "confirm_meeting":
            return decision
    return ""


def allowed_next(codes: list[str], decisions: list[str]) -> list[Step]:
    """The steps that may be recorded next after the recorded `codes` (in order) with their
    `decisions`: the next one in order, the latest again when it repeats, and — after an
    approved extension of the probation — the probation review, the request and the meeting
    again. Nothing after a decision that ends the process (不同意, an approved cancellation)."""
    if not codes:
        return [STEPS[0]]
    last, last_decision = BY_CODE[codes[-1]], decisions[-1]
    if last_decision == NO:
        return []
    if last.code == "confirm_approval":
        meeting = meeting_decision(codes, decisions)
        if meeting == EXTEND:
            return [BY_CODE["probation_review"], BY_CODE["confirm_request"], BY_CODE["confirm_meeting"]]
        if meeting == CANCEL:
            return []
    out = []
    if last.repeatable:
        out.append(last)
    if last.order < LAST.order:
        out.append(BY_ORDER[last.order + 1])
    return out


def stage_after(code: str, decision: str, meeting: str) -> str | None:
    """The stage an applicant enters by recording `code` with `decision` (None: unchanged)."""
    s = BY_CODE[code]
    if not s.enters or decision != YES:
        return None
    if code == "confirm_approval" and meeting != YES:
        return None
    return s.enters

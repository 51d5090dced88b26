"""Every write of development: plain functions, one transaction each, audited, checked by
`checks` before anything is written. `user` None is the command line or the demo (no scope
limit); a user must hold `edit` over the applicant's branch.

Admission goes through the roster's own service: when the party committee approves the branch
meeting's decision (the step `approval` with 同意), `members.services.create_member` enters the
person as a 预备党员 of the branch, joined on the day of the approval, and the applicant keeps
the link; the approval of the confirmation (`confirm_approval`) makes the member a full member
through `members.services.update_member`. A failure there (a 身份证号 already on the roster)
refuses the step, and nothing of it is written.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
import secrets
from dataclasses import asdict

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dangjian.activities.checks import ActivityError
from dangjian.activities.services import check_uploads
from dangjian.core import audit, crypto, idcard, versioning
from dangjian.core.scoping import can
from dangjian.core.text import unsafe_characters_problem
from dangjian.members import services as member_services
from dangjian.members.models import Category, Education, Member
from dangjian.members.services import MemberError
from dangjian.orgs.models import Organization

from . import catalog, checks
from .catalog import CANCEL, EXTEND, NO, YES, Stage
from .checks import DevelopmentError, StepInput, applicant_problems, first, step_problems
from .models import Applicant, DevelopmentStep, StepCorrection
from .rules import load as load_rules

OUTSIDE = "不在您的权限范围内"
ADMITTED = "发展入党（接收为预备党员）"


def _actor(user):
    return user if user is not None and user.is_authenticated else None


def _may_edit(user, org: Organization, field: str = "org") -> None:
    if user is not None and not can(user, "edit", org.path):
        raise DevelopmentError(field, f"培养党支部：“{org.name}”{OUTSIDE}")


def _id_number(raw: str) -> str:
    try:
        return idcard.validate(raw)
    except idcard.IdNumberError as exc:
        raise DevelopmentError("id_number", f"身份证号：{exc}") from None


def _document(upload):
    """The upload checked (type, size, content) as the activity attachments are; None for none."""
    if upload is None:
        return None
    try:
        return check_uploads([upload])[0]
    except ActivityError as exc:
        raise DevelopmentError("document", "材料文件：" + exc.message.split("：", 1)[-1]) from None


def register_applicant(user, *, org: Organization, name: str, id_number: str, workplace: str, applied_on: dt.date,
                       education: str, phone: str = "", ethnicity: str = "汉族", gender: str | None = None,
                       document=None, document_received: bool = False, today: dt.date | None = None) -> Applicant:
    """递交入党申请书: the applicant with the first step. Birth date and gender are read from the
    身份证号 (a `gender` given that differs from it is refused)."""
    today = today or timezone.localdate()
    number = _id_number(id_number)
    born, from_number = idcard.birth_date(number), idcard.gender(number)
    if gender and gender != from_number:
        raise DevelopmentError("gender", "性别：与身份证号不符（身份证号第十七位单数为男、双数为女）")
    rules = load_rules()
    first(applicant_problems(name=name, gender=from_number, birth_date=born, workplace=workplace, org=org,
                             applied_on=applied_on, today=today, rules=rules))
    if education not in Education.values:
        raise DevelopmentError("education", "学历：请选择")
    phone = (phone or "").strip()
    if phone and (not phone.isdigit() or not 7 <= len(phone) <= 20):
        raise DevelopmentError("phone", f"手机号码：“{phone[:20]}”不是有效的号码")
    _may_edit(user, org)
    checked = _document(document)
    if Applicant.objects.by_id_number(number).exists():
        raise DevelopmentError("id_number", "身份证号：该申请人已登记，请在入党申请人名单中查找")
    if Member.objects.by_id_number(number).exists():
        raise DevelopmentError("id_number", "身份证号：该身份证号已在党员名册中，不能再申请入党")
    stored = []
    try:
        with transaction.atomic():
            applicant = Applicant.objects.create(
                name=name.strip(), gender=from_number, birth_date=born, ethnicity=(ethnicity or "汉族").strip()[:20],
                education=education, phone=phone, id_number_enc=crypto.encrypt(number),
                id_hash=crypto.lookup_hash(number), id_mask=idcard.mask(number), workplace=workplace.strip(),
                org=org, stage=Stage.APPLICATION, stage_since=applied_on, applied_on=applied_on)
            audit.record(user, applicant, None, note="登记入党申请人")
            step = DevelopmentStep(applicant=applicant, code="apply", done_on=applied_on,
                                   document_received=document_received, recorded_by=_actor(user))
            _attach(step, checked, stored)
            step.save()
            audit.record(user, step, None, note=f"记录发展党员步骤：{step.name}")
    except Exception:
        _discard(stored)
        raise
    return applicant


def _attach(step: DevelopmentStep, checked, stored: list[str]) -> None:
    if checked is None:
        return
    step.document.save(f"{secrets.token_hex(12)}{checked.ext}", checked.upload, save=False)
    step.document_name = checked.name
    stored.append(step.document.name)


def _discard(stored: list[str]) -> None:
    for name in stored:
        DevelopmentStep.document.field.storage.delete(name)


def record_step(user, applicant: Applicant, s: StepInput, *, document=None, version: int | None = None,
                today: dt.date | None = None) -> DevelopmentStep:
    """Record the next step. `version` is the applicant's as the form showed it: a step recorded
    meanwhile by someone else raises StaleVersion and nothing is written."""
    today = today or timezone.localdate()
    _may_edit(user, applicant.org)
    checked = _document(document)
    rules = load_rules()
    stored: list[str] = []
    try:
        with transaction.atomic():
            versioning.claim(applicant, version)
            applicant = Applicant.objects.select_related("org", "member").get(pk=applicant.pk)
            recorded = list(applicant.steps.order_by("done_on", "id"))
            first(step_problems(applicant, recorded, s, today=today, rules=rules))
            fields = asdict(s)
            step = DevelopmentStep(applicant=applicant, recorded_by=_actor(user), **fields)
            step.note = (s.note or "").strip()
            _attach(step, checked, stored)
            step.save()
            audit.record(user, step, None, note=f"记录发展党员步骤：{step.name}")
            _advance(user, applicant, recorded + [step])
    except Exception:
        _discard(stored)
        raise
    return step


def _advance(user, applicant: Applicant, steps: list[DevelopmentStep]) -> None:
    """The applicant's stage and status after the latest step, and the roster's part."""
    step = steps[-1]
    codes, decisions = [x.code for x in steps], [x.decision for x in steps]
    meeting = catalog.meeting_decision(codes, decisions)
    before, stored = audit.snapshot(applicant), versioning.stored_values(applicant)
    stage = catalog.stage_after(step.code, step.decision, meeting)
    note = ""
    if stage:
        applicant.stage, applicant.stage_since = stage, step.done_on
    if step.decision == NO:
        applicant.status = Applicant.Status.STOPPED
        note = f"{step.name}：不同意，发展程序终止"
    note = _roster(user, applicant, step, meeting) or note
    if step.code == catalog.LAST.code:
        applicant.status = Applicant.Status.DONE
        note = "材料归档，发展程序完成"
    if versioning.save_changes(applicant, stored):
        audit.record(user, applicant, before, note=note)


def _roster(user, applicant: Applicant, step: DevelopmentStep, meeting: str) -> str:
    """The roster's part of an approval with 同意: the admission (预备党员), or the confirmation
    meeting's decision carried out. Answers the note for the history ("" for nothing done)."""
    if step.decision != YES:
        return ""
    if step.code == "approval":
        applicant.member = _admit(user, applicant, step.done_on)
        return "接收为预备党员，已列入党员名册"
    if step.code != "confirm_approval":
        return ""
    member = Member.objects.get(pk=applicant.member_id)
    if meeting == YES:
        member_services.update_member(user, member, category=Category.FULL, confirmed_on=step.done_on)
        return "转为正式党员"
    if meeting == CANCEL:
        member_services.update_member(user, member, status=Member.Status.REMOVED)
        applicant.status = Applicant.Status.STOPPED
        return "取消预备党员资格"
    if meeting == EXTEND:
        return "延长预备期"
    return ""


def _admit(user, applicant: Applicant, on: dt.date) -> Member:
    number = applicant.id_number
    if number == crypto.UNREADABLE:
        raise DevelopmentError(None, f"{applicant.name}的身份证号无法解密，不能列入党员名册，请联系机关工委")
    try:
        return member_services.create_member(
            user, since=on, reason=ADMITTED, name=applicant.name, gender=applicant.gender,
            ethnicity=applicant.ethnicity, birth_date=applicant.birth_date, id_number=number,
            education=applicant.education, phone=applicant.phone or "—", org=applicant.org,
            category=Category.PROBATIONARY, joined_on=on, confirmed_on=None, workplace=applicant.workplace)
    except MemberError as exc:
        raise DevelopmentError(None, f"不能列入党员名册：{exc}") from None


def link_account(user, applicant: Applicant, account) -> Applicant:
    """The applicant's own login (我的入党进程). One applicant per account."""
    _may_edit(user, applicant.org)
    if account is not None and Applicant.objects.filter(user=account).exclude(pk=applicant.pk).exists():
        raise DevelopmentError("user", "登录账号：该账号已关联另一名入党申请人")
    with transaction.atomic():
        before, stored = audit.snapshot(applicant), versioning.stored_values(applicant)
        applicant.user = account
        versioning.save_changes(applicant, stored)
        audit.record(user, applicant, before, note="关联登录账号")
    return applicant


def stop(user, applicant: Applicant, *, reason: str, version: int | None = None) -> Applicant:
    """终止发展 (the applicant withdraws, or the branch decides so): kept with its steps."""
    _may_edit(user, applicant.org)
    reason = (reason or "").strip()
    if not reason:
        raise DevelopmentError("reason", "终止原因：必填")
    if len(reason) > 200:
        raise DevelopmentError("reason", "终止原因：过长（最多 200 个字）")
    with transaction.atomic():
        versioning.claim(applicant, version)
        applicant.refresh_from_db()
        if applicant.status != Applicant.Status.ACTIVE:
            raise DevelopmentError(None, f"{applicant.name}的发展程序{applicant.get_status_display()}")
        if applicant.member_id:
            raise DevelopmentError(None, f"{applicant.name}已是预备党员，应由支部大会讨论取消预备党员资格")
        before, stored = audit.snapshot(applicant), versioning.stored_values(applicant)
        applicant.status = Applicant.Status.STOPPED
        versioning.save_changes(applicant, stored)
        audit.record(user, applicant, before, note=f"终止发展：{reason}")
    return applicant


# ---- correcting the latest step ------------------------------------------------------------------

CORRECTED_FIELDS = (("done_on", "日期"), ("talker", "谈话人"), ("first_sponsor", "第一联系人/介绍人"),
                    ("second_sponsor", "第二联系人/介绍人"), ("decision", "决定"), ("vote_expected", "应到会有表决权党员"),
                    ("vote_present", "实到会有表决权党员"), ("vote_for", "赞成票"), ("training_days", "培训天数"),
                    ("training_hours", "培训学时"), ("extension_months", "延长预备期（月）"), ("approver", "审批党委"),
                    ("party_group_consulted", "已报党组讨论"), ("document_received", "材料已收到"), ("note", "说明"))
# The steps whose 同意 wrote to the roster: their date and decision are the member's from then on.
ROSTER_STEPS = ("approval", "confirm_approval")


def _shown(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, (Member, Organization)):
        return value.name
    if value in catalog.DECISION_LABELS:
        return catalog.DECISION_LABELS[value]
    return str(value)


def _values(step: DevelopmentStep) -> dict:
    return {f: getattr(step, f) for f, _ in CORRECTED_FIELDS}


def _reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DevelopmentError("reason", f"{what}原因：必填（如 日期录入有误）")
    if len(reason) > 200:
        raise DevelopmentError("reason", f"{what}原因：过长（最多 200 个字）")
    if problem := unsafe_characters_problem(reason, f"{what}原因"):
        raise DevelopmentError("reason", problem)
    return reason


def replay(steps: list[DevelopmentStep]) -> tuple[str, dt.date, str]:
    """(stage, stage_since, status) that the recorded `steps` (in order, the application first) give."""
    stage, since, status = Stage.APPLICATION, steps[0].done_on, Applicant.Status.ACTIVE
    codes: list[str] = []
    decisions: list[str] = []
    for st in steps:
        codes.append(st.code)
        decisions.append(st.decision)
        meeting = catalog.meeting_decision(codes, decisions)
        entered = catalog.stage_after(st.code, st.decision, meeting)
        if entered:
            stage, since = entered, st.done_on
        if st.decision == NO or (st.code == "confirm_approval" and st.decision == YES and meeting == CANCEL):
            status = Applicant.Status.STOPPED
        if st.code == catalog.LAST.code:
            status = Applicant.Status.DONE
    return stage, since, status


def _latest(user, applicant: Applicant, step_id: int, version: int | None, what: str):
    """Inside the transaction: the applicant claimed and reloaded, its steps, and the latest one,
    which must be `step_id`; refused when the process was ended by hand rather than by a step."""
    versioning.claim(applicant, version)
    applicant = Applicant.objects.select_related("org", "member").get(pk=applicant.pk)
    recorded = list(applicant.steps.select_related("talker", "first_sponsor", "second_sponsor", "approver")
                    .order_by("done_on", "id"))
    last = recorded[-1]
    if last.pk != step_id:
        mine = next((x for x in recorded if x.pk == step_id), None)
        if mine is None:
            raise DevelopmentError(None, f"{what}：该步骤记录不存在（可能已被撤回），请刷新页面")
        raise DevelopmentError(None, f"{what}：只能{what}最后记录的步骤“{last.name}”（{last.done_on:%Y-%m-%d}），"
                                     f"“{mine.name}”之后已有步骤")
    if applicant.status != replay(recorded)[2]:
        raise DevelopmentError(None, f"{what}：{applicant.name}的发展程序已由党支部终止，不能再{what}步骤")
    return applicant, recorded, last


def _roster_guard(applicant: Applicant, recorded: list[DevelopmentStep], what: str) -> None:
    """Refused when the latest step's 同意 wrote to the roster: the admission, or the approval of
    a confirmation meeting that decided 转正 or 取消 (an approved extension wrote nothing)."""
    last = recorded[-1]
    if last.code not in ROSTER_STEPS or last.decision != YES:
        return
    meeting = catalog.meeting_decision([x.code for x in recorded], [x.decision for x in recorded])
    if last.code == "confirm_approval" and meeting == EXTEND:
        return
    done = "列入党员名册" if last.code == "approval" else ("办理转正" if meeting == YES else "取消预备党员资格")
    raise DevelopmentError(None, f"{what}：“{last.name}”已据此为{applicant.name}{done}，其日期和审批意见已是党员档案的一部分，"
                                 "不能在此更正或撤回；确有错误的，请在党员名册中更正党员信息")


def _settle(user, applicant: Applicant, steps: list[DevelopmentStep], note: str) -> None:
    before, stored = audit.snapshot(applicant), versioning.stored_values(applicant)
    applicant.stage, applicant.stage_since, applicant.status = replay(steps)
    applicant.applied_on = steps[0].done_on
    if versioning.save_changes(applicant, stored):
        audit.record(user, applicant, before, note=note)


def correct_step(user, applicant: Applicant, step_id: int, s: StepInput, *, reason: str, version: int | None = None,
                 today: dt.date | None = None) -> DevelopmentStep:
    """更正 the latest recorded step (a mistyped date, vote or person): every rule of recording it
    runs again on the new values after the steps before it, and the old values are kept in a
    `StepCorrection` with who, when and why. A step whose 同意 wrote to the roster (the admission,
    the confirmation) keeps its date and decision; one that now says 同意 does its roster part."""
    today = today or timezone.localdate()
    _may_edit(user, applicant.org)
    reason = _reason(reason, "更正")
    rules = load_rules()
    with transaction.atomic():
        applicant, recorded, last = _latest(user, applicant, step_id, version, "更正")
        s.code, s.note = last.code, (s.note or "").strip()
        old = _values(last)
        new = {f: getattr(s, f) for f, _ in CORRECTED_FIELDS}
        changed = [(f, label) for f, label in CORRECTED_FIELDS if _shown(old[f]) != _shown(new[f])]
        if not changed:
            raise DevelopmentError(None, "更正：没有修改任何内容")
        if any(f in ("done_on", "decision") for f, _ in changed):
            _roster_guard(applicant, recorded, "更正")
        before_last = copy.copy(applicant)
        before_last.status = Applicant.Status.ACTIVE  # as it stood before the latest step
        first(checks.correction_problems(before_last, recorded[:-1], s, today=today, rules=rules))
        before = audit.snapshot(last)
        for f, _ in changed:
            setattr(last, f, new[f])
        last.save()
        audit.record(user, last, before, note=f"更正发展党员步骤：{last.name}（{reason}）")
        StepCorrection.objects.create(
            applicant=applicant, step_ref=last.pk, code=last.code, kind=StepCorrection.Kind.CORRECT, reason=reason,
            by=_actor(user), changes=[[label, _shown(old[f]), _shown(new[f])] for f, label in changed])
        _settle(user, applicant, recorded, f"更正“{last.name}”")
        if last.code in ROSTER_STEPS and last.decision == YES and old["decision"] != YES:
            meeting = catalog.meeting_decision([x.code for x in recorded], [x.decision for x in recorded])
            stored = versioning.stored_values(applicant)
            before = audit.snapshot(applicant)
            note = _roster(user, applicant, last, meeting)
            if versioning.save_changes(applicant, stored):
                audit.record(user, applicant, before, note=note)
    return last


def withdraw_step(user, applicant: Applicant, step_id: int, *, reason: str, version: int | None = None) -> None:
    """撤回 the latest recorded step (recorded by mistake): the applicant's stage and status are
    again those of the steps before it, the step's values are kept in a `StepCorrection`."""
    _may_edit(user, applicant.org)
    reason = _reason(reason, "撤回")
    with transaction.atomic():
        applicant, recorded, last = _latest(user, applicant, step_id, version, "撤回")
        if len(recorded) == 1:
            raise DevelopmentError(None, "撤回：“递交入党申请书”是第一步，不能撤回；日期有误的请更正")
        _roster_guard(applicant, recorded, "撤回")
        old = _values(last)
        StepCorrection.objects.create(
            applicant=applicant, step_ref=last.pk, code=last.code, kind=StepCorrection.Kind.WITHDRAW, reason=reason,
            by=_actor(user),
            changes=[[label, _shown(old[f]), ""] for f, label in CORRECTED_FIELDS if _shown(old[f])])
        audit.record(user, last, audit.snapshot(last), action="delete", note=f"撤回发展党员步骤：{last.name}（{reason}）")
        document = last.document.name if last.document else ""
        last.delete()
        _settle(user, applicant, recorded[:-1], f"撤回“{last.name}”")
        if document:
            transaction.on_commit(lambda: _discard([document]))


# ---- the applicant's own login -------------------------------------------------------------------

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{4,30}$")
# Letters and digits that cannot be mistaken for one another when read aloud or copied by hand.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 12
ACCOUNT_TABLE = "accounts.user"


def suggested_username(applicant: Applicant) -> str:
    return f"rd{applicant.pk:06d}"


def _one_time_password(account) -> str:
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
        try:
            validate_password(password, account)
        except ValidationError:
            continue
        return password


def _own_account(applicant: Applicant):
    """The applicant's account when it serves only 我的入党进程 (no role, no member record)."""
    account = applicant.user
    if account is None:
        return None
    if account.member_id or account.roles.exists():
        raise DevelopmentError(None, f"{applicant.name}的登录账号还有其他用途（党员或工作角色），请由机关工委管理该账号")
    return account


def create_account(user, applicant: Applicant, *, username: str) -> tuple:
    """开通 the applicant's own login, which shows 我的入党进程 and nothing of the organization's
    data (it holds no role). Answers (account, one-time password): the password is shown once to
    the secretary who hands it over, kept only as Django's hash, and changed by the applicant."""
    _may_edit(user, applicant.org)
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise DevelopmentError("username", "登录名：4 至 30 个字符，只能用字母、数字和 _ . @ -")
    User = get_user_model()
    with transaction.atomic():
        versioning.claim(applicant, None)
        applicant = Applicant.objects.select_related("org", "user").get(pk=applicant.pk)
        if applicant.status != Applicant.Status.ACTIVE:
            raise DevelopmentError(None, f"{applicant.name}的发展程序{applicant.get_status_display()}，不再开通登录账号")
        if applicant.user_id:
            raise DevelopmentError(None, f"{applicant.name}已有登录账号“{applicant.user.get_username()}”，可以重置密码")
        if User.objects.filter(username__iexact=username).exists():
            raise DevelopmentError("username", f"登录名：“{username}”已被使用，请换一个")
        account = User(username=username, last_name=applicant.name)
        password = _one_time_password(account)
        account.set_password(password)
        account.save()
        audit.event(user, ACCOUNT_TABLE, account.pk, "create", f"为入党申请人{applicant.name}开通登录账号“{username}”",
                    {"username": username, "applicant": applicant.pk})
        before, stored = audit.snapshot(applicant), versioning.stored_values(applicant)
        applicant.user = account
        versioning.save_changes(applicant, stored)
        audit.record(user, applicant, before, note="开通登录账号（我的入党进程）")
    return account, password


def reset_password(user, applicant: Applicant) -> tuple:
    """A new one-time password for the applicant's own login; the old one stops working."""
    _may_edit(user, applicant.org)
    with transaction.atomic():
        applicant = Applicant.objects.select_related("org", "user").get(pk=applicant.pk)
        account = _own_account(applicant)
        if account is None:
            raise DevelopmentError(None, f"{applicant.name}还没有登录账号")
        password = _one_time_password(account)
        account.set_password(password)
        account.save(update_fields=["password"])
        audit.event(user, ACCOUNT_TABLE, account.pk, "password", f"重置入党申请人{applicant.name}的登录密码",
                    {"username": account.get_username(), "applicant": applicant.pk})
    return account, password

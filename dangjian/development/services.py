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

import datetime as dt
import secrets
from dataclasses import asdict

from django.db import transaction
from django.utils import timezone

from dangjian.activities.checks import ActivityError
from dangjian.activities.services import check_uploads
from dangjian.core import audit, crypto, idcard, versioning
from dangjian.core.scoping import can
from dangjian.members import services as member_services
from dangjian.members.models import Category, Education, Member
from dangjian.members.services import MemberError
from dangjian.orgs.models import Organization

from . import catalog
from .catalog import CANCEL, EXTEND, NO, YES, Stage
from .checks import DevelopmentError, StepInput, applicant_problems, first, step_problems
from .models import Applicant, DevelopmentStep
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
    if step.code == "approval" and step.decision == YES:
        applicant.member = _admit(user, applicant, step.done_on)
        note = "接收为预备党员，已列入党员名册"
    if step.code == "confirm_approval" and step.decision == YES:
        member = Member.objects.get(pk=applicant.member_id)
        if meeting == YES:
            member_services.update_member(user, member, category=Category.FULL, confirmed_on=step.done_on)
            note = "转为正式党员"
        elif meeting == CANCEL:
            member_services.update_member(user, member, status=Member.Status.REMOVED)
            applicant.status = Applicant.Status.STOPPED
            note = "取消预备党员资格"
        elif meeting == EXTEND:
            note = "延长预备期"
    if step.code == catalog.LAST.code:
        applicant.status = Applicant.Status.DONE
        note = "材料归档，发展程序完成"
    if versioning.save_changes(applicant, stored):
        audit.record(user, applicant, before, note=note)


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

"""发展党员: an `Applicant` is a person before they are a member — from the application to the
confirmation as a full member — developed by one branch; each `DevelopmentStep` is one of the 25
steps of the catalog (catalog.py) recorded with its date, the people involved, the decision and
its vote, and the document kept. The roster (members.Member) gets the person only when the
party committee approves the admission (预备党员); `Applicant.member` links the two, so the
history before admission stays with the applicant.

`TimelineRule` holds the durations of the regulation as data with an effective date, seeded
from rules/defaults.yaml (`development`) with their sources.

身份证号 is kept as members keep it: encrypted (`id_number_enc`), a keyed hash for uniqueness
(`id_hash`) and the masked form for display (`id_mask`).
"""
from django.conf import settings
from django.db import models

from dangjian.core import crypto
from dangjian.core.scoping import ScopedQuerySet
from dangjian.core.versioning import Versioned
from dangjian.members.models import Education, Gender

from .catalog import DECISION_LABELS, Stage
from .catalog import name_of as step_name


class ApplicantQuerySet(ScopedQuerySet):
    path_lookup = "org__path"

    def active(self):
        return self.filter(status=Applicant.Status.ACTIVE)

    def by_id_number(self, id_number: str):
        return self.filter(id_hash__in=crypto.lookup_hashes(id_number))


class Applicant(Versioned):
    class Status(models.TextChoices):
        ACTIVE = "active", "培养中"
        STOPPED = "stopped", "已终止"
        DONE = "done", "已完成"

    AUDIT_EXCLUDE = ("id_number_enc", "id_hash", "created_at")
    ENCRYPTED_FIELDS = {"id_number_enc": "id_hash"}
    HISTORY_SHOWN = ("id_mask",)
    HISTORY_HIDDEN = ("stage_since",)

    name = models.CharField("姓名", max_length=50, db_index=True)
    gender = models.CharField("性别", max_length=8, choices=Gender.choices)
    birth_date = models.DateField("出生日期")
    ethnicity = models.CharField("民族", max_length=20, default="汉族")
    education = models.CharField("学历", max_length=16, choices=Education.choices)
    phone = models.CharField("手机号码", max_length=20, blank=True)
    id_number_enc = models.TextField(editable=False)
    id_hash = models.CharField(max_length=64, unique=True, editable=False)
    id_mask = models.CharField("身份证号", max_length=18, editable=False)
    workplace = models.CharField("工作单位", max_length=100)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="applicants",
                            verbose_name="培养党支部")
    stage = models.CharField("所处阶段", max_length=16, choices=Stage.CHOICES, default=Stage.APPLICATION)
    stage_since = models.DateField("进入本阶段日期")
    applied_on = models.DateField("递交申请日期")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ACTIVE)
    member = models.OneToOneField("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="applicant", verbose_name="党员档案")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="applicant", verbose_name="登录账号")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ApplicantQuerySet.as_manager()

    class Meta:
        ordering = ["org__path", "name", "id"]
        verbose_name = "入党申请人"
        indexes = [models.Index(fields=["org", "status", "stage"])]

    def __str__(self):
        return self.name

    @property
    def id_number(self) -> str:
        return crypto.read(self.id_number_enc)

    @property
    def stage_label(self) -> str:
        return Stage.LABELS.get(self.stage, self.stage)


def document_path(step, filename: str) -> str:
    # A generated name: no user text reaches the file system.
    import uuid
    from pathlib import Path

    return f"development/{step.applicant_id}/{uuid.uuid4().hex}{Path(filename).suffix.lower()[:10]}"


class DevelopmentStepQuerySet(ScopedQuerySet):
    path_lookup = "applicant__org__path"


class DevelopmentStep(models.Model):
    """One step of the catalog recorded for an applicant. Only the latest may be corrected or
    withdrawn (services.correct_step, withdraw_step), each kept as a `StepCorrection`."""

    class Decision(models.TextChoices):
        YES = "yes", DECISION_LABELS["yes"]
        NO = "no", DECISION_LABELS["no"]
        EXTEND = "extend", DECISION_LABELS["extend"]
        CANCEL = "cancel", DECISION_LABELS["cancel"]

    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="steps")
    code = models.CharField("步骤", max_length=24)
    done_on = models.DateField("日期")
    talker = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name="谈话人")
    first_sponsor = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+", verbose_name="第一联系人/介绍人")
    second_sponsor = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", verbose_name="第二联系人/介绍人")
    decision = models.CharField("决定", max_length=8, choices=Decision.choices, blank=True)
    vote_expected = models.PositiveIntegerField("应到会有表决权党员", null=True, blank=True)
    vote_present = models.PositiveIntegerField("实到会有表决权党员", null=True, blank=True)
    vote_for = models.PositiveIntegerField("赞成票", null=True, blank=True)
    training_days = models.PositiveSmallIntegerField("培训天数", null=True, blank=True)
    training_hours = models.PositiveSmallIntegerField("培训学时", null=True, blank=True)
    extension_months = models.PositiveSmallIntegerField("延长预备期（月）", null=True, blank=True)
    approver = models.ForeignKey("orgs.Organization", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name="审批党委")
    party_group_consulted = models.BooleanField("已报党组讨论", default=False)
    document = models.FileField("材料文件", upload_to=document_path, blank=True)
    document_name = models.CharField("材料文件名", max_length=200, blank=True)
    document_received = models.BooleanField("材料已收到", default=False)
    note = models.CharField("说明", max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name="记录人")
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)

    objects = DevelopmentStepQuerySet.as_manager()

    AUDIT_EXCLUDE = ("recorded_at", "document")

    class Meta:
        ordering = ["applicant", "done_on", "id"]
        verbose_name = "发展党员步骤"
        indexes = [models.Index(fields=["applicant", "done_on"])]

    def __str__(self):
        return f"{step_name(self.code)}（{self.done_on:%Y-%m-%d}）"

    @property
    def name(self) -> str:
        return step_name(self.code)

    @property
    def has_document(self) -> bool:
        return bool(self.document) or self.document_received

    @classmethod
    def history_display(cls, name, value):
        if name == "code" and isinstance(value, str):
            return step_name(value)
        return None


class StepCorrectionQuerySet(ScopedQuerySet):
    path_lookup = "applicant__org__path"


class StepCorrection(models.Model):
    """A recorded step corrected (a mistyped date, vote or person) or withdrawn, by whom, when
    and why, with the values it had: the step itself then holds the new values, or is gone."""

    class Kind(models.TextChoices):
        CORRECT = "correct", "更正"
        WITHDRAW = "withdraw", "撤回"

    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="corrections")
    step_ref = models.PositiveBigIntegerField("步骤记录编号")
    code = models.CharField("步骤", max_length=24)
    kind = models.CharField("更正方式", max_length=10, choices=Kind.choices)
    changes = models.JSONField("更正内容", default=list)  # [[label, old, new], …] as shown
    reason = models.CharField("更正原因", max_length=200)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name="更正人")
    at = models.DateTimeField("更正时间", auto_now_add=True)

    objects = StepCorrectionQuerySet.as_manager()

    AUDIT_EXCLUDE = ("at",)

    class Meta:
        ordering = ["applicant", "at", "id"]
        verbose_name = "发展党员步骤更正"

    def __str__(self):
        return f"{self.get_kind_display()}：{step_name(self.code)}"

    @property
    def name(self) -> str:
        return step_name(self.code)

    @classmethod
    def history_display(cls, name, value):
        if name == "code" and isinstance(value, str):
            return step_name(value)
        return None


class TimelineRule(models.Model):
    """One duration of the regulation (`code`) as in force from `effective_from`: a change is a
    new row from its date, so a step is judged by the rule of its day."""

    code = models.CharField("规则", max_length=40)
    name = models.CharField("名称", max_length=80)
    value = models.PositiveSmallIntegerField("数值")
    value_max = models.PositiveSmallIntegerField("上限", null=True, blank=True)
    unit = models.CharField("单位", max_length=10)
    source = models.CharField("依据", max_length=200)
    effective_from = models.DateField("生效日期")
    created_at = models.DateTimeField(auto_now_add=True)

    AUDIT_EXCLUDE = ("created_at",)

    class Meta:
        ordering = ["code", "effective_from"]
        verbose_name = "发展党员时限规则"
        constraints = [models.UniqueConstraint(fields=["code", "effective_from"], name="one_rule_per_day")]

    def __str__(self):
        return self.name

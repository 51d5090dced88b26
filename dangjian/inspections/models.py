"""督查 (Inspection): a plan run by an issuing organization (the 工委, or a unit's party
organization inside its own subtree) over target organizations of its subtree.

- Kinds: 日常督查, 随机督查 (targets drawn from a pool with a recorded seed: see `draw.py`),
  集中督查, 专项督查. Any kind may be 四不两直 (`unannounced`): not announced in advance.
- The team are user accounts (inspectors, staff) who record visits and findings on the targets.
- The checklist is copied from an assessment scheme's indicators, or typed as free items.
- A finding is recorded on site per target (and checklist item when it answers one): a text
  and the list it goes to (问题、任务、建议清单), an optional attachment — never a required photo.
  Each finding, or those chosen, becomes a rectification item (`rectification.Item`, source
  "inspection", source_id the inspection's id), followed there until it is closed (销号).
- Outside evaluators (两代表一委员, 群众代表) grade each target on a one-time code: only the
  code's hash is kept, whether it was used, and the grades without any link to the code.

Who sees what (`InspectionQuerySet.visible_to`): the issuing side (readers of the issuer) and the
team see the whole plan. The targets' own people (whose scope covers a target but not the
issuer) see an announced plan, and of a 四不两直 plan nothing until the visit to their target is
recorded; then that target's record and findings. Of the targets they only ever see their own.
"""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from dangjian.core.scoping import ScopedQuerySet, scope_of
from dangjian.core.versioning import Versioned


class Kind(models.TextChoices):
    DAILY = "daily", "日常督查"
    RANDOM = "random", "随机督查"
    CONCENTRATED = "concentrated", "集中督查"
    SPECIAL = "special", "专项督查"


class FindingList(models.TextChoices):
    PROBLEM = "problem", "问题清单"
    TASK = "task", "任务清单"
    SUGGESTION = "suggestion", "建议清单"


class EvaluatorGroup(models.TextChoices):
    DEPUTIES = "deputies", "两代表一委员"
    PUBLIC = "public", "群众代表"


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", "满意"
    BASIC = "basic", "基本满意"
    UNSATISFIED = "unsatisfied", "不满意"


def random_id() -> int:
    """A random positive 63-bit key: an evaluation's key says nothing of when it was given, nor
    which other grades came from the same code."""
    return secrets.randbits(63) or 1


def min_group() -> int:
    """The fewest evaluations of a target for its grades and comments to be shown
    (settings.INSPECTION_MIN_GROUP, default 5): with fewer, one person's answer could be read."""
    return max(1, int(getattr(settings, "INSPECTION_MIN_GROUP", 5)))


def _target_side(prefixes: list[str]) -> Q:
    """Targets the holders of `prefixes` may see as the inspected side: an announced plan's
    targets, a 四不两直 plan's only once visited."""
    q = Q(pk__in=[])
    for prefix in prefixes:
        q |= Q(org__path__startswith=prefix)
    return q & (Q(inspection__unannounced=False) | Q(visited_on__isnull=False))


class InspectionQuerySet(ScopedQuerySet):
    path_lookup = "issuer__path"

    def visible_to(self, user, capability: str = "view"):
        """The issuing side with `capability` over the issuer; for "view" also the team, and the
        targets' people as the module docstring says."""
        scope = scope_of(user)
        q = Q(pk__in=[])
        for prefix in scope.prefixes(capability):
            q |= Q(issuer__path__startswith=prefix)
        if capability in ("view", "inspect") and user is not None and user.is_authenticated:
            q |= Q(pk__in=Inspection.team.through.objects.filter(user_id=user.pk).values("inspection_id"))
        if capability == "view" and scope.prefixes("view"):
            q |= Q(pk__in=Target.objects.filter(_target_side(scope.prefixes("view"))).values("inspection_id"))
        return self.filter(q)


class Inspection(Versioned):
    """One inspection plan (督查计划) and its progress."""

    class Status(models.TextChoices):
        PLANNED = "planned", "计划中"
        IN_PROGRESS = "in_progress", "督查中"
        REPORTED = "reported", "已通报"

    AUDIT_EXCLUDE = ("created_at",)
    HISTORY_HIDDEN = ("draw_pool",)

    title = models.CharField("名称", max_length=120)
    kind = models.CharField("督查方式", max_length=14, choices=Kind.choices)
    unannounced = models.BooleanField("四不两直", default=False,
                                      help_text="不发通知、不打招呼、不听汇报、不用陪同接待，直奔基层、直插现场")
    issuer = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                               verbose_name="组织单位")
    year = models.PositiveSmallIntegerField("年度")
    starts_on = models.DateField("计划开始日期")
    ends_on = models.DateField("计划结束日期")
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.PLANNED)
    note = models.TextField("督查内容", blank=True)
    team = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name="督查组成员")
    scheme = models.ForeignKey("assessment.Scheme", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name="检查清单来源（考核方案）")
    # A random inspection's draw: the seed, how many, the pool's rule and the pool as drawn
    # from (codes in path order), so anyone can re-run random.Random(seed).sample(pool, count).
    draw_seed = models.BigIntegerField("抽取种子", null=True, blank=True)
    draw_count = models.PositiveSmallIntegerField("抽取数量", null=True, blank=True)
    draw_rule = models.JSONField("抽取范围", default=dict, blank=True)
    draw_pool = models.JSONField("抽取池", default=list, blank=True)
    reported_at = models.DateTimeField("通报时间", null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InspectionQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = "督查"
        indexes = [models.Index(fields=["year", "kind", "status"])]

    def __str__(self):
        return self.title

    @property
    def is_random(self) -> bool:
        return self.kind == Kind.RANDOM

    @classmethod
    def history_display(cls, name, value):
        if name == "draw_rule" and isinstance(value, dict):
            kinds = value.get("kind_labels") or []
            return f"{value.get('under_name', '')}下的{'、'.join(kinds) or '各级组织'}"
        return None


class TargetQuerySet(ScopedQuerySet):
    path_lookup = "org__path"

    def visible_to(self, user, capability: str = "view"):
        """The issuing side and the team see every target of their plans; the targets' people
        their own targets as the rule of 四不两直 allows."""
        scope = scope_of(user)
        q = Q(pk__in=[])
        for prefix in scope.prefixes(capability):
            q |= Q(inspection__issuer__path__startswith=prefix)
        if capability in ("view", "inspect") and user is not None and user.is_authenticated:
            q |= Q(inspection__in=Inspection.team.through.objects.filter(user_id=user.pk).values("inspection_id"))
        if capability == "view":
            q |= _target_side(scope.prefixes("view"))
        return self.filter(q)


class Target(models.Model):
    """A target organization of an inspection, and the visit to it (督查走访)."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="targets")
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name="督查对象")
    position = models.PositiveIntegerField(default=0)
    visited_on = models.DateField("督查日期", null=True, blank=True)
    visited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="记录人")
    visit_note = models.TextField("现场情况", blank=True)

    objects = TargetQuerySet.as_manager()

    HISTORY_HIDDEN = ("position",)

    class Meta:
        ordering = ["inspection", "position", "id"]
        verbose_name = "督查对象"
        constraints = [models.UniqueConstraint(fields=["inspection", "org"], name="one_target_per_org_per_inspection")]

    def __str__(self):
        return str(self.org)


class ChecklistItem(models.Model):
    """One point to check (检查清单), copied from an indicator or typed."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="checklist")
    position = models.PositiveIntegerField(default=0)
    category = models.CharField("类别", max_length=40, blank=True)
    text = models.CharField("检查内容", max_length=300)
    indicator = models.ForeignKey("assessment.Indicator", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name="考核指标")

    HISTORY_HIDDEN = ("position",)

    class Meta:
        ordering = ["inspection", "position", "id"]
        verbose_name = "检查清单项"

    def __str__(self):
        return self.text


def attachment_path(instance, filename):
    return f"inspections/{instance.inspection_id}/{instance.target_id}/{filename}"


class Finding(models.Model):
    """督查发现: what the team found at a target, on a checklist item or in general."""

    AUDIT_EXCLUDE = ("attachment", "recorded_at")

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="findings")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="findings", verbose_name="督查对象")
    item = models.ForeignKey(ChecklistItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings",
                             verbose_name="检查清单项")
    list = models.CharField("清单", max_length=10, choices=FindingList.choices, default=FindingList.PROBLEM)
    text = models.TextField("发现情况")
    attachment = models.FileField("附件", upload_to=attachment_path, max_length=255, blank=True)
    attachment_name = models.CharField("附件名", max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name="记录人")
    recorded_at = models.DateTimeField(auto_now_add=True)
    # The rectification item the finding became (交办), once it did.
    rectification_item = models.ForeignKey("rectification.Item", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name="整改事项")

    class Meta:
        ordering = ["target__position", "target_id", "item__position", "id"]
        verbose_name = "督查发现"
        indexes = [models.Index(fields=["inspection", "target"])]

    def __str__(self):
        return self.text[:40]


class EvaluationCode(models.Model):
    """A one-time evaluation code. Only its hash is kept, its group, and whether it was used."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="codes")
    group = models.CharField("评价群体", max_length=10, choices=EvaluatorGroup.choices)
    code_hash = models.CharField(max_length=64, unique=True)
    used = models.BooleanField(default=False)

    class Meta:
        verbose_name = "评价码"


class Evaluation(models.Model):
    """One evaluator's grade of one target (no link to the code, nor to the other grades the same
    evaluator gave: results are only read as counts per target)."""

    id = models.BigIntegerField(primary_key=True, default=random_id, editable=False)
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="evaluations")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="evaluations")
    group = models.CharField("评价群体", max_length=10, choices=EvaluatorGroup.choices)
    grade = models.CharField("评价", max_length=12, choices=Satisfaction.choices)
    comment = models.CharField("意见", max_length=500, blank=True)

    class Meta:
        verbose_name = "督查评价"
        indexes = [models.Index(fields=["inspection", "target"])]

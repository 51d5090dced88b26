"""Assessment (考核): a scheme of weighted indicators per year and target level, evaluation runs
that score every target of the level for a period, and the admonitions (约谈) that follow.

An indicator is either automatic — a metric from `metrics.REGISTRY`, computed set-based from
records the platform already holds, so nobody reports the same fact twice — or manual, scored
by assessors with a comment. Its contribution to a target's total is `ratio × weight`, where
the ratio is the metric's value (0–1) or the manual score over the indicator's maximum.

A run stores its scores (one `TargetScore` per target, the per-indicator breakdown in JSON) so
the pages, the bulletin and the trend charts read stored rows; re-running replaces them.

A run is a draft (暂定) while its result is not complete: its period has not ended or some
manual scores are not entered. A draft keeps its scores (阶段性, for 每月一考评 mid-month) but has
no grade, lists nobody for 约谈 and no bulletin is issued from it; it becomes final (定稿) when it
is computed complete after its period (see services.run_evaluation and services.finalize).
"""
from decimal import Decimal

from django.conf import settings
from django.db import models

from dangjian.core import periods
from dangjian.core.versioning import Versioned


class Level(models.TextChoices):
    """Who a scheme assesses."""

    UNIT = "unit", "各单位（部门）党组织"
    BRANCH = "branch", "党支部"


class Grade(models.TextChoices):
    EXCELLENT = "excellent", "好"
    GOOD = "good", "较好"
    FAIR = "fair", "一般"
    POOR = "poor", "差"


GRADE_ORDER = [Grade.EXCELLENT, Grade.GOOD, Grade.FAIR, Grade.POOR]
DEFAULT_THRESHOLDS = {"excellent": 90, "good": 80, "fair": 60}


class Scheme(Versioned):
    """考核方案: the indicators one level is assessed by in one year.

    Grading: `thresholds` are the lowest total (as a percentage of `total`) of each grade above
    差; `quotas` optionally cap the share of targets given a grade (e.g. 好 at most 30%): a target
    over the cap drops to the next grade, and targets tied at the cap drop together, so a quota
    is never exceeded by a tie. Targets scoring below `admonish_below` are listed for 约谈."""

    code = models.CharField("方案代码", max_length=40, unique=True)
    name = models.CharField("方案名称", max_length=100)
    year = models.PositiveSmallIntegerField("年度")
    level = models.CharField("考核对象", max_length=12, choices=Level.choices)
    total = models.DecimalField("总分", max_digits=6, decimal_places=2, default=Decimal(100))
    thresholds = models.JSONField("等次分数线", default=dict)
    quotas = models.JSONField("等次比例上限", default=dict, blank=True)
    admonish_below = models.DecimalField("约谈分数线", max_digits=6, decimal_places=2, default=Decimal(60))
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    verbose_name="复制自")
    note = models.TextField("说明", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "level", "code"]
        verbose_name = "考核方案"

    def __str__(self):
        return f"{self.name}（{self.code}）"

    def grade_thresholds(self) -> dict[str, Decimal]:
        values = {**DEFAULT_THRESHOLDS, **(self.thresholds or {})}
        return {k: Decimal(str(v)) for k, v in values.items()}

    @classmethod
    def history_display(cls, name, value):
        from dangjian.core.history import in_order, number, percent

        labels = dict(Grade.choices)
        if name == "thresholds" and isinstance(value, dict):
            return "、".join(f"{labels.get(k, '其他等次')} ≥ {number(v)}%" for k, v in in_order(value, labels))
        if name == "quotas" and isinstance(value, dict):
            return "、".join(f"{labels.get(k, '其他等次')}不超过 {percent(v)}" for k, v in in_order(value, labels))
        return None


class Indicator(models.Model):
    class Method(models.TextChoices):
        METRIC = "metric", "平台数据自动计算"
        MANUAL = "manual", "考核组评分"

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="indicators")
    position = models.PositiveSmallIntegerField("序号", default=0)
    category = models.CharField("类别", max_length=40)
    name = models.CharField("指标", max_length=200)
    weight = models.DecimalField("分值", max_digits=6, decimal_places=2)
    method = models.CharField("计分方式", max_length=8, choices=Method.choices)
    metric = models.CharField("计算指标", max_length=40, blank=True)
    params = models.JSONField("计算参数", default=dict, blank=True)
    max_score = models.DecimalField("评分满分", max_digits=6, decimal_places=2, null=True, blank=True)
    note = models.TextField("评分标准", blank=True)

    HISTORY_HIDDEN = ("position",)  # the order of the list, shown by the list itself

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "考核指标"
        constraints = [models.UniqueConstraint(fields=["scheme", "name"], name="one_indicator_name_per_scheme")]

    def __str__(self):
        return self.name

    @classmethod
    def history_display(cls, name, value):
        from .metrics import REGISTRY

        if name == "metric":
            metric = REGISTRY.get(value)
            return metric.label if metric else "已停用的计算指标"
        if name == "params" and isinstance(value, dict):
            from dangjian.activities.models import ActivityRule

            parts = []
            for key, v in value.items():
                if key == "rule":
                    rule = ActivityRule.objects.filter(code=v).order_by("-effective_from").first()
                    parts.append("限于组织生活要求：" + (f"{rule.get_kind_display()}（{rule.get_period_display()}）"
                                                  if rule else "已停止执行的要求"))
                elif key == "mode":
                    parts.append("按等次分值计算加权得分" if v == "score" else "按“好”和“较好”的比例计算")
                else:
                    parts.append("其他计算参数")
            return "；".join(parts)
        return None


class ManualScore(Versioned):
    """An assessor's score of a manual indicator for one target and period, with the reason."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="manual_scores")
    period = models.CharField("周期", max_length=8)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name="考核对象")
    score = models.DecimalField("得分", max_digits=6, decimal_places=2)
    comment = models.CharField("评分说明", max_length=500)
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "考核组评分"
        constraints = [models.UniqueConstraint(fields=["indicator", "period", "org"], name="one_manual_score")]


class Run(models.Model):
    """One evaluation of a scheme for a period: 每月一考评 (2026-10) or 每季度分级量化考核 (2026Q3)."""

    class Cycle(models.TextChoices):
        MONTHLY = "monthly", "月度考评"
        QUARTERLY = "quarterly", "季度分级考核"
        YEARLY = "yearly", "年度考核"

    class Status(models.TextChoices):
        DRAFT = "draft", "暂定"
        FINAL = "final", "定稿"

    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="runs", verbose_name="考核方案")
    period = models.CharField("周期", max_length=8)
    cycle = models.CharField("类别", max_length=10, choices=Cycle.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    computed_at = models.DateTimeField("计算时间", auto_now=True)
    computed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    target_count = models.PositiveIntegerField("考核对象数", default=0)
    pending_manual = models.PositiveIntegerField("待评分项", default=0)
    # What kept the run a draft when computed: per manual indicator, how many targets it lacks.
    pending_detail = models.JSONField("待评分指标", default=list, blank=True)
    period_open = models.BooleanField("计算时周期未结束", default=False)
    # Set by every evaluation (services.run_evaluation); a row written directly is taken as final.
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.FINAL)
    finalized_at = models.DateTimeField("定稿时间", null=True, blank=True)
    finalized_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name="定稿人")

    class Meta:
        ordering = ["-period_start", "scheme"]
        verbose_name = "考评"
        constraints = [models.UniqueConstraint(fields=["scheme", "period"], name="one_run_per_scheme_period")]

    def __str__(self):
        return f"{self.scheme.name} {periods.name_of(self.period)}"

    @classmethod
    def history_display(cls, name, value):
        if name == "pending_detail" and isinstance(value, list):
            return "、".join(f"“{d.get('name', '')}”{d.get('targets', 0)} 个考核对象未评分"
                            for d in value if isinstance(d, dict)) or "无"
        return None

    @property
    def is_final(self) -> bool:
        return self.status == self.Status.FINAL

    @property
    def draft_reasons(self) -> list[str]:
        """What keeps a draft from being final, in words (empty for a final run)."""
        if self.is_final:
            return []
        out = []
        if self.period_open:
            out.append(f"计算时考评周期尚未结束（至 {self.period_end:%Y-%m-%d}）")
        if self.pending_manual:
            names = "、".join(f"“{d['name']}”{d['targets']} 个考核对象" for d in self.pending_detail or [])
            out.append(f"考核组评分尚有 {self.pending_manual} 项未录入" + (f"（{names}）" if names else ""))
        return out or ["尚未定稿"]

    @property
    def draft_text(self) -> str:
        return ("暂定（阶段性结果）：" + "；".join(self.draft_reasons)
                + "。暂定结果不评定等次、不列入约谈，不能据此印发通报；数据齐全且周期结束后重新考评即定稿")

    @property
    def is_interim(self) -> bool:
        """Not final (a draft): what the ratings and any other reader of results leave out."""
        return not self.is_final


class TargetScore(models.Model):
    """A target's result in a run. `breakdown` keeps, per indicator, the figures behind the
    score (numerator, denominator, the evidence's description) so "why this score" is answered
    from the stored row, as it was when the run was computed."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="scores")
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name="考核对象")
    # No total: every indicator was 不适用 for the target. No grade: a draft run, or no total.
    total = models.DecimalField("总分", max_digits=7, decimal_places=2, null=True, blank=True)
    grade = models.CharField("等次", max_length=10, choices=Grade.choices, blank=True)
    place = models.PositiveIntegerField("名次", null=True, blank=True)  # of organizations, never of people
    breakdown = models.JSONField(default=list)

    class Meta:
        ordering = ["place", "org__path"]
        verbose_name = "考评得分"
        constraints = [models.UniqueConstraint(fields=["run", "org"], name="one_score_per_run_target")]
        indexes = [models.Index(fields=["org", "run"])]


class Admonition(Versioned):
    """约谈: a target below the scheme's line in a run, and the talk that followed."""

    class Status(models.TextChoices):
        PENDING = "pending", "待约谈"
        DONE = "done", "已约谈"

    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="admonitions")
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name="约谈对象")
    reason = models.CharField("约谈原因", max_length=300)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.PENDING)
    talked_on = models.DateField("约谈日期", null=True, blank=True)
    talked_with = models.CharField("约谈对象（人员）", max_length=100, blank=True)
    talked_by = models.CharField("约谈人", max_length=100, blank=True)
    outcome = models.TextField("约谈情况及整改要求", blank=True)

    class Meta:
        ordering = ["run", "org__path"]
        verbose_name = "约谈"
        constraints = [models.UniqueConstraint(fields=["run", "org"], name="one_admonition_per_run_target")]


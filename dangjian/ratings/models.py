"""Star ratings of branches (星级评定: 达标、星级、示范党支部动态管理), weak organizations
(软弱涣散党组织) and their overhaul (整顿), commendation candidates (先进基层党组织).

A `RatingScheme` holds one year's rules as data: what the score is (the average of the year's
branch-level assessment runs, or the share of organizational-life requirements met), the lines of
五星 … 一星 (一星 = 达标线, qualified), the conditions that cap a level, the optional quotas. A
`RatingRun` rates every active branch at once and stores one `Rating` per branch and year with
the figures and rules behind it, so the history of a branch's levels and "why this level" are
read from stored rows. Re-rating a year replaces its rows.

A `WeakOrg` is a case of a weak organization: identified by the working committee (from a rating
or by hand), given an overhaul plan, followed by progress notes, and closed (销号) only with a
verification note. It is never deleted: a mistaken identification is withdrawn with a reason.
"""
from django.conf import settings
from django.db import models

from dangjian.core.scoping import ScopedQuerySet
from dangjian.core.versioning import Versioned


class Level(models.TextChoices):
    MODEL = "model", "示范"
    STAR5 = "star5", "五星"
    STAR4 = "star4", "四星"
    STAR3 = "star3", "三星"
    STAR2 = "star2", "二星"
    STAR1 = "star1", "一星"
    LAGGING = "lagging", "后进"
    UNRATED = "unrated", "未评定"


# Best first. 一星 and above is 达标 (qualified); 示范 is the top of the five-star ones.
LEVEL_ORDER = [Level.MODEL, Level.STAR5, Level.STAR4, Level.STAR3, Level.STAR2, Level.STAR1, Level.LAGGING]
STAR_LEVELS = [Level.STAR5, Level.STAR4, Level.STAR3, Level.STAR2, Level.STAR1]
RANK = {level.value: len(LEVEL_ORDER) - i for i, level in enumerate(LEVEL_ORDER)} | {Level.UNRATED.value: 0}
LEVEL_LABELS = dict(Level.choices)


class Basis(models.TextChoices):
    ASSESSMENT = "assessment", "党支部考核结果（所选考评的平均得分）"
    COMPLIANCE = "compliance", "组织生活按规定落实率"


class RatingScheme(Versioned):
    """星级评定办法: one year's rating rules. Created for a year from the previous year's
    scheme, or from `star_rating` in rules/defaults.yaml; changed by 工委 staff (audited)."""

    year = models.PositiveSmallIntegerField("年度", unique=True)
    basis = models.CharField("评定依据", max_length=12, choices=Basis.choices)
    assessment_scheme = models.ForeignKey("assessment.Scheme", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+", verbose_name="考核方案")
    cycles = models.JSONField("计入的考评", default=list)  # assessment Run.Cycle values
    thresholds = models.JSONField("星级分数线", default=dict)  # level → lowest % of full marks
    quotas = models.JSONField("比例上限", default=dict, blank=True)  # level → share at that level or above
    lagging_share = models.DecimalField("后进最低比例", max_digits=4, decimal_places=3, null=True, blank=True)
    caps = models.JSONField("封顶情形", default=list, blank=True)
    commendation = models.JSONField("评先推荐条件", default=dict)
    weak_candidates = models.JSONField("软弱涣散提示条件", default=dict)
    source = models.CharField("依据", max_length=300, blank=True)
    note = models.TextField("说明", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    AUDIT_EXCLUDE = ("updated_at",)

    class Meta:
        ordering = ["-year"]
        verbose_name = "星级评定办法"

    def __str__(self):
        return f"{self.year} 年星级评定办法"

    @classmethod
    def history_display(cls, name, value):
        from .rules import history_text

        return history_text(name, value)


class RatingRun(models.Model):
    """The rating of one year (one per year; re-rating replaces its results). `applied`
    keeps the rules as they were applied, so stored reasons stay readable after a change."""

    scheme = models.ForeignKey(RatingScheme, on_delete=models.PROTECT, related_name="runs", verbose_name="评定办法")
    year = models.PositiveSmallIntegerField("年度", unique=True)
    rated_on = models.DateField("评定基准日")
    basis_text = models.CharField("评定依据", max_length=300)
    assessment_runs = models.JSONField(default=list)  # ids of the assessment runs averaged
    applied = models.JSONField(default=dict)  # the scheme's rules as applied
    counts = models.JSONField(default=dict)  # level → number of branches
    target_count = models.PositiveIntegerField("参评党支部数", default=0)
    computed_at = models.DateTimeField("评定时间", auto_now=True)
    computed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name="评定人")

    class Meta:
        ordering = ["-year"]
        verbose_name = "星级评定"

    def __str__(self):
        return f"{self.year} 年星级评定"


class RatingQuerySet(ScopedQuerySet):
    path_lookup = "org__path"


class Rating(models.Model):
    """A branch's level for a year, with the figures and rules that gave it."""

    run = models.ForeignKey(RatingRun, on_delete=models.CASCADE, related_name="ratings")
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name="党支部")
    year = models.PositiveSmallIntegerField("年度")
    score = models.DecimalField("得分", max_digits=6, decimal_places=2, null=True, blank=True)
    base_level = models.CharField("按分数线", max_length=8, choices=Level.choices)
    level = models.CharField("星级", max_length=8, choices=Level.choices)
    previous_level = models.CharField("上年星级", max_length=8, choices=Level.choices, blank=True)
    qualified = models.BooleanField("达标", default=False)
    capped = models.BooleanField("封顶", default=False)
    commendable = models.BooleanField("推荐评先", default=False)
    missing_count = models.PositiveIntegerField("应开未开（项）", default=0)
    alert_kinds = models.JSONField(default=list)
    weak = models.BooleanField("软弱涣散", default=False)
    runs_counted = models.PositiveSmallIntegerField("计入考评次数", default=0)
    reasons = models.JSONField(default=list)  # [{"kind": ..., "text": ...}] in the order applied

    objects = RatingQuerySet.as_manager()

    class Meta:
        ordering = ["org__path"]
        verbose_name = "星级评定结果"
        constraints = [models.UniqueConstraint(fields=["run", "org"], name="one_rating_per_run_org")]
        indexes = [models.Index(fields=["org", "year"]), models.Index(fields=["run", "level"])]

    @property
    def rank(self) -> int:
        return RANK[self.level]

    @property
    def trend(self) -> str:
        """up / down / same / "" (no comparable level last year)."""
        if not self.previous_level or Level.UNRATED in (self.level, self.previous_level):
            return ""
        a, b = RANK[self.level], RANK[self.previous_level]
        return "up" if a > b else "down" if a < b else "same"


class WeakOrgQuerySet(ScopedQuerySet):
    path_lookup = "org__path"

    def open(self):
        return self.filter(status__in=WeakOrg.OPEN)


class WeakOrg(Versioned):
    """软弱涣散党组织: a case from identification to closure (销号)."""

    class Status(models.TextChoices):
        IDENTIFIED = "identified", "已认定（待制定整顿方案）"
        OVERHAULING = "overhauling", "整顿中"
        CLOSED = "closed", "已销号"
        WITHDRAWN = "withdrawn", "已撤销认定"

    class Source(models.TextChoices):
        RATING = "rating", "星级评定结果"
        MANUAL = "manual", "工委认定"

    OPEN = (Status.IDENTIFIED, Status.OVERHAULING)

    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name="党组织")
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.IDENTIFIED)
    source = models.CharField("认定来源", max_length=8, choices=Source.choices)
    rating_year = models.PositiveSmallIntegerField("依据的评定年度", null=True, blank=True)
    identified_on = models.DateField("认定日期")
    identified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", verbose_name="认定人")
    reasons = models.TextField("认定原因")
    measures = models.TextField("整顿措施", blank=True)
    responsible = models.CharField("整顿责任人", max_length=100, blank=True)
    deadline = models.DateField("整顿时限", null=True, blank=True)
    closed_on = models.DateField("销号日期", null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name="销号人")
    verification = models.TextField("验收意见", blank=True)
    withdrawn_reason = models.CharField("撤销认定原因", max_length=300, blank=True)

    objects = WeakOrgQuerySet.as_manager()

    class Meta:
        ordering = ["-identified_on", "-id"]
        verbose_name = "软弱涣散党组织整顿"
        indexes = [models.Index(fields=["org", "status"])]

    def __str__(self):
        return f"{self.org.name}（{self.identified_on:%Y年%m月%d日}认定）"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def overdue(self, today) -> bool:
        return self.is_open and self.deadline is not None and self.deadline < today

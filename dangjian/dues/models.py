"""党费 (dues): the rules in force from a date, each member's dated base, and the payments.

A `DuesRule` is one dated version of the bands (关于中国共产党党费收缴、使用和管理的规定): the
employed bands (the whole base times one rate, upper bounds inclusive), the retired bands, the
fixed monthly amounts of students, the unemployed and those on relief, and the back-pay limit.
A change is a new version from the first day of a month; past months keep their rule.

A `DuesBase` (缴费基数) is a member's monthly after-tax regular income and category from a month
on; the next base of the member ends it (`end`). The amount due in a month is computed from the
base in force in that month and the rule in force then (`rates`), never stored, so the history
of bases and rules is the whole truth.

A `Payment` is one sum received for one month of one member: the amount, the day it was
received and by whom. A month may be paid in several sums (分次交纳): `credited` is the part of a
sum that counts against the month's due (at most what was still owed when it came), anything
above it is paid over the due (自愿多交). The month's owed amount is its due less the sum of its
`credited`, exact in cents. A month paid after its own month is back-pay (补交); `months_late`
says how late.
"""
from django.conf import settings
from django.db import models

from dangjian.core.scoping import Scope, ScopedQuerySet


class Category(models.TextChoices):
    EMPLOYED = "employed", "在职"
    RETIRED = "retired", "离退休"
    STUDENT = "student", "学生"
    UNEMPLOYED = "unemployed", "下岗失业"
    ON_RELIEF = "on_relief", "享受最低生活保障"
    FARMER = "farmer", "农民"


FIXED_CATEGORIES = (Category.STUDENT, Category.UNEMPLOYED, Category.ON_RELIEF)
# 农民党员 pay an amount of their choosing within the rule's range (fixed_monthly["farmer"]): the
# base row holds the chosen monthly amount.


def month_number(key: int) -> int:
    """A YYYYMM key as a count of months (2026-01 → 2026*12), so months subtract."""
    return key // 100 * 12 + key % 100 - 1


def month_key(number: int) -> int:
    y, m = divmod(number, 12)
    return y * 100 + m + 1


class DuesRule(models.Model):
    """One dated version of the dues rules. Bands are [[upper bound or null, rate], …] as
    decimal strings, in increasing order; the last band has no upper bound."""

    effective_from = models.DateField("生效日期", unique=True)
    start = models.IntegerField(editable=False)  # month_number of effective_from
    employed_bands = models.JSONField("在职党员费率")
    retired_bands = models.JSONField("离退休党员费率")
    fixed_monthly = models.JSONField("按固定金额交纳")
    backpay_max_months = models.PositiveSmallIntegerField("补交最多月数", default=6)
    arrears_months = models.PositiveSmallIntegerField("连续未交提醒月数", default=6)
    # 自愿一次多交纳 this much or more: all of it goes to the centre (第十一条).
    large_one_off = models.DecimalField("一次多交上缴中央起点（元）", max_digits=12, decimal_places=2, default=1000)
    source = models.CharField("依据", max_length=300, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="修订人")
    created_at = models.DateTimeField(auto_now_add=True)

    AUDIT_EXCLUDE = ("created_at", "start")
    HISTORY_HIDDEN = ("start",)

    class Meta:
        ordering = ["effective_from"]
        verbose_name = "党费标准"

    def __str__(self):
        return f"党费标准（{self.effective_from:%Y-%m-%d} 起）"

    FIXED_LABELS = {"student": "学生", "unemployed": "下岗失业", "on_relief": "享受最低生活保障", "farmer": "农民"}

    @classmethod
    def history_display(cls, name, value):
        """Bands read “不超过3000元 0.005；以上 0.02”; fixed amounts “学生 0.2元”."""
        if name in ("employed_bands", "retired_bands") and isinstance(value, list):
            return "；".join(f"不超过{b[0]}元 {b[1]}" if b[0] is not None else f"以上 {b[1]}"
                            for b in value if isinstance(b, list) and len(b) == 2)
        if name == "fixed_monthly" and isinstance(value, dict):
            return "；".join(f"{cls.FIXED_LABELS.get(k, k)} {'—'.join(map(str, v)) if isinstance(v, list) else v}元"
                            for k, v in value.items())
        return None


class DuesBaseQuerySet(ScopedQuerySet):
    path_lookup = "member__org__path"

    def self_q(self, scope: Scope):
        return models.Q(member_id=scope.member_id) if scope.member_id else None


class DuesBase(models.Model):
    """A member's 缴费基数 from the month `effective_from` starts, until the next one."""

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="dues_bases",
                               verbose_name="党员")
    # 农民: the monthly amount the member chose within the rule's range, not an income.
    base = models.DecimalField("缴费基数（元/月）", max_digits=12, decimal_places=2)
    category = models.CharField("交纳类别", max_length=12, choices=Category.choices, default=Category.EMPLOYED)
    effective_from = models.DateField("起始月份")
    start = models.IntegerField(editable=False)  # month_number of effective_from
    end = models.IntegerField(null=True, blank=True, editable=False)  # last month in force; null: still
    note = models.CharField("说明", max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name="登记人")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DuesBaseQuerySet.as_manager()

    AUDIT_EXCLUDE = ("created_at", "start", "end")
    HISTORY_HIDDEN = ("start", "end")

    class Meta:
        ordering = ["member", "effective_from"]
        verbose_name = "缴费基数"
        constraints = [models.UniqueConstraint(fields=["member", "effective_from"], name="one_dues_base_per_month")]
        indexes = [models.Index(fields=["start", "end"])]

    def __str__(self):
        return f"缴费基数 {self.base} 元（{self.effective_from:%Y年%m月}起）"


class PaymentQuerySet(ScopedQuerySet):
    path_lookup = "member__org__path"

    def self_q(self, scope: Scope):
        return models.Q(member_id=scope.member_id) if scope.member_id else None


class Payment(models.Model):
    """One sum of one month's dues paid by one member (a month may have several)."""

    class Source(models.TextChoices):
        ENTERED = "entered", "逐笔登记"
        IMPORTED = "imported", "导入"

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="dues_payments",
                               verbose_name="党员")
    month = models.PositiveIntegerField("所属月份")  # YYYYMM
    month_no = models.IntegerField(editable=False)  # month_number(month): compared with a base's start/end
    due = models.DecimalField("应交金额（元）", max_digits=12, decimal_places=2)  # by the base and rule of the month
    amount = models.DecimalField("金额（元）", max_digits=12, decimal_places=2)
    # The part of `amount` that settles the month's due: the rest is paid over it (自愿多交).
    credited = models.DecimalField("计入应交（元）", max_digits=12, decimal_places=2, default=0)
    paid_on = models.DateField("交纳日期")
    months_late = models.PositiveSmallIntegerField("补交月数", default=0)
    # Paid over the due at once (自愿一次多交纳) at least the rule's `large_one_off`: the whole of
    # that extra is forwarded to the centre through the 基层党委, not kept by the branch.
    to_centre = models.BooleanField("多交部分全部上缴中央", default=False)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name="收缴人")
    source = models.CharField("来源", max_length=10, choices=Source.choices, default=Source.ENTERED)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PaymentQuerySet.as_manager()

    AUDIT_EXCLUDE = ("created_at", "month_no")
    HISTORY_HIDDEN = ("month_no",)

    class Meta:
        ordering = ["member", "month"]
        verbose_name = "党费交纳记录"
        indexes = [models.Index(fields=["month_no", "member"]), models.Index(fields=["member", "month"])]

    def __str__(self):
        return f"{self.month // 100}年{self.month % 100}月党费 {self.amount} 元"

    @property
    def is_backpay(self) -> bool:
        return self.months_late > 0

    @property
    def extra(self):
        """Paid over the month's due (自愿多交)."""
        return self.amount - self.credited


class StatementQuerySet(ScopedQuerySet):
    path_lookup = "org__path"


class Statement(models.Model):
    """年度党费收缴公示: a branch publishes its year's statement to its members. Until then only
    those over the branch (its committee, the units above) read it."""

    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+", verbose_name="党组织")
    year = models.PositiveSmallIntegerField("年度")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name="公示人")
    published_at = models.DateTimeField("公示时间", auto_now_add=True)

    objects = StatementQuerySet.as_manager()

    class Meta:
        ordering = ["org", "-year"]
        verbose_name = "党费收缴公示"
        constraints = [models.UniqueConstraint(fields=["org", "year"], name="one_dues_statement_per_year")]

    def __str__(self):
        return f"{self.year}年度党费收缴公示"

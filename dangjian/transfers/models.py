"""组织关系转接 and the member's standing (流动党员, 失联, 停止党籍, 恢复党籍, 去世, 出党).

A `Transfer` is one introduction letter (介绍信) and what became of it:

- inside the platform (`internal`): the sending organization issues the letter to a receiving
  organization of the tree, which accepts (接收) or returns it (退回, with the reason); the sender
  may withdraw it (撤回) while it is open. The member moves only on acceptance, on the acceptance
  date. Until then they stay counted in the sending organization (see `services`).
- to an organization outside the platform (`out`): the letter names the destination in words;
  the member stays on the sending organization's roll until the receipt (回执) comes back, then
  leaves it on the day the receipt gives. A letter whose receipt is not back within its validity
  is overdue.
- from an organization outside the platform (`in`): the member arrives with their letter and is
  registered with it; the row records the letter.

A `Batch` is a bulk transfer (a department reorganized): many internal transfers decided at once,
accepted together in one transaction.

A `Standing` is one dated decision about a member's standing, taken by people (a branch meeting,
an approving organization) and recorded here; the member's `status` and `is_mobile` follow it
through `members.services.change_standing`. The rows are the history.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from dangjian.core.scoping import Scope, ScopedQuerySet, scope_of
from dangjian.core.versioning import Versioned


class TransferQuerySet(ScopedQuerySet):
    path_lookup = "from_org__path"

    def visible_to(self, user, capability: str = "view"):
        """A transfer is seen from both ends: by those over the sending and over the receiving
        organization; a member sees their own."""
        scope = scope_of(user)
        q = Q(pk__in=[])
        for prefix in scope.prefixes(capability):
            q |= Q(from_org__path__startswith=prefix) | Q(to_org__path__startswith=prefix)
        if capability == "view":
            q |= self.self_q(scope) or Q(pk__in=[])
        return self.filter(q)

    def self_q(self, scope: Scope):
        return Q(member_id=scope.member_id) if scope.member_id else None

    def open(self):
        return self.filter(status=Transfer.Status.ISSUED)

    def overdue(self, today):
        return self.open().filter(valid_until__lt=today)


class Batch(models.Model):
    """整建制转接: many members of one organization moved to another in one decision."""

    from_org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                                 verbose_name="转出党组织")
    to_org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                               verbose_name="转入党组织")
    moved_on = models.DateField("转接日期")
    reason = models.CharField("转接原因", max_length=200)
    count = models.PositiveIntegerField("人数", default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="经办人")
    created_at = models.DateTimeField(auto_now_add=True)

    AUDIT_EXCLUDE = ("created_at",)

    class Meta:
        ordering = ["-moved_on", "-id"]
        verbose_name = "整建制转接"

    def __str__(self):
        return f"{self.from_org.name} → {self.to_org.name}（{self.count} 人）"


class Transfer(Versioned):
    class Kind(models.TextChoices):
        INTERNAL = "internal", "系统内转接"
        OUT = "out", "转出至系统外"
        IN = "in", "从系统外转入"

    class Status(models.TextChoices):
        ISSUED = "issued", "在途"
        ACCEPTED = "accepted", "已接收"
        RETURNED = "returned", "已退回"
        WITHDRAWN = "withdrawn", "已撤回"

    kind = models.CharField("转接类型", max_length=10, choices=Kind.choices)
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+", verbose_name="党员")
    from_org = models.ForeignKey("orgs.Organization", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name="转出党组织")
    to_org = models.ForeignKey("orgs.Organization", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name="接收党组织")
    outside_org = models.CharField("系统外党组织", max_length=100, blank=True,
                                   help_text="转出：去往的党组织；转入：原所在党组织")
    outside_region = models.CharField("所在地区", max_length=60, blank=True)
    letter_number = models.CharField("介绍信编号", max_length=40)
    issued_on = models.DateField("开具日期")
    valid_until = models.DateField("有效期至")
    reason = models.CharField("转接原因", max_length=200, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.ISSUED)
    closed_on = models.DateField("办结日期", null=True, blank=True,
                                 help_text="接收、回执所载报到、退回或撤回的日期")
    return_reason = models.CharField("退回原因", max_length=200, blank=True)
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers",
                              verbose_name="整建制转接")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="开具人")
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name="办结人")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TransferQuerySet.as_manager()

    AUDIT_EXCLUDE = ("created_at",)

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = "组织关系转接"
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=Q(status="issued"), name="one_open_transfer"),
        ]
        indexes = [models.Index(fields=["status", "valid_until"]), models.Index(fields=["kind", "status"])]

    def __str__(self):
        return f"{self.member.name} 介绍信 {self.letter_number}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.ISSUED

    @property
    def origin(self) -> str:
        return self.from_org.name if self.from_org_id else self.outside_org

    @property
    def destination(self) -> str:
        return self.to_org.name if self.to_org_id else self.outside_org

    @property
    def status_label(self) -> str:
        if self.kind == self.Kind.OUT and self.status == self.Status.ACCEPTED:
            return "回执已返回"
        if self.kind == self.Kind.OUT and self.status == self.Status.ISSUED:
            return "待回执"
        if self.kind == self.Kind.INTERNAL and self.status == self.Status.ISSUED:
            return "待接收"
        return self.get_status_display()


class StandingQuerySet(ScopedQuerySet):
    path_lookup = "member__org__path"

    def self_q(self, scope: Scope):
        return Q(member_id=scope.member_id) if scope.member_id else None


class Standing(models.Model):
    """One dated decision about a member's standing. `org` is the member's organization then."""

    class Kind(models.TextChoices):
        MOBILE = "mobile", "登记为流动党员"
        MOBILE_END = "mobile_end", "流动结束"
        LOST = "lost", "登记失联"
        FOUND = "found", "恢复联系"
        SUSPEND = "suspend", "停止党籍"
        RESTORE = "restore", "恢复党籍"
        DEATH = "death", "去世"
        REMOVAL = "removal", "出党"

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+", verbose_name="党员")
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                            verbose_name="所在党组织")
    kind = models.CharField("事项", max_length=12, choices=Kind.choices)
    decided_on = models.DateField("日期")
    # 流动党员: where they went, how to reach them, the organization they join for activities.
    away_since = models.DateField("外出日期", null=True, blank=True)
    place = models.CharField("外出地点", max_length=100, blank=True)
    contact = models.CharField("联系方式", max_length=60, blank=True)
    abroad = models.BooleanField("出国（境）", default=False,
                                 help_text="出国（境）学习研究或定居：满规定年限仍未返回的列入待研究名单")
    host_org = models.ForeignKey("orgs.Organization", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name="流入地党组织")
    host_org_name = models.CharField("流入地党组织（系统外）", max_length=100, blank=True)
    # 失联: since when, and what was done to find them.
    lost_since = models.DateField("失联日期", null=True, blank=True)
    efforts = models.TextField("寻找情况", blank=True)
    # 停止党籍, 恢复党籍, 出党: the branch meeting's decision and the approving organization's.
    meeting_on = models.DateField("支部党员大会日期", null=True, blank=True)
    approver = models.ForeignKey("orgs.Organization", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name="批准党组织")
    approved_on = models.DateField("批准日期", null=True, blank=True)
    document = models.CharField("决定文号", max_length=60, blank=True)
    removal_kind = models.CharField("出党方式", max_length=12, blank=True,
                                    choices=[("expelled", "开除党籍"), ("struck_off", "除名"),
                                             ("withdrew", "退党"), ("lapsed", "自行脱党")])
    note = models.TextField("说明", blank=True)
    # A 流动 or 失联 row stays open until the member comes back or is found (or leaves the roll).
    closed_on = models.DateField("结束日期", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="经办人")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StandingQuerySet.as_manager()

    AUDIT_EXCLUDE = ("created_at",)

    class Meta:
        ordering = ["member", "decided_on", "id"]
        verbose_name = "党员状态变动"
        indexes = [models.Index(fields=["kind", "decided_on"]), models.Index(fields=["member", "decided_on"])]

    def __str__(self):
        return f"{self.member.name} {self.get_kind_display()}"

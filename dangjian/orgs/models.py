"""One tree of party organizations, with a materialized path.

`path` is the chain of ancestor ids, each as 8 base-10 digits followed by "/", e.g.
"00000001/00000042/". A subtree is `path LIKE 'prefix%'`, which every database serves
from the index; depth is len(path) / 9.
"""
import datetime as dt

from django.db import models
from django.db.models import Q

from dangjian.core.scoping import Scope, ScopedQuerySet

SEGMENT = 9  # 8 digits + "/"


def segment(pk: int) -> str:
    return f"{pk:08d}/"


class Unit(models.Model):
    """The government body (单位/部门) an organization belongs to."""

    name = models.CharField("单位名称", max_length=100, unique=True)
    is_active = models.BooleanField("在用", default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "单位"

    def __str__(self):
        return self.name


class OrgKind(models.TextChoices):
    WORKING_COMMITTEE = "working_committee", "机关工委"
    LEADING_GROUP = "leading_group", "党组"
    COMMITTEE = "committee", "党委"
    ORGAN_COMMITTEE = "organ_committee", "机关党委"
    GENERAL_BRANCH = "general_branch", "党总支"
    BRANCH = "branch", "党支部"
    CELL = "cell", "党小组"


class OrganizationQuerySet(ScopedQuerySet):
    path_lookup = "path"

    def self_q(self, scope: Scope):
        # A plain member sees the organization they belong to.
        if scope.member_org_path:
            return Q(path=scope.member_org_path)
        return None

    def active(self):
        return self.filter(status=Organization.Status.ACTIVE)

    def subtree(self, org):
        return self.filter(path__startswith=org.path)


class Organization(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "正常"
        DISSOLVED = "dissolved", "已撤销"

    code = models.CharField("组织代码", max_length=32, unique=True)
    name = models.CharField("组织名称", max_length=100)
    kind = models.CharField("组织类别", max_length=24, choices=OrgKind.choices)
    is_joint = models.BooleanField("联合党支部", default=False)
    parent = models.ForeignKey(
        "self", verbose_name="上级组织", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    unit = models.ForeignKey(Unit, verbose_name="所属单位", null=True, blank=True, on_delete=models.PROTECT)
    established_on = models.DateField("成立日期", null=True, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.ACTIVE)
    dissolved_on = models.DateField("撤销日期", null=True, blank=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = "党组织"

    def __str__(self):
        return self.name

    @property
    def depth(self) -> int:
        return len(self.path) // SEGMENT

    @property
    def kind_label(self) -> str:
        if self.kind == OrgKind.BRANCH and self.is_joint:
            return "联合党支部"
        return self.get_kind_display()

    def ancestor_paths(self) -> list[str]:
        return [self.path[: i * SEGMENT] for i in range(1, self.depth)]

    def current_term(self):
        return next((t for t in self.terms.all() if t.is_current), None)


class Term(models.Model):
    """A term of office (届) of an organization's committee."""

    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="terms", verbose_name="党组织")
    elected_on = models.DateField("选举日期", null=True, blank=True)
    starts_on = models.DateField("本届开始日期")
    ends_on = models.DateField("本届届满日期")
    is_current = models.BooleanField("本届", default=True)

    class Meta:
        ordering = ["org", "-starts_on"]
        verbose_name = "届次"
        constraints = [
            models.UniqueConstraint(fields=["org"], condition=Q(is_current=True), name="one_current_term_per_org"),
            models.CheckConstraint(condition=Q(ends_on__gt=models.F("starts_on")), name="term_ends_after_start"),
        ]

    def days_left(self, today: dt.date | None = None) -> int:
        return (self.ends_on - (today or dt.date.today())).days


class SeatRole(models.TextChoices):
    SECRETARY = "secretary", "书记"
    DEPUTY_SECRETARY = "deputy_secretary", "副书记"
    ORGANIZATION_OFFICER = "organization_officer", "组织委员"
    PUBLICITY_OFFICER = "publicity_officer", "宣传委员"
    DISCIPLINE_OFFICER = "discipline_officer", "纪检委员"
    MEMBER = "member", "委员"


class CommitteeSeat(models.Model):
    """A seat on an organization's committee. An empty holder means the seat is vacant
    since `vacant_since`; a seat that is filled again gets its holder and `held_since`."""

    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="seats", verbose_name="党组织")
    role = models.CharField("职务", max_length=24, choices=SeatRole.choices)
    holder = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="seats", verbose_name="任职人"
    )
    held_since = models.DateField("任职日期", null=True, blank=True)
    vacant_since = models.DateField("空缺起始日期", null=True, blank=True)
    is_active = models.BooleanField("在设", default=True)

    class Meta:
        ordering = ["org", "role", "id"]
        verbose_name = "委员职位"
        constraints = [
            models.CheckConstraint(
                condition=Q(holder__isnull=False) | Q(vacant_since__isnull=False) | Q(is_active=False),
                name="vacant_seat_has_date",
            )
        ]

    @property
    def is_vacant(self) -> bool:
        return self.holder_id is None

    def vacant_days(self, today: dt.date | None = None) -> int | None:
        if self.holder_id or not self.vacant_since:
            return None
        return ((today or dt.date.today()) - self.vacant_since).days

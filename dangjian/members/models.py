"""Party members: the national member information items, held safely.

身份证号 is stored only encrypted (`id_number_enc`), with a keyed hash for exact
look-ups and uniqueness (`id_hash`) and its masked form for display and tail search
(`id_mask`). Every move between organizations is a dated `Membership` row.
"""
from django.db import models
from django.db.models import Q

from dangjian.core import crypto, idcard
from dangjian.core.ranks import Rank
from dangjian.core.scoping import Scope, ScopedQuerySet
from dangjian.core.versioning import Versioned
from dangjian.orgs.models import TopOrgOwned, TopOrgQuerySetMixin


class Gender(models.TextChoices):
    MALE = "male", "男"
    FEMALE = "female", "女"


class Category(models.TextChoices):
    FULL = "full", "正式党员"
    PROBATIONARY = "probationary", "预备党员"


class Education(models.TextChoices):
    DOCTORATE = "doctorate", "博士研究生"
    MASTER = "master", "硕士研究生"
    BACHELOR = "bachelor", "大学本科"
    COLLEGE = "college", "大学专科"
    SECONDARY = "secondary", "中等专科"
    HIGH_SCHOOL = "high_school", "高中"
    MIDDLE_SCHOOL = "middle_school", "初中及以下"


class MemberQuerySet(TopOrgQuerySetMixin, ScopedQuerySet):
    path_lookup = "org__path"

    def self_q(self, scope: Scope):
        # Not when the view scope holds the member's org already: `path LIKE … OR id = …`
        # keeps PostgreSQL from the path index, and reads every member to find a branch's.
        if not scope.member_id or scope.allows("view", scope.member_org_path or ""):
            return None
        return Q(pk=scope.member_id)

    def active(self):
        return self.filter(status=Member.Status.ACTIVE)

    def by_id_number(self, id_number: str):
        # Every configured key's hash: during a key rotation a row may still carry its old one.
        return self.filter(id_hash__in=crypto.lookup_hashes(id_number))


class Member(TopOrgOwned, Versioned):
    class Status(models.TextChoices):
        ACTIVE = "active", "在册"
        TRANSFERRED_OUT = "transferred_out", "已转出"
        DECEASED = "deceased", "已去世"
        REMOVED = "removed", "已出党"
        SUSPENDED = "suspended", "停止党籍"

    # Off the roll for good: the organization's membership row is closed on the day.
    LEFT = (Status.TRANSFERRED_OUT, Status.DECEASED, Status.REMOVED)

    AUDIT_EXCLUDE = ("id_number_enc", "id_hash", "name_pinyin", "name_initials", "updated_at", "created_at")
    ENCRYPTED_FIELDS = {"id_number_enc": "id_hash"}  # core.keycheck, rotate-key
    HISTORY_SHOWN = ("id_mask",)  # not editable (derived from the number), but what history shows of it

    # Indexed: a search by the start of a name (the surname) over a province's roster.
    name = models.CharField("姓名", max_length=50, db_index=True)
    name_pinyin = models.CharField(max_length=120, db_index=True, editable=False)
    name_initials = models.CharField(max_length=20, db_index=True, editable=False)
    gender = models.CharField("性别", max_length=8, choices=Gender.choices)
    ethnicity = models.CharField("民族", max_length=20)
    birth_date = models.DateField("出生日期")
    id_number_enc = models.TextField(editable=False)
    id_hash = models.CharField(max_length=64, unique=True, editable=False)
    id_mask = models.CharField("身份证号", max_length=18, db_index=True, editable=False)
    education = models.CharField("学历", max_length=16, choices=Education.choices)
    phone = models.CharField("手机号码", max_length=20)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="members", verbose_name="所在党组织")
    category = models.CharField("人员类别", max_length=16, choices=Category.choices)
    joined_on = models.DateField("入党日期")
    confirmed_on = models.DateField("转正日期", null=True, blank=True)
    workplace = models.CharField("工作单位", max_length=100)
    post = models.CharField("职务", max_length=60, blank=True)
    rank = models.PositiveSmallIntegerField("职级", choices=Rank.choices, null=True, blank=True)
    is_leader = models.BooleanField("领导干部", default=False, help_text="过双重组织生活")
    is_mobile = models.BooleanField("流动党员", default=False)
    is_exempt = models.BooleanField("免于硬性要求", default=False, help_text="年老体弱、行动不便等，组织生活不作硬性要求")
    is_party_staff = models.BooleanField("党务干部", default=False)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MemberQuerySet.as_manager()

    class Meta:
        ordering = ["org__path", "name", "id"]
        verbose_name = "党员"
        indexes = [models.Index(fields=["org", "status"])]

    def __str__(self):
        return self.name

    @classmethod
    def history_display(cls, name, value):
        # Entries written before the mask kept the region prefix: shown as today's mask.
        if name == "id_mask" and isinstance(value, str):
            return idcard.mask(value)
        return None

    @property
    def id_number(self) -> str:
        """The full number, or crypto.UNREADABLE when the configured key cannot open it."""
        return crypto.read(self.id_number_enc)

    @property
    def rank_level(self) -> int | None:
        return Rank.level(self.rank)


class Membership(TopOrgOwned):
    """A member's belonging to one organization from `started_on` until `ended_on`.

    A transfer closes one row and opens the next on the same day, so a member is never
    between two organizations; the open row always matches `Member.org`."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="memberships")
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="memberships")
    started_on = models.DateField("起始日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)
    reason = models.CharField("变动原因", max_length=100, blank=True)

    class Meta:
        ordering = ["member", "started_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["member"], condition=Q(ended_on__isnull=True), name="one_open_membership"),
        ]

"""Commendation (评先评优, 先进基层党组织): what was decided, not only who was proposed.

An `Honour` (荣誉称号) is a title given each year — 先进基层党组织 and 党建工作优秀单位 to an
organization, 优秀共产党员 and 优秀党务工作者 to a person — plus the titles the working committee
adds. A `Decision` (表彰决定) is the document that gives them: its number (文号), date, title,
the organization issuing it (the working committee, or a unit's party organization inside its
own subtree) and the year it honours. Each `Commendation` is one honour given by the decision to
one organization, or to one member together with the member's organization at the time.

A decision is drafted, then published (印发); a published decision is read-only — a correction is
a new decision. Only published decisions count and are shown on the org and member pages.
"""
from django.conf import settings
from django.db import models

from dangjian.core.scoping import Scope, ScopedQuerySet
from dangjian.core.versioning import Versioned


class Recipient(models.TextChoices):
    ORG = "org", "党组织"
    MEMBER = "member", "党员个人"


class Honour(models.Model):
    """A title that can be given. Seeded titles (`code`) come from rules/commendations.yaml; the
    working committee adds its own (no code)."""

    code = models.CharField(max_length=40, blank=True, editable=False)
    name = models.CharField("荣誉称号", max_length=60, unique=True)
    recipient = models.CharField("表彰对象", max_length=8, choices=Recipient.choices)
    source = models.CharField("依据", max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=100, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    AUDIT_EXCLUDE = ("created_at",)
    HISTORY_HIDDEN = ("position", "code")

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "荣誉称号"

    def __str__(self):
        return self.name

    @property
    def for_member(self) -> bool:
        return self.recipient == Recipient.MEMBER


class DecisionQuerySet(ScopedQuerySet):
    path_lookup = "issuer__path"

    def published(self):
        return self.filter(status=Decision.Status.PUBLISHED)


class Decision(Versioned):
    """表彰决定: one document, its honoured organizations and members."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        PUBLISHED = "published", "已印发"

    number = models.CharField("文号", max_length=60, unique=True)
    decided_on = models.DateField("成文日期")
    title = models.CharField("标题", max_length=120)
    issuer = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                               verbose_name="发文党组织")
    year = models.PositiveSmallIntegerField("表彰年度")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField("印发时间", null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name="印发人")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="起草人")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DecisionQuerySet.as_manager()

    AUDIT_EXCLUDE = ("created_at",)

    class Meta:
        ordering = ["-decided_on", "-id"]
        verbose_name = "表彰决定"
        indexes = [models.Index(fields=["year", "status"])]

    def __str__(self):
        return f"{self.title}（{self.number}）"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class CommendationQuerySet(ScopedQuerySet):
    path_lookup = "org__path"

    def self_q(self, scope: Scope):
        # A plain member sees their own honours (on their own page).
        return models.Q(member_id=scope.member_id) if scope.member_id else None

    def published(self):
        return self.filter(decision__status=Decision.Status.PUBLISHED)


class Commendation(models.Model):
    """One honour given by a decision: to `org`, or to `member` (then `org` is the member's
    organization when the decision was drafted, kept as it was)."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="commendations")
    honour = models.ForeignKey(Honour, on_delete=models.PROTECT, related_name="commendations",
                               verbose_name="荣誉称号")
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                            verbose_name="党组织")
    member = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name="党员")
    position = models.PositiveIntegerField(default=0)

    objects = CommendationQuerySet.as_manager()

    HISTORY_HIDDEN = ("position",)

    class Meta:
        ordering = ["decision", "honour__position", "position", "id"]
        verbose_name = "表彰对象"
        indexes = [models.Index(fields=["org", "decision"]), models.Index(fields=["member", "decision"])]

"""三访三评: visits and the feedback they, the members and the complaint channel bring.

A `Visit` (走访) is one outing organized by a party organization: the members taking part, the
households and people visited, the place, and the issues raised there. Each issue becomes a
`Feedback` (意见建议) of the channel 走访收集; members send their own (党员提出), and anyone logged
in writes through the complaint channel (投诉建议), anonymously if they wish: an anonymous
complaint keeps no link to its sender at all, only the hash of a follow-up code that the
sender alone was shown, with which they read the answer.

Every feedback is answered within a number of working days (`rules/defaults.yaml`,
`feedback.answer_workdays`): directly, with the answer's text, or by turning it into a
rectification item, whose close-out answers it (事事有回应).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from dangjian.core.scoping import ScopedQuerySet
from dangjian.core.versioning import Versioned


class VisitKind(models.TextChoices):
    # 三访: the masses, the enterprises and the people the unit serves; 到社区报到 is the serving
    # members' report to their community (深化机关在职党员到社区报到服务群众制度).
    MASSES = "masses", "走访群众"
    ENTERPRISE = "enterprise", "走访企业"
    SERVED = "served", "走访服务对象"
    COMMUNITY = "community", "在职党员到社区报到服务"


class VisitQuerySet(ScopedQuerySet):
    path_lookup = "org__path"


class Visit(Versioned):
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                            verbose_name="组织走访的党组织")
    visited_on = models.DateField("走访日期")
    kind = models.CharField("走访类型", max_length=12, choices=VisitKind.choices)
    place = models.CharField("走访地点", max_length=100)
    households = models.PositiveIntegerField("走访户数", default=0)
    people = models.PositiveIntegerField("走访人数", default=0)
    participants = models.ManyToManyField("members.Member", related_name="+", verbose_name="参加党员")
    note = models.TextField("走访情况", blank=True, max_length=2000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="登记人")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisitQuerySet.as_manager()

    AUDIT_EXCLUDE = ("created_at",)

    class Meta:
        ordering = ["-visited_on", "-id"]
        verbose_name = "走访记录"
        indexes = [models.Index(fields=["visited_on"])]

    def __str__(self):
        return f"{self.visited_on:%Y-%m-%d} {self.get_kind_display()}（{self.place}）"


class Channel(models.TextChoices):
    VISIT = "visit", "走访收集"
    MEMBER = "member", "党员提出"
    COMPLAINT = "complaint", "投诉建议"


class FeedbackQuerySet(ScopedQuerySet):
    path_lookup = "org__path"

    def pending(self):
        return self.filter(status=Feedback.Status.PENDING)

    def overdue(self, today):
        return self.filter(status=Feedback.Status.PENDING, deadline__lt=today)

    def solved_q(self) -> Q:
        return Q(resolved_on__isnull=False)


class Feedback(Versioned):
    class Status(models.TextChoices):
        PENDING = "pending", "待处理"
        ANSWERED = "answered", "已答复"
        ITEM = "item", "已转为整改事项"

    channel = models.CharField("来源渠道", max_length=10, choices=Channel.choices)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                            verbose_name="涉及的党组织")
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.CASCADE, related_name="feedback",
                              verbose_name="走访记录")
    text = models.TextField("内容", max_length=2000)
    anonymous = models.BooleanField("匿名", default=False)
    # None for an anonymous complaint: nothing links it to who sent it.
    submitter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name="提出人")
    receipt_hash = models.CharField(max_length=64, blank=True, db_index=True)
    received_on = models.DateField("收到日期")
    deadline = models.DateField("答复期限")
    status = models.CharField("办理状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    answer = models.TextField("答复内容", blank=True, max_length=2000)
    answered_on = models.DateField("答复日期", null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name="答复人")
    # The day the problem was solved: the direct answer's day, or the day the item it was
    # turned into (followed through its referrals) was closed. Kept by the services and by the
    # receiver of the items' changes, so the figures count it in one query.
    resolved_on = models.DateField("解决日期", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FeedbackQuerySet.as_manager()

    AUDIT_EXCLUDE = ("created_at", "receipt_hash")
    HISTORY_HIDDEN = ("resolved_on",)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = "意见建议"
        indexes = [models.Index(fields=["status", "deadline"]), models.Index(fields=["received_on"])]

    def __str__(self):
        return f"{self.get_channel_display()}：{self.text[:20]}"

    def is_overdue(self, today) -> bool:
        return self.status == self.Status.PENDING and self.deadline < today

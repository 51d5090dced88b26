"""The rectification item (整改事项): one workflow for everything found that someone must put right.

Every source feeds the same item — an inspection finding (督查发现), a 述职评议 comment, the
measures agreed at an admonition (约谈), a weak organization's overhaul (软弱涣散整顿), a compliance
failure chosen for follow-up, accepted feedback, or a task the working committee assigns — so
there is one list of everything open, one timeline per item, one set of figures per unit.

An item sits on one of the three lists the speeches name (问题清单, 任务清单, 建议清单). Two sides
hold it: the responsible organization (`org`, and the person named in it), which alone moves it
forward — 签收, progress, 申请销号 with the evidence — and the issuing side (`issuer`), which alone
closes it (销号) after checking the evidence, or returns it (退回) with the reason. An item that
belongs to another organization is referred (转办): the original is marked 已转办 and points to
the new item, which names the original, so both ends can follow it.

Every step is an `ItemEvent` on the item's timeline, with its text (the evidence, the progress,
the reason) and who did it; 催办 and 督办 are events too, written by the daily sweep.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from dangjian.core.scoping import Scope, ScopedQuerySet, scope_of
from dangjian.core.versioning import Versioned

# The page of each source kind, by URL name taking the source record's id as its one argument;
# an app adding a source adds its page here. A kind without a page is shown as text.
SOURCE_URLS = {
    "review": "reviews:report",
    "admonition": "assessment:admonition",
    "overhaul": "ratings:weak",
    "feedback": "feedback:feedback",
    "inspection": "inspections:detail",
}


class ItemQuerySet(ScopedQuerySet):
    path_lookup = "org__path"

    def visible_to(self, user, capability: str = "view"):
        """An item is seen from both ends: by those over the responsible organization and by
        those over the issuing side (who opened it and must close it); a member sees the items
        they are named responsible for."""
        scope = scope_of(user)
        q = Q(pk__in=[])
        for prefix in scope.prefixes(capability):
            q |= Q(org__path__startswith=prefix) | Q(issuer__path__startswith=prefix)
        if capability == "view":
            q |= self.self_q(scope) or Q(pk__in=[])
        return self.filter(q)

    def self_q(self, scope: Scope) -> Q | None:
        return Q(responsible_id=scope.member_id) if scope.member_id else None

    def open(self):
        return self.filter(status__in=Item.OPEN)

    def overdue(self, today):
        return self.open().filter(deadline__lt=today)


class Item(Versioned):
    class List(models.TextChoices):
        PROBLEM = "problem", "问题清单"
        TASK = "task", "任务清单"
        SUGGESTION = "suggestion", "建议清单"

    class Source(models.TextChoices):
        INSPECTION = "inspection", "督查发现"
        REVIEW = "review", "述职评议点评"
        ADMONITION = "admonition", "约谈整改要求"
        OVERHAUL = "overhaul", "软弱涣散整顿"
        COMPLIANCE = "compliance", "组织生活未达标"
        FEEDBACK = "feedback", "意见建议"
        MANUAL = "manual", "工委交办"

    class Status(models.TextChoices):
        PENDING = "pending", "待签收"
        RECTIFYING = "rectifying", "整改中"
        CLOSING = "closing", "申请销号"
        CLOSED = "closed", "已销号"
        REFERRED = "referred", "已转办"
        WITHDRAWN = "withdrawn", "已撤销"

    OPEN = (Status.PENDING, Status.RECTIFYING, Status.CLOSING)
    # Not counted in a unit's figures: a referred item answers through its successor, a
    # withdrawn one (its source record was withdrawn, e.g. a mistaken 软弱涣散 identification)
    # was never owed.
    UNCOUNTED = (Status.REFERRED, Status.WITHDRAWN)
    AUDIT_EXCLUDE = ("created_at",)
    HISTORY_HIDDEN = ("returned_count",)

    list = models.CharField("清单", max_length=12, choices=List.choices, default=List.PROBLEM)
    source = models.CharField("来源", max_length=12, choices=Source.choices)
    source_id = models.PositiveBigIntegerField("来源记录", null=True, blank=True)
    source_label = models.CharField("来源说明", max_length=200, blank=True)
    title = models.CharField("事项", max_length=200)
    description = models.TextField("具体内容及整改要求", blank=True)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                            verbose_name="责任单位")
    responsible = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name="责任人")
    issuer = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                               verbose_name="交办单位")
    opened_on = models.DateField("交办日期")
    deadline = models.DateField("整改时限")
    workdays = models.PositiveSmallIntegerField("时限（工作日）", null=True, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.PENDING)
    closed_on = models.DateField("销号日期", null=True, blank=True)
    returned_count = models.PositiveSmallIntegerField("退回次数", default=0)
    referred_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="referred_to", verbose_name="转自")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = "整改事项"
        indexes = [
            models.Index(fields=["status", "deadline"]),
            models.Index(fields=["source", "source_id"]),
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def overdue_days(self, today) -> int:
        """Calendar days past the deadline: until today while open, until 销号 once closed
        (closed late); 0 when on time, for a referred item (its successor answers) and for a
        withdrawn one."""
        if self.status in self.UNCOUNTED:
            return 0
        end = self.closed_on if self.status == self.Status.CLOSED else today
        return max(0, (end - self.deadline).days)

    def final(self) -> "Item":
        """The item answering now: this one, or the last of the items it was referred to."""
        item, seen = self, set()
        while item.status == self.Status.REFERRED and item.pk not in seen:
            seen.add(item.pk)
            nxt = Item.objects.filter(referred_from=item).first()
            if nxt is None:
                break
            item = nxt
        return item


class ItemEvent(models.Model):
    """One step of an item's timeline."""

    class Kind(models.TextChoices):
        OPEN = "open", "交办"
        SIGN = "sign", "签收"
        NOTE = "note", "整改进展"
        REQUEST = "request", "申请销号"
        CLOSE = "close", "销号"
        RETURN = "return", "退回"
        REFER = "refer", "转办"
        RECEIVE = "receive", "转办接收"
        EDIT = "edit", "调整"
        REMIND = "remind", "催办"
        ESCALATE = "escalate", "督办"
        WITHDRAW = "withdraw", "撤销"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField("环节", max_length=10, choices=Kind.choices)
    on = models.DateField("日期")
    text = models.TextField("内容", blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name="办理人")
    at = models.DateTimeField(auto_now_add=True)

    AUDIT_EXCLUDE = ("at",)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "整改环节"
        indexes = [models.Index(fields=["kind", "item"])]


def item_file_path(instance, filename):
    return f"rectification/{instance.item_id}/{filename}"


class ItemFile(models.Model):
    """An optional file of evidence with a step (申请销号, progress): a scan, a photo, a document.
    Never required — the step's text is the evidence. Stored under a folder no URL maps and
    served only through the item's scoping."""

    AUDIT_EXCLUDE = ("file",)

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="files")
    event = models.ForeignKey(ItemEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="files")
    file = models.FileField("文件", upload_to=item_file_path, max_length=255)
    name = models.CharField("文件名", max_length=200)
    size = models.PositiveIntegerField("大小（字节）")
    content_type = models.CharField("文件类型", max_length=100)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = "佐证材料"

    @classmethod
    def history_display(cls, name, value):
        if name == "content_type":
            return {"application/pdf": "PDF 文档", "image/jpeg": "JPG 图片", "image/png": "PNG 图片"}.get(
                value, "其他类型文件")
        return None

    def __str__(self):
        return self.name

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone


class AuditEntryQuerySet(models.QuerySet):
    """Entries are written once and never changed or removed through the platform: every insert
    is chained (core.audit.chain), updates and deletes are refused."""

    def bulk_create(self, objs, *args, **kwargs):
        from . import audit

        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            audit.chain(objs, using=self.db)
            return super().bulk_create(objs, *args, **kwargs)

    def update(self, **kwargs):
        raise AuditImmutable("变更记录不能修改")

    def delete(self):
        raise AuditImmutable("变更记录不能删除")


class AuditImmutable(Exception):
    """An attempt to change or remove a change-history entry."""


class AuditEntry(models.Model):
    """One change to a record: who, when, and each changed field's before/after — or one event
    that changes no record (a login, an export, a reveal).

    Personal data appears here only in masked form (see core.audit). Each entry carries the SM3
    hash of its content chained to the previous entry's (core.audit.chain), so a changed, removed
    or reordered entry is found by `dangjian audit-verify`."""

    # "reveal" and "export" change nothing but are kept: who saw full 身份证号, who took a roster out.
    # "withdraw": a record taken back (撤回, as the pages say): it stays, but no longer counts.
    ACTIONS = [("create", "新增"), ("update", "修改"), ("delete", "删除"), ("withdraw", "撤回"),
               ("reveal", "查看完整身份证号"), ("export", "导出"),
               ("login", "登录"), ("login_failed", "登录失败"), ("logout", "退出登录"),
               ("lockout", "锁定登录"), ("unlock", "解除锁定"), ("token", "签发API令牌"),
               ("grant", "授予角色"), ("revoke", "撤销角色")]

    table = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=16, choices=ACTIONS)
    changes = models.JSONField(default=dict)
    # The account may be deleted later (the link then becomes empty); the entry keeps who it was.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_username = models.CharField(max_length=150, blank=True, default="")
    actor_name = models.CharField(max_length=150, blank=True, default="")
    # Set by the chain (not auto_now_add: the time is part of the hashed content, so it is fixed
    # before the hash is computed).
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["table", "object_id", "at"])]
        ordering = ["-at", "-id"]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutable("变更记录不能修改")
        from . import audit

        using = kwargs.get("using") or "default"
        with transaction.atomic(using=using, savepoint=False):
            audit.chain([self], using=using)
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutable("变更记录不能删除")


class Job(models.Model):
    """A long piece of work (an import, a demo build) whose progress a page polls."""

    STATUS = [("queued", "排队中"), ("running", "进行中"), ("done", "已完成"), ("failed", "失败")]

    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=8, choices=STATUS, default="queued")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=200, blank=True)
    result = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written while the job runs (core.jobs): a job whose process died stops beating and is
    # marked failed instead of staying "running" forever.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The queue's row for it in "worker" mode (django-tasks-db), failed with the job when its
    # worker is gone: the queue itself would keep it "RUNNING" for ever.
    task_id = models.CharField(max_length=64, blank=True)

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(self.done * 100 / self.total) if self.total else 0


class Lock(models.Model):
    """A named lock row (core.locks.hold): writers that must not interleave — two
    recomputations replacing the same stored rows — take it first in their transaction."""

    name = models.CharField(max_length=64, unique=True)
    held_at = models.DateTimeField(null=True, blank=True)


class KeyCheck(models.Model):
    """The key check value of each field key that data in this database is encrypted under
    (dangjian.keys.check_value). Kept beside the data, so that a start with another key, or
    with none, is refused before anything is read or written (core.keycheck)."""

    kid = models.CharField("密钥编号", max_length=32, unique=True)
    suite = models.CharField("算法", max_length=8)
    kcv = models.CharField("密钥校验值", max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


class CalendarYear(models.Model):
    """A year whose public holidays and make-up working days (调休) are known, so that deadlines
    in working days can be computed in it (core.workdays). Years the bundled holiday data knows
    are seeded from it; a later year is entered by the working committee from the State
    Council's notice (国务院办公厅关于部分节假日安排的通知, each November). A year missing here is
    never computed as if every weekday were a working day."""

    class Source(models.TextChoices):
        LIBRARY = "library", "平台随附的节假日数据"
        ENTERED = "entered", "机关工委按国务院办公厅通知录入"

    year = models.PositiveSmallIntegerField("年度", unique=True)
    source = models.CharField("来源", max_length=8, choices=Source.choices)
    notice = models.CharField("依据", max_length=200, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name="录入人")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["year"]
        verbose_name = "节假日安排年度"


class CalendarDay(models.Model):
    """A day that differs from the week: a holiday on a weekday (is_workday False) or a weekend
    made a working day (调休上班, is_workday True). Every other day is what its weekday says."""

    day = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("是否上班")
    name = models.CharField("节日", max_length=40, blank=True)

    class Meta:
        ordering = ["day"]
        verbose_name = "节假日调整"

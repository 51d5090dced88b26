from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One change to a record: who, when, and each changed field's before/after.

    Personal data appears here only in masked form (see core.audit)."""

    # "reveal" and "export" change nothing but are kept: who saw full 身份证号, who took a roster out.
    # "withdraw": a record taken back (撤回, as the pages say): it stays, but no longer counts.
    ACTIONS = [("create", "新增"), ("update", "修改"), ("delete", "删除"), ("withdraw", "撤回"),
               ("reveal", "查看完整身份证号"), ("export", "导出")]

    table = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=8, choices=ACTIONS)
    changes = models.JSONField(default=dict)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["table", "object_id", "at"])]
        ordering = ["-at", "-id"]


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

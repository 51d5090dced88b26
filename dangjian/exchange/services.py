"""Writes of the exchange app: the audit note left by every export of personal data."""
from dangjian.core.models import AuditEntry

EXPORT_TABLE = "exchange.export"


def record_export(user, kind: str, count: int, filters: dict | None = None) -> AuditEntry:
    """Who exported what: an export copies full 身份证号 out of the system, so it leaves a
    trace in the change history even though no record changed."""
    label = {"members": "党员", "orgs": "党组织", "activity_overview": "组织生活落实情况",
             "assessment_scores": "考评结果"}[kind]
    shown = "，".join(f"{k}={v}" for k, v in (filters or {}).items() if v)
    return AuditEntry.objects.create(
        table=EXPORT_TABLE, object_id=0, action="export",
        changes={"kind": kind, "count": count, "filters": filters or {}},
        user=user if user is not None and user.is_authenticated else None,
        note=f"导出{label} {count} 条" + (f"（{shown}）" if shown else "")[:150],
    )

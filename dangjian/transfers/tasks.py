"""The bulk transfer of a large organization as a background job (core.jobs): the page that asked
for it shows its progress and then its outcome. The move itself is the one transaction of
`services.bulk_transfer`, all or nothing, as when it runs inside the request."""
from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from dangjian.orgs.models import Organization

from . import services
from .checks import TransferError

KIND = "transfers-bulk"
# Up to this many members move inside the request; more become a job with a progress page.
INLINE_MEMBERS = 300


def run_bulk(progress, user_id: int, from_id: int, to_id: int, moved_on: str, reason: str,
             member_ids: list[int] | None = None) -> dict:
    user = get_user_model()._default_manager.get(pk=user_id)
    orgs = Organization.objects.in_bulk([from_id, to_id])
    total = len(member_ids) if member_ids is not None else orgs[from_id].members.filter(status="active").count()
    progress(0, total, f"正在转接 {total} 名党员（全部成功才生效）")
    try:
        batch = services.bulk_transfer(user, from_org=orgs[from_id], to_org=orgs[to_id], member_ids=member_ids,
                                       moved_on=dt.date.fromisoformat(moved_on), reason=reason,
                                       progress=progress)
    except services.BulkError as exc:
        return {"ok": False, "summary": exc.message, "problems": [list(p) for p in exc.problems]}
    except TransferError as exc:
        return {"ok": False, "summary": exc.message, "problems": []}
    progress(batch.count, batch.count, "转接完成")
    return {"ok": True, "count": batch.count, "to_code": orgs[to_id].code,
            "summary": f"已将{orgs[from_id].name}的 {batch.count} 名党员转入{orgs[to_id].name}。"}

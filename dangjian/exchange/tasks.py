"""The work a background import job does (run by core.jobs.start)."""
import os

from dangjian.accounts.models import User
from dangjian.activities.io import import_activities
from dangjian.core.cli import summary
from dangjian.members.io import import_members
from dangjian.orgs.io import import_orgs

MAX_ERRORS_KEPT = 2000
# kind → (import function, the noun its counts are given in: the same as its command's)
IMPORTERS = {
    "members": (import_members, "人"),
    "orgs": (import_orgs, "个组织"),
    "activities": (import_activities, "条"),
}


def run_import(progress, kind: str, path: str, user_id: int, dry_run: bool, filename: str = "") -> dict:
    """Import an uploaded file as `user` (scoped to their "import" capability) and delete
    the upload afterwards, whatever happens. The job keeps the report."""
    try:
        user = User.objects.get(pk=user_id)
        fn = IMPORTERS[kind][0]
        report = fn(path, user=user, dry_run=dry_run, progress=progress)
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    errors = report["errors"]
    return {
        **report,
        "header_row": getattr(report, "header_row", 1),
        "errors": errors[:MAX_ERRORS_KEPT],
        "error_count": len(errors),
        "dry_run": dry_run,
        "filename": filename,
        "summary": summary(report, IMPORTERS[kind][1], dry_run),
    }

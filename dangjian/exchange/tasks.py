"""The work the background jobs of this app do (run by core.jobs.start): imports of every kind,
and exports too large to build while the browser waits."""
import os
import secrets
import threading
import time
from pathlib import Path

from django.conf import settings

from dangjian.accounts.models import User
from dangjian.activities.io import ActivityImporter
from dangjian.core import audit
from dangjian.core.cli import summary
from dangjian.development.io import ApplicantImporter
from dangjian.dues.io import PaymentImporter
from dangjian.members.io import MemberImporter
from dangjian.orgs.io import OrgImporter

MAX_ERRORS_KEPT = 2000
# Every import the pages offer, by the kind in their addresses. A new importer is added here.
IMPORTERS = {"members": MemberImporter, "orgs": OrgImporter, "activities": ActivityImporter,
             "dues": PaymentImporter, "applicants": ApplicantImporter}
# A finished export stays on the server this long, for its owner to download.
EXPORT_KEEP_SECONDS = 3600


def run_import(progress, kind: str, path: str, user_id: int, dry_run: bool, filename: str = "") -> dict:
    """Import an uploaded file as `user` (scoped to their "import" capability) and delete
    the upload afterwards, whatever happens. The job keeps the report."""
    importer = IMPORTERS[kind]
    try:
        user = User.objects.get(pk=user_id)
        report = importer(user, progress=progress).run(path, dry_run)
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
        "summary": summary(report, importer.noun, dry_run),
    }


def exports_dir() -> Path:
    folder = Path(settings.VAR_DIR) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def forget_old_exports() -> None:
    """Exports hold full 身份证号: none stays on the server longer than needed."""
    cutoff = time.time() - EXPORT_KEEP_SECONDS
    for path in exports_dir().glob("*.xlsx"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


def _forget_later(path: Path) -> None:
    """Delete the file once its keeping time is over, even if nobody comes back for it (in a
    server that restarts meanwhile, the next export or download removes it)."""
    if settings.JOBS_MODE != "thread":
        return
    timer = threading.Timer(EXPORT_KEEP_SECONDS, lambda: path.unlink(missing_ok=True))
    timer.daemon = True
    timer.start()


def run_member_export(progress, user_id: int, params: dict) -> dict:
    """The roster the member list's filters select, written to a file for its owner to
    download from the job's page; the export is recorded when the file is complete."""
    from dangjian.members.io import export_members
    from dangjian.members.models import Member
    from dangjian.members.queries import filter_members

    user = User.objects.get(pk=user_id)
    qs = filter_members(Member.objects.visible_to(user, "import"), params, user)
    total = qs.count()
    name = f"{secrets.token_hex(16)}.xlsx"
    progress(0, total, "正在导出党员")
    count = export_members(qs, exports_dir() / name, progress, total, user=user)
    audit.record_export(user, "members", "党员", count, params)
    _forget_later(exports_dir() / name)
    progress(count, count, "导出完成")
    return {"file": name, "count": count, "filename": "党员花名册.xlsx"}

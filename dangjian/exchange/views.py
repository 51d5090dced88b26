"""Import and export pages. Uploads become background jobs (core.jobs) whose page polls
for progress with HTMX. Exports are built in a temporary file and sent at once, except a roster
too long to wait for: that becomes a job too, and its page offers the file when it is ready."""
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from dangjian.core import audit, jobs, xlsx
from dangjian.core.models import Job
from dangjian.core.scoping import can_anywhere
from dangjian.core.views import is_htmx
from dangjian.members import io as member_io
from dangjian.members.models import Member
from dangjian.members.queries import filter_members
from dangjian.orgs import io as org_io
from dangjian.orgs.models import Organization
from dangjian.orgs.queries import filter_orgs

from . import tasks

NO_ACCESS = "未找到，或您没有导入导出的权限"
IMPORTERS = tasks.IMPORTERS
MAX_ERRORS_SHOWN = 500
MEMBER_FILTERS = ("q", "org", "category", "status", "is_leader")


def _require_import(request) -> None:
    if not can_anywhere(request.user, "import"):
        raise Http404(NO_ACCESS)


def import_page(request):
    _require_import(request)
    problems: dict[str, str] = {}
    if request.method == "POST":
        kind = request.POST.get("kind")
        upload = request.FILES.get("file")
        if kind not in IMPORTERS:
            problems["members"] = "请选择要导入的类别：" + "、".join(i.title for i in IMPORTERS.values())
        elif upload is None:
            problems[kind] = "请选择要导入的 .xlsx 文件"
        elif upload.size > settings.IMPORT_MAX_BYTES:
            problems[kind] = (f"文件过大（{upload.size / 1048576:.1f} MB），最大允许 "
                              f"{settings.IMPORT_MAX_BYTES / 1048576:.0f} MB，请分成几个文件导入")
        elif upload.size == 0:
            problems[kind] = "文件是空的（0 字节），请选择填好的 .xlsx 文件"
        else:
            saved = _save_upload(upload)
            job = jobs.start(f"import-{kind}", request.user, tasks.run_import, kind, str(saved), request.user.pk,
                             bool(request.POST.get("dry_run")), upload.name[:100], known={"filename": upload.name[:100]})
            return redirect("exchange:job", pk=job.pk)
    recent = Job.objects.filter(user=request.user, kind__startswith="import-").order_by("-created_at")[:10]
    for j in recent:
        j.kind_label = _label(j.kind)
    kinds = [{"kind": k, "label": i.title, "hint": i.hint, "problem": problems.get(k, "")}
             for k, i in IMPORTERS.items()]
    return render(request, "exchange/import.html", {"problems": problems, "kinds": kinds, "recent": recent,
                                                    "max_mb": f"{settings.IMPORT_MAX_BYTES / 1048576:g}"},
                  status=400 if problems else 200)


def _save_upload(upload) -> Path:
    folder = Path(settings.VAR_DIR) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}.xlsx"
    with path.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return path


def _label(kind: str) -> str:
    if kind == "export-members":
        return "导出党员花名册"
    importer = IMPORTERS.get(kind.removeprefix("import-"))
    return f"导入{importer.title}" if importer else ""


def _own_job(request, pk) -> Job:
    """A job of this page, only ever its owner's."""
    return get_object_or_404(Job.objects.filter(user=request.user).filter(
        kind__in=[f"import-{k}" for k in IMPORTERS] + ["export-members"]), pk=pk)


@require_GET
def job(request, pk):
    job = jobs.alive(_own_job(request, pk))
    result = job.result or {}
    is_export = job.kind.startswith("export-")
    ctx = {
        "job": job,
        "finished": job.status in ("done", "failed"),
        "kind_label": _label(job.kind),
        "is_export": is_export,
        # Where the job came from, to go back to: the member list (with its filters) or the import page.
        "back_url": (reverse("members:list") + (f"?{urlencode(result.get('filters') or {})}"
                                                if result.get("filters") else "")
                     if is_export else reverse("exchange:import")),
        "result": result,
        "errors": (result.get("errors") or [])[:MAX_ERRORS_SHOWN],
        "more_errors": max(0, result.get("error_count", 0) - MAX_ERRORS_SHOWN),
        "keep_minutes": tasks.EXPORT_KEEP_SECONDS // 60,
    }
    if is_htmx(request):
        return render(request, "exchange/_job.html", ctx)
    return render(request, "exchange/job.html", ctx)


@require_GET
def job_file(request, pk):
    """The file a finished export job wrote, to its owner only, while it is kept and while the
    owner may still export (the file holds full 身份证号)."""
    _require_import(request)
    job = _own_job(request, pk)
    tasks.forget_old_exports()
    name = (job.result or {}).get("file", "")
    path = tasks.exports_dir() / Path(name).name if name else None
    if job.status != "done" or path is None or not path.is_file():
        messages.error(request, "没有可下载的文件：导出尚未完成，或文件已过保留期限，请重新导出")
        return redirect("exchange:job", pk=job.pk)
    return FileResponse(path.open("rb"), as_attachment=True, filename=job.result.get("filename", "导出.xlsx"),
                        content_type=xlsx.XLSX_TYPE)


@require_GET
def template(request, kind):
    _require_import(request)
    if kind not in IMPORTERS:
        raise Http404(NO_ACCESS)
    # The example row names an organization (and people) of the user's own import scope, so the
    # untouched template passes a dry run for the clerk who tries it first.
    # Its example row is real data of the user's scope: the download is an export of one row.
    return xlsx.workbook_response(lambda out: IMPORTERS[kind].write_template(out, user=request.user),
                                  f"{IMPORTERS[kind].title}导入模板.xlsx",
                                  lambda n: audit.record_export(request.user, f"template_{kind}",
                                                                f"{IMPORTERS[kind].title}导入模板", n))


@require_GET
def export_members(request):
    """The roster the filters select. Up to EXPORT_INLINE_ROWS rows come at once; more become
    a background job with a progress bar, so nobody waits at a frozen page."""
    _require_import(request)
    filters = {k: request.GET.get(k, "") for k in MEMBER_FILTERS}
    qs = filter_members(Member.objects.visible_to(request.user, "import"), filters, request.user)
    if qs.count() > settings.EXPORT_INLINE_ROWS:
        tasks.forget_old_exports()
        job = jobs.start("export-members", request.user, tasks.run_member_export, request.user.pk, filters,
                         known={"filters": {k: v for k, v in filters.items() if v}})
        return redirect("exchange:job", pk=job.pk)
    return xlsx.workbook_response(lambda out: member_io.export_members(qs, out, user=request.user), "党员花名册.xlsx",
                                  lambda n: audit.record_export(request.user, "members", "党员", n, filters))


@require_GET
def export_orgs(request):
    _require_import(request)
    qs = filter_orgs(Organization.objects.visible_to(request.user, "import"), request.GET)
    filters = {k: request.GET.get(k, "") for k in ("q", "kind", "status", "under")}
    return xlsx.workbook_response(lambda out: org_io.export_orgs(qs, out), "党组织.xlsx",
                                  lambda n: audit.record_export(request.user, "orgs", "党组织", n, filters))


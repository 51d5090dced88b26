"""Import and export pages. Uploads become background jobs (core.jobs) whose page polls
for progress with HTMX; exports stream a workbook built in a temporary file."""
import secrets
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from dangjian.activities import io as activity_io
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
KINDS = {"members": "党员花名册", "orgs": "党组织", "activities": "组织生活记录"}
TEMPLATES = {"members": member_io.write_template, "orgs": org_io.write_template,
             "activities": activity_io.write_template}
# What each import is for, under its card on the import page.
HINTS = {
    "members": "按身份证号识别党员：已有的更新，没有的新增。",
    "orgs": "按组织代码识别党组织：已有的更新，没有的新增；上级组织可在同一文件中。",
    "activities": "历史组织生活记录，每次活动一行（谈心谈话除外）；已有的记录不会重复导入。导入后重新计算组织生活落实情况。",
}
MAX_ERRORS_SHOWN = 500


def _require_import(request) -> None:
    if not can_anywhere(request.user, "import"):
        raise Http404(NO_ACCESS)


def import_page(request):
    _require_import(request)
    problems: dict[str, str] = {}
    if request.method == "POST":
        kind = request.POST.get("kind")
        upload = request.FILES.get("file")
        if kind not in KINDS:
            problems["members"] = "请选择要导入的类别：" + "、".join(KINDS.values())
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
                             bool(request.POST.get("dry_run")), upload.name[:100])
            return redirect("exchange:job", pk=job.pk)
    recent = Job.objects.filter(user=request.user, kind__startswith="import-").order_by("-created_at")[:10]
    for j in recent:
        j.kind_label = KINDS.get(j.kind.removeprefix("import-"), "")
    kinds = [{"kind": k, "label": label, "hint": HINTS[k], "problem": problems.get(k, "")}
             for k, label in KINDS.items()]
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


@require_GET
def job(request, pk):
    job = get_object_or_404(Job.objects.filter(user=request.user, kind__startswith="import-"), pk=pk)
    result = job.result or {}
    kind = job.kind.removeprefix("import-")
    ctx = {
        "job": job,
        "finished": job.status in ("done", "failed"),
        "kind_label": KINDS.get(kind, ""),
        "noun": tasks.IMPORTERS[kind][1] if kind in tasks.IMPORTERS else "",
        "result": result,
        "errors": (result.get("errors") or [])[:MAX_ERRORS_SHOWN],
        "more_errors": max(0, result.get("error_count", 0) - MAX_ERRORS_SHOWN),
    }
    if is_htmx(request):
        return render(request, "exchange/_job.html", ctx)
    return render(request, "exchange/job.html", ctx)


@require_GET
def template(request, kind):
    _require_import(request)
    if kind not in KINDS:
        raise Http404(NO_ACCESS)
    return xlsx.workbook_response(TEMPLATES[kind], f"{KINDS[kind]}导入模板.xlsx")


@require_GET
def export_members(request):
    _require_import(request)
    qs = filter_members(Member.objects.visible_to(request.user, "import"), request.GET, request.user)
    filters = {k: request.GET.get(k, "") for k in ("q", "org", "category", "status", "is_leader")}
    return xlsx.workbook_response(lambda out: member_io.export_members(qs, out), "党员花名册.xlsx",
                              lambda n: audit.record_export(request.user, "members", "党员", n, filters))


@require_GET
def export_orgs(request):
    _require_import(request)
    qs = filter_orgs(Organization.objects.visible_to(request.user, "import"), request.GET)
    filters = {k: request.GET.get(k, "") for k in ("q", "kind", "status", "under")}
    return xlsx.workbook_response(lambda out: org_io.export_orgs(qs, out), "党组织.xlsx",
                              lambda n: audit.record_export(request.user, "orgs", "党组织", n, filters))


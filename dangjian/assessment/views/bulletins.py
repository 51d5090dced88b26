"""Bulletins (通报): one run's bulletin as a page and as a .docx, and the archive of all of them.

Who reads them is decided by the scope (see `queries.visible_runs` and the module doc of
`bulletin`): users who can view every target of a run (工委 staff, leaders) read the full text;
a unit's party officer or a branch secretary whose organizations were assessed reads the same
bulletin — it is addressed to every unit — with the named lists cut to their own organizations;
anyone else, including plain members, gets 404 like any page outside their scope.
"""
import datetime as dt
import io

from django.contrib import messages
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dangjian.core import audit
from dangjian.core.scoping import can_anywhere
from dangjian.core.views import paginate

from .. import bulletin as bulletins_
from .. import queries, services
from ..models import GRADE_ORDER, Admonition, Run, TargetScore

FIRST_YEAR = 2000


def _run_or_404(user, pk) -> Run:
    run = queries.visible_runs(user).select_related("scheme").filter(pk=pk).first()
    if run is None:
        raise Http404
    return run


@require_GET
def bulletin(request, pk):
    run = _run_or_404(request.user, pk)
    refused = services.bulletin_problem(run)
    if refused:
        # No bulletin is issued from a draft: the page says why, and holds no document.
        return render(request, "assessment/bulletin_refused.html", {"run": run, "message": refused})
    doc = bulletins_.for_run(run, request.user)
    _record(request.user, run, doc, "page")
    name_indent, date_indent = doc.signature_indents()
    return render(request, "assessment/bulletin.html", {
        "run": run, "doc": doc, "name_indent": name_indent, "date_indent": date_indent,
    })


@require_GET
def bulletin_docx(request, pk):
    run = _run_or_404(request.user, pk)
    refused = services.bulletin_problem(run)
    if refused:
        messages.error(request, refused)
        return redirect("assessment:bulletin", run.pk)
    doc = bulletins_.for_run(run, request.user)
    data = bulletins_.to_docx(doc)
    _record(request.user, run, doc, "docx")
    return FileResponse(io.BytesIO(data), as_attachment=True, filename=doc.filename,
                        content_type=bulletins_.DOCX_TYPE)


def _record(user, run: Run, doc, form: str) -> None:
    """A bulletin names organizations and their grades: reading it, on the page or as a file, is
    an export like a results table."""
    audit.record_export(user, "bulletin", "通报（网页）" if form == "page" else "通报（Word 文件）",
                        doc.figures.assessed, {"run": run.pk, "form": form, "excerpt": "是" if doc.excerpt else ""})


def _filters(request, today: dt.date) -> tuple[int | None, str, list[str]]:
    """The archive's year and cycle, each checked: a bad one is dropped with a message saying
    so, never an error page."""
    problems = []
    raw_year = (request.GET.get("year") or "").strip()
    year = None
    if raw_year:
        if raw_year.isdigit() and FIRST_YEAR <= int(raw_year) <= today.year + 1:
            year = int(raw_year)
        else:
            problems.append(f"年度“{raw_year[:20]}”无效，应为 {FIRST_YEAR}—{today.year + 1} 之间的四位年份，已显示全部年度")
    cycle = (request.GET.get("cycle") or "").strip()
    if cycle and cycle not in Run.Cycle.values:
        problems.append(f"类别“{cycle[:20]}”不存在，已显示全部类别")
        cycle = ""
    return year, cycle, problems


@require_GET
def bulletins(request):
    user = request.user
    if not can_anywhere(user, "view"):
        raise Http404
    year, cycle, problems = _filters(request, timezone.localdate())
    visible = queries.visible_runs(user)
    # A draft has no bulletin (services.bulletin_problem): the archive lists final runs.
    qs = visible.filter(status=Run.Status.FINAL).select_related("scheme").order_by("-period_start", "scheme__code", "pk")
    if year:
        qs = qs.filter(period_start__year=year)
    if cycle:
        qs = qs.filter(cycle=cycle)
    page_obj, qs_base = paginate(request, qs)
    runs = list(page_obj)
    ids = [r.pk for r in runs]
    grades = {}
    for run_id, grade, n in (TargetScore.objects.filter(run_id__in=ids).values_list("run_id", "grade")
                             .annotate(n=Count("id")).order_by()):
        grades.setdefault(run_id, {})[grade] = n
    admonished = dict(Admonition.objects.filter(run_id__in=ids).values_list("run_id").annotate(n=Count("id"))
                      .order_by())
    rows = [{
        "run": r, "title": bulletins_.title_of(r), "period": bulletins_.period_text(r.period),
        "grades": [(label, grades.get(r.pk, {}).get(g.value, 0)) for g, label in
                   ((g, bulletins_.GRADE_LABELS[g.value]) for g in GRADE_ORDER)],
        "admonished": admonished.get(r.pk, 0),
    } for r in runs]
    years = sorted({d.year for d in visible.dates("period_start", "year")}, reverse=True)
    return render(request, "assessment/bulletins.html", {
        "page_obj": page_obj, "qs_base": qs_base, "rows": rows, "year": year, "cycle": cycle,
        "years": years, "cycles": Run.Cycle.choices, "problems": problems,
    })

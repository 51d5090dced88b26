"""Inspection screens: the plans (list with filters, form, plan page with targets, team,
checklist and progress), the on-site page of one target (for a phone: record the visit and a
finding per checklist item), the outside evaluators' codes and their public page, the results,
the Excel export of findings and the .docx 整改情况报告.

A plan is read by the issuing side, its team and — as `models` says — the targets' people; it is
written by the issuing side, and on site also by its team. Everything else is 404.
"""
from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dangjian.core import audit, xlsx
from dangjian.core import history as history_rows
from dangjian.core.scoping import can_anywhere, require
from dangjian.core.versioning import StaleVersion, parse_version
from dangjian.core.views import QueryParams, paginate

from . import queries, report, services
from .checks import InspectionError
from .forms import ChecklistForm, CodeForm, CodesForm, ItemsForm, PlanForm, TargetsForm, VisitForm
from .models import FindingList, Inspection, Kind, Satisfaction


class _Params(QueryParams):
    def __init__(self, request):
        super().__init__(request)
        self.kind = self._coded("kind", dict(Kind.choices), "督查方式")
        self.status = self._coded("status", dict(Inspection.Status.choices), "状态")
        self.year = self._int("year", "年度")
        self.q = self._raw("q")[:50]

    def as_dict(self) -> dict:
        return {"kind": self.kind, "status": self.status, "year": self.year, "q": self.q}


def _version(request) -> int | None:
    try:
        return parse_version(request.POST.get("version"))
    except ValueError:
        return None


def _form_error(form, exc) -> None:
    field = getattr(exc, "field", None)
    if field in ("draw_kinds", "draw_count", "draw_seed", "draw_under", "targets", "team") and field not in form.fields:
        field = None
    form.add_error(field if field in form.fields else None, exc.message)


@require_GET
def index(request):
    user = request.user
    p = _Params(request)
    page_obj, qs_base = paginate(request, queries.inspections(user, kind=p.kind, status=p.status, year=p.year, q=p.q))
    queries.with_progress(page_obj.object_list, user)
    return render(request, "inspections/list.html", {
        "p": p, "page_obj": page_obj, "qs_base": qs_base, "years": queries.years(),
        "kinds": Kind.choices, "statuses": Inspection.Status.choices,
        "can_plan": can_anywhere(user, "edit"), "query_string": request.GET.urlencode()})


def _draw_spec(d) -> dict:
    return {"under": d.get("draw_under"), "kinds": d.get("draw_kinds") or [], "count": d.get("draw_count"),
            "seed": d.get("draw_seed")}


def create(request):
    user = request.user
    require(can_anywhere(user, "edit"))
    today = timezone.localdate()
    form = PlanForm(request.POST or None, user=user, initial={"starts_on": today, "ends_on": today,
                                                             "draw_kinds": ["branch"]})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            inspection = services.create_inspection(
                user, title=d["title"], kind=d["kind"], unannounced=d["unannounced"], issuer=d["issuer"],
                starts_on=d["starts_on"], ends_on=d["ends_on"], note=d["note"], team=d["team"],
                targets=d["targets"], draw_spec=_draw_spec(d))
        except InspectionError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"已制定督查计划“{inspection.title}”，请确定检查清单。")
            return redirect("inspections:detail", inspection.pk)
    return render(request, "inspections/form.html", {"form": form, "title": "制定督查计划"})


def edit(request, pk):
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    require(services.is_issuing_side(user, inspection))
    form = PlanForm(request.POST or None, user=user, editing=True, initial={
        "title": inspection.title, "unannounced": inspection.unannounced, "starts_on": inspection.starts_on,
        "ends_on": inspection.ends_on, "note": inspection.note, "team": [u.pk for u in queries.team_of(inspection)],
        "version": inspection.version})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.update_inspection(user, inspection, title=d["title"], unannounced=d["unannounced"],
                                       starts_on=d["starts_on"], ends_on=d["ends_on"], note=d["note"],
                                       team=d["team"], version=d["version"])
        except (InspectionError, StaleVersion) as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("inspections:detail", inspection.pk)
    return render(request, "inspections/form.html", {"form": form, "title": f"修改督查计划：{inspection.title}",
                                                     "inspection": inspection})


def _detail(request, inspection: Inspection, *, targets_form=None, checklist_form=None, items_form=None, status=200):
    user = request.user
    issuing = services.is_issuing_side(user, inspection)
    whole = queries.sees_whole(user, inspection)
    targets = queries.targets_of(user, inspection)
    findings = list(queries.findings_of(user, inspection, targets))
    states = queries.item_states(inspection, findings)
    for f in findings:
        f.answering = states.get(f.pk)
    ctx = {
        "inspection": inspection, "targets": targets, "findings": findings, "issuing": issuing, "whole": whole,
        "recorder": services.may_record(user, inspection),
        "checklist": list(inspection.checklist.all()),
        "team": queries.team_of(inspection) if whole else [],
        "visited": sum(1 for t in targets if t.visited_on),
        "editable": issuing and inspection.status != Inspection.Status.REPORTED,
    }
    if whole:
        ctx["history"] = history_rows.describe(history_rows.entries_for({"inspections.inspection": [inspection.pk]}))
    ctx["can_assign"] = ctx["recorder"] and (items_form is not None
                                             or any(f.rectification_item_id is None for f in findings))
    if ctx["can_assign"]:
        ctx["items_form"] = items_form or ItemsForm()
    if ctx["editable"]:
        ctx["targets_form"] = targets_form or TargetsForm(user=user)
        ctx["checklist_form"] = checklist_form or ChecklistForm()
    return render(request, "inspections/detail.html", ctx, status=status)


@require_GET
def detail(request, pk):
    return _detail(request, queries.inspection_or_404(request.user, pk))


@require_POST
def add_targets(request, pk):
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    require(services.is_issuing_side(user, inspection))
    form = TargetsForm(request.POST, user=user)
    if form.is_valid():
        try:
            made = services.add_targets(user, inspection, form.cleaned_data["targets"])
        except InspectionError as exc:
            form.add_error("targets", exc.message)
        else:
            messages.success(request, f"已增加督查对象 {len(made)} 个。")
            return redirect("inspections:detail", inspection.pk)
    return _detail(request, inspection, targets_form=form, status=400)


@require_POST
def add_checklist(request, pk):
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    require(services.is_issuing_side(user, inspection))
    form = ChecklistForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            made = services.add_checklist(user, inspection, texts=(d["texts"] or "").splitlines(),
                                          indicators=services.indicators_of(d["scheme"]) if d["scheme"] else ())
        except InspectionError as exc:
            form.add_error("texts", exc.message)
        else:
            messages.success(request, f"已增加检查清单 {len(made)} 项。")
            return redirect("inspections:detail", inspection.pk)
    return _detail(request, inspection, checklist_form=form, status=400)


@require_POST
def open_items(request, pk):
    """交办整改: the findings ticked become rectification items, with one deadline."""
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    require(services.may_record(user, inspection))
    form = ItemsForm(request.POST)
    picks = [int(x) for x in request.POST.getlist("finding") if x.isdigit()]
    findings = list(inspection.findings.filter(pk__in=picks))
    if len(findings) != len(set(picks)):
        raise Http404
    if form.is_valid():
        d = form.cleaned_data
        try:
            made = services.open_items(user, inspection, findings, deadline=d["deadline"], workdays=d["workdays"])
        except InspectionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"已交办整改事项 {len(made)} 项。")
            return redirect("inspections:detail", inspection.pk)
    return _detail(request, inspection, items_form=form, status=400)


@require_POST
def advance(request, pk):
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    require(services.is_issuing_side(user, inspection))
    try:
        services.advance(user, inspection, _version(request))
    except (InspectionError, StaleVersion) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{inspection.title}”：{inspection.get_status_display()}。")
    return redirect("inspections:detail", inspection.pk)


@require_POST
def delete(request, pk):
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    require(services.is_issuing_side(user, inspection))
    try:
        services.delete_inspection(user, inspection, _version(request))
    except (InspectionError, StaleVersion) as exc:
        messages.error(request, exc.message)
        return redirect("inspections:detail", inspection.pk)
    messages.success(request, f"已删除督查计划“{inspection.title}”。")
    return redirect("inspections:list")


# ---- on site -----------------------------------------------------------------------------------

def _entries(request, checklist) -> list[dict]:
    lists = set(FindingList.values)
    entries = []
    for item in [*checklist, None]:
        key = item.pk if item is not None else "free"
        text = (request.POST.get(f"text_{key}") or "").strip()
        if text:
            chosen = request.POST.get(f"list_{key}") or FindingList.PROBLEM
            entries.append({"item": item, "text": text, "list": chosen if chosen in lists else "?"})
    return entries


def target(request, pk):
    """The on-site page of one target: visit, and a finding per checklist item."""
    user = request.user
    t = queries.target_or_404(user, pk)
    inspection = t.inspection
    recorder = services.may_record(user, inspection)
    checklist = list(inspection.checklist.all())
    visit_form = VisitForm(initial={"visited_on": t.visited_on or timezone.localdate(), "visit_note": t.visit_note})
    error, status = "", 200
    if request.method == "POST":
        require(recorder)
        if request.POST.get("step") == "visit":
            visit_form = VisitForm(request.POST)
            if visit_form.is_valid():
                try:
                    services.record_visit(user, t, visited_on=visit_form.cleaned_data["visited_on"],
                                          note=visit_form.cleaned_data["visit_note"])
                except InspectionError as exc:
                    visit_form.add_error("visited_on" if exc.field == "visited_on" else None, exc.message)
                else:
                    messages.success(request, f"已记录对{t.org.name}的督查走访。")
                    return redirect("inspections:target", t.pk)
            status = 400
        else:
            try:
                made = services.record_findings(user, t, _entries(request, checklist), request.FILES.get("attachment"))
            except InspectionError as exc:
                error, status = exc.message, 400
            else:
                messages.success(request, f"已记录督查发现 {len(made)} 条。")
                return redirect("inspections:target", t.pk)
    findings = list(queries.findings_of(user, inspection, [t]))
    return render(request, "inspections/target.html", {
        "t": t, "inspection": inspection, "checklist": checklist, "findings": findings, "recorder": recorder,
        "editable": recorder and inspection.status != Inspection.Status.REPORTED, "visit_form": visit_form,
        "lists": FindingList.choices, "error": error, "posted": request.POST if status == 400 else {},
    }, status=status)


@require_POST
def finding_delete(request, pk):
    user = request.user
    t = queries.target_or_404(user, pk)
    require(services.may_record(user, t.inspection))
    raw = request.POST.get("finding", "")
    finding = t.findings.select_related("inspection").filter(pk=int(raw) if raw.isdigit() else 0).first()
    if finding is None:
        raise Http404
    try:
        services.delete_finding(user, finding)
    except InspectionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已删除一条督查发现。")
    return redirect("inspections:target", t.pk)


@require_GET
def attachment(request, pk):
    """A finding's attachment, for those who see the finding."""
    user = request.user
    t = queries.target_or_404(user, pk)
    raw = request.GET.get("finding", "")
    if not raw:
        return redirect("inspections:target", t.pk)  # no finding named: the target's page lists them
    finding = t.findings.filter(pk=int(raw) if raw.isdigit() else 0).exclude(attachment="").first()
    if finding is None:
        raise Http404
    return FileResponse(finding.attachment.open("rb"), as_attachment=True, filename=finding.attachment_name)


# ---- evaluators --------------------------------------------------------------------------------

CODE_COLUMNS = [xlsx.Column("序号", "n", width=6), xlsx.Column("督查", "inspection", width=36),
                xlsx.Column("评价群体", "group", width=14), xlsx.Column("评价码", "code", width=20, text=True),
                xlsx.Column("评价网址", "url", width=40)]


@never_cache
def codes(request, pk):
    """Codes are shown once, on the answer to the POST that made them, ready to print."""
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    require(services.is_issuing_side(user, inspection))
    form = CodesForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        group = form.cleaned_data["group"]
        try:
            made = services.issue_codes(user, inspection, group, form.cleaned_data["count"])
        except InspectionError as exc:
            _form_error(form, exc)
        else:
            shown = [services.display_code(c) for c in made]
            audit.record_export(user, "inspection-codes", "督查评价码", len(made),
                                {"inspection": inspection.pk, "group": group})
            response = render(request, "inspections/codes_print.html", {
                "inspection": inspection, "group": dict(form.fields["group"].choices)[group], "codes": shown,
                "url": request.build_absolute_uri(reverse("inspections:evaluate"))})
            response["Cache-Control"] = "no-store"
            return response
    res = queries.results(inspection, [])
    return render(request, "inspections/codes.html", {"inspection": inspection, "form": form, "res": res})


def _no_trace(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@never_cache
def evaluate(request):
    """The evaluator's page (两代表一委员, 群众代表): no account; the code in the POST body only."""
    if request.method != "POST":
        return _no_trace(render(request, "inspections/evaluate_code.html", {"form": CodeForm()}))
    form = CodeForm(request.POST)
    form.is_valid()
    raw = (request.POST.get("code") or "")[:100]
    try:
        code = services.code_for(raw)
    except InspectionError as exc:
        form.add_error("code", exc.message)
        return _no_trace(render(request, "inspections/evaluate_code.html", {"form": form}, status=400))
    inspection = code.inspection
    targets = services.evaluation_targets(inspection)
    chosen = {t.pk: request.POST.get(f"grade_{t.pk}", "") for t in targets}
    comments = {t.pk: (request.POST.get(f"comment_{t.pk}") or "")[:600] for t in targets}
    error = ""
    if request.POST.get("step") == "submit":
        try:
            services.evaluate(raw, {k: v for k, v in chosen.items() if v}, comments)
        except InspectionError as exc:
            if exc.field == "code":
                form.add_error("code", exc.message)
                return _no_trace(render(request, "inspections/evaluate_code.html", {"form": form}, status=400))
            error = exc.message
        else:
            return _no_trace(render(request, "inspections/evaluate_done.html", {"inspection": inspection}))
    return _no_trace(render(request, "inspections/evaluate_form.html", {
        "inspection": inspection, "group": code.get_group_display(),
        "code": services.display_code(services.normalize_code(raw)),
        "rows": [(t, chosen[t.pk], comments[t.pk]) for t in targets], "grades": Satisfaction.choices,
        "error": error}, status=400 if error else 200))


@require_GET
def results(request, pk):
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    targets = queries.targets_of(user, inspection)
    return render(request, "inspections/results.html", {
        "inspection": inspection, "res": queries.results(inspection, targets)})


# ---- exports -----------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    xlsx.Column("督查", "inspection", width=36),
    xlsx.Column("督查方式", "kind", width=10),
    xlsx.Column("组织单位", "issuer", width=24),
    xlsx.Column("督查对象", "org", width=30),
    xlsx.Column("组织代码", "code", width=14, text=True),
    xlsx.Column("督查日期", "visited_on", width=12),
    xlsx.Column("检查内容", "item", width=30),
    xlsx.Column("清单", "list", width=10),
    xlsx.Column("发现情况", "text", width=60),
    xlsx.Column("记录人", "by", width=12),
]


@require_GET
def export(request):
    from dangjian.core.people import display_name

    user = request.user
    p = _Params(request)
    raw = request.GET.get("inspection", "")
    inspection = queries.inspection_or_404(user, raw) if raw else None
    qs = queries.export_findings(user, year=p.year, kind=p.kind, inspection=inspection)

    def write(out):
        return xlsx.write(out, EXPORT_COLUMNS, (
            [f.inspection.title, f.inspection.get_kind_display(), f.inspection.issuer.name, f.target.org.name,
             f.target.org.code, f.target.visited_on.isoformat() if f.target.visited_on else "",
             f.item.text if f.item_id else "", f.get_list_display(), f.text, display_name(f.recorded_by)]
            for f in qs.iterator(chunk_size=2000)), title="督查发现")

    name = f"{inspection.title if inspection else (p.year or '')}督查发现.xlsx"
    filters = {**p.as_dict(), "inspection": inspection.pk if inspection else None}
    return xlsx.workbook_response(write, name, lambda n: audit.record_export(user, "inspection-findings", "督查发现",
                                                                            n, filters))


@require_GET
def report_docx(request, pk):
    user = request.user
    inspection = queries.inspection_or_404(user, pk)
    require(queries.sees_whole(user, inspection))
    targets = queries.targets_of(user, inspection)
    findings = list(queries.findings_of(user, inspection, targets))
    answering = queries.item_states(inspection, findings)
    # The item's state, and the organization answering when it was referred elsewhere.
    states = {f.pk: answering[f.pk].get_status_display()
              + (f"（已转办{answering[f.pk].org.name}）" if answering[f.pk].org_id != f.target.org_id else "")
              for f in findings if f.pk in answering}
    doc = report.compose(inspection, targets, findings, states)
    audit.record_export(user, "inspection-report", "整改情况报告", len(findings), {"inspection": inspection.pk})
    return FileResponse(io.BytesIO(report.to_docx(doc)), as_attachment=True, filename=doc.filename,
                        content_type=report.DOCX_TYPE)

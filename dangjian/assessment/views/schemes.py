"""Schemes (考核方案): list, create, copy, the indicator editor, manual scores and starting a run."""
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone

from dangjian.activities.models import ActivityRule
from dangjian.core import history as history_rows
from dangjian.core import periods
from dangjian.core.scoping import committee_staff_only, is_committee_staff, require
from dangjian.core.versioning import StaleVersion, parse_version

from .. import defaults, metrics, queries, services
from ..forms import CopyForm, RunForm, SchemeForm, indicator_rows, period_choices
from ..models import Indicator, Run

EXTRA_ROWS = 3


def scheme_list(request):
    queries.require_view(request.user)
    ctx = {"schemes": queries.schemes(), "can_manage": is_committee_staff(request.user),
           "runs": Run.objects.select_related("scheme").order_by("-computed_at")[:10]}
    return render(request, "assessment/schemes.html", ctx)


@committee_staff_only
def scheme_create(request):
    form = SchemeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            scheme = services.create_scheme(request.user, **form.service_kwargs())
        except services.AssessmentError as exc:
            field = _field(form, exc.field)
            # The form prints the field's label before its errors: drop the service's own.
            form.add_error(field, exc.message.split("：", 1)[1] if field and "：" in exc.message else exc.message)
        else:
            messages.success(request, "考核方案已建立，请设置指标。")
            return redirect("assessment:indicators", scheme.pk)
    return render(request, "assessment/scheme_form.html", {"form": form})


def _field(form, name):
    aliases = {"thresholds": "excellent", "quotas": "quota_excellent"}
    name = aliases.get(name, name)
    return name if name in form.fields else None


def scheme_detail(request, pk):
    queries.require_view(request.user)
    scheme = queries.scheme_or_404(pk)
    indicators = list(scheme.indicators.all())
    # The history of the scheme and of its current indicators, in one query.
    entries = history_rows.entries_for({"assessment.scheme": [scheme.pk],
                                        "assessment.indicator": [i.pk for i in indicators]})
    labels = {("assessment.indicator", i.pk): f"指标（{i.name}）" for i in indicators}
    ctx = {"scheme": scheme, "indicators": indicators, "can_manage": is_committee_staff(request.user),
           "can_score": queries.can_score(request.user),
           "runs": scheme.runs.order_by("-period_start"), "run_form": RunForm(scheme=scheme, today=timezone.localdate()),
           "copy_form": CopyForm(initial={"year": scheme.year + 1, "code": f"{scheme.code}-{scheme.year + 1}"}),
           "metrics": metrics.REGISTRY, "weight_sum": sum(i.weight for i in indicators),
           "history": history_rows.describe(entries, labels),
           "rule_labels": {r.code: f"{r.get_kind_display()}（{r.get_period_display()}）"
                           for r in ActivityRule.objects.filter(effective_to__isnull=True)}}
    return render(request, "assessment/scheme.html", ctx)


@committee_staff_only
def indicators(request, pk):
    scheme = queries.scheme_or_404(pk)
    error, suggested = "", False
    version = scheme.version
    if request.method == "POST":
        count = min(int(request.POST.get("rows") or 0) if (request.POST.get("rows") or "").isdigit() else 0, 200)
        specs = indicator_rows(request.POST, count)
        try:
            version = parse_version(request.POST.get("version"))
        except ValueError:
            version = None
        try:
            services.save_indicators(request.user, scheme, specs, version)
        except StaleVersion as exc:
            # Nothing was saved: the list is drawn again as it now is.
            messages.error(request, exc.message)
            return redirect("assessment:indicators", scheme.pk)
        except services.AssessmentError as exc:
            error = exc.message
            rows = specs
        else:
            messages.success(request, "指标已保存。")
            return redirect("assessment:scheme", scheme.pk)
    else:
        rows = [dict(id=i.pk, category=i.category, name=i.name, weight=i.weight, method=i.method, metric=i.metric,
                     params=i.params, max_score=i.max_score, note=i.note) for i in scheme.indicators.all()]
        if not rows:
            # A new scheme starts from the default indicators (党建责任落实 first), saved only when
            # the staff member saves them.
            rows, suggested = _default_rows(scheme), True
    rows = rows + [dict(method=Indicator.Method.METRIC)] * EXTRA_ROWS
    ctx = {"scheme": scheme, "rows": rows, "error": error, "version": version or "", "suggested": suggested, "metrics": metrics.REGISTRY.values(),
           "rules": ActivityRule.objects.filter(effective_to__isnull=True).order_by("position"),
           "methods": Indicator.Method.choices}
    return render(request, "assessment/indicators.html", ctx, status=400 if error else 200)


def _default_rows(scheme) -> list[dict]:
    """The default indicators of the scheme's level, their weights scaled to the scheme's total
    (the last one takes what rounding leaves, so they add up exactly)."""
    specs = defaults.indicators_for(scheme.level)
    base = sum(Decimal(s["weight"]) for s in specs)
    left = scheme.total
    for n, spec in enumerate(specs):
        weight = left if n == len(specs) - 1 else (Decimal(spec["weight"]) * scheme.total / base).quantize(Decimal("0.01"))
        left -= weight
        spec["weight"] = weight
        spec.setdefault("params", {})
    return specs


@committee_staff_only
def copy(request, pk):
    scheme = queries.scheme_or_404(pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = CopyForm(request.POST)
    if form.is_valid():
        try:
            new = services.copy_scheme(request.user, scheme, **form.cleaned_data)
        except services.AssessmentError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"已复制为 {new.year} 年方案。")
            return redirect("assessment:scheme", new.pk)
    else:
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
    return redirect("assessment:scheme", scheme.pk)


@committee_staff_only
def run(request, pk):
    """Start a run. A period not yet ended gives a draft (see services); a period already run
    is run again only after a page saying when it was computed and asking to confirm."""
    scheme = queries.scheme_or_404(pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = RunForm(request.POST, scheme=scheme, today=timezone.localdate())
    if not form.is_valid():
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
        return redirect("assessment:scheme", scheme.pk)
    replace = request.POST.get("replace") == "1"
    try:
        p = services.check_period(scheme, form.cleaned_data["period"])
        existing = queries.run_of_period(scheme, p.label)
        if existing is not None and not replace:
            return render(request, "assessment/run_confirm.html", {
                "scheme": scheme, "existing": existing, "period": p.label, "period_text": p.chinese,
                "message": services.replace_message(existing)})
        result = services.run_evaluation(request.user, scheme, p.label, replace=replace)
    except services.AssessmentError as exc:
        messages.error(request, exc.message)
        return redirect("assessment:scheme", scheme.pk)
    state = "已定稿" if result.is_final else "暂定（" + "；".join(result.draft_reasons) + "），不评等次、不列入约谈"
    messages.success(request, f"{periods.name_of(result.period)}{'重新' if replace else ''}考评完成：{result.target_count} 个考核对象，{state}。")
    return redirect("assessment:run", result.pk)


def manual_scores(request, pk):
    # The committee's staff, or an inspection team for the targets assigned to it.
    require(queries.can_score(request.user), "未找到，或只有机关工委工作人员和督查考核员可以评分")
    scheme = queries.scheme_or_404(pk)
    period = (request.GET.get("period") or request.POST.get("period") or "").strip()
    error = ""
    if period:
        try:
            services.check_period(scheme, period)
        except services.AssessmentError as exc:
            error, period = exc.message, ""
    inds, targets, entered = queries.manual_grid(scheme, period, request.user) if period else ([], [], {})
    posted, problems = {}, []
    if request.method == "POST" and period and not error:
        entries = []
        for i in inds:
            for t in targets:
                key = f"{i.pk}-{t.org_id}"
                score, comment = request.POST.get(f"s-{key}", ""), request.POST.get(f"c-{key}", "")
                posted[key] = (score, comment)
                # The cell's version as drawn (0: empty); a grid from an older page sends none.
                raw = request.POST.get(f"v-{key}", "")
                version = int(raw) if raw.isdigit() and len(raw) < 10 else None
                entries.append((i.pk, t.org_id, score, comment, version))
        try:
            n = services.enter_manual_scores(request.user, scheme, period, entries)
        except services.ManualScoreErrors as exc:
            error, problems = exc.message, exc.problems
            if any(x.get("stale") for x in problems):
                # Cells another assessor saved since show what they saved, with its version;
                # every other cell keeps what this assessor typed.
                inds, targets, entered = queries.manual_grid(scheme, period, request.user)
                for x in problems:
                    s = entered.get((x["indicator"], x["org"]))
                    if x.get("stale") and s is not None:
                        posted[f"{x['indicator']}-{x['org']}"] = (s.score, s.comment)
        except services.AssessmentError as exc:
            error = exc.message
        else:
            run = queries.run_of_period(scheme, services.check_period(scheme, period).label)
            after = ""
            if run is not None and not run.is_final:
                after = "本周期的考评结果仍为暂定：评分录入齐全且周期结束后，请在考评结果页面定稿（或重新考评）。"
            elif run is not None:
                after = "本周期已定稿的结果不因此改变；如需计入，请重新考评。"
            messages.success(request, f"已保存 {n} 项评分。重新考评后计入得分。" + after)
            return redirect(f"{request.path}?period={period}")
    # What the grid shows: what was just posted (after an error), else what is stored; each
    # problem beside its own cell.
    values = posted or {f"{i}-{o}": (s.score, s.comment) for (i, o), s in entered.items()}
    cell_errors: dict[str, dict[str, str]] = {}
    for x in problems:
        cell_errors.setdefault(f"{x['indicator']}-{x['org']}", {})[x["field"]] = x["message"]
    grid = [{"target": t, "cells": [{"key": f"{i.pk}-{t.org_id}", "indicator": i,
                                     "value": values.get(f"{i.pk}-{t.org_id}", ("", "")),
                                     "version": getattr(entered.get((i.pk, t.org_id)), "version", 0),
                                     "errors": cell_errors.get(f"{i.pk}-{t.org_id}", {})} for i in inds]}
            for t in targets]
    ctx = {"scheme": scheme, "period": period, "indicators": inds, "grid": grid, "error": error,
           "choices": period_choices(scheme.year, timezone.localdate()), "problems": problems}
    return render(request, "assessment/manual.html", ctx, status=400 if error else 200)

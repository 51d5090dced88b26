"""Evaluation runs: the score table (sortable, filterable, exportable), the charts, one target's
breakdown, and the admonitions (约谈) with their talks. Rankings are of organizations."""
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dangjian.core import audit, periods, xlsx
from dangjian.core.scoping import get_visible_or_404, is_committee_staff
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import paginate
from dangjian.orgs.models import Organization
from dangjian.rectification.models import Item
from dangjian.rectification.queries import items_for_source, with_overdue

from .. import io, queries, services
from ..forms import AdmonitionForm
from ..models import GRADE_ORDER, Admonition, Grade


def run_detail(request, pk):
    user = request.user
    queries.require_view(user)
    run = queries.run_or_404(user, pk)
    sort, grade, q = request.GET.get("sort", "place"), request.GET.get("grade", ""), (request.GET.get("q") or "").strip()
    page_obj, qs_base = paginate(request, queries.run_scores(run, user, sort=sort, grade=grade, q=q))
    counts = queries.grade_counts(run, user)
    ctx = {
        "run": run, "scheme": run.scheme, "page_obj": page_obj, "qs_base": qs_base, "sort": sort, "grade": grade,
        "q": q, "grades": Grade.choices, "counts": [(g.label, counts[g.value]) for g in GRADE_ORDER],
        "chart": {"grades": [g.label for g in GRADE_ORDER], "counts": [counts[g.value] for g in GRADE_ORDER],
                  "trend": queries.trend(run, user)},
        "admonitions": queries.admonitions(user).filter(run=run),
        "can_manage": is_committee_staff(user),
    }
    return render(request, "assessment/run.html", ctx)


@require_POST
def run_finalize(request, pk):
    """定稿 (committee staff, POST with the page's confirmation): the run is computed again and
    made final, or refused with the reason and nothing written."""
    user = request.user
    queries.require_view(user)
    run = queries.run_or_404(user, pk)
    if not is_committee_staff(user):
        raise Http404
    if request.POST.get("confirm") != "1":
        # The page's button asks first: what 定稿 does, or why it cannot be done now.
        return render(request, "assessment/run_finalize.html",
                      {"run": run, "scheme": run.scheme, "problem": services.finalize_problem(run, timezone.localdate())})
    try:
        run = services.finalize(user, run)
    except services.AssessmentError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{run}已定稿：等次已评定，{run.admonitions.count()} 个列入约谈。")
    return redirect("assessment:run", run.pk)


@require_GET
def run_export(request, pk):
    user = request.user
    queries.require_view(user)
    run = queries.run_or_404(user, pk)
    scores = queries.run_scores(run, user)
    filename = f"{run.scheme.name}{periods.name_of(run.period)}考评结果.xlsx"
    return xlsx.workbook_response(lambda out: io.export_scores(run, scores, out), filename,
                                  lambda n: audit.record_export(user, "assessment_scores", "考评结果", n,
                                                                {"run": str(run.pk)}))


def target_detail(request, pk, org_pk):
    user = request.user
    queries.require_view(user)
    run = queries.run_or_404(user, pk)
    org = get_visible_or_404(Organization.objects.all(), user, org_pk)
    score = get_object_or_404(run.scores.select_related("org"), org=org)
    history = queries.target_history(run.scheme, org)
    ctx = {"run": run, "org": org, "score": score, "history": history,
           "chart": {"periods": [periods.name_of(h.run.period) for h in history], "totals": [None if h.total is None else float(h.total) for h in history]},
           "admonition": Admonition.objects.filter(run=run, org=org).first()}
    return render(request, "assessment/target.html", ctx)


def admonition_list(request):
    user = request.user
    queries.require_view(user)
    status = request.GET.get("status", "")
    page_obj, qs_base = paginate(request, queries.admonitions(user, status=status))
    found = items_for_source(Item.Source.ADMONITION, [a.pk for a in page_obj.object_list])  # one query
    for a in page_obj.object_list:
        a.item = (found.get(a.pk) or [None])[-1]
    return render(request, "assessment/admonitions.html",
                  {"page_obj": page_obj, "qs_base": qs_base, "status": status,
                   "statuses": Admonition.Status.choices, "can_manage": is_committee_staff(user)})


def admonition_record(request, pk):
    """The talk of an admonition: recorded by the working committee's staff, read by those
    who may view the organization (the unit keeps the requirements it was given)."""
    user = request.user
    queries.require_view(user)
    adm = get_object_or_404(queries.admonitions(user), pk=pk)
    can_manage = is_committee_staff(user)
    if request.method == "POST" and not can_manage:
        raise Http404
    today = timezone.localdate()
    items = with_overdue(items_for_source(Item.Source.ADMONITION, [adm.pk]).get(adm.pk, []), today)
    initial = {f: getattr(adm, f) for f in ("talked_on", "talked_with", "talked_by", "outcome", "version")}
    if items:
        initial["deadline"] = items[0].deadline
    form = AdmonitionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_admonition(user, adm, **form.cleaned_data, today=today)
        except StaleVersion as exc:
            # Nothing was saved: the form is drawn again from the record as it now is.
            messages.error(request, exc.message)
            return redirect("assessment:admonition", adm.pk)
        except services.AssessmentError as exc:
            field = exc.field if exc.field in form.fields else None
            # The form prints the field's label before its errors: drop the service's own.
            message = exc.message.split("：", 1)[1] if field and "：" in exc.message else exc.message
            form.add_error(field, message)
        else:
            messages.success(request, "约谈情况已记录，整改要求已列入任务清单，由被约谈单位签收整改。")
            return redirect("assessment:admonitions")
    return render(request, "assessment/admonition_form.html",
                  {"form": form, "admonition": adm, "can_manage": can_manage, "items": items,
                   "items_query": urlencode({"source": Item.Source.ADMONITION, "source_id": adm.pk})})

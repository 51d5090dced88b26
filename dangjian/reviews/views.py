"""Screens of 述职评议: the reviews of a year, a review, a duty report with its copy findings and
comments, the voting page reached by a ballot code, ballot printing and the results."""
import io
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dangjian.core import audit, xlsx
from dangjian.core import history as history_rows
from dangjian.core.scoping import can
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import paginate
from dangjian.orgs.models import Organization
from dangjian.rectification.queries import with_overdue

from . import queries, services
from .forms import BallotForm, CodeForm, GroupForm, ItemForm, ReportForm, ReviewForm
from .models import GRADE_LABELS, GRADES, DutyReport, DutyReview, VoterGroup

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _year(request) -> tuple[int | None, str]:
    raw = (request.GET.get("year") or "").strip()
    if not raw:
        return None, ""
    if not raw.isdigit() or not 2000 <= int(raw) <= 9999:
        return None, f"年度“{raw[:20]}”无效，已显示全部年度"
    return int(raw), ""


def _form_error(form, exc: services.ReviewError) -> None:
    """The service's message on the field it names (whose label the form shows already)."""
    if exc.field in form.fields:
        form.add_error(exc.field, exc.message.removeprefix(f"{services.FIELD_LABELS.get(exc.field, '')}："))
    else:
        form.add_error(None, exc.message)


# ---- reviews -----------------------------------------------------------------------------------

def review_list(request):
    user = request.user
    year, problem = _year(request)
    page_obj, qs_base = paginate(request, queries.reviews_for(user, year))
    return render(request, "reviews/list.html", {
        "page_obj": page_obj, "qs_base": qs_base, "year": year, "problem": problem,
        "years": queries.review_years(user), "can_create": queries.organizing_orgs(user).exists(),
    })


def review_create(request):
    user = request.user
    orgs = queries.organizing_orgs(user)
    if not orgs.exists():
        raise Http404
    today = timezone.localdate()
    year = today.year if today.month >= 11 else today.year - 1
    form = ReviewForm(request.POST or None, orgs=orgs, initial={
        "org": orgs.first(), "year": year, "title": f"{year}年度基层党组织书记抓党建工作述职评议", "vote_share": 50})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            review = services.create_review(user, d["org"], d["year"], **form.service_kwargs())
        except services.ReviewError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "述职评议已创建：请设置投票群体，等待各单位提交述职报告。")
            return redirect("reviews:detail", review.pk)
    return render(request, "reviews/review_form.html", {"form": form, "title": "新建述职评议"})


def review_detail(request, pk):
    user = request.user
    review = queries.review_or_404(user, pk)
    reports = list(queries.review_reports(user, review))
    all_ = queries.sees_all(user, review)
    organizer = queries.organizes(user, review)
    rows = queries.expected_rows(user, review, reports)
    findings, open_items = queries.finding_counts(user, reports), queries.open_items(reports)
    for row in rows:
        if row.report:
            row.findings, row.open_items = findings.get(row.report.pk, 0), open_items.get(row.report.pk, 0)
    ctx = {
        "review": review, "rows": rows, "sees_all": all_, "organizer": organizer,
        "submitted": len(reports), "expected": sum(1 for r in rows if r.org.parent_id == review.org_id),
        "groups": queries.turnout(review) if all_ else [],
        "group_form": GroupForm() if organizer and review.status == DutyReview.Status.DRAFT else None,
        "history": history_rows.describe(history_rows.entries_for({
            "reviews.dutyreview": [review.pk], "reviews.votergroup": list(review.groups.values_list("pk", flat=True))}))
        if organizer else [],
    }
    if ctx["groups"]:
        ctx["weight_total"] = sum(g.weight for g in ctx["groups"])
        ctx["issued"] = sum(g.issued for g in ctx["groups"])
        ctx["used"] = sum(g.used for g in ctx["groups"])
    return render(request, "reviews/detail.html", ctx)


def review_edit(request, pk):
    user = request.user
    review = queries.review_or_404(user, pk, "edit")
    if review.status == DutyReview.Status.CLOSED:
        messages.error(request, "评议已结束，不能再修改。")
        return redirect("reviews:detail", review.pk)
    points = review.points()
    initial = {"title": review.title, "meeting_on": review.meeting_on, "vote_share": review.vote_share,
               "run": review.run, "version": review.version, **{f"points_{g}": points[g] for g in GRADES}}
    form = ReviewForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_review(user, review, version=form.cleaned_data.get("version"), **form.service_kwargs())
        except StaleVersion as exc:
            # Nothing was saved: the form is drawn again from the review as it now is.
            messages.error(request, exc.message)
            return redirect("reviews:edit", review.pk)
        except services.ReviewError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("reviews:detail", review.pk)
    return render(request, "reviews/review_form.html", {"form": form, "review": review, "title": f"修改：{review.title}"})


@require_POST
def review_status(request, pk):
    user = request.user
    review = queries.review_or_404(user, pk, "edit")
    action = request.POST.get("action")
    try:
        if action == "open":
            services.open_review(user, review)
            messages.success(request, "已开始投票：投票人凭选票上的票码在投票页面投票。")
        elif action == "close":
            services.close_review(user, review)
            messages.success(request, "已结束投票，评议结果已生成。")
        else:
            messages.error(request, "未知的操作。")
    except services.ReviewError as exc:
        messages.error(request, exc.message)
    return redirect("reviews:detail", review.pk)


@require_POST
def review_groups(request, pk):
    user = request.user
    review = queries.review_or_404(user, pk, "edit")
    action = request.POST.get("action")
    group = None
    if action in ("update", "remove"):
        raw = request.POST.get("group") or ""
        group = VoterGroup.objects.filter(review=review, pk=int(raw)).first() \
            if raw.isdigit() and len(raw) < 12 else None
        if group is None:
            messages.error(request, "投票群体不存在。")
            return redirect("reviews:detail", review.pk)
    try:
        if action == "remove":
            services.remove_group(user, group)
            messages.success(request, f"已删除投票群体“{group.name}”。")
        elif action in ("add", "update"):
            form = GroupForm(request.POST)
            if not form.is_valid():
                for errors in form.errors.values():
                    for e in errors:
                        messages.error(request, e)
                return redirect("reviews:detail", review.pk)
            d = form.cleaned_data
            if action == "add":
                services.add_group(user, review, d["name"], d["weight"])
                messages.success(request, f"已添加投票群体“{d['name']}”。")
            else:
                services.update_group(user, group, d["name"], d["weight"], d.get("version"))
                messages.success(request, f"已修改投票群体“{d['name']}”。")
        else:
            messages.error(request, "未知的操作。")
    except (services.ReviewError, StaleVersion) as exc:
        # A stale save wrote nothing; the page is drawn again with the group as it now is.
        messages.error(request, exc.message)
    return redirect("reviews:detail", review.pk)


@never_cache
def ballots(request, pk):
    """Ballot codes are shown once, on the answer to the POST that made them."""
    user = request.user
    review = queries.review_or_404(user, pk, "edit")
    if review.status == DutyReview.Status.CLOSED:
        messages.error(request, "评议已结束，不能再生成选票。")
        return redirect("reviews:detail", review.pk)
    groups = queries.turnout(review)
    form = BallotForm(request.POST or None, groups=groups)
    if request.method == "POST" and form.is_valid():
        group = next(g for g in groups if str(g.pk) == form.cleaned_data["group"])
        try:
            codes = services.issue_ballots(user, group, form.cleaned_data["count"])
        except services.ReviewError as exc:
            _form_error(form, exc)
        else:
            shown = [services.display_code(c) for c in codes]
            # Who took the codes out, how many and in which form (never the codes themselves).
            audit.record_export(user, "ballots", f"选票票码（{group.name}）", len(codes),
                                {"review": review.pk, "group": group.pk, "form": form.cleaned_data["output"]})
            vote_url = request.build_absolute_uri(reverse("reviews:vote"))
            if form.cleaned_data["output"] == "xlsx":
                out = io.BytesIO()
                xlsx.write(out, BALLOT_COLUMNS,
                           ((i, review.title, group.name, c, vote_url) for i, c in enumerate(shown, start=1)),
                           title="选票")
                out.seek(0)
                response = FileResponse(out, as_attachment=True, filename=f"{review.title}（{group.name}）选票.xlsx",
                                        content_type=XLSX)
                response["Cache-Control"] = "no-store"
                return response
            return render(request, "reviews/ballots_print.html",
                          {"review": review, "group": group, "codes": shown, "vote_url": vote_url})
    return render(request, "reviews/ballots.html", {"review": review, "groups": groups, "form": form})


BALLOT_COLUMNS = [xlsx.Column("序号", "n", width=6), xlsx.Column("述职评议", "review", width=36),
                  xlsx.Column("投票群体", "group", width=16), xlsx.Column("票码", "code", width=24, text=True),
                  xlsx.Column("投票网址", "url", width=40)]


def results(request, pk):
    user = request.user
    review = queries.review_or_404(user, pk)
    ctx = {"review": review, "sees_all": queries.sees_all(user, review)}
    if review.status == DutyReview.Status.CLOSED:
        reports = list(queries.review_reports(user, review))
        res = queries.results(review, reports)
        ctx.update(results=res, chart=res.chart(), grades=[GRADE_LABELS[g] for g in GRADES],
                   chart_height=max(240, 24 * len(res.rows) + 70))
    elif ctx["sees_all"]:
        ctx["groups"] = queries.turnout(review)
    return render(request, "reviews/results.html", ctx)


RESULT_COLUMNS = [
    xlsx.Column("述职组织", "org", width=30), xlsx.Column("述职人", "reporter", width=10),
    *[xlsx.Column(GRADE_LABELS[g], g, width=8) for g in GRADES],
    xlsx.Column("有效票", "total", width=8),
    xlsx.Column("“好”和“较好”比例（加权）", "share", width=14, number_format="0.0%"),
    xlsx.Column("评议得分", "vote", width=10, number_format="0.00"),
    xlsx.Column("考核得分（百分制）", "assessment", width=12, number_format="0.00"),
    xlsx.Column("综合得分", "combined", width=10, number_format="0.00"),
]
GROUP_COLUMNS = [
    xlsx.Column("述职组织", "org", width=30), xlsx.Column("投票群体", "group", width=16),
    xlsx.Column("权重（%）", "weight", width=10), *[xlsx.Column(GRADE_LABELS[g], g, width=8) for g in GRADES],
    xlsx.Column("有效票", "total", width=8), xlsx.Column("平均分", "mean", width=10, number_format="0.00"),
]

NOTE_COLUMNS = [xlsx.Column("说明", "note", width=100)]


def results_export(request, pk):
    user = request.user
    review = queries.review_or_404(user, pk)
    if review.status != DutyReview.Status.CLOSED:
        messages.error(request, "评议结束投票后才能导出结果。")
        return redirect("reviews:results", review.pk)
    res = queries.results(review, list(queries.review_reports(user, review)))

    def rnd(v, digits=2):
        return None if v is None else round(v, digits)

    rows = ((r.report.org.name, r.report.reporter.name, *[r.counts.get(g, 0) for g in GRADES], r.total,
             rnd(r.good_share, 4), rnd(r.vote_score), rnd(r.assessment), rnd(r.combined)) for r in res.rows)
    groups = ((r.report.org.name, gc.group.name, float(gc.group.weight), *[gc.counts[g] for g in GRADES], gc.total,
               rnd(gc.mean)) for r in res.rows for gc in r.by_group)
    sheets = [("分群体票数", GROUP_COLUMNS, groups)]
    if res.notes():
        sheets.append(("说明", NOTE_COLUMNS, ((n,) for n in res.notes())))
    out = io.BytesIO()
    xlsx.write(out, RESULT_COLUMNS, rows, title="评议结果", sheets=sheets)
    audit.record_export(user, "review_results", "述职评议结果", len(res.rows), {"review": review.pk})
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=f"{review.title}评议结果.xlsx", content_type=XLSX)


@require_POST
def check_all(request, pk):
    user = request.user
    review = queries.review_or_404(user, pk, "edit")
    ids = list(review.reports.values_list("pk", flat=True))
    if not ids:
        messages.error(request, "还没有提交的述职报告。")
    else:
        job = services.schedule_check(user, ids)
        _check_message(request, job, len(ids))
    return redirect("reviews:detail", review.pk)


def _check_message(request, job, n: int) -> None:
    job.refresh_from_db()
    if job.status == "done":
        messages.success(request, f"查重完成：比对了 {n} 份述职报告，发现 {job.result.get('pairs', 0)} 对雷同。")
    elif job.status == "failed":
        messages.error(request, job.message)
    else:
        messages.info(request, "已开始查重，稍后刷新页面查看结果。")


# ---- reports -----------------------------------------------------------------------------------

def submit(request, pk):
    """Submit or replace the report of one org (?org=…, default: the first expected org the user
    may edit)."""
    user = request.user
    review = queries.review_or_404(user, pk)
    raw = (request.POST.get("org") or request.GET.get("org") or "").strip()
    editable = Organization.objects.visible_to(user, "edit").filter(path__startswith=review.org.path) \
        .exclude(pk=review.org_id).exclude(kind="cell")
    if raw:
        org = editable.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 12 else None
    else:
        org = services.expected_orgs(review).filter(pk__in=editable.values("pk")).first()
    if org is None:
        raise Http404
    if review.status != DutyReview.Status.DRAFT:
        messages.error(request, f"评议{review.get_status_display()}，不能再提交或修改述职报告。")
        return redirect("reviews:detail", review.pk)
    report = DutyReport.objects.filter(review=review, org=org).first()
    default = report.reporter if report else services.default_reporter(org)
    initial = {"reporter": default, "keep_original": True, "version": report.version if report else 0}
    if report:
        initial.update(title=report.title, text="" if report.original_name else report.text)
    bound = request.method == "POST"
    form = ReportForm(request.POST if bound else None, request.FILES if bound else None, initial=initial,
                      members=services.reporter_candidates(org))
    if bound and form.is_valid():
        d = form.cleaned_data
        try:
            saved = services.submit_report(user, review, org, d["reporter"], title=d["title"], text=d["text"],
                                           upload=d["file"] or None, keep_original=d["keep_original"],
                                           version=d.get("version"))
        except services.ReviewError as exc:
            _form_error(form, exc)
        except StaleVersion as exc:
            # Nothing was saved: the form is drawn again from the report as it now is.
            messages.error(request, exc.message)
            return redirect(f"{request.path}?org={org.pk}")
        else:
            messages.success(request, "述职报告已提交" if report is None else "述职报告已更新")
            return redirect("reviews:report", saved.pk)
    return render(request, "reviews/report_form.html", {"form": form, "review": review, "org": org, "report": report})


def report_detail(request, pk):
    user = request.user
    report = queries.report_or_404(user, pk)
    review = report.review
    findings = queries.findings_for(user, report)
    organizer = queries.organizes(user, review)
    spans = [(p[0], p[1]) for f in findings for p in f.passages]
    ctx = {
        "report": report, "review": review, "findings": findings, "organizer": organizer,
        "segments": queries.highlighted(report.text, spans) if spans else None,
        "items": with_overdue(queries.items_of(report), timezone.localdate()), "item_form": ItemForm() if organizer and review.status != "draft" else None,
        "items_query": urlencode({"source": "review", "source_id": report.pk}),
        "can_edit": queries.may_submit(user, review, report.org),
        "can_check": can(user, "edit", report.org.path) or organizer,
        "history": history_rows.describe(history_rows.entries_for({"reviews.dutyreport": [report.pk]})),
    }
    return render(request, "reviews/report.html", ctx)


def report_original(request, pk):
    report = queries.report_or_404(request.user, pk)
    if not report.original:
        messages.info(request, "该述职报告是直接填写的正文，没有上传原文件。")
        return redirect("reviews:report", report.pk)
    try:
        fh = report.original.open("rb")
    except FileNotFoundError:
        raise Http404("原文件已不存在") from None
    response = FileResponse(fh, as_attachment=True, filename=report.original_name or "述职报告",
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def report_check(request, pk):
    user = request.user
    report = queries.report_or_404(user, pk)
    if not (can(user, "edit", report.org.path) or queries.organizes(user, report.review)):
        raise Http404
    _check_message(request, services.schedule_check(user, [report.pk]), 1)
    return redirect("reviews:report", report.pk)


def compare(request, pk):
    """Both texts side by side, the copied passages marked in each."""
    user = request.user
    report = queries.report_or_404(user, pk)
    raw = (request.GET.get("with") or "").strip()
    other_id = int(raw) if raw.isdigit() and len(raw) < 12 else None
    finding = next((f for f in queries.findings_for(user, report) if f.other.pk == other_id), None)
    if finding is None:
        messages.info(request, "没有找到这两份述职报告之间的雷同内容。")
        return redirect("reviews:report", report.pk)
    ctx = {
        "report": report, "other": finding.other, "finding": finding,
        "left": queries.highlighted(report.text, [(p[0], p[1]) for p in finding.passages]),
        "right": queries.highlighted(finding.other.text, [(p[2], p[3]) for p in finding.passages]),
    }
    return render(request, "reviews/compare.html", ctx)


def report_items(request, pk):
    """The report's 点评: listed on the one item list (GET), entered by the organizer (POST), each
    becoming a rectification item that is signed for, worked on and closed on its own page."""
    user = request.user
    report = queries.report_or_404(user, pk)
    if request.method != "POST":
        return redirect(f"{reverse('rectification:list')}?{urlencode({'source': 'review', 'source_id': report.pk})}")
    if request.POST.get("action", "add") != "add" or not queries.organizes(user, report.review):
        raise Http404
    form = ItemForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
        return redirect("reviews:report", report.pk)
    d = form.cleaned_data
    try:
        services.add_item(user, report, d["text"], d["due_on"])
    except services.ReviewError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "点评意见已录入，列为整改事项，由述职单位签收整改。")
    return redirect(f"{reverse('reviews:report', args=[report.pk])}#items")


# ---- voting ------------------------------------------------------------------------------------

def _no_trace(response: HttpResponse) -> HttpResponse:
    # Not kept by the browser or a proxy: the page shows the code and, after a refusal, the
    # grades chosen. (A "no-referrer" policy would make browsers send "Origin: null" and fail
    # the CSRF check; the site's "same-origin" already keeps the address in the site.)
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@never_cache
def vote(request):
    """The voter's page: enter the ballot code, then grade every report. Open to voters without
    an account; nothing about the voter (login, session, address) is recorded with the votes.
    The code travels in the POST body only, never in the address."""
    if request.method != "POST":
        return _no_trace(render(request, "reviews/vote_code.html", {"form": CodeForm()}))
    form = CodeForm(request.POST)
    form.is_valid()
    code = (request.POST.get("code") or "")[:100]
    try:
        ballot = services.ballot_for_code(code)
    except services.ReviewError as exc:
        form.add_error("code", exc.message)
        return _no_trace(render(request, "reviews/vote_code.html", {"form": form}))
    review = ballot.group.review
    reports = list(DutyReport.objects.filter(review=review).select_related("org", "reporter").order_by("org__path"))
    chosen = {r.pk: request.POST.get(f"grade_{r.pk}", "") for r in reports}
    error = ""
    if request.POST.get("step") == "cast":
        grades = {pk: g for pk, g in chosen.items() if g}
        try:
            services.cast_ballot(code, grades)
        except services.ReviewError as exc:
            if exc.field == "code":
                form.add_error("code", exc.message)
                return _no_trace(render(request, "reviews/vote_code.html", {"form": form}))
            error = exc.message
        else:
            return _no_trace(render(request, "reviews/vote_done.html", {"review": review, "count": len(reports)}))
    return _no_trace(render(request, "reviews/vote_ballot.html", {
        "review": review, "group": ballot.group, "code": services.display_code(services.normalize_code(code)),
        "reports": [(r, chosen[r.pk]) for r in reports], "grades": [(g, GRADE_LABELS[g]) for g in GRADES],
        "error": error,
    }))


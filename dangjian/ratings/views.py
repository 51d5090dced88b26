"""Star-rating screens: the year's overview (counts, charts, the table of branches with the
reasons of each level, export), a branch's levels across years, the weak-organization list and
each case's overhaul page, commendation candidates, the rules of a year.

Every page starts from the user's rating roots (see queries): 工委 staff, leaders and unit party
officers see their subtree; anyone else gets 404. Changing the rules, rating a year and
identifying or closing a weak case are for 工委 staff; a unit's party officer keeps the
overhaul plan and progress of the cases in their unit.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dangjian.core import audit, xlsx
from dangjian.core import history as history_rows
from dangjian.core.scoping import can, can_anywhere, committee_staff_only, is_committee_staff
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import QueryParams, paginate
from dangjian.orgs.models import Organization
from dangjian.rectification.models import Item
from dangjian.rectification.queries import items_for_source

from . import queries, rules, services
from .forms import CloseForm, IdentifyForm, NoteForm, PlanForm, RequestForm, SchemeForm, WithdrawForm
from .models import LEVEL_LABELS, LEVEL_ORDER, RANK, Level, Rating, WeakOrg
from .rules import RatingError

FIRST_YEAR = services.FIRST_YEAR


class _Params(QueryParams):
    """The page's query parameters, each checked (see QueryParams)."""

    def __init__(self, request, today: dt.date, max_year: int | None = None, default: int | None = None):
        super().__init__(request)
        self.default = default or today.year
        self.year = self._year(today, max_year or today.year)
        self.level = self._coded("level", LEVEL_LABELS, "星级")
        self.flag = self._coded("flag", queries.FLAGS, "筛选条件")
        self.unit = self._int("unit", "单位")
        self.q = (self.get.get("q") or "").strip()[:50]

    def _year(self, today: dt.date, last: int) -> int:
        raw = self._raw("year")
        if not raw:
            return self.default
        if not raw.isdigit() or len(raw) != 4 or not FIRST_YEAR <= int(raw) <= last:
            self.problems.append(f"年度“{raw[:20]}”无效，应为 {FIRST_YEAR}—{last} 的四位年份，已显示 {self.default} 年")
            return self.default
        return int(raw)

    def filters(self) -> dict:
        values = {"year": self.year, "level": self.level, "unit": self.unit, "q": self.q, "flag": self.flag}
        return {k: v for k, v in values.items() if v not in (None, "")}


def _years(today: dt.date, problems: dict | None = None) -> list[int]:
    """The years a ratings page offers: those rated, and those that can be rated now (whose
    scheme's basis has results, see services.basis_problem), latest first. `problems` receives
    the basis problem of each year looked at."""
    return sorted(set(queries.years()) | set(services.rateable_years(today, problems)), reverse=True)


def _default_year(today: dt.date, years: list[int]) -> int:
    """The year shown without ?year=: this year if it is offered, else the latest one offered."""
    return today.year if today.year in years or not years else years[0]


def _year_options(years: list[int], shown: int) -> list[tuple[int, str]]:
    """(year, label) for the year selector; a year asked for by address that is not offered is
    listed too, so the selector names the year on the page, and says it has nothing to rate."""
    options = [(y, str(y)) for y in years]
    if shown not in years:
        options = sorted([*options, (shown, f"{shown}（无可评定的数据）")], reverse=True)
    return options


def _describe(ratings) -> list:
    for r in ratings:
        r.level_label, r.badge = LEVEL_LABELS[r.level], queries.LEVEL_BADGES[r.level]
        r.previous_label = LEVEL_LABELS.get(r.previous_level, "—") if r.previous_level else "—"
    return ratings


# ---- the year's overview ------------------------------------------------------------------------

@require_GET
def overview(request):
    user = request.user
    roots = queries.roots_or_404(user)
    today = timezone.localdate()
    problems: dict[int, str | None] = {}
    years = _years(today, problems)
    p = _Params(request, today, default=_default_year(today, years))
    run = queries.run(p.year)
    staff = is_committee_staff(user)
    cannot_rate = None
    if staff:
        cannot_rate = problems[p.year] if p.year in problems else services.basis_problem(p.year, today)
    ctx = {"p": p, "run": run, "years": _year_options(years, p.year), "staff": staff,
           # Why the year cannot be rated now (staff only: they are the ones who rate).
           "cannot_rate": cannot_rate,
           "roots": roots, "levels": [(lv.value, lv.label) for lv in [*LEVEL_ORDER, Level.UNRATED]],
           "flags": queries.FLAGS.items(), "today": today, "tab": "overview"}
    if run is not None:
        summary = queries.summary(user, roots, run)
        units = queries.units(user, roots, run)
        if p.unit is not None and p.unit not in {u for u, _ in units}:
            p.problems.append("所选单位不在本页范围内，已显示全部单位")
            p.unit = None
        page_obj, qs_base = paginate(request, queries.ratings(user, roots, run, level=p.level, unit=p.unit, q=p.q,
                                                             flag=p.flag))
        _describe(page_obj.object_list)
        ctx.update(summary=summary, chart=queries.chart(summary), units=units, page_obj=page_obj, qs_base=qs_base,
                   rules_text=rules.check(run.applied).describe() if run.applied else [],
                   export_query=urlencode(p.filters()))
    return render(request, "ratings/overview.html", ctx)


@committee_staff_only
@require_POST
def run_rating(request):
    user = request.user
    today = timezone.localdate()
    raw = (request.POST.get("year") or "").strip()
    year = int(raw) if raw.isdigit() and len(raw) == 4 else None
    if year is None:
        messages.error(request, f"年度：“{raw[:20]}”不是有效的年份")
        return redirect("ratings:overview")
    try:
        run = services.run_rating(user, year, today=today)
    except RatingError as exc:
        messages.error(request, exc.message)
    else:
        shown = "，".join(f"{LEVEL_LABELS[lv]} {n} 个" for lv, n in run.counts.items() if n)
        messages.success(request, f"{year} 年星级评定已完成：{run.target_count} 个党支部，{shown}。")
    return redirect(f"{reverse('ratings:overview')}?year={year}")


RATING_COLUMNS = [
    xlsx.Column("党支部", "org", width=30),
    xlsx.Column("组织代码", "code", width=14, text=True),
    xlsx.Column("所属单位", "unit", width=26),
    xlsx.Column("得分", "score", width=9),
    xlsx.Column("星级", "level", width=8),
    xlsx.Column("按分数线", "base", width=10),
    xlsx.Column("上年星级", "previous", width=10),
    xlsx.Column("达标", "qualified", width=7),
    xlsx.Column("应开未开（项）", "missing", width=12),
    xlsx.Column("推荐评先", "commendable", width=9),
    xlsx.Column("评定依据与原因", "reasons", width=90),
]


def _rating_rows(ratings):
    for r in ratings:
        yield [r.org.name, r.org.code, r.org.unit.name if r.org.unit else "", float(r.score) if r.score is not None
               else "", LEVEL_LABELS[r.level], LEVEL_LABELS[r.base_level], LEVEL_LABELS.get(r.previous_level, ""),
               xlsx.yes_no(r.qualified), r.missing_count, xlsx.yes_no(r.commendable),
               "\n".join(x["text"] for x in r.reasons)]


@require_GET
def export(request):
    user = request.user
    roots = queries.roots_or_404(user)
    p = _Params(request, timezone.localdate())
    run = queries.run(p.year)
    if run is None:
        messages.warning(request, f"{p.year} 年尚未进行星级评定，没有可导出的结果。")
        return redirect(f"{reverse('ratings:overview')}?year={p.year}")
    rows = queries.ratings(user, roots, run, level=p.level, unit=p.unit, q=p.q, flag=p.flag)

    def write(out):
        return xlsx.write(out, RATING_COLUMNS, _rating_rows(rows.iterator(chunk_size=2000)),
                          title=f"{p.year}年星级评定")

    return xlsx.workbook_response(write, f"{p.year}年党支部星级评定结果.xlsx",
                              lambda n: audit.record_export(user, "ratings", "星级评定结果", n, p.filters()))


# ---- an organization's levels across years ---------------------------------------------------

@require_GET
def org_history(request, org_pk):
    user = request.user
    roots = queries.roots_or_404(user)
    org = queries.org_or_404(user, roots, org_pk)
    own = _describe(queries.org_history(org))
    subtree = queries.subtree_history(org) if org.kind != "branch" else []
    chart = {"years": [r.year for r in reversed(own)],
             "ranks": [RANK[r.level] if r.level != Level.UNRATED else None for r in reversed(own)],
             "labels": [lv.label for lv in reversed(LEVEL_ORDER)]}
    ctx = {"org": org, "own": own, "subtree": subtree, "chart": chart,
           "level_heads": [lv.label for lv in [*LEVEL_ORDER, Level.UNRATED]],
           "weak": queries.weak_of_org(org), "today": timezone.localdate(), "tab": "org"}
    return render(request, "ratings/org.html", ctx)


# ---- weak organizations -------------------------------------------------------------------------

@require_GET
def weak_list(request):
    user = request.user
    roots = queries.roots_or_404(user)
    today = timezone.localdate()
    years = _years(today)
    p = _Params(request, today, default=_default_year(today, years))
    tab = "candidates" if request.GET.get("tab") == "candidates" else "cases"
    status = request.GET.get("status") or "open"
    if status not in queries.WEAK_FILTERS:
        p.problems.append(f"状态“{status[:20]}”不存在，已显示未销号的")
        status = "open"
    run = queries.run(p.year)
    if tab == "candidates":
        qs = queries.weak_candidates(user, roots, run) if run else Rating.objects.none()
    else:
        qs = queries.weak_cases(user, roots, status=status, q=p.q, today=today)
    page_obj, qs_base = paginate(request, qs)
    if tab == "candidates":
        _describe(page_obj.object_list)
    else:
        found = items_for_source(Item.Source.OVERHAUL, [w.pk for w in page_obj.object_list])  # one query
        for w in page_obj.object_list:
            w.badge, w.is_overdue = queries.STATUS_BADGES[w.status], w.overdue(today)
            w.item = (found.get(w.pk) or [None])[-1]
    counts = queries.weak_counts(user, roots, today)
    ctx = {"p": p, "tab": "weak", "list": tab, "status": status, "counts": counts,
           "filters": [(code, label, counts[code]) for code, label in queries.WEAK_FILTERS.items()],
           "page_obj": page_obj, "qs_base": qs_base, "run": run, "years": _year_options(years, p.year), "today": today,
           "can_identify": can_anywhere(user, "inspect"),
           "export_query": urlencode({"status": status, **({"q": p.q} if p.q else {})})}
    return render(request, "ratings/weak_list.html", ctx)


WEAK_COLUMNS = [
    xlsx.Column("党组织", "org", width=30),
    xlsx.Column("组织代码", "code", width=14, text=True),
    xlsx.Column("所属单位", "unit", width=26),
    xlsx.Column("认定日期", "identified_on", width=12),
    xlsx.Column("认定来源", "source", width=12),
    xlsx.Column("认定原因", "reasons", width=50),
    xlsx.Column("整顿措施", "measures", width=50),
    xlsx.Column("整顿责任人", "responsible", width=16),
    xlsx.Column("整顿时限", "deadline", width=12),
    xlsx.Column("状态", "status", width=14),
    xlsx.Column("最近进展", "last_note", width=12),
    xlsx.Column("销号日期", "closed_on", width=12),
    xlsx.Column("验收意见", "verification", width=50),
]


@require_GET
def weak_export(request):
    user = request.user
    roots = queries.roots_or_404(user)
    today = timezone.localdate()
    status = request.GET.get("status") or "open"
    status = status if status in queries.WEAK_FILTERS else "open"
    q = (request.GET.get("q") or "").strip()[:50]
    cases = queries.weak_cases(user, roots, status=status, q=q, today=today)

    def rows():
        for w in cases.iterator(chunk_size=2000):
            yield [w.org.name, w.org.code, w.org.unit.name if w.org.unit else "", w.identified_on,
                   w.get_source_display() + (f"（{w.rating_year} 年）" if w.rating_year else ""), w.reasons,
                   w.measures, w.responsible, w.deadline or "",
                   w.get_status_display() + ("（逾期）" if w.overdue(today) else ""), w.last_note or "",
                   w.closed_on or "", w.verification]

    return xlsx.workbook_response(lambda out: xlsx.write(out, WEAK_COLUMNS, rows(), title="软弱涣散党组织整顿"),
                              "软弱涣散党组织整顿台账.xlsx",
                              lambda n: audit.record_export(user, "weak", "软弱涣散党组织整顿台账", n, {"status": status, "q": q}))


def _identify_initial(user, roots, request, today) -> dict:
    """A candidate's org and its rating reasons, when the list's link names them."""
    initial = {"identified_on": today}
    raw_org, raw_year = (request.GET.get("org") or "").strip(), (request.GET.get("year") or "").strip()
    if not (raw_org.isdigit() and len(raw_org) <= 12):
        return initial
    org = Organization.objects.visible_to(user, "inspect").filter(queries.under(roots, "path"), pk=int(raw_org)).first()
    if org is None:
        return initial
    initial["org_code"] = org.code
    if raw_year.isdigit() and len(raw_year) == 4:
        rating = Rating.objects.visible_to(user).filter(org=org, year=int(raw_year)).first()
        if rating is not None:
            initial["rating_year"] = rating.year
            initial["reasons"] = f"{rating.year} 年星级评定为{LEVEL_LABELS[rating.level]}：" + "；".join(
                x["text"] for x in rating.reasons if x["kind"] in ("score", "line", "cap", "quota", "lagging"))
    return initial


def weak_new(request):
    user = request.user
    roots = queries.roots_or_404(user)
    # 认定 is an inspection's finding: the working committee's staff or its inspection team
    # (督查考核员, over the organizations assigned to it); only the committee closes a case.
    if not can_anywhere(user, "inspect"):
        raise Http404
    today = timezone.localdate()
    orgs = Organization.objects.visible_to(user, "inspect").filter(queries.under(roots, "path"))
    form = IdentifyForm(request.POST or None, orgs=orgs, initial=_identify_initial(user, roots, request, today))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        org = d["org_code"]
        try:
            weak = services.identify_weak(user, org, identified_on=d["identified_on"], reasons=d["reasons"],
                                          rating_year=d.get("rating_year"), today=today)
        except RatingError as exc:
            field = {"org": "org_code"}.get(exc.field, exc.field)
            form.add_error(field if field in ("org_code", "identified_on", "reasons") else None, exc.message)
        else:
            messages.success(request, f"已认定“{org.name}”为软弱涣散党组织，请制定整顿方案。")
            return redirect("ratings:weak", weak.pk)
    return render(request, "ratings/weak_new.html", {"form": form, "tab": "weak"})


def _weak_page(request, weak: WeakOrg, status: int = 200, **forms):
    user = request.user
    today = timezone.localdate()
    path = weak.org.path
    items = queries.weak_items(weak, today)
    item = next((i for i in reversed(items) if i.status != "referred"), items[-1] if items else None)
    can_plan = weak.is_open and can(user, "edit", path)
    # A form sent back with its error is shown again even when the item's state no longer offers it.
    can_request = weak.is_open and item is not None and can(user, "edit", item.org.path) and (
        item.status in ("pending", "rectifying") or "request_form" in forms)
    can_close = weak.status == WeakOrg.Status.OVERHAULING and item is not None and can(user, "manage", path) and (
        item.status == "closing" or "close_form" in forms)
    can_withdraw = weak.is_open and can(user, "manage", path)
    plan_initial = {"measures": weak.measures, "responsible": weak.responsible, "deadline": weak.deadline,
                    "version": weak.version}
    entries = history_rows.entries_for({"ratings.weakorg": [weak.pk]})
    rating = (Rating.objects.filter(org=weak.org, year=weak.rating_year).first()
              if weak.rating_year else None)
    ctx = {
        "weak": weak, "org": weak.org, "notes": queries.weak_timeline(items), "today": today, "tab": "weak",
        "items": items, "item": item,
        "items_query": urlencode({"source": "overhaul", "source_id": weak.pk}),
        "badge": queries.STATUS_BADGES[weak.status], "overdue": weak.overdue(today), "rating": rating,
        "can_plan": can_plan, "can_request": can_request, "can_close": can_close, "can_withdraw": can_withdraw,
        "plan_form": forms.get("plan_form") or PlanForm(initial=plan_initial),
        "note_form": forms.get("note_form") or NoteForm(initial={"noted_on": today}),
        "request_form": forms.get("request_form") or RequestForm(),
        "close_form": forms.get("close_form") or CloseForm(initial={"closed_on": today, "version": weak.version}),
        "withdraw_form": forms.get("withdraw_form") or WithdrawForm(initial={"version": weak.version}),
        "history": history_rows.describe(entries),
    }
    if rating is not None:
        rating.level_label = LEVEL_LABELS[rating.level]
    return render(request, "ratings/weak_detail.html", ctx, status=status)


@require_GET
def weak_detail(request, pk):
    roots = queries.roots_or_404(request.user)
    return _weak_page(request, queries.weak_or_404(request.user, roots, pk))


def _weak_action(request, pk, capability: str, form_class, form_name: str, write, done: str):
    """POST of one of the case's forms: out of scope or without the capability is 404; bad
    input re-shows the page with the message on the field, nothing written."""
    user = request.user
    roots = queries.roots_or_404(user)
    weak = queries.weak_or_404(user, roots, pk)
    if not can(user, capability, weak.org.path):
        raise Http404
    form = form_class(request.POST)
    if form.is_valid():
        try:
            write(user, weak, form.cleaned_data)
        except StaleVersion as exc:
            # Nothing was saved: the case is shown again as it now is.
            messages.error(request, exc.message)
            return redirect("ratings:weak", weak.pk)
        except RatingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, done)
            return redirect("ratings:weak", weak.pk)
    weak.refresh_from_db()
    return _weak_page(request, weak, **{form_name: form})


@require_POST
def weak_plan(request, pk):
    return _weak_action(request, pk, "edit", PlanForm, "plan_form",
                        lambda u, w, d: services.set_plan(u, w, measures=d["measures"], responsible=d["responsible"],
                                                          deadline=d["deadline"], version=d.get("version")),
                        "整顿方案已保存。")


@require_POST
def weak_note(request, pk):
    return _weak_action(request, pk, "edit", NoteForm, "note_form",
                        lambda u, w, d: services.add_note(u, w, noted_on=d["noted_on"], text=d["text"]),
                        "整顿进展已记录在整顿事项中。")


@require_POST
def weak_request(request, pk):
    return _weak_action(request, pk, "edit", RequestForm, "request_form",
                        lambda u, w, d: services.request_close(u, w, evidence=d["evidence"]),
                        "已申请销号，待机关工委核查验收。")


@require_POST
def weak_close(request, pk):
    return _weak_action(request, pk, "manage", CloseForm, "close_form",
                        lambda u, w, d: services.close_weak(u, w, closed_on=d["closed_on"],
                                                            verification=d["verification"], version=d.get("version")),
                        "已验收销号。")


@require_POST
def weak_withdraw(request, pk):
    return _weak_action(request, pk, "manage", WithdrawForm, "withdraw_form",
                        lambda u, w, d: services.withdraw_weak(u, w, reason=d["reason"], version=d.get("version")),
                        "已撤销认定，记录保留。")


# ---- commendation candidates ------------------------------------------------------------------

@require_GET
def commendation(request):
    user = request.user
    roots = queries.roots_or_404(user)
    today = timezone.localdate()
    years = _years(today)
    p = _Params(request, today, default=_default_year(today, years))
    run = queries.run(p.year)
    ctx = {"p": p, "run": run, "years": _year_options(years, p.year), "tab": "commendation"}
    if run is not None:
        page_obj, qs_base = paginate(request, queries.commendation(user, roots, run))
        _describe(page_obj.object_list)
        c = run.applied.get("commendation") or {}
        ctx.update(page_obj=page_obj, qs_base=qs_base,
                   condition="、".join(LEVEL_LABELS[lv] for lv in c.get("levels") or [])
                   + ("，且无结构预警" if c.get("no_alerts") else "") + "，且本年度不是软弱涣散党组织")
    return render(request, "ratings/commendation.html", ctx)


COMMENDATION_COLUMNS = [
    xlsx.Column("党组织", "org", width=30),
    xlsx.Column("组织代码", "code", width=14, text=True),
    xlsx.Column("所属单位", "unit", width=26),
    xlsx.Column("星级", "level", width=8),
    xlsx.Column("得分", "score", width=9),
    xlsx.Column("上年星级", "previous", width=10),
    xlsx.Column("推荐依据", "reasons", width=90),
]


@require_GET
def commendation_export(request):
    user = request.user
    roots = queries.roots_or_404(user)
    p = _Params(request, timezone.localdate())
    run = queries.run(p.year)
    if run is None:
        messages.warning(request, f"{p.year} 年尚未进行星级评定，没有推荐名单。")
        return redirect(f"{reverse('ratings:commendation')}?year={p.year}")
    rows = queries.commendation(user, roots, run)

    def write(out):
        return xlsx.write(out, COMMENDATION_COLUMNS, (
            [r.org.name, r.org.code, r.org.unit.name if r.org.unit else "", LEVEL_LABELS[r.level],
             float(r.score) if r.score is not None else "", LEVEL_LABELS.get(r.previous_level, ""),
             "\n".join(x["text"] for x in r.reasons)] for r in rows.iterator(chunk_size=2000)),
            title="先进基层党组织推荐")

    return xlsx.workbook_response(write, f"{p.year}年先进基层党组织推荐名单.xlsx",
                              lambda n: audit.record_export(user, "commendation", "先进基层党组织推荐名单", n, {"year": p.year}))


# ---- the rules of a year ----------------------------------------------------------------------

def rules_page(request):
    user = request.user
    queries.roots_or_404(user)
    staff = is_committee_staff(user)
    if request.method == "POST" and not staff:
        raise Http404
    today = timezone.localdate()
    p = _Params(request, today, max_year=today.year + 1)
    if request.method == "POST":
        raw = (request.POST.get("year") or "").strip()
        if raw.isdigit() and len(raw) == 4 and FIRST_YEAR <= int(raw) <= today.year + 1:
            p.year = int(raw)
    scheme = queries.scheme(p.year)
    if scheme is not None:
        fields = {f: getattr(scheme, f) for f in ("basis", "assessment_scheme", "cycles", "thresholds", "quotas",
                                                   "lagging_share", "caps", "commendation", "weak_candidates",
                                                   "source", "note")}
        origin = ""
    else:
        fields, origin = services.proposed(p.year)
    fields["source"] = rules.readable_source(fields["source"])
    current = rules.check(fields)
    form = None
    if staff:
        initial = {**SchemeForm.initial_from(fields), "version": scheme.version if scheme else None}
        form = SchemeForm(request.POST if request.method == "POST" else None,
                          initial=initial, schemes=services.branch_schemes(p.year))
        if request.method == "POST" and form.is_valid():
            try:
                services.save_scheme(user, p.year, form.to_data(), form.cleaned_data.get("version"))
            except StaleVersion as exc:
                # Nothing was saved: the form is drawn again from the scheme as it now is.
                messages.error(request, exc.message)
                return redirect(f"{reverse('ratings:rules')}?year={p.year}")
            except RatingError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"{p.year} 年星级评定办法已保存，重新评定后按新办法计算。")
                return redirect(f"{reverse('ratings:rules')}?year={p.year}")
    entries = list(history_rows.entries_for({"ratings.ratingscheme": [scheme.pk]})) if scheme else []
    for e in entries:
        e.note = rules.readable_note(e.note)  # shown only, never saved
    ctx = {"p": p, "scheme": scheme, "fields": fields, "origin": origin, "described": current.describe(),
           "basis_label": dict(services.Basis.choices)[current.basis],
           "commendation_text": ("、".join(LEVEL_LABELS[lv] for lv in current.commendation_levels) or "不推荐")
           + ("，须无结构预警" if current.commendation_no_alerts else "") + "，且本年度不是软弱涣散党组织",
           "weak_text": "、".join(LEVEL_LABELS[lv] for lv in current.weak_candidate_levels) or "不提示",
           "cycles_label": "、".join(rules.CYCLE_LABELS[c] for c in current.cycles),
           "form": form, "staff": staff, "years": [(y, str(y)) for y in sorted(set(_years(today)) | {p.year, today.year, today.year + 1},
                                                  reverse=True)],
           "history": history_rows.describe(entries), "tab": "rules", "run": queries.run(p.year)}
    return render(request, "ratings/rules.html", ctx)

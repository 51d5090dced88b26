"""Development screens: the pipeline board of any subtree (counts per stage, a chart, the
applicants of each stage with the next step due and the rules broken; search, pagination and
the Excel export), the applicant's page (the step timeline and the form of the next step),
the phone view of one applicant's progress (我的入党进程, for the applicant's own login or shown
by the branch's secretary), and registering an applicant.

An applicant is read by those who view the branch and recorded by those who edit it; outside
the scope is 404. The 身份证号 is shown masked, the birth date as its year unless the user holds
`see_id`; the export and every uploaded document read are audited.
"""
from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dangjian.core import audit, idcard, xlsx
from dangjian.core import history as history_rows
from dangjian.core.scoping import can, can_anywhere, get_visible_or_404, require
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import QueryParams, paginate
from dangjian.orgs.fields import OrgFilterForm
from dangjian.orgs.models import Organization

from . import catalog, checks, queries, services
from .catalog import Stage
from .checks import DevelopmentError, StepInput
from .forms import AccountForm, ApplicantForm, CorrectionForm, StepForm, StopForm, WithdrawForm
from .models import Applicant, DevelopmentStep
from .rules import load as load_rules

STATUS_LABELS = dict(Applicant.Status.choices)


class _Params(QueryParams):
    def __init__(self, request):
        super().__init__(request)
        self.stage = self._coded("stage", Stage.LABELS, "阶段")
        raw = self._raw("status")
        if raw == "all":
            self.status = ""
        else:
            self.status = self._coded("status", STATUS_LABELS, "状态", "培养中") or Applicant.Status.ACTIVE
        self.q = self._raw("q")[:50]
        self.org = self._raw("org")

    def as_dict(self) -> dict:
        return {"stage": self.stage, "status": self.status, "q": self.q, "org": self.org}


def _add_error(form, exc) -> None:
    """A service's message on its field (without the field's own label, which the form shows),
    or above the form."""
    field = getattr(exc, "field", None)
    if field in form.fields:
        label = str(form.fields[field].label or "")
        message = exc.message
        for prefix in {label, message.split("：", 1)[0]}:
            if prefix and message.startswith(prefix + "："):
                message = message[len(prefix) + 1:]
                break
        form.add_error(field, message)
    else:
        form.add_error(None, exc.message)


def _viewer(user) -> None:
    require(can_anywhere(user, "view"))


def _listing(request):
    user = request.user
    _viewer(user)
    p = _Params(request)
    root = None
    missing = False
    if p.org:
        root = Organization.objects.visible_to(user).filter(code=p.org).first()
        missing = root is None
    qs = queries.applicants(user, root=root, stage=p.stage, status=p.status, q=p.q)
    if missing:
        qs = qs.none()
    return user, p, root, missing, qs


@require_GET
def board(request):
    user, p, root, missing, qs = _listing(request)
    today = timezone.localdate()
    rules = load_rules()
    page_obj, qs_base = paginate(request, qs)
    queries.annotate_page(page_obj.object_list, today, rules)
    base = queries.applicants(user, root=root, status=Applicant.Status.ACTIVE)
    counts = queries.stage_counts(base.none() if missing else base)
    top = max((c["count"] for c in counts), default=0)
    figures = queries.figures(user, root=None if missing else root, year=today.year)
    return render(request, "development/board.html", {
        "p": p, "page_obj": page_obj, "qs_base": qs_base, "counts": counts, "top": top or 1, "root": root,
        "figures": figures, "year": today.year, "stages": Stage.CHOICES, "statuses": Applicant.Status.choices,
        "chart": {"labels": [c["label"] for c in counts], "values": [c["count"] for c in counts]},
        "query_string": request.GET.urlencode(), "today": today,
        "filter_form": OrgFilterForm(request.GET, Organization.objects.visible_to(user), auto_id="dev-%s"),
        "can_register": can_anywhere(user, "edit"),
    })


EXPORT_COLUMNS = [
    xlsx.Column("组织代码", "code", width=12, text=True),
    xlsx.Column("培养党支部", "org", width=28),
    xlsx.Column("姓名", "name", width=10),
    xlsx.Column("性别", "gender", width=6),
    xlsx.Column("身份证号", "id", width=20, text=True),
    xlsx.Column("工作单位", "workplace", width=24),
    xlsx.Column("所处阶段", "stage", width=12),
    xlsx.Column("状态", "status", width=8),
    xlsx.Column("递交申请日期", "applied", width=12),
    xlsx.Column("进入本阶段日期", "since", width=12),
    xlsx.Column("下一步骤", "next", width=24),
    xlsx.Column("应完成日期", "due", width=12),
    xlsx.Column("违反时限规则", "violations", width=60),
]


@require_GET
def export(request):
    user, p, root, missing, qs = _listing(request)
    today = timezone.localdate()
    rules = load_rules()

    def write(out):
        return xlsx.write(out, EXPORT_COLUMNS, queries.export_rows(qs, today, rules), title="发展党员")

    return xlsx.workbook_response(write, "发展党员名单.xlsx",
                                  lambda n: audit.record_export(user, "development", "发展党员名单", n, p.as_dict()))


def register(request):
    user = request.user
    require(can_anywhere(user, "edit"))
    today = timezone.localdate()
    form = ApplicantForm(request.POST or None, request.FILES or None, user=user, initial={"applied_on": today})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            applicant = services.register_applicant(
                user, org=d["org"], name=d["name"], id_number=d["id_number"], workplace=d["workplace"],
                applied_on=d["applied_on"], education=d["education"], phone=d["phone"], ethnicity=d["ethnicity"],
                document=d.get("document"), document_received=d.get("document_received", False), today=today)
        except DevelopmentError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, f"已登记入党申请人{applicant.name}，下一步：一个月内派人谈话。")
            return redirect("development:applicant", applicant.pk)
    return render(request, "development/register.html", {"form": form}, status=400 if form.errors else 200)


def _timeline(applicant: Applicant, steps: list[DevelopmentStep]) -> list[dict]:
    """The five stages with the steps recorded in each, in order."""
    by_stage: dict[str, list] = {s: [] for s in Stage.ORDER}
    for s in steps:
        by_stage[catalog.BY_CODE[s.code].stage].append(s)
    return [{"stage": s, "label": Stage.CHAPTERS[s], "steps": by_stage[s],
             "current": applicant.stage == s} for s in Stage.ORDER]


def _step_form(request, applicant, allowed, data=None, files=None):
    code = (request.POST.get("code") if data is not None else request.GET.get("step")) or ""
    step = catalog.BY_CODE.get(code)
    if step not in allowed:
        step = allowed[-1] if allowed else None
    if step is None:
        return None, None
    members = queries.full_members(request.user, applicant.org)
    approvers = Organization.objects.filter(pk__in=[o.pk for o in queries.approvers(applicant.org)])
    initial = {"version": applicant.version, "done_on": timezone.localdate()}
    if step.approval:
        found = queries.approvers(applicant.org)
        if found:
            initial["approver"] = found[0].pk
    return step, StepForm(data, files, step=step, members=members, approvers=approvers, initial=initial,
                          auto_id="step-%s")


def _detail(request, applicant: Applicant, step=None, form=None, status=200):
    user = request.user
    today = timezone.localdate()
    rules = load_rules()
    steps = queries.steps_of(applicant)
    editable = applicant.status == Applicant.Status.ACTIVE and can(user, "edit", applicant.org.path)
    allowed = catalog.allowed_next([s.code for s in steps], [s.decision for s in steps]) if editable else []
    if editable and form is None:
        step, form = _step_form(request, applicant, allowed)
    rows = queries.timeline_rows([applicant.pk])[applicant.pk]
    active = applicant.status == Applicant.Status.ACTIVE
    next_step, next_due = checks.next_due(rows, active, rules)
    found = checks.judge(applicant.pk, applicant.name, applicant.org.code, applicant.birth_date, applicant.applied_on,
                         active, rows, today, rules)
    labels = {("development.developmentstep", s.pk): f"步骤（{s.name}）" for s in steps}
    history = history_rows.entries_for({"development.applicant": [applicant.pk],
                                        "development.developmentstep": [s.pk for s in steps]})
    return render(request, "development/applicant.html", {
        "a": applicant, "timeline": _timeline(applicant, steps), "allowed": allowed, "step": step, "form": form,
        "editable": editable, "violations": found, "next_step": next_step, "next_due": next_due, "today": today,
        "birth": idcard.birth_shown(applicant.birth_date, can(user, "see_id", applicant.org.path)),
        "history": history_rows.describe(history, labels), "stop_form": StopForm(initial={"version": applicant.version}),
        "can_stop": editable and not applicant.member_id,
        "correctable": _correctable(user, applicant, steps), "corrections": queries.corrections_of(applicant),
    }, status=status)


@require_GET
def applicant(request, pk):
    return _detail(request, queries.applicant_or_404(request.user, pk))


@require_POST
def record(request, pk):
    user = request.user
    a = queries.applicant_or_404(user, pk, "edit")
    steps = queries.steps_of(a)
    allowed = catalog.allowed_next([s.code for s in steps], [s.decision for s in steps])
    if a.status != Applicant.Status.ACTIVE or not allowed:
        messages.error(request, f"{a.name}的发展程序已结束，不能再记录步骤。")
        return redirect("development:applicant", a.pk)
    code = request.POST.get("code") or ""
    if catalog.BY_CODE.get(code) not in allowed:
        names = "或".join(f"“{s.name}”" for s in allowed)
        messages.error(request, f"步骤：现在不能记录“{catalog.name_of(code)[:30]}”，下一步应为{names}。")
        return redirect("development:applicant", a.pk)
    step, form = _step_form(request, a, allowed, request.POST, request.FILES)
    if not form.is_valid():
        return _detail(request, a, step, form, status=400)
    d = form.cleaned_data
    s = _step_input(step.code, d)
    try:
        services.record_step(user, a, s, document=d.get("document"), version=d.get("version"))
    except (DevelopmentError, StaleVersion) as exc:
        _add_error(form, exc)
        a.refresh_from_db()
        return _detail(request, a, step, form, status=400)
    messages.success(request, f"已记录“{step.name}”。")
    return redirect("development:applicant", a.pk)


def _step_input(code: str, d: dict) -> StepInput:
    return StepInput(code=code, done_on=d["done_on"], talker=d.get("talker"), first_sponsor=d.get("first_sponsor"),
                     second_sponsor=d.get("second_sponsor"), decision=d.get("decision") or "",
                     vote_expected=d.get("vote_expected"), vote_present=d.get("vote_present"),
                     vote_for=d.get("vote_for"), training_days=d.get("training_days"),
                     training_hours=d.get("training_hours"), extension_months=d.get("extension_months"),
                     approver=d.get("approver"), party_group_consulted=d.get("party_group_consulted", False),
                     document_received=d.get("document_received", False), note=d.get("note") or "")


def _correctable(user, applicant: Applicant, steps: list[DevelopmentStep]) -> DevelopmentStep | None:
    """The latest step, when this user may correct or withdraw it: one who edits the branch, and a
    process not ended by hand (a step's own decision may be corrected)."""
    if not steps or not can(user, "edit", applicant.org.path):
        return None
    return steps[-1] if services.replay(steps)[2] == applicant.status else None


def _latest_or_redirect(request, pk, step_id):
    a = queries.applicant_or_404(request.user, pk, "edit")
    steps = queries.steps_of(a)
    if not any(s.pk == step_id for s in steps):
        raise Http404("该步骤记录不存在")
    last = _correctable(request.user, a, steps)
    if last is None or last.pk != step_id:
        messages.error(request, "只能更正或撤回最后记录的步骤，且发展程序未由党支部终止。")
        return a, None
    return a, last


CORRECTED = [f for f, _ in services.CORRECTED_FIELDS]


def correct(request, pk, step_id):
    """更正 the latest step: its form filled with what was recorded, the reason, and withdrawing."""
    user = request.user
    a, last = _latest_or_redirect(request, pk, step_id)
    if last is None:
        return redirect("development:applicant", a.pk)
    step = catalog.BY_CODE[last.code]
    members = queries.full_members(user, a.org)
    approvers = Organization.objects.filter(pk__in=[o.pk for o in queries.approvers(a.org)])
    initial = {f: getattr(last, f) for f in CORRECTED} | {"version": a.version}
    form = CorrectionForm(request.POST or None, step=step, members=members, approvers=approvers, initial=initial,
                          auto_id="fix-%s")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.correct_step(user, a, last.pk, _step_input(step.code, d), reason=d["reason"],
                                  version=d.get("version"))
        except (DevelopmentError, StaleVersion) as exc:
            _add_error(form, exc)
        else:
            messages.success(request, f"已更正“{step.name}”，原记录保留在更正记录中。")
            return redirect("development:applicant", a.pk)
    return render(request, "development/correct.html", {
        "a": a, "last": last, "step": step, "form": form,
        "withdraw_form": WithdrawForm(initial={"version": a.version}, auto_id="withdraw-%s"),
        "can_withdraw": a.steps.count() > 1,
    }, status=400 if form.errors else 200)


@require_POST
def withdraw(request, pk, step_id):
    user = request.user
    a, last = _latest_or_redirect(request, pk, step_id)
    if last is None:
        return redirect("development:applicant", a.pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
        return redirect("development:correct", a.pk, last.pk)
    try:
        services.withdraw_step(user, a, last.pk, reason=form.cleaned_data["reason"],
                               version=form.cleaned_data["version"])
    except (DevelopmentError, StaleVersion) as exc:
        messages.error(request, exc.message)
        return redirect("development:correct", a.pk, last.pk)
    messages.success(request, f"已撤回“{last.name}”，原记录保留在更正记录中。")
    return redirect("development:applicant", a.pk)


def account(request, pk):
    """开通 the applicant's own login (我的入党进程), or a new one-time password for it: shown once,
    on this answer only, never stored in the clear nor sent again."""
    user = request.user
    a = queries.applicant_or_404(user, pk, "edit")
    form = AccountForm(request.POST or None, initial={"username": services.suggested_username(a)})
    issued = None
    if request.method == "POST":
        try:
            if request.POST.get("reset"):
                issued = services.reset_password(user, a)
            elif form.is_valid():
                issued = services.create_account(user, a, username=form.cleaned_data["username"])
        except DevelopmentError as exc:
            _add_error(form, exc)
        a = queries.applicant_or_404(user, pk, "edit")
    response = render(request, "development/account.html", {
        "a": a, "form": form, "issued": issued, "active": a.status == Applicant.Status.ACTIVE,
    }, status=400 if form.errors else 200)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def stop(request, pk):
    user = request.user
    a = queries.applicant_or_404(user, pk, "edit")
    form = StopForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(e for errs in form.errors.values() for e in errs))
        return redirect("development:applicant", a.pk)
    try:
        services.stop(user, a, reason=form.cleaned_data["reason"], version=form.cleaned_data["version"])
    except (DevelopmentError, StaleVersion) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已终止{a.name}的发展程序。")
    return redirect("development:applicant", a.pk)


def _progress(request, applicant: Applicant, own: bool):
    today = timezone.localdate()
    rules = load_rules()
    steps = queries.steps_of(applicant)
    rows = queries.timeline_rows([applicant.pk])[applicant.pk]
    next_step, next_due = checks.next_due(rows, applicant.status == Applicant.Status.ACTIVE, rules)
    return render(request, "development/progress.html", {
        "a": applicant, "timeline": _timeline(applicant, steps), "own": own, "next_step": next_step,
        "next_due": next_due, "today": today, "stage_index": Stage.ORDER.index(applicant.stage),
        "stages": Stage.CHOICES,
    })


@require_GET
def progress(request, pk):
    return _progress(request, queries.applicant_or_404(request.user, pk), own=False)


@require_GET
def mine(request):
    applicant = Applicant.objects.select_related("org").filter(user=request.user).first()
    if applicant is None:
        raise Http404("您的账号没有关联入党申请人")
    return _progress(request, applicant, own=True)


@require_GET
def document(request, pk):
    user = request.user
    step = get_visible_or_404(DevelopmentStep.objects.select_related("applicant"), user, pk)
    if not step.document:
        raise Http404("该步骤没有上传材料")
    audit.record_export(user, "development-document", f"{step.applicant.name}：{step.name}", 1,
                        {"step": step.pk})
    return FileResponse(step.document.open("rb"), as_attachment=True, filename=step.document_name or "材料")

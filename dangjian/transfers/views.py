"""Transfer and standing screens: the letters sent and received (pending, accepted, returned,
overdue; Excel export), the letter forms (inside the tree, to outside), a letter's page where the
receiving side accepts or returns it and the sending side withdraws it or records the receipt, a
member arriving from outside, the bulk transfer, the lists of mobile, lost and suspended members,
and the standing decisions recorded from the member's page.

A letter is read from both ends and acted on by the side whose step it is (edit over that side's
organization); everything outside the scope is 404.
"""
from __future__ import annotations

from django.contrib import messages
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dangjian.core import audit, jobs, xlsx
from dangjian.core import history as history_rows
from dangjian.core.models import Job
from dangjian.core.scoping import can, can_anywhere, get_visible_or_404, require
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import QueryParams, is_htmx, paginate
from dangjian.members.forms import MemberForm
from dangjian.members.models import Category, Member
from dangjian.orgs.fields import OrgFilterForm
from dangjian.orgs.models import Organization

from . import checks, queries, services, tasks
from .checks import TransferError
from .forms import (
    ACTIONS,
    STANDING_FORMS,
    ArriveLetterForm,
    BulkForm,
    DecideForm,
    DecisionForm,
    IssueForm,
    OutForm,
    ReturnForm,
    actions_for,
)
from .models import Transfer


class _Params(QueryParams):
    def __init__(self, request):
        super().__init__(request)
        self.direction = self._coded("direction", queries.DIRECTIONS, "方向")
        self.status = self._coded("status", queries.STATUSES, "状态")
        self.show = self._coded("show", queries.SHOWS, "名单", "流动党员") or "mobile"
        self.org = self._raw("org")
        self.q = self._raw("q")[:40]

    def as_dict(self) -> dict:
        return {"direction": self.direction, "status": self.status, "org": self.org, "q": self.q}


def _root(user, p: _Params) -> tuple[Organization | None, bool]:
    if not p.org:
        return None, False
    org = Organization.objects.visible_to(user).filter(code=p.org).first()
    return org, org is None


def _error(form, exc) -> None:
    field = getattr(exc, "field", None)
    form.add_error(field if field in form.fields else None, exc.message)


def _listing(request):
    user = request.user
    require(can_anywhere(user, "view"))
    p = _Params(request)
    root, missing = _root(user, p)
    today = timezone.localdate()
    qs = queries.transfers(user, direction=p.direction, status=p.status, root=root, q=p.q, today=today)
    if missing:
        qs = qs.none()
    return user, p, qs, today


@require_GET
def index(request):
    user, p, qs, today = _listing(request)
    page_obj, qs_base = paginate(request, qs)
    return render(request, "transfers/index.html", {
        "p": p, "page_obj": page_obj, "qs_base": qs_base, "today": today, "directions": queries.DIRECTIONS,
        "statuses": queries.STATUSES, "counts": queries.counts(user, today), "query_string": request.GET.urlencode(),
        "filter_form": OrgFilterForm(request.GET, Organization.objects.visible_to(user), auto_id="transfer-%s"),
        "can_edit": can_anywhere(user, "edit"), "tab": "letters"})


EXPORT_COLUMNS = [
    xlsx.Column("党员", "member", width=12),
    xlsx.Column("转接类型", "kind", width=14),
    xlsx.Column("转出党组织", "from", width=30),
    xlsx.Column("接收党组织", "to", width=30),
    xlsx.Column("所在地区", "region", width=16),
    xlsx.Column("介绍信编号", "number", width=18, text=True),
    xlsx.Column("开具日期", "issued", width=12),
    xlsx.Column("有效期至", "valid", width=12),
    xlsx.Column("状态", "status", width=12),
    xlsx.Column("办结日期", "closed", width=12),
    xlsx.Column("退回原因", "return_reason", width=24),
]


@require_GET
def export(request):
    user, p, qs, today = _listing(request)

    def status(t):
        return "逾期未办结" if t.is_open and t.valid_until < today else t.status_label

    def write(out):
        return xlsx.write(out, EXPORT_COLUMNS, (
            [t.member.name, t.get_kind_display(), t.origin, t.destination, t.outside_region, t.letter_number,
             t.issued_on.isoformat(), t.valid_until.isoformat(), status(t),
             t.closed_on.isoformat() if t.closed_on else "", t.return_reason]
            for t in qs.iterator(chunk_size=2000)), title="组织关系转接")

    return xlsx.workbook_response(write, "组织关系转接.xlsx",
                                  lambda n: audit.record_export(user, "transfers", "组织关系转接", n, p.as_dict()))


# ---- letters ---------------------------------------------------------------------------------------

def _member(request, member_pk, capability="edit") -> Member:
    return get_visible_or_404(Member.objects.select_related("org"), request.user, member_pk, capability)


def _letter_page(request, member, form, title, kind):
    return render(request, "transfers/letter_form.html", {"form": form, "member": member, "title": title,
                                                          "kind": kind})


def issue(request, member_pk):
    user = request.user
    member = _member(request, member_pk)
    today = timezone.localdate()
    form = IssueForm(request.POST or None, initial={"issued_on": today})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            t = services.issue(user, member=member, to_org=d["to_org"], letter_number=d["letter_number"],
                               issued_on=d["issued_on"], valid_days=d["valid_days"], reason=d["reason"])
        except TransferError as exc:
            _error(form, exc)
        except IntegrityError:
            form.add_error(None, f"“{member.name}”已有一封在途的介绍信，请先办结或撤回")
        else:
            messages.success(request, f"已开具介绍信 {t.letter_number}，待{t.to_org.name}接收。")
            return redirect("transfers:detail", t.pk)
    return _letter_page(request, member, form, f"开具组织关系介绍信：{member.name}", "internal")


def issue_out(request, member_pk):
    user = request.user
    member = _member(request, member_pk)
    form = OutForm(request.POST or None, initial={"issued_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            t = services.issue_out(user, member=member, **d)
        except TransferError as exc:
            _error(form, exc)
        except IntegrityError:
            form.add_error(None, f"“{member.name}”已有一封在途的介绍信，请先办结或撤回")
        else:
            messages.success(request, f"已开具介绍信 {t.letter_number}，回执返回前{member.name}仍在本组织。")
            return redirect("transfers:detail", t.pk)
    return _letter_page(request, member, form, f"转出至系统外：{member.name}", "out")


def _detail(request, t: Transfer, forms=None, status=200):
    user = request.user
    today = timezone.localdate()
    receiver = t.kind == Transfer.Kind.INTERNAL and t.is_open and can(user, "edit", t.to_org.path)
    sender = t.is_open and t.from_org_id is not None and can(user, "edit", t.from_org.path)
    forms = forms or {}
    initial = {"on": today, "version": t.version}
    ctx = {"t": t, "today": today, "overdue": t.is_open and t.valid_until < today,
           "history": history_rows.describe(history_rows.entries_for({"transfers.transfer": [t.pk]}), {})}
    if receiver:
        ctx["accept_form"] = forms.get("accept") or DecideForm(initial=initial, prefix="accept")
        ctx["return_form"] = forms.get("return") or ReturnForm(initial=initial, prefix="return")
    if sender:
        if t.kind == Transfer.Kind.OUT:
            ctx["receipt_form"] = forms.get("receipt") or DecideForm(initial=initial, prefix="receipt")
        ctx["withdraw_form"] = forms.get("withdraw") or DecideForm(initial=initial, prefix="withdraw")
    # A step this user may not take (or no longer: the letter was closed meanwhile) has no form
    # on the page to show its errors: they are shown above.
    ctx["errors"] = [e for key, f in forms.items() if f"{key}_form" not in ctx
                     for errs in f.errors.values() for e in errs]
    return render(request, "transfers/detail.html", ctx, status=status)


@require_GET
def detail(request, pk):
    return _detail(request, queries.transfer_or_404(request.user, pk))


STEPS = {
    "accept": (DecideForm, lambda u, t, d: services.accept(u, t, on=d["on"], version=d["version"]),
               "已接收，{name}的组织关系已转入{to}。"),
    "return": (ReturnForm, lambda u, t, d: services.return_letter(u, t, on=d["on"], reason=d["reason"],
                                                                  version=d["version"]),
               "已退回介绍信，{name}仍在{frm}。"),
    "withdraw": (DecideForm, lambda u, t, d: services.withdraw(u, t, on=d["on"], version=d["version"]),
                 "已撤回介绍信，{name}仍在{frm}。"),
    "receipt": (DecideForm, lambda u, t, d: services.record_receipt(u, t, on=d["on"], version=d["version"]),
                "已登记回执，{name}的组织关系已转出。"),
}


@require_POST
def step(request, pk, step):
    if step not in STEPS:
        raise Http404
    user = request.user
    t = queries.transfer_or_404(user, pk)
    form_class, act, done = STEPS[step]
    form = form_class(request.POST, prefix=step)
    if form.is_valid():
        try:
            act(user, t, form.cleaned_data)
        except (TransferError, StaleVersion) as exc:
            _error(form, exc)
            t = queries.transfer_or_404(user, pk)
        else:
            messages.success(request, done.format(name=t.member.name, to=t.destination, frm=t.origin))
            return redirect("transfers:detail", t.pk)
    return _detail(request, t, {step: form}, status=400)


def arrive(request):
    """A member arriving from outside the platform with their letter."""
    user = request.user
    require(can_anywhere(user, "edit"))
    orgs = Organization.objects.visible_to(user, "edit").order_by("path")
    today = timezone.localdate()
    form = MemberForm(request.POST or None, orgs=orgs, user=user,
                      initial={"ethnicity": "汉族", "category": Category.FULL})
    letter = ArriveLetterForm(request.POST or None, prefix="letter", initial={"arrived_on": today})
    if request.method == "POST" and form.is_valid() and letter.is_valid():
        fields = form.member_fields()
        org = fields.pop("org")
        try:
            t = services.receive_from_outside(user, org=org, member_fields=fields, **letter.cleaned_data)
        except TransferError as exc:
            _error(letter if exc.field in letter.fields else form, exc)
        except IntegrityError:
            form.add_error("id_number", "该身份证号无法使用，请联系机关工委核实")
        else:
            messages.success(request, f"已将“{t.member.name}”登记为{org.name}党员（从系统外转入）。")
            return redirect("transfers:detail", t.pk)
    return render(request, "transfers/arrive.html", {"form": form, "letter": letter})


def bulk(request):
    """整建制转接: every member on one organization's roll to another, in one operation."""
    user = request.user
    require(can_anywhere(user, "edit"))
    form = BulkForm(request.POST or None, user=user, initial={"moved_on": timezone.localdate()})
    problems = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if d["from_org"].members.filter(status="active").count() > tasks.INLINE_MEMBERS:
            job = jobs.start(tasks.KIND, user, tasks.run_bulk, user.pk, d["from_org"].pk, d["to_org"].pk,
                             d["moved_on"].isoformat(), d["reason"],
                             known={"from": d["from_org"].name, "to": d["to_org"].name})
            return redirect("transfers:bulk-job", job.pk)
        try:
            batch = services.bulk_transfer(user, from_org=d["from_org"], to_org=d["to_org"], member_ids=None,
                                           moved_on=d["moved_on"], reason=d["reason"])
        except services.BulkError as exc:
            problems = exc.problems
            form.add_error(None, f"有 {len(problems)} 名党员不能转接，本次未转接任何人，请处理后再提交")
        except TransferError as exc:
            _error(form, exc)
        else:
            messages.success(request, f"已将{batch.from_org.name}的 {batch.count} 名党员转入{batch.to_org.name}。")
            return redirect(f"{reverse('transfers:index')}?org={batch.to_org.code}&direction=in")
    return render(request, "transfers/bulk.html", {"form": form, "problems": problems, "tab": "bulk"})


@require_GET
def bulk_job(request, bulk_job_pk):
    """The progress and outcome of a large bulk transfer, to the one who asked for it."""
    job = Job.objects.filter(pk=bulk_job_pk, kind=tasks.KIND, user=request.user).first() if request.user.pk else None
    if job is None:
        raise Http404
    job = jobs.alive(job)
    ctx = {"job": job, "finished": job.status in ("done", "failed"), "result": job.result or {}, "tab": "bulk"}
    if is_htmx(request):
        return render(request, "transfers/_bulk_job.html", ctx)
    return render(request, "transfers/bulk_job.html", ctx)


# ---- standing --------------------------------------------------------------------------------------

@require_GET
def standing_list(request):
    user = request.user
    require(can_anywhere(user, "view"))
    p = _Params(request)
    root, missing = _root(user, p)
    today = timezone.localdate()
    if p.show == "mobile":
        qs = queries.mobile_members(user, root=root, q=p.q)
    else:
        qs = queries.standing_rows(user, p.show, root=root, q=p.q, today=today)
    if missing:
        qs = qs.none()
    page_obj, qs_base = paginate(request, qs)
    if p.show == "mobile":
        records = queries.mobile_records(page_obj.object_list)
        rows = [_Row(m, records.get(m.pk)) for m in page_obj.object_list]
        for r in rows:
            r.away_long = r.record is not None and queries.away_long(r.record, today)
    else:
        rows = [_Row(s.member, s) for s in page_obj.object_list]
    return render(request, "transfers/standing.html", {
        "p": p, "page_obj": page_obj, "qs_base": qs_base, "shows": queries.SHOWS, "tab": "standing",
        "show_label": queries.SHOWS[p.show], "rows": rows,
        "filter_form": OrgFilterForm(request.GET, Organization.objects.visible_to(user), auto_id="standing-%s"),
        "rules": checks.rules(), "consider": queries.CONSIDER.get(p.show)})


class _Row:
    """A member on a standing list and the record putting them there (None: marked 流动党员 on
    their record without a registration here)."""

    def __init__(self, member, record):
        self.member, self.record, self.away_long = member, record, False


def standing(request, member_pk, action):
    """Record one decision about the member's standing (ACTIONS)."""
    if action not in ACTIONS:
        raise Http404
    user = request.user
    member = _member(request, member_pk)
    history = queries.standing_of(user, member)
    if action not in actions_for(member, history):
        messages.error(request, f"“{member.name}”目前不能办理“{ACTIONS[action]}”。")
        return redirect("members:detail", member.pk)
    form_class = STANDING_FORMS[action]
    extra = {"member": member} if issubclass(form_class, DecisionForm) else {}
    today = timezone.localdate()
    initial = {"version": member.version, "on": today, "away_since": today, "lost_since": today,
               "approved_on": today, "meeting_on": today, "died_on": today, "contact": member.phone}
    form = form_class(request.POST or None, initial=initial, **extra)
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        try:
            _ACT[action](user, member, d)
        except (TransferError, StaleVersion) as exc:
            _error(form, exc)
        else:
            messages.success(request, f"已为“{member.name}”办理“{ACTIONS[action]}”。")
            return redirect("members:detail", member.pk)
    return render(request, "transfers/standing_form.html", {"form": form, "member": member,
                                                             "title": f"{ACTIONS[action]}：{member.name}",
                                                             "action": action})


_ACT = {
    "mobile": lambda u, m, d: services.register_mobile(u, m, **d),
    "mobile_end": lambda u, m, d: services.end_mobile(u, m, **d),
    "lost": lambda u, m, d: services.register_lost(u, m, **d),
    "found": lambda u, m, d: services.register_found(u, m, **d),
    "suspend": lambda u, m, d: services.suspend(u, m, **d),
    "restore": lambda u, m, d: services.restore(u, m, **d),
    "death": lambda u, m, d: services.record_death(u, m, **d),
    "removal": lambda u, m, d: services.remove(u, m, **d),
}

"""三访三评 screens: visits (list, form, page), feedback for its handlers (list, page with the
answer), the complaint channel every logged-in user reaches (投诉建议), the sender's own list
(我的意见建议), the anonymous follow-up by code, and the figures of any subtree and period.

Visits and the handlers' list are read by those who view the organization; a visit is written,
and a feedback answered, by those who edit it; everything else is 404.
"""
from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dangjian.core import audit, periods, xlsx
from dangjian.core import history as history_rows
from dangjian.core.scoping import can, can_anywhere, require, scope_of
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import QueryParams, paginate
from dangjian.orgs.fields import OrgFilterForm
from dangjian.orgs.models import Organization

from . import figures, queries, services
from .checks import FeedbackError
from .forms import AnswerForm, CodeForm, FeedbackForm, ItemForm, VisitForm
from .models import Channel, Feedback, VisitKind


class _Params(QueryParams):
    def __init__(self, request, *, default_period: str = ""):
        super().__init__(request)
        self.org = self._raw("org")
        self.q = self._raw("q")[:60]
        self.kind = self._coded("kind", dict(VisitKind.choices), "走访类型")
        self.channel = self._coded("channel", dict(Channel.choices), "来源渠道")
        self.status = self._coded("status", dict(Feedback.Status.choices), "办理状态")
        self.overdue = self._raw("overdue") == "1"
        raw = self._raw("period") or default_period
        self.period = None
        if raw:
            try:
                self.period = periods.parse(raw)
            except periods.PeriodError as exc:
                self.problems.append(f"{exc}，已显示全部时间")

    @property
    def start(self):
        return self.period.start if self.period else None

    @property
    def end(self):
        return self.period.end if self.period else None

    def as_dict(self) -> dict:
        return {"org": self.org, "period": self.period.label if self.period else "", "kind": self.kind,
                "channel": self.channel, "status": self.status, "overdue": "1" if self.overdue else "", "q": self.q}


def _viewer(user) -> None:
    require(can_anywhere(user, "view"))


def _root(user, code: str) -> tuple[Organization | None, bool]:
    if not code:
        return None, False
    org = Organization.objects.visible_to(user).filter(code=code).first()
    return org, org is None


def _error(form, exc) -> None:
    field = getattr(exc, "field", None)
    form.add_error(field if field in form.fields else None, exc.message)


# ---- visits -----------------------------------------------------------------------------------------

@require_GET
def visits(request):
    user = request.user
    _viewer(user)
    p = _Params(request)
    root, missing = _root(user, p.org)
    qs = queries.visits(user, root=root, start=p.start, end=p.end, kind=p.kind, q=p.q)
    if missing:
        qs = qs.none()
    page_obj, qs_base = paginate(request, qs)
    return render(request, "feedback/visits.html", {
        "p": p, "page_obj": page_obj, "qs_base": qs_base, "kinds": VisitKind.choices,
        "filter_form": OrgFilterForm(request.GET, Organization.objects.visible_to(user), auto_id="visit-%s"),
        "can_record": can_anywhere(user, "edit"), "tab": "visits"})


def visit_new(request):
    user = request.user
    require(can_anywhere(user, "edit"))
    form = VisitForm(request.POST or None, user=user, initial={"visited_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            visit = services.record_visit(
                user, org=d["org"], visited_on=d["visited_on"], kind=d["kind"], place=d["place"],
                households=d["households"], people=d["people"], participants=d["participants"],
                issues=d["issues"], note=d["note"])
        except FeedbackError as exc:
            _error(form, exc)
        else:
            messages.success(request, "已登记走访。")
            return redirect("feedback:visit", visit.pk)
    return render(request, "feedback/form.html", {"form": form, "title": "登记走访", "tab": "visits",
                                                  "back": "feedback:visits"})


@require_GET
def visit(request, pk):
    user = request.user
    v = queries.visit_or_404(user, pk)
    issues = list(v.feedback.select_related("org").order_by("id"))
    return render(request, "feedback/visit.html", {
        "visit": v, "issues": issues, "today": timezone.localdate(), "tab": "visits",
        "editable": can(user, "edit", v.org.path),
        "history": history_rows.describe(history_rows.entries_for({"feedback.visit": [v.pk]}), {})})


def visit_edit(request, pk):
    user = request.user
    v = queries.visit_or_404(user, pk, "edit")
    names = " ".join(m.name for m in v.participants.all())
    form = VisitForm(request.POST or None, user=user, visit=v, initial={
        "visited_on": v.visited_on, "kind": v.kind, "place": v.place, "households": v.households,
        "people": v.people, "participant_names": names, "note": v.note, "version": v.version})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.update_visit(user, v, visited_on=d["visited_on"], kind=d["kind"], place=d["place"],
                                  households=d["households"], people=d["people"], participants=d["participants"],
                                  note=d["note"], new_issues=d["issues"], version=d["version"])
        except (FeedbackError, StaleVersion) as exc:
            _error(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("feedback:visit", v.pk)
    return render(request, "feedback/form.html", {"form": form, "title": f"修改走访记录（{v}）", "tab": "visits",
                                                  "back": "feedback:visit", "back_pk": v.pk})


# ---- feedback for its handlers -------------------------------------------------------------------

@require_GET
def handling(request):
    user = request.user
    _viewer(user)
    p = _Params(request)
    today = timezone.localdate()
    root, missing = _root(user, p.org)
    qs = queries.feedback(user, root=root, channel=p.channel, status=p.status, overdue=p.overdue, today=today,
                          q=p.q, start=p.start, end=p.end)
    if missing:
        qs = qs.none()
    page_obj, qs_base = paginate(request, qs)
    return render(request, "feedback/handling.html", {
        "p": p, "page_obj": page_obj, "qs_base": qs_base, "today": today, "channels": Channel.choices,
        "statuses": Feedback.Status.choices, "overdue_count": queries.overdue_count(user, today),
        "workdays": services.answer_workdays(), "tab": "handling",
        "filter_form": OrgFilterForm(request.GET, Organization.objects.visible_to(user), auto_id="fb-%s")})


def _detail(request, fb: Feedback, form=None, item_form=None, status=200):
    user = request.user
    editable = fb.status == Feedback.Status.PENDING and can(user, "edit", fb.org.path)
    entries = history_rows.entries_for({"feedback.feedback": [fb.pk]})
    return render(request, "feedback/feedback.html", {
        "fb": fb, "today": timezone.localdate(), "editable": editable, "tab": "handling",
        "item": queries.items_of([fb]).get(fb.pk),
        "form": form or (AnswerForm(initial={"version": fb.version}) if editable else None),
        "item_form": item_form or (ItemForm(user=user, initial={"version": fb.version}) if editable else None),
        "history": history_rows.describe(entries, {})}, status=status)


@require_GET
def feedback_detail(request, pk):
    return _detail(request, queries.feedback_or_404(request.user, pk))


@require_POST
def feedback_answer(request, pk):
    user = request.user
    fb = queries.feedback_or_404(user, pk, "edit")
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _detail(request, fb, form, status=400)
    try:
        services.answer(user, fb, text=form.cleaned_data["answer"], version=form.cleaned_data["version"])
    except (FeedbackError, StaleVersion) as exc:
        _error(form, exc)
        fb = queries.feedback_or_404(user, pk, "edit")
        return _detail(request, fb, form, status=400)
    messages.success(request, "已答复，提出人可以看到答复内容。")
    return redirect("feedback:feedback", fb.pk)


@require_POST
def feedback_item(request, pk):
    user = request.user
    fb = queries.feedback_or_404(user, pk, "edit")
    form = ItemForm(request.POST, user=user)
    if not form.is_valid():
        return _detail(request, fb, item_form=form, status=400)
    d = form.cleaned_data
    try:
        item = services.turn_into_item(user, fb, org=d["org"], list=d["list"], title=d["title"],
                                       description=d["description"], workdays=d["workdays"], version=d["version"])
    except (FeedbackError, StaleVersion) as exc:
        field = getattr(exc, "field", None) or ""
        form.add_error({"item_org": "org", "item_title": "title", "item_workdays": "workdays",
                        "item_description": "description", "item_list": "list"}.get(field), exc.message)
        fb = queries.feedback_or_404(user, pk, "edit")
        return _detail(request, fb, item_form=form, status=400)
    messages.success(request, f"已转为整改事项“{item.title}”，整改时限 {item.deadline:%Y-%m-%d}；销号后提出人可以看到办理结果。")
    return redirect("feedback:feedback", fb.pk)


# ---- the sender's side -------------------------------------------------------------------------------

def submit(request):
    """投诉建议 / 党员意见建议: every logged-in user, any role."""
    user = request.user
    form = FeedbackForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            fb, code = services.submit(user, channel=d["channel"], org=d["org"], text=d["text"],
                                       anonymous=d["anonymous"])
        except FeedbackError as exc:
            _error(form, exc)
        else:
            if code:
                # Shown once, on this answer only: no address, no record links it to the sender.
                return render(request, "feedback/receipt.html", {"code": code, "fb": fb})
            messages.success(request, f"已提交，将在 {fb.deadline:%Y-%m-%d} 前答复，答复后在“我的意见建议”中查看。")
            return redirect("feedback:mine-detail", fb.pk)
    return render(request, "feedback/submit.html", {"form": form, "workdays": services.answer_workdays(),
                                                    "tab": "submit"})


@require_GET
def mine(request):
    user = request.user
    page_obj, qs_base = paginate(request, queries.mine(user))
    page_obj.object_list = list(page_obj.object_list)
    found = queries.items_of(page_obj.object_list)
    for fb in page_obj.object_list:
        fb.current_item = found.get(fb.pk)
    return render(request, "feedback/mine.html", {"page_obj": page_obj, "qs_base": qs_base,
                                                  "today": timezone.localdate(), "tab": "mine"})


@require_GET
def mine_detail(request, pk):
    fb = queries.mine_or_404(request.user, pk)
    return render(request, "feedback/mine_detail.html", {"fb": fb, "today": timezone.localdate(), "tab": "mine",
                                                         "item": queries.items_of([fb]).get(fb.pk)})


def followup(request):
    """An anonymous complaint read with its follow-up code (posted, never in an address)."""
    form = CodeForm(request.POST or None)
    fb = None
    if request.method == "POST" and form.is_valid():
        fb = services.by_code(form.cleaned_data["code"])
        if fb is None:
            form.add_error("code", "查询码不正确，请核对后重新输入（查询码为 12 位字母和数字）")
    item = queries.items_of([fb]).get(fb.pk) if fb is not None else None
    return render(request, "feedback/followup.html", {"form": form, "fb": fb, "item": item,
                                                      "today": timezone.localdate(),
                                                      "tab": "mine"}, status=400 if form.errors else 200)


# ---- figures ---------------------------------------------------------------------------------------

def _figures_input(request):
    user = request.user
    _viewer(user)
    today = timezone.localdate()
    p = _Params(request, default_period=str(today.year))
    root, missing = _root(user, p.org)
    if root is None and not missing:
        roots = scope_of(user).prefixes("view")
        root = Organization.objects.filter(path=roots[0]).first() if len(roots) == 1 else None
    if p.period is None:
        p.period = periods.Period("year", today.year, 1)
    return user, p, root, missing, today


@require_GET
def figures_page(request):
    user, p, root, missing, today = _figures_input(request)
    total = months = None
    if root is not None:
        total = figures.totals(root.path, p.start, p.end, today)
        months = figures.by_month(root.path, p.start, p.end)
    chart = None
    if months:
        chart = {"months": [f"{m['month'].month}月" for m in months],
                 "participations": [m["participations"] for m in months],
                 "households": [m["households"] for m in months],
                 "raised": [m["raised"] for m in months], "solved": [m["solved"] for m in months]}
    return render(request, "feedback/figures.html", {
        "p": p, "root": root, "missing": missing, "total": total, "months": months, "chart": chart,
        "query_string": request.GET.urlencode(), "tab": "figures",
        "filter_form": OrgFilterForm(request.GET, Organization.objects.visible_to(user), auto_id="fig-%s",
                                     placeholder="选择党组织（含下级）")})


FIGURE_COLUMNS = [
    xlsx.Column("月份", "month", width=10),
    xlsx.Column("走访次数", "visits", width=10),
    xlsx.Column("党员参与走访人次", "participations", width=16),
    xlsx.Column("走访户数", "households", width=10),
    xlsx.Column("走访群众人次", "people", width=12),
    xlsx.Column("收集问题（件）", "raised", width=14),
    xlsx.Column("解决问题（件）", "solved", width=14),
]


@require_GET
def figures_export(request):
    user, p, root, missing, today = _figures_input(request)
    require(root is not None)
    months = figures.by_month(root.path, p.start, p.end)
    total = figures.totals(root.path, p.start, p.end, today)

    def rows():
        for m in months:
            yield [f"{m['month']:%Y-%m}", m["visits"], m["participations"], m["households"], m["people"],
                   m["raised"], m["solved"]]
        yield ["合计", total.visits, total.participations, total.households, total.people, total.raised, total.solved]

    notes = [[line] for line in (
        f"范围：{root.name}（{root.code}）及其下级组织；期间：{p.period.chinese}",
        "党员参与走访人次：每名党员参加一次走访计 1 人次",
        "收集问题：期间内收到的涉及上述组织的意见建议（走访收集、党员提出、投诉建议）",
        "解决问题：其中至期末已直接答复，或转为整改事项并已销号的件数")]

    def write(out):
        return xlsx.write(out, FIGURE_COLUMNS, rows(), title="三访三评统计",
                          sheets=(("说明", [xlsx.Column("说明", "note", width=90)], notes),))

    return xlsx.workbook_response(write, f"{root.name}{p.period.label}三访三评统计.xlsx",
                                  lambda n: audit.record_export(user, "feedback-figures", "三访三评统计", n,
                                                                {"org": root.code, "period": p.period.label}))

"""Commendation screens: the honours of any subtree and year (list, chart of counts per honour,
Excel export), the decisions (draft, add honoured organizations and members from the year's
candidates or by free choice, publish, .docx), and the working committee's titles.

A decision is read by those who view its issuer and written by those who edit it (the working
committee's staff, a unit's party officers for their unit's decisions); everything else is 404.
"""
from __future__ import annotations

import io

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dangjian.core import audit, xlsx
from dangjian.core import history as history_rows
from dangjian.core.scoping import can, can_anywhere, committee_staff_only, is_committee_staff, require
from dangjian.core.versioning import StaleVersion, parse_version
from dangjian.core.views import QueryParams, paginate
from dangjian.orgs.fields import OrgFilterForm
from dangjian.orgs.models import Organization

from . import notice, queries, services
from .checks import CommendationError
from .forms import CommendationForm, DecisionForm, HonourForm
from .models import Decision, Honour


class _Params(QueryParams):
    def __init__(self, request, honours: list[Honour]):
        super().__init__(request)
        self.year = self._int("year", "年度")
        labels = {str(h.pk): h.name for h in honours}
        raw = self._coded("honour", labels, "荣誉称号")
        self.honour = int(raw) if raw else None
        self.org = self._raw("org")

    def as_dict(self) -> dict:
        return {"year": self.year, "honour": self.honour, "org": self.org}


def _version(request) -> int | None:
    try:
        return parse_version(request.POST.get("version"))
    except ValueError:
        return None


def _viewer(user) -> None:
    require(can_anywhere(user, "view"))


def _root(user, p: _Params) -> tuple[Organization | None, bool]:
    """The org subtree asked for; (None, True) when the code finds no org the user sees."""
    if not p.org:
        return None, False
    org = Organization.objects.visible_to(user).filter(code=p.org).first()
    return org, org is None


def _listing(request):
    user = request.user
    _viewer(user)
    honours = queries.honours()
    p = _Params(request, honours)
    root, missing = _root(user, p)
    qs = queries.commendations(user, year=p.year, honour=p.honour, root=root)
    if missing:
        qs = qs.none()
    return user, p, honours, qs, root, missing


@require_GET
def index(request):
    user, p, honours, qs, root, missing = _listing(request)
    page_obj, qs_base = paginate(request, qs)
    # Counts per honour over the year and subtree chosen, whatever honour the list is cut to.
    chart = queries.counts(qs.model.objects.none() if missing else
                           queries.commendations(user, year=p.year, root=root))
    top = max((c["count"] for c in chart), default=0)
    return render(request, "commendations/index.html", {
        "p": p, "honours": honours, "years": queries.years(), "page_obj": page_obj, "qs_base": qs_base,
        "chart": chart, "top": top or 1, "query_string": request.GET.urlencode(),
        "filter_form": OrgFilterForm(request.GET, Organization.objects.visible_to(user), auto_id="honour-%s"),
        "can_draft": can_anywhere(user, "edit"), "staff": is_committee_staff(user),
    })


EXPORT_COLUMNS = [
    xlsx.Column("表彰年度", "year", width=9),
    xlsx.Column("荣誉称号", "honour", width=18),
    xlsx.Column("党组织", "org", width=30),
    xlsx.Column("组织代码", "code", width=14, text=True),
    xlsx.Column("党员", "member", width=12),
    xlsx.Column("表彰决定文号", "number", width=26),
    xlsx.Column("成文日期", "date", width=12),
    xlsx.Column("表彰决定", "title", width=50),
]


@require_GET
def export(request):
    user, p, _, qs, _, _ = _listing(request)

    def write(out):
        return xlsx.write(out, EXPORT_COLUMNS, (
            [c.decision.year, c.honour.name, c.org.name, c.org.code, c.member.name if c.member_id else "",
             c.decision.number, c.decision.decided_on.isoformat(), c.decision.title]
            for c in qs.iterator(chunk_size=2000)), title="表彰名单")

    return xlsx.workbook_response(write, f"{p.year or ''}表彰名单.xlsx",
                                  lambda n: audit.record_export(user, "honours", "表彰名单", n, p.as_dict()))


# ---- decisions --------------------------------------------------------------------------------

@require_GET
def decisions(request):
    user = request.user
    _viewer(user)
    p = _Params(request, [])
    page_obj, qs_base = paginate(request, queries.decisions(user, year=p.year))
    return render(request, "commendations/decisions.html", {
        "p": p, "years": queries.years(), "page_obj": page_obj, "qs_base": qs_base,
        "can_draft": can_anywhere(user, "edit")})


def decision_new(request):
    user = request.user
    require(can_anywhere(user, "edit"))
    today = timezone.localdate()
    form = DecisionForm(request.POST or None, user=user,
                        initial={"year": today.year - 1, "decided_on": today})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            decision = services.create_decision(user, issuer=d["issuer"], number=d["number"],
                                                decided_on=d["decided_on"], title=d["title"], year=d["year"])
        except CommendationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"已起草表彰决定 {decision.number}，请添加表彰对象。")
            return redirect("commendations:decision", decision.pk)
    return render(request, "commendations/form.html", {"form": form, "title": "起草表彰决定"})


def decision_edit(request, pk):
    user = request.user
    decision = queries.decision_or_404(user, pk, "edit")
    if decision.is_published:
        messages.error(request, f"表彰决定 {decision.number} 已印发，不能修改；如需更正，请另行起草表彰决定。")
        return redirect("commendations:decision", decision.pk)
    form = DecisionForm(request.POST or None, user=user, editing=True, initial={
        "number": decision.number, "decided_on": decision.decided_on, "title": decision.title,
        "year": decision.year, "version": decision.version})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.update_decision(user, decision, number=d["number"], decided_on=d["decided_on"],
                                     title=d["title"], year=d["year"], version=d["version"])
        except (CommendationError, StaleVersion) as exc:
            form.add_error(getattr(exc, "field", None) if getattr(exc, "field", None) in form.fields else None,
                           exc.message)
        else:
            messages.success(request, "已保存。")
            return redirect("commendations:decision", decision.pk)
    return render(request, "commendations/form.html", {"form": form, "title": f"修改表彰决定 {decision.number}",
                                                       "decision": decision})


def _detail(request, decision: Decision, form=None, status=200):
    user = request.user
    editable = not decision.is_published and can(user, "edit", decision.issuer.path)
    entries = queries.entries_of(decision)
    labels = {("commendations.commendation", c.pk): f"表彰对象（{c.honour.name}：{c.member.name if c.member_id else c.org.name}）"
              for c in entries}
    history = history_rows.entries_for({"commendations.decision": [decision.pk],
                                        "commendations.commendation": [c.pk for c in entries]})
    ctx = {"decision": decision, "entries": entries, "editable": editable,
           "history": history_rows.describe(history, labels)}
    if editable:
        ctx["suggestions"] = queries.suggestions(user, decision)
        ctx["form"] = form or CommendationForm(user=user, decision=decision)
    return render(request, "commendations/decision.html", ctx, status=status)


@require_GET
def decision(request, pk):
    return _detail(request, queries.decision_or_404(request.user, pk))


@require_POST
def decision_add(request, pk):
    user = request.user
    decision = queries.decision_or_404(user, pk, "edit")
    picks = request.POST.getlist("pick")
    form = None
    if picks:
        items = _picked(user, decision, picks)
    else:
        form = CommendationForm(request.POST, user=user, decision=decision)
        if not form.is_valid():
            return _detail(request, decision, form, status=400)
        d = form.cleaned_data
        items = [(d["honour"], d["org"], d["member"])]
    try:
        made = services.add_commendations(user, decision, items)
    except CommendationError as exc:
        if form is not None:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return _detail(request, decision, form, status=400)
        messages.error(request, f"未添加：{exc.message}")
    else:
        messages.success(request, f"已添加 {len(made)} 个表彰对象。")
    return redirect("commendations:decision", decision.pk)


def _picked(user, decision: Decision, picks: list[str]) -> list[tuple]:
    """The suggestions ticked ("org:honour" ids), each looked up in the user's edit scope."""
    pairs = []
    for raw in picks:
        org_id, _, honour_id = raw.partition(":")
        if not (org_id.isdigit() and honour_id.isdigit()):
            raise Http404
        pairs.append((int(org_id), int(honour_id)))
    orgs = Organization.objects.visible_to(user, "edit").in_bulk({o for o, _ in pairs})
    honours = Honour.objects.in_bulk({h for _, h in pairs})
    if any(o not in orgs or h not in honours for o, h in pairs):
        raise Http404
    return [(honours[h], orgs[o], None) for o, h in pairs]


@require_POST
def entry_remove(request, pk):
    user = request.user
    decision = queries.decision_or_404(user, pk, "edit")
    raw = request.POST.get("entry", "")
    entry = decision.commendations.select_related("decision__issuer", "honour").filter(
        pk=int(raw) if raw.isdigit() else 0).first()
    if entry is None:
        raise Http404
    try:
        services.remove_commendation(user, entry)
    except CommendationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已移出“{entry.honour.name}”一项。")
    return redirect("commendations:decision", decision.pk)


@require_POST
def publish(request, pk):
    user = request.user
    decision = queries.decision_or_404(user, pk, "edit")
    try:
        services.publish(user, decision, _version(request))
    except (CommendationError, StaleVersion) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"表彰决定 {decision.number} 已印发。")
    return redirect("commendations:decision", decision.pk)


@require_POST
def delete(request, pk):
    user = request.user
    decision = queries.decision_or_404(user, pk, "edit")
    try:
        services.delete_draft(user, decision, _version(request))
    except (CommendationError, StaleVersion) as exc:
        messages.error(request, exc.message)
        return redirect("commendations:decision", decision.pk)
    messages.success(request, f"已删除表彰决定草稿 {decision.number}。")
    return redirect("commendations:decisions")


@require_GET
def decision_docx(request, pk):
    user = request.user
    decision = queries.decision_or_404(user, pk)
    entries = queries.entries_of(decision)
    doc = notice.compose(decision, entries)
    data = notice.bulletin.to_docx(doc)
    # The notice names members: reading it as a file is an export like the list's.
    audit.record_export(user, "honours-docx", "表彰通报", len(entries), {"number": decision.number})
    return FileResponse(io.BytesIO(data), as_attachment=True, filename=doc.filename, content_type=notice.DOCX_TYPE)


# ---- titles -----------------------------------------------------------------------------------

@committee_staff_only
def honours(request):
    user = request.user
    form = HonourForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            honour = services.create_honour(user, **form.cleaned_data)
        except CommendationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"已增设荣誉称号“{honour.name}”。")
            return redirect("commendations:honours")
    return render(request, "commendations/honours.html", {"form": form, "honours": queries.honours()})

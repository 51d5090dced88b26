import re
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.http import require_safe

from dangjian.core import audit, panels, xlsx
from dangjian.core import history as history_rows
from dangjian.core.scoping import can, can_anywhere, get_visible_or_404, require
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import QueryParams, is_htmx, paginate

from . import queries, services
from .alerts import ALERT_FILTERS, ALERT_KINDS, kinds_of
from .forms import DissolveForm, EditOrgForm, FillSeatForm, OrgForm, TermForm, VacateSeatForm
from .models import CommitteeSeat, Organization, OrgKind, SeatRole, Term

_HAN = re.compile(r"[\u3400-\u9fff]")
LOOKUP_MAX = 50


def _visible(request, pk, capability="view"):
    return get_visible_or_404(Organization.objects.select_related("unit", "parent"), request.user, pk, capability)


def tree(request):
    q = (request.GET.get("q") or "").strip()
    under = (request.GET.get("under") or "").strip()
    ctx = {"q": q, "under": under}
    if q or under:
        found = queries.filter_orgs(queries.org_list(request.user), request.GET)
        ctx["page_obj"], ctx["qs_base"] = paginate(request, found.order_by("path"))
        ctx["page_obj"].object_list = queries.attach_counts(ctx["page_obj"].object_list, request.user)
    else:
        ctx["roots"] = queries.attach_counts(queries.roots_for(request.user).order_by("path"), request.user)
    return render(request, "orgs/tree.html", ctx)


@require_safe
def lookup(request):
    """The autocomplete's matches as a fragment of <li> options: at most LOOKUP_LIMIT orgs the
    user holds `capability` over, each with its code and its parent's name (two 第一党支部 told
    apart). `kind` (repeated) narrows the kinds, `dissolved=1` keeps dissolved orgs, `by=pk`
    makes the options carry the id instead of the code. Nothing outside the scope, ever."""
    text = (request.GET.get("q") or "").replace("\x00", "").strip()
    capability = request.GET.get("capability") or "view"
    kinds = request.GET.getlist("kind")
    ctx = {"orgs": [], "by_pk": request.GET.get("by") == "pk", "limit": queries.LOOKUP_LIMIT, "message": ""}
    status = 200
    if capability not in queries.LOOKUP_CAPABILITIES or any(k not in OrgKind.values for k in kinds):
        ctx["message"], status = "查找参数无效，请刷新页面后重试", 400
    elif not text:
        ctx["message"] = "请输入组织名称、代码或拼音首字母"
    elif len(text) > LOOKUP_MAX:
        ctx["message"] = f"输入过长，请不超过 {LOOKUP_MAX} 个字"
    elif len(text) < 2 and not _HAN.search(text):
        ctx["message"] = "请至少输入 2 个字母或数字，或 1 个汉字"
    else:
        found = queries.lookup(request.user, text, capability, kinds, request.GET.get("dissolved") == "1")
        ctx["orgs"], ctx["more"] = found[:queries.LOOKUP_LIMIT], len(found) > queries.LOOKUP_LIMIT
        ctx["message"] = f"您的范围内没有与“{text}”相符的组织"
    response = render(request, "orgs/_lookup.html", ctx, status=status)
    add_never_cache_headers(response)  # the answer depends on who asks
    return response


def children(request, pk):
    org = _visible(request, pk)
    nodes, total = queries.visible_children(request.user, org)
    return render(request, "orgs/_children.html", {"nodes": nodes, "total": total, "parent": org})


def detail(request, pk):
    user = request.user
    org = _visible(request, pk)
    today = timezone.localdate()
    term = org.terms.filter(is_current=True).first()
    seats = list(org.seats.filter(is_active=True).select_related("holder"))
    children, children_total = queries.visible_children(user, org)
    members_page, qs_base = paginate(
        request, org.members.visible_to(user).active().order_by("name", "id")
    )
    # History of the org and of its terms and seats, in one query plus the two id lists.
    term_ids = dict(Term.objects.filter(org=org).values_list("pk", "starts_on"))
    seat_roles = dict(CommitteeSeat.objects.filter(org=org).values_list("pk", "role"))
    role_labels = dict(SeatRole.choices)
    labels = {("orgs.term", pk_): f"届次（{d:%Y-%m-%d} 起）" for pk_, d in term_ids.items()}
    labels.update({("orgs.committeeseat", pk_): f"委员职位（{role_labels.get(r, r)}）" for pk_, r in seat_roles.items()})
    entries = history_rows.entries_for(
        {"orgs.organization": [org.pk], "orgs.term": list(term_ids), "orgs.committeeseat": list(seat_roles)}
    )
    ctx = {
        "org": org,
        "ancestors": queries.ancestors(user, org),
        "term": term,
        "term_status": queries.term_status(term, today),
        "term_days": term.days_left(today) if term else None,
        "term_overdue_days": -term.days_left(today) if term else None,
        "seats": [(s, s.vacant_days(today)) for s in seats],
        "children": children,
        "children_total": children_total,
        "page_obj": members_page,
        "qs_base": qs_base,
        "figures": queries.subtree_counts(org),
        "unit_duties": queries.unit_duties(user, org),
        "history": history_rows.describe(entries, labels),
        "can_edit": can(user, "edit", org.path),
        "can_export": can(user, "import", org.path),
        "is_active": org.status == Organization.Status.ACTIVE,
    }
    if is_htmx(request) and request.GET.get("part") == "members":
        response = render(request, "orgs/_members.html", ctx)
    else:
        ctx["panels"] = panels.render("orgs.detail", request, org)
        response = render(request, "orgs/detail.html", ctx)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _form_page(request, org, form, title, submit="保存"):
    return render(request, "orgs/form.html", {"org": org, "form": form, "title": title, "submit": submit})


def edit(request, pk):
    org = _visible(request, pk, "edit")
    editable = Organization.objects.visible_to(request.user, "edit").active()
    form = EditOrgForm(request.POST or None, instance=org, editable_orgs=editable)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        fields = dict(
            code=d["code"], name=d["name"], kind=d["kind"], is_joint=d["is_joint"],
            unit=services.unit_named(d["unit"]), established_on=d["established_on"],
        )
        fields["parent"] = d["parent_code"]
        try:
            services.update_org(request.user, org, d.get("version"), **fields)
        except services.OrgError as exc:
            field = {"parent": "parent_code"}.get(exc.field, exc.field)
            form.add_error(field if field in form.fields else None, str(exc))
        except StaleVersion as exc:
            # Nothing was saved: show the record as it now is, with its new version.
            messages.error(request, exc.message)
            org = _visible(request, pk, "edit")
            form = EditOrgForm(instance=org, editable_orgs=editable)
        else:
            messages.success(request, "组织信息已保存。")
            return redirect("orgs:detail", org.pk)
    return _form_page(request, org, form, f"编辑：{org.name}")


def create_child(request, pk):
    parent = _visible(request, pk, "edit")
    if parent.status != Organization.Status.ACTIVE:
        messages.error(request, "该组织已撤销，不能设立下级组织。")
        return redirect("orgs:detail", parent.pk)
    form = OrgForm(request.POST or None, initial={"unit": parent.unit.name if parent.unit else ""})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            child = services.create_org(
                request.user, code=d["code"], name=d["name"], kind=d["kind"], is_joint=d["is_joint"],
                unit=services.unit_named(d["unit"]), established_on=d["established_on"], parent=parent,
            )
        except services.OrgError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, f"已设立“{child.name}”。")
            return redirect("orgs:detail", child.pk)
    return _form_page(request, parent, form, f"在“{parent.name}”下设立组织", "设立")


def dissolve(request, pk):
    org = _visible(request, pk, "edit")
    form = DissolveForm(request.POST or None, initial={"on": timezone.localdate(), "version": org.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.dissolve_org(request.user, org, form.cleaned_data["on"], form.cleaned_data.get("version"))
        except services.OrgError as exc:
            form.add_error(None, str(exc))
        except StaleVersion as exc:
            # Nothing was saved: the org as it now is, before deciding again.
            messages.error(request, exc.message)
            return redirect("orgs:detail", org.pk)
        else:
            messages.success(request, f"“{org.name}”已撤销。")
            return redirect("orgs:detail", org.pk)
    return _form_page(request, org, form, f"撤销组织：{org.name}", "确认撤销")


def term(request, pk):
    org = _visible(request, pk, "edit")
    current = org.terms.filter(is_current=True).first()
    initial = {"starts_on": current.starts_on, "ends_on": current.ends_on, "elected_on": current.elected_on,
               "version": current.version} if current else {}
    form = TermForm(request.POST or None, initial=initial, kind=org.kind)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.set_current_term(request.user, org, d["starts_on"], d["ends_on"], d["elected_on"], d.get("version"))
        except services.OrgError as exc:
            form.add_error(None, str(exc))
        except StaleVersion as exc:
            # Nothing was saved: the form is drawn again from the term as it now is.
            messages.error(request, exc.message)
            return redirect("orgs:term", org.pk)
        else:
            messages.success(request, "届次信息已保存。")
            return redirect("orgs:detail", org.pk)
    return _form_page(request, org, form, f"届次：{org.name}")


def fill_seat(request, pk):
    org = _visible(request, pk, "edit")
    members = org.members.visible_to(request.user, "edit").active().order_by("name")
    form = FillSeatForm(
        request.POST or None, members=members,
        initial={"since": timezone.localdate(), "role": request.GET.get("role")},
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.fill_seat(request.user, org, d["role"], d["member"], d["since"])
        except services.OrgError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{d['member'].name} 已任{dict(SeatRole.choices)[d['role']]}。")
            return redirect("orgs:detail", org.pk)
    return _form_page(request, org, form, f"委员任职：{org.name}")


def vacate_seat(request, seat_pk):
    seat = get_object_or_404(
        CommitteeSeat.objects.filter(
            is_active=True, holder__isnull=False, org__in=Organization.objects.visible_to(request.user, "edit")
        ).select_related("org", "holder"),
        pk=seat_pk,
    )
    form = VacateSeatForm(request.POST or None, initial={"since": timezone.localdate(), "version": seat.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.vacate_seat(request.user, seat, form.cleaned_data["since"], form.cleaned_data.get("version"))
        except StaleVersion as exc:
            # Nothing was saved: back to the org, whose page shows who holds the seat now.
            messages.error(request, exc.message)
            return redirect("orgs:detail", seat.org_id)
        messages.success(request, f"{seat.get_role_display()}职位已设为空缺。")
        return redirect("orgs:detail", seat.org_id)
    return _form_page(request, seat.org, form, f"{seat.get_role_display()}（{seat.holder.name}）离任", "确认")


ALERT_COLUMNS = [
    xlsx.Column("组织代码", "org_code", width=14, text=True), xlsx.Column("组织名称", "org_name", width=28),
    xlsx.Column("提醒", "kind", width=18), xlsx.Column("起始日期", "since", width=12),
    xlsx.Column("说明", "message", width=60),
]


class _AlertParams(QueryParams):
    def __init__(self, request):
        super().__init__(request)
        self.kind = self._coded("kind", {**ALERT_FILTERS, **ALERT_KINDS}, "提醒类别")
        self.q = self._raw("q")[:50]


def alerts(request):
    """组织设置提醒: every structure alert of the user's view scope (换届, 空缺, 支部设置,
    书记职级, 纪检委员), filtered and paginated; the home page's short lists link here."""
    user = request.user
    require(can_anywhere(user, "view"))
    p = _AlertParams(request)
    found, counts = queries.alerts_page(user, p.kind, p.q, timezone.localdate())
    if request.GET.get("format") == "xlsx":
        rows = ([a.org_code, a.org_name, ALERT_KINDS[a.kind], a.since or "", a.message] for a in found)
        return xlsx.workbook_response(
            lambda out: xlsx.write(out, ALERT_COLUMNS, rows, title="组织设置提醒"), "组织设置提醒.xlsx",
            lambda n: audit.record_export(user, "org_alerts", "组织设置提醒", n, {"kind": p.kind, "q": p.q}))
    page_obj, qs_base = paginate(request, found)
    filters = [("", "全部", sum(counts.values()))] + [
        (key, label, sum(counts[k] for k in kinds_of(key))) for key, label in ALERT_FILTERS.items()
    ] + [(key, label, counts[key]) for key, label in ALERT_KINDS.items()]
    return render(request, "orgs/alerts.html", {
        "p": p, "page_obj": page_obj, "qs_base": qs_base, "filters": filters,
        "total": len(found), "export_query": urlencode({"kind": p.kind, "q": p.q, "format": "xlsx"}),
    })

"""Rectification screens: the one list of items (filtered, paginated, exported), an item's page
with its referral chain, timeline and a form for each move the user's side may make now, the new
item form of the issuing side, the unit board, and the evidence files (served only through the
item's scoping). Reads through `queries`, writes through `services`; outside the scope is 404."""
from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dangjian.core import audit, xlsx
from dangjian.core.periods import name_of
from dangjian.core.scoping import can_anywhere, oversees, require
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import QueryParams, paginate
from dangjian.orgs.fields import OrgFilterForm
from dangjian.orgs.models import Organization

from . import queries, services
from .forms import DeadlineForm, ItemForm, MoveForm, ReferForm
from .models import SOURCE_URLS, Item, ItemFile


class _Params(QueryParams):
    def __init__(self, request):
        super().__init__(request)
        statuses = {**queries.STATUS_FILTERS, **dict(Item.Status.choices)}
        self.list = self._coded("list", dict(Item.List.choices), "清单")
        self.status = self._coded("status", statuses, "状态")
        self.source = self._coded("source", dict(Item.Source.choices), "来源")
        self.source_id = self._int("source_id", "来源记录")
        self.org = self._raw("org")[:32]
        self.q = self._raw("q")[:50]

    def as_dict(self) -> dict:
        return {"list": self.list, "status": self.status, "source": self.source, "source_id": self.source_id,
                "org": self.org, "q": self.q}


def _listing(request):
    user = request.user
    require(can_anywhere(user, "view") or can_anywhere(user, "self"))
    p = _Params(request)
    today = timezone.localdate()
    root = Organization.objects.visible_to(user).filter(code=p.org).first() if p.org else None
    items = queries.filtered(queries.visible(user), today=today, list_=p.list, status=p.status, org=root,
                             source=p.source, source_id=p.source_id, q=p.q)
    if p.org and root is None:
        items = items.none()
    return user, p, today, items


@require_GET
def item_list(request):
    user, p, today, items = _listing(request)
    page, base = paginate(request, items.select_related("org", "issuer").order_by("deadline", "id"))
    for item in page.object_list:
        item.late = item.overdue_days(today)
    return render(request, "rectification/list.html", {
        "page_obj": page, "qs_base": base, "p": p, "today": today, "lists": Item.List.choices,
        "statuses": [*queries.STATUS_FILTERS.items(), *Item.Status.choices], "sources": Item.Source.choices,
        "filter_form": OrgFilterForm(request.GET, Organization.objects.visible_to(user), auto_id="item-%s"),
        "query_string": request.GET.urlencode(), "can_open": can_anywhere(user, "edit"),
        "can_board": oversees(user)})


EXPORT_COLUMNS = [
    xlsx.Column("编号", "id", width=8),
    xlsx.Column("清单", "list", width=10),
    xlsx.Column("来源", "source", width=14),
    xlsx.Column("来源说明", "source_label", width=24),
    xlsx.Column("事项", "title", width=40),
    xlsx.Column("责任单位", "org", width=28),
    xlsx.Column("组织代码", "code", width=14, text=True),
    xlsx.Column("交办单位", "issuer", width=24),
    xlsx.Column("交办日期", "opened_on", width=12),
    xlsx.Column("整改时限", "deadline", width=12),
    xlsx.Column("状态", "status", width=10),
    xlsx.Column("销号日期", "closed_on", width=12),
    xlsx.Column("超期天数", "overdue_days", width=10),
    xlsx.Column("退回次数", "returned", width=10),
]


@require_GET
def export(request):
    user, p, today, items = _listing(request)
    rows = items.select_related("org", "issuer").order_by("deadline", "id")

    def write(out):
        return xlsx.write(out, EXPORT_COLUMNS, (
            [i.pk, i.get_list_display(), i.get_source_display(), i.source_label, i.title, i.org.name, i.org.code,
             i.issuer.name, i.opened_on.isoformat(), i.deadline.isoformat(), i.get_status_display(),
             i.closed_on.isoformat() if i.closed_on else "", i.overdue_days(today), i.returned_count]
            for i in rows.iterator(chunk_size=2000)), title="督查整改事项")

    return xlsx.workbook_response(write, f"督查整改事项{today:%Y%m%d}.xlsx",
                                  lambda n: audit.record_export(user, "items", "督查整改事项", n, p.as_dict()))


# ---- an item --------------------------------------------------------------------------------

def source_link(item: Item) -> str | None:
    name = SOURCE_URLS.get(item.source)
    if not name or item.source_id is None:
        return None
    try:
        return reverse(name, args=[item.source_id])
    except NoReverseMatch:
        return None


MOVE_TITLES = {"sign": "签收", "note": "填写整改进展", "request": "申请销号", "close": "销号", "return": "退回",
               "refer": "转办", "edit": "调整时限"}


def _refer_orgs(user):
    return Organization.objects.visible_to(user).active()


def _move_form(kind: str, item: Item, user, data=None, files=None):
    initial = {"version": item.version}
    if kind == "refer":
        return ReferForm(data, initial=initial, orgs=_refer_orgs(user), auto_id=f"{kind}-%s")
    if kind == "edit":
        return DeadlineForm(data, initial={**initial, "deadline": item.deadline}, auto_id=f"{kind}-%s")
    return MoveForm(data, files, kind=kind, initial=initial, auto_id=f"{kind}-%s")


def _detail(request, item: Item, bound: dict | None = None, status: int = 200):
    user = request.user
    today = timezone.localdate()
    before, after = queries.chain(item)
    forms = []
    for kind in services.moves(user, item):
        form = (bound or {}).get(kind) or _move_form(kind, item, user)
        forms.append({"kind": str(kind), "title": MOVE_TITLES[kind], "form": form})
    events = queries.timeline(item)
    files = queries.files_by_event(item)
    for e in events:
        e.evidence = files.get(e.pk, [])
    return render(request, "rectification/detail.html", {
        "item": item, "today": today, "events": events, "before": before, "after": after,
        "source_link": source_link(item), "overdue_days": item.overdue_days(today), "forms": forms},
        status=status)


@require_GET
def item_detail(request, pk):
    return _detail(request, queries.get(request.user, pk))


@require_POST
def move(request, pk, kind):
    user = request.user
    item = queries.get(user, pk)
    if kind not in MOVE_TITLES:
        raise Http404
    if kind not in services.moves(user, item):
        messages.error(request, f"该事项{item.get_status_display()}，您所在的一方现在不能{MOVE_TITLES[kind]}。")
        return redirect("rectification:detail", item.pk)
    form = _move_form(kind, item, user, request.POST, request.FILES)
    if form.is_valid():
        d = form.cleaned_data
        version = d.get("version")
        try:
            result = _apply(user, item, kind, d, version)
        except StaleVersion as exc:
            fresh = queries.get(user, pk)
            messages.error(request, f"{exc.message}。页面已显示最新内容，请核对后重新提交。")
            fresh_form = _move_form(kind, fresh, user, None)
            if "text" in fresh_form.fields:
                fresh_form.initial["text"] = d.get("text", "")
            return _detail(request, fresh, {kind: fresh_form}, status=409)
        except services.ItemError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
        else:
            messages.success(request, f"已{MOVE_TITLES[kind]}。")
            return redirect("rectification:detail", result.pk if kind == "refer" else item.pk)
    return _detail(request, item, {kind: form}, status=400)


def _apply(user, item: Item, kind: str, d: dict, version):
    text = d.get("text", "")
    if kind == "sign":
        return services.sign(user, item, text=text, version=version)
    if kind == "note":
        return services.add_note(user, item, text=text)
    if kind == "request":
        return services.request_close(user, item, evidence=text, files=d.get("files") or (), version=version)
    if kind == "close":
        return services.close(user, item, verification=text, version=version)
    if kind == "return":
        return services.return_item(user, item, reason=text, version=version)
    if kind == "refer":
        return services.refer(user, item, to_org=d["to_org"], reason=text, deadline=d.get("deadline"),
                              workdays=d.get("workdays"), version=version)
    return services.change_deadline(user, item, deadline=d.get("deadline") if d.get("workdays") is None else None,
                                    workdays=d.get("workdays"), reason=text, version=version)


@require_GET
def item_file(request, pk):
    """An evidence file, through the item's scoping; always a download, never shown inline."""
    f = get_object_or_404(ItemFile.objects.filter(item__in=queries.visible(request.user).values("pk")), pk=pk)
    try:
        fh = f.file.open("rb")
    except FileNotFoundError:
        raise Http404("佐证材料文件已不存在，请联系管理员") from None
    audit.record_export(request.user, "item_file", f"佐证材料“{f.name}”", 1, {"item": f.item_id, "file": f.pk})
    response = FileResponse(fh, as_attachment=True, filename=f.name, content_type=f.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# ---- a new item -----------------------------------------------------------------------------

def _compliance_prefill(user, get) -> dict:
    """The new item form filled from a compliance failure (?from=compliance&org=&code=&period=):
    the organization, the rule and period as its title, the stored compliance row as its source."""
    from dangjian.activities.models import ComplianceRow
    from dangjian.activities.queries import KIND_LABELS

    org_pk, code, period = get.get("org", ""), get.get("code", "")[:48], get.get("period", "")[:8]
    org = Organization.objects.visible_to(user, "edit").filter(pk=org_pk).first() if org_pk.isdigit() else None
    if org is None:
        return {}
    row = (ComplianceRow.objects.filter(org=org, code=code, period=period).select_related("rule").first()
           if code and period else None)
    kind = row.kind if row is not None else get.get("kind", "")[:32]
    what = KIND_LABELS.get(kind, "组织生活")
    when = name_of(period) if period and name_of(period) != period else ""
    title = f"{when}{what}未按要求开展" if when else f"{what}未按要求开展"
    parent = org.parent if org.parent_id else org
    return {"source": Item.Source.COMPLIANCE, "source_id": row.pk if row is not None else None,
            "source_label": f"{org.name} {when}{what}".strip()[:200], "title": title[:200], "org": org.code,
            "issuer": parent.code, "list": Item.List.PROBLEM}


def item_new(request):
    user = request.user
    require(can_anywhere(user, "edit"))
    issuers = Organization.objects.visible_to(user, "edit").active()
    initial = {"source": Item.Source.MANUAL, "list": Item.List.TASK}
    if request.GET.get("from") == "compliance":
        initial.update(_compliance_prefill(user, request.GET))
    form = ItemForm(request.POST or None, initial=initial, issuers=issuers, orgs=issuers)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            item = services.assign(user, issuer=d["issuer"], org=d["org"], list=d["list"], title=d["title"],
                                   description=d["description"], source=d["source"], source_id=d.get("source_id"),
                                   source_label=d["source_label"], deadline=d.get("deadline"),
                                   workdays=d.get("workdays"))
        except services.ItemError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"已向“{item.org.name}”交办整改事项。")
            return redirect("rectification:detail", item.pk)
    return render(request, "rectification/new.html", {"form": form})


# ---- the unit board -------------------------------------------------------------------------

def _board(request):
    user = request.user
    require(oversees(user))
    today = timezone.localdate()
    rows = queries.by_unit(queries.visible(user), today)
    return user, today, rows


@require_GET
def board(request):
    user, today, rows = _board(request)
    chart = {"labels": [r["name"] for r in rows],
             "series": [{"key": k, "name": n, "data": [r[k] for r in rows]} for k, n in BOARD_SERIES]}
    total = {k: sum(r[k] for r in rows) for k in ("total", "open", "overdue", "closed", "on_time", "returned")}
    return render(request, "rectification/board.html", {"rows": rows, "total": total, "chart": chart, "today": today})


BOARD_SERIES = [("open", "未销号"), ("overdue", "已超期"), ("on_time", "按期销号")]
BOARD_COLUMNS = [
    xlsx.Column("单位", "name", width=30),
    xlsx.Column("事项", "total", width=8),
    xlsx.Column("未销号", "open", width=8),
    xlsx.Column("已超期", "overdue", width=8),
    xlsx.Column("已销号", "closed", width=8),
    xlsx.Column("按期销号", "on_time", width=10),
    xlsx.Column("被退回过", "returned", width=10),
]


@require_GET
def board_export(request):
    user, today, rows = _board(request)

    def write(out):
        return xlsx.write(out, BOARD_COLUMNS, ([r["name"], r["total"], r["open"], r["overdue"], r["closed"],
                                                r["on_time"], r["returned"]] for r in rows), title="各单位整改情况")

    return xlsx.workbook_response(write, f"各单位整改情况{today:%Y%m%d}.xlsx",
                                  lambda n: audit.record_export(user, "item_board", "各单位整改情况", n, {}))


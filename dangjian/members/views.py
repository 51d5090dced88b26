import datetime as dt

from django.contrib import messages
from django.db import IntegrityError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.http import require_POST

from dangjian.core import audit, idcard, panels
from dangjian.core import history as history_rows
from dangjian.core.scoping import can, can_anywhere, get_visible_or_404
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import is_htmx, paginate
from dangjian.orgs.fields import OrgFilterForm
from dangjian.orgs.models import CommitteeSeat, Organization

from . import queries, services
from .checks import ID_NOT_USABLE
from .forms import MemberForm, TransferForm
from .models import Category, Member

REVEAL_NOTE = "在党员页面查看"


def _visible(request, pk, capability="view"):
    return get_visible_or_404(Member.objects.select_related("org"), request.user, pk, capability)


def member_list(request):
    user = request.user
    found = queries.filter_members(queries.member_list(user), request.GET, user)
    page_obj, qs_base = paginate(request, found.order_by("org__path", "name", "id"))
    ctx = {
        "page_obj": page_obj,
        "qs_base": qs_base,
        "params": request.GET,
        "categories": Category.choices,
        "statuses": [("all", "全部")] + Member.Status.choices,
        "can_export": can_anywhere(user, "import"),
        "can_create": can_anywhere(user, "edit"),
        "query_string": request.GET.urlencode(),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "member-results":
        response = render(request, "members/_results.html", ctx)
    else:
        # The org filter is an autocomplete: no option per org on the page, whatever the tree.
        ctx["filter_form"] = OrgFilterForm(request.GET, Organization.objects.visible_to(user), auto_id="member-%s")
        response = render(request, "members/list.html", ctx)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _history(member, full_birth: bool):
    entries = history_rows.entries_for({"members.member": [member.pk]})
    rows = history_rows.describe(entries)
    if not full_birth:
        # The birth date reads as its year, as on the page (core.idcard.birth_shown).
        label = Member._meta.get_field("birth_date").verbose_name
        for row in rows:
            for change in row["changes"]:
                if change["label"] == label:
                    for side in ("before", "after"):
                        change[side] = _year_only(change[side])
    return rows


def _year_only(text: str) -> str:
    try:
        return idcard.birth_shown(dt.date.fromisoformat(text), full=False)
    except ValueError:
        return text


def detail(request, pk):
    user = request.user
    member = _visible(request, pk)
    memberships = list(member.memberships.select_related("org").order_by("started_on", "id"))
    # Earlier organizations may lie outside the user's scope: named, but linked only when visible.
    visible_orgs = set(
        Organization.objects.visible_to(user)
        .filter(pk__in={m.org_id for m in memberships})
        .values_list("pk", flat=True)
    )
    seats = list(
        CommitteeSeat.objects.filter(holder=member, is_active=True).select_related("org").order_by("org__path", "role")
    )
    ctx = {
        "member": member,
        "memberships": memberships,
        "visible_orgs": visible_orgs,
        "seats": seats,
        "history": _history(member, can(user, "see_id", member.org.path)),
        "can_edit": can(user, "edit", member.org.path),
        "can_see_id": can(user, "see_id", member.org.path),
        "can_view_org": member.org_id in visible_orgs or can(user, "view", member.org.path),
        "panels": panels.render("members.detail", request, member),
    }
    return render(request, "members/detail.html", ctx)


@require_POST
def reveal(request, pk):
    member = _visible(request, pk, "see_id")
    audit.record(request.user, member, audit.snapshot(member), action="reveal", note=REVEAL_NOTE)
    html = render_to_string("members/_id_number.html", {"number": member.id_number})
    response = HttpResponse(html)
    add_never_cache_headers(response)
    return response


def _editable_orgs(user):
    return Organization.objects.visible_to(user, "edit").active()


def create(request):
    user = request.user
    if not can_anywhere(user, "edit"):
        raise Http404
    orgs = _editable_orgs(user).order_by("path")
    initial = {"ethnicity": "汉族", "category": Category.FULL}
    org_pk = request.GET.get("org")
    org = None
    if org_pk:
        if not org_pk.isdigit():
            raise Http404
        org = get_object_or_404(orgs, pk=org_pk)
        initial["org"] = org.pk
    form = MemberForm(request.POST or None, orgs=orgs, initial=initial, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.create_member(user, reason="新增党员", **form.member_fields())
        except (services.MemberError, IntegrityError):
            form.add_error("id_number", ID_NOT_USABLE)
        else:
            messages.success(request, f"已新增党员“{member.name}”。")
            return redirect("members:detail", member.pk)
    return render(request, "members/form.html", {"form": form, "org": org, "title": "新增党员", "submit": "保存"})


def edit(request, pk):
    user = request.user
    member = _visible(request, pk, "edit")
    form = MemberForm(request.POST or None, instance=member, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_member(user, member, version=form.cleaned_data.get("version"), **form.member_fields())
        except (services.MemberError, IntegrityError):
            form.add_error("id_number", ID_NOT_USABLE)
        except StaleVersion as exc:
            # Nothing was saved: show the record as it now is, with its new version.
            messages.error(request, exc.message)
            member = _visible(request, pk, "edit")
            form = MemberForm(instance=member, user=user)
        else:
            messages.success(request, "党员信息已保存。")
            return redirect("members:detail", member.pk)
    ctx = {"form": form, "member": member, "org": member.org, "title": f"编辑党员：{member.name}", "submit": "保存",
           "standing_readonly": True}
    return render(request, "members/form.html", ctx)


def transfer(request, pk):
    user = request.user
    member = _visible(request, pk, "edit")
    # Dissolved orgs stay in the lookup so the form can say why they are refused.
    editable = Organization.objects.visible_to(user, "edit")
    form = TransferForm(request.POST or None, member=member, editable_orgs=editable,
                        initial={"version": member.version})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.transfer_member(user, member, d["to_code"], d["on"], d["reason"], d.get("version"))
        except services.MemberError as exc:
            form.add_error("on" if "日期" in str(exc) else "to_code", str(exc))
        except StaleVersion as exc:
            # Nothing was saved: the member as they now are, before deciding again.
            messages.error(request, exc.message)
            return redirect("members:detail", member.pk)
        else:
            messages.success(request, f"{member.name} 的组织关系已转入“{d['to_code'].name}”。")
            return redirect("members:detail", member.pk)
    ctx = {
        "form": form, "member": member, "org": member.org,
        "title": f"组织关系转接：{member.name}", "submit": "确认转接", "is_transfer": True,
    }
    return render(request, "members/form.html", ctx)

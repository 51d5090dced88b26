"""Duty-list pages: my list, a person's list, an org's overview, the items per role and
their editor. Thin: the reads are queries', the writes services'."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from dangjian.core import periods
from dangjian.core.scoping import can_anywhere, committee_staff_only, is_committee_staff
from dangjian.core.versioning import StaleVersion
from dangjian.core.views import paginate

from . import queries, services
from .forms import ItemForm, MarkForm, RetireForm, WithdrawForm
from .models import ROLE_LABELS, DutyItem, Evidence, Per


def _person_page(request, member_pk: int, *, mine: bool):
    user = request.user
    today = timezone.localdate()
    year, problem = queries.year_of(request.GET.get("year"), today)
    errors: dict[str, list[str]] = {}
    ctx = queries.person(user, member_pk, year, today)  # 404 outside the scope, for POST too
    if request.method == "POST" and _post(request, ctx, today, errors):
        return redirect(request.get_full_path())
    ctx.update({
        "year": year, "problem": problem, "mine": mine, "errors": errors, "today": today,
        "years": range(today.year, max(queries.FIRST_YEAR, today.year - 5) - 1, -1),
        "history": queries.mark_history(ctx["member"], ctx["blocks"], year),
        "can_overview": can_anywhere(user, "view"),
    })
    if errors:
        # The message goes beside the period it concerns, the typed values stay in its form.
        cells = {c["key"]: c for b in ctx["blocks"] for r in b.rows for c in r.cells}
        for key, messages_ in errors.items():
            cell = cells.get(key)
            if cell is None:
                ctx.setdefault("page_errors", []).extend(messages_)
            else:
                cell.update(errors=messages_, posted=request.POST)
    return render(request, "duties/person.html", ctx)


def _post(request, ctx, today, errors) -> bool:
    """A mark or a withdrawal; the person themselves or whoever may edit the role's org.
    Errors land on the item and period they concern; nothing is written."""
    user, member = request.user, ctx["member"]
    action = request.POST.get("action")
    form = (MarkForm if action == "mark" else WithdrawForm)(request.POST)
    code, period = (request.POST.get("item") or "")[:48], (request.POST.get("period") or "")[:8]
    key = f"{code}|{period}"
    block, item = next(((b, r.item) for b in ctx["blocks"] for r in b.rows if r.item.code == code), (None, None))
    if action not in ("mark", "withdraw"):
        errors[key] = ["请选择要执行的操作"]
        return False
    if block is None:
        errors[key] = ["这一项不在本页的责任清单中"]
        return False
    if not block.can_mark:
        errors[key] = ["只有本人或本组织的党务干部可以标记"]
        return False
    if not form.is_valid():
        errors[key] = [e for errs in form.errors.values() for e in errs]
        return False
    data = form.cleaned_data
    try:
        if action == "mark":
            services.mark_done(user, member, data["item"], data["period"], data["done_on"], data["note"], today=today)
            messages.success(request, f"已标记完成：{item.title}（{periods.name_of(data['period'])}）")
        else:
            services.withdraw_mark(user, member, data["item"], data["period"], data["reason"], today=today)
            messages.success(request, f"已撤销标记：{item.title}（{periods.name_of(data['period'])}）")
    except services.DutyError as exc:
        errors[key] = [exc.message]
        return False
    return True


def mine(request):
    """My duty list: the roles the tree shows me holding, this year."""
    user = request.user
    if user.member_id is None:
        return render(request, "duties/no_member.html", {"can_overview": can_anywhere(user, "view"),
                                                         "is_staff": is_committee_staff(user)})
    return _person_page(request, user.member_id, mine=True)


def person(request, member_pk):
    return _person_page(request, member_pk, mine=False)


@require_GET
def overview(request, org_pk=None):
    """The role holders of a subtree and their completion, per item (unit officers, 工委 staff,
    leaders). No totals per person and no ordering by them."""
    user = request.user
    today = timezone.localdate()
    roots = queries.roots_for(user, org_pk)
    if not roots:
        raise Http404
    year, problem = queries.year_of(request.GET.get("year"), today)
    q = (request.GET.get("q") or "").strip()[:40]
    data = queries.overview(roots, year, request.GET.get("role") or "", q, today)
    page_obj, qs_base = paginate(request, data["rows"])
    ctx = {**data, "roots": roots, "org": roots[0] if org_pk is not None else None, "year": year,
           "problem": problem, "q": q, "page_obj": page_obj, "qs_base": qs_base,
           "years": range(today.year, max(queries.FIRST_YEAR, today.year - 5) - 1, -1),
           "is_staff": is_committee_staff(user)}
    return render(request, "duties/overview.html", ctx)


@require_GET
def items(request):
    """The items of every role with their sources; the editor's entry for 工委 staff."""
    today = timezone.localdate()
    year, problem = queries.year_of(request.GET.get("year"), today)
    ctx = {"blocks": queries.catalog_blocks(year), "year": year, "problem": problem,
           "years": range(today.year + 1, max(queries.FIRST_YEAR, today.year - 5) - 1, -1),
           "is_staff": is_committee_staff(request.user), "can_overview": can_anywhere(request.user, "view")}
    return render(request, "duties/items.html", ctx)


def _int(raw) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


@committee_staff_only
def item_edit(request):
    """工委 staff: change an item (a new version from a year), retire it, or add one to a role
    (?role=…). Everyone else: 404."""
    user = request.user
    today = timezone.localdate()
    params = request.POST if request.method == "POST" else request.GET
    item = None
    pk = _int(params.get("item"))
    if pk is not None:
        item = DutyItem.objects.filter(pk=pk).first()
    role = item.role if item else params.get("role")
    if item is None and not params.get("item") and role not in ROLE_LABELS:
        messages.info(request, "请在条目列表中选择要修改的条目，或在某一职务下新增条目")
        return redirect("duties:items")
    if item is None and role not in ROLE_LABELS:
        raise Http404
    latest = item is None or not DutyItem.objects.filter(code=item.code, from_year__gt=item.from_year).exists()
    initial = {"year": today.year, "per": Per.PERSON, "evidence": Evidence.DERIVED, "min_count": 1, "period": "year"}
    if item is not None:
        initial.update({k: getattr(item, k) for k in services.ITEM_FIELDS})
        initial["year"] = max(today.year, item.from_year)
        initial["version"] = item.version
    facts, initial["fact"] = queries.fact_choices(item)
    action = request.POST.get("action") if request.method == "POST" else None
    form = ItemForm(request.POST if action == "save" else None, initial=initial, fact_choices=facts)
    retire = RetireForm(request.POST if action == "retire" else None,
                        initial={"last_year": today.year, "version": item.version if item else None})
    error = ""
    if action == "save" and latest and form.is_valid():
        fields = form.item_fields()
        fields["fact"] = queries.stored_fact(item, fields["fact"])
        try:
            if item is None:
                saved = services.add_item(user, role, form.cleaned_data["year"], **fields)
                messages.success(request, "已新增条目")
            else:
                saved = services.change_item(user, item, form.cleaned_data["year"],
                                             version=form.cleaned_data.get("version"), **fields)
                messages.success(request, "已保存条目")
            return redirect(f"{reverse('duties:item-edit')}?item={saved.pk}")
        except StaleVersion as exc:
            # Nothing was saved: the form is drawn again from the item as it now is.
            messages.error(request, exc.message)
            return redirect(f"{reverse('duties:item-edit')}?item={item.pk}")
        except services.DutyError as exc:
            _add_error(form, exc)
    elif action == "retire" and item is not None and latest and retire.is_valid():
        try:
            services.retire_item(user, item, retire.cleaned_data["last_year"],
                                 version=retire.cleaned_data.get("version"))
            messages.success(request, f"已停用：{retire.cleaned_data['last_year']} 年后不再执行")
            return redirect(f"{reverse('duties:item-edit')}?item={item.pk}")
        except StaleVersion as exc:
            # Nothing was saved: the page is drawn again from the item as it now is.
            messages.error(request, exc.message)
            return redirect(f"{reverse('duties:item-edit')}?item={item.pk}")
        except services.DutyError as exc:
            retire.add_error("last_year", exc.message)
    elif action and not latest:
        error = "该条目已有更新的版本，请修改最新版本"
    elif action and action not in ("save", "retire"):
        error = "请选择要执行的操作"
    versions, entries = queries.item_versions(item) if item is not None else ([], [])
    ctx = {"item": item, "role": role, "role_label": ROLE_LABELS[role], "form": form, "retire": retire,
           "latest": latest, "versions": versions, "history": entries, "error": error, "can_overview": True}
    return render(request, "duties/item_edit.html", ctx)


def _add_error(form, exc: services.DutyError) -> None:
    field = {"note": "note", "item_note": "note"}.get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


@committee_staff_only
def heads(request):
    """工委 staff: name each unit's 行政负责人 (the one holder the tree does not show)."""
    from dangjian.members.models import Member
    from dangjian.orgs.models import Unit

    today = timezone.localdate()
    q = (request.GET.get("q") or "").strip()[:40]
    error, error_unit = "", None
    if request.method == "POST":
        unit = Unit.objects.filter(pk=_int(request.POST.get("unit")) or 0).first()
        member = Member.objects.filter(pk=_int(request.POST.get("member")) or 0).first()
        raw_since = (request.POST.get("since") or "").strip()
        try:
            since = parse_date(raw_since) if raw_since else None
        except ValueError:  # well-formed but no such day (2025-13-01)
            since = None
        try:
            if raw_since and since is None:
                raise services.DutyError("since", f"任职日期：“{raw_since[:20]}”不是有效的日期（如 {today:%Y-%m-%d}）")
            services.name_administrative_head(request.user, unit, member, since, today=today)
            messages.success(request, f"已确定{unit.name}的行政负责人：{member.name}")
            return redirect(request.get_full_path())
        except services.DutyError as exc:
            error, error_unit = exc.message, unit.pk if unit else None
    page_obj, qs_base = paginate(request, queries.units_for_heads(q))
    ctx = {"rows": queries.head_rows(page_obj.object_list), "page_obj": page_obj, "qs_base": qs_base, "q": q,
           "error": error, "error_unit": error_unit, "today": today, "can_overview": True, "is_staff": True}
    return render(request, "duties/heads.html", ctx)

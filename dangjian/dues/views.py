"""Dues screens: an organization's dues (collection rate of it and of each organization below,
a chart, who owes, the six-month list), a member's dues (bases, months, payments, the forms),
我的党费 for the member themselves, the yearly statement, and the rules.

Reads are scoped (404 outside); writes need `edit` over the member's organization.
"""
from __future__ import annotations

import datetime as dt
import io

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from dangjian.core import audit, periods, xlsx
from dangjian.core.scoping import (
    can,
    can_anywhere,
    committee_staff_only,
    get_visible_or_404,
    is_committee_staff,
    require,
)
from dangjian.core.views import paginate
from dangjian.orgs.models import Organization

from . import collection, queries, rates, services
from . import statement as statement_doc
from .checks import DuesError, month_label
from .forms import BaseForm, PaymentForm, RuleForm, bands_text
from .models import Category, Payment, Statement

REVEAL_NOTE = "查看党费明细"


def _period(request, today: dt.date) -> tuple[periods.Period, str]:
    raw = (request.GET.get("period") or "").strip()
    if not raw:
        return periods.containing("year", today), ""
    try:
        p = periods.parse(raw[:20])
    except periods.PeriodError as exc:
        return periods.containing("year", today), f"{exc}，已显示本年度"
    if p.year < 2000 or p.start > today:
        return periods.containing("year", today), f"期间“{raw[:20]}”不在 2000 年至今之间，已显示本年度"
    return p, ""


def _months(p: periods.Period, today: dt.date) -> tuple[int, int]:
    first = p.months[0]
    last = min(p.months[-1], today.year * 100 + today.month)
    return first, last


def _span(first: int, last: int) -> str:
    return month_label(first) if first == last else f"{month_label(first)}至{month_label(last)}"


def _rate_label(row) -> str:
    if row is None or row.base is None:
        return ""
    return "定额" if row.rate is None else rates.percent(row.rate)


def _org(request, user):
    code = (request.GET.get("org") or "").strip()
    if code:
        org = Organization.objects.visible_to(user).filter(code=code[:40]).first()
        if org is None:
            raise Http404("未找到该党组织，或不在您的权限范围内")
        return org
    org = queries.default_org(user)
    if org is None:
        raise Http404("没有可查看的党组织")
    return org


@require_GET
def index(request):
    """An organization's dues over a period: its figures, each organization below, who owes."""
    user = request.user
    if not can_anywhere(user, "view"):
        return redirect("dues:mine")
    today = timezone.localdate()
    org = _org(request, user)
    p, problem = _period(request, today)
    first, last = _months(p, today)
    versions = rates.versions()
    children, total = queries.children_figures(org, first, last, versions)
    q = (request.GET.get("q") or "").strip()[:40]
    page_obj, qs_base = paginate(request, queries.members_under(user, org, q).select_related("org")
                                 .order_by("org__path", "name", "pk"))
    members = list(page_obj.object_list)
    rows = queries.page_rows(members, first, last, versions)
    listed = [{"member": m, "d": rows.get(m.pk), "rate": _rate_label(rows.get(m.pk))} for m in members]
    lapse = rates.in_force(today, versions).arrears_months
    lapsing_count = queries.lapsing(user, org, today, lapse).count()
    chart = [{"name": c["org"].name, "rate": float(c["f"].rate or 0) * 100} for c in children[:40]]
    return render(request, "dues/index.html", {
        "org": org, "period": p, "span": _span(first, last), "problem": problem, "total": total,
        "children": children, "chart": chart, "page_obj": page_obj, "qs_base": qs_base, "listed": listed, "q": q,
        "lapse": lapse, "lapsing_count": lapsing_count, "query_string": request.GET.urlencode(),
        "years": range(today.year, today.year - 6, -1), "statement_year": p.year,
        "staff": is_committee_staff(user),
    })


EXPORT_COLUMNS = [
    xlsx.Column("姓名", "name", width=12),
    xlsx.Column("党组织", "org", width=30),
    xlsx.Column("组织代码", "code", width=14, text=True),
    xlsx.Column("交纳类别", "category", width=12),
    xlsx.Column("缴费基数（元）", "base", width=14),
    xlsx.Column("费率", "rate", width=10),
    xlsx.Column("应交（元）", "due", width=12),
    xlsx.Column("已交（元）", "paid", width=12),
    xlsx.Column("欠交（元）", "owed", width=12),
    xlsx.Column("欠交月数", "months", width=10),
]


@require_GET
def export(request):
    user = request.user
    require(can_anywhere(user, "view"))
    today = timezone.localdate()
    org = _org(request, user)
    p, _ = _period(request, today)
    first, last = _months(p, today)
    qs = queries.members_under(user, org, (request.GET.get("q") or "").strip()[:40])
    labels = dict(Category.choices)
    names = dict(Organization.objects.filter(path__startswith=org.path).values_list("code", "name"))

    def write(out):
        def lines():
            for r in collection.member_rows(qs, first, last):
                yield [r.name, names.get(r.org_code, ""), r.org_code, labels.get(r.category, "未登记"),
                       float(r.base) if r.base is not None else "", rates.percent(r.rate) if r.rate is not None else "",
                       float(r.due), float(r.paid), float(r.owed), r.unpaid_months]
        return xlsx.write(out, EXPORT_COLUMNS, lines(), title="党费收缴情况")

    return xlsx.workbook_response(write, f"{org.name}{p.chinese}党费收缴情况.xlsx",
                                  lambda n: audit.record_export(user, "dues", "党费收缴情况", n,
                                                                {"org": org.code, "period": p.label}))


@require_GET
def lapsing(request):
    """Members with nothing paid in the last six complete months: a list for people to follow
    up (党章第九条); nobody's status changes here."""
    user = request.user
    require(can_anywhere(user, "view"))
    today = timezone.localdate()
    org = _org(request, user)
    months = rates.in_force(today).arrears_months
    page_obj, qs_base = paginate(request, queries.lapsing(user, org, today, months))
    first, last = collection.window(today, months)
    return render(request, "dues/lapsing.html", {"org": org, "page_obj": page_obj, "qs_base": qs_base,
                                                 "months": months, "span": _span(first, last)})


def _member_page(request, member, *, mine: bool, base_form=None, pay_form=None, status=200):
    user = request.user
    today = timezone.localdate()
    raw = (request.GET.get("year") or "").strip()
    year = int(raw) if raw.isdigit() and 2000 <= int(raw) <= today.year else today.year
    versions = rates.versions()
    bases, payments = queries.member_history(member)
    months = queries.member_months(member, year, today, bases, payments, versions)
    ledger = queries.ledger(bases, payments, today, versions)
    owed = [m for m in ledger if m.owed]
    current = next((b for b in reversed(bases) if b.effective_from <= today), None)
    now = None
    if current is not None:
        rate, amount = rates.compute(rates.in_force(today, versions), current.base, current.category)
        rules = rates.in_force(today, versions)
        now = {"base": current, "rate": rate, "amount": amount,
               "calculation": rates.calculation(current.base, current.category, rate, amount, rules)}
    editable = not mine and can(user, "edit", member.org.path)
    # The months and amounts are the member's own data: each look is recorded.
    audit.record(user, member, audit.snapshot(member), action="reveal", note=REVEAL_NOTE)
    ctx = {"member": member, "mine": mine, "year": year, "years": range(today.year, today.year - 6, -1),
           "months": months, "bases": bases, "payments": payments[:24], "owed": owed,
           "owed_total": sum((m.balance for m in owed), start=rates.CENT * 0), "run": queries.unpaid_run(ledger[:-1]),
           "now": now, "editable": editable, "today": today,
           "lapse": rates.in_force(today, versions).arrears_months,
           "backpay_limit": rates.in_force(today, versions).backpay_max_months,
           "large_one_off": rates.in_force(today, versions).large_one_off}
    # A member reads the branch's statement once it is published: the link is shown then only.
    ctx["statement_published"] = mine and queries.published(member.org, year) is not None
    if editable:
        ctx["base_form"] = base_form or BaseForm(initial={"effective_from": f"{today:%Y-%m}"})
        ctx["pay_form"] = pay_form or PaymentForm(today=today, initial={"months": f"{today:%Y-%m}", "paid_on": today,
                                                                         "amount": now["amount"] if now else ""})
    return render(request, "dues/member.html", ctx, status=status)


@require_GET
def member(request, member_pk):
    m = queries.member_or_404(request.user, member_pk)
    if request.user.member_id == m.pk and not can(request.user, "view", m.org.path):
        return redirect("dues:mine")
    return _member_page(request, m, mine=False)


@require_GET
def mine(request):
    user = request.user
    if not user.member_id:
        messages.info(request, "您的账号没有关联党员，没有本人的党费记录")
        return redirect("home")
    return _member_page(request, queries.member_or_404(user, user.member_id), mine=True)


def _field(exc, form) -> str | None:
    return exc.field if exc.field in form.fields else None


@require_POST
def base(request, member_pk):
    user = request.user
    m = queries.member_or_404(user, member_pk, "edit")
    form = BaseForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.set_base(user, m, base=d["base"], category=d["category"], effective_from=d["effective_from"],
                              note=d["note"])
        except DuesError as exc:
            form.add_error(_field(exc, form), exc.message)
        else:
            messages.success(request, f"已登记{m.name}自{d['effective_from']:%Y年%m月}起的缴费基数。")
            return redirect("dues:member", m.pk)
    return _member_page(request, m, mine=False, base_form=form, status=400)


@require_POST
def pay(request, member_pk):
    user = request.user
    m = queries.member_or_404(user, member_pk, "edit")
    today = timezone.localdate()
    form = PaymentForm(request.POST, today=today)
    if form.is_valid():
        d = form.cleaned_data
        try:
            saved = services.record_payment(user, m, months=d["months"], amount=d["amount"], paid_on=d["paid_on"],
                                            today=today)
        except DuesError as exc:
            form.add_error(_field(exc, form) if exc.field != "month" else "months", exc.message)
        else:
            late = [p for p in saved if p.months_late]
            messages.success(request, f"已登记{m.name}{len(saved)}个月的党费，共 {sum(p.amount for p in saved)} 元"
                                      + (f"（其中补交 {len(late)} 个月）" if late else "") + "。")
            return redirect("dues:member", m.pk)
    return _member_page(request, m, mine=False, pay_form=form, status=400)


@require_POST
def payment_delete(request, pk):
    user = request.user
    payment = get_visible_or_404(Payment.objects.select_related("member__org"), user, pk, "edit")
    services.delete_payment(user, payment)
    messages.success(request, f"已撤销{payment.member.name}{month_label(payment.month)}的党费交纳记录。")
    return redirect("dues:member", payment.member_id)


# ---- the yearly statement ---------------------------------------------------------------------

def _statement(request, org_pk):
    user = request.user
    today = timezone.localdate()
    org, over = queries.statement_org_or_404(user, org_pk)
    raw = (request.GET.get("year") or "").strip()
    year = int(raw) if raw.isdigit() and 2000 <= int(raw) <= today.year else today.year
    published = queries.published(org, year)
    if not queries.may_read_statement(user, org, published is not None):
        raise Http404("未找到，或不在您的权限范围内")
    return user, org, over, year, published, today


@require_GET
def statement(request, org_pk):
    user, org, over, year, published, today = _statement(request, org_pk)
    rows = queries.statement(org, year, today, rates.versions())
    audit.record(user, org, audit.snapshot(org), action="reveal", note=f"查看{year}年度党费收缴公示")
    return render(request, "dues/statement.html", {
        "org": org, "year": year, "rows": rows, "published": published, "over": over,
        "can_publish": published is None and can(user, "edit", org.path) and org.kind in queries.LIST_KINDS,
        "years": range(today.year, today.year - 6, -1), "month_names": [f"{i}月" for i in range(1, 13)]})


@require_POST
def statement_publish(request, org_pk):
    user, org, over, year, published, today = _statement(request, org_pk)
    require(can(user, "edit", org.path) and org.kind in queries.LIST_KINDS)
    if published is None:
        s = Statement.objects.create(org=org, year=year, published_by=user)
        audit.record(user, s, None, note="公示年度党费收缴情况")
        messages.success(request, f"已向{org.name}党员公示{year}年度党费收缴情况。")
    return redirect(f"{reverse('dues:statement', args=[org.pk])}?year={year}")


@require_GET
def statement_xlsx(request, org_pk):
    user, org, over, year, published, today = _statement(request, org_pk)
    rows = queries.statement(org, year, today, rates.versions())
    columns = [xlsx.Column("姓名", "name", width=12)] + [xlsx.Column(f"{i}月", f"m{i}", width=9) for i in range(1, 13)] \
        + [xlsx.Column("合计（元）", "total", width=12)]

    def write(out):
        return xlsx.write(out, columns, (
            [r["member"].name] + [float(m.paid) if m.paid is not None else ("未交" if m.owed else "")
                                  for m in r["months"]] + [float(r["paid"])] for r in rows),
            title=f"{year}年度党费收缴公示")

    return xlsx.workbook_response(write, f"{org.name}{year}年度党费收缴公示.xlsx",
                                  lambda n: audit.record_export(user, "dues-statement", "党费收缴公示", n,
                                                                {"org": org.code, "year": year}))


@require_GET
def statement_docx(request, org_pk):
    user, org, over, year, published, today = _statement(request, org_pk)
    rows = queries.statement(org, year, today, rates.versions())
    data = statement_doc.to_docx(org, year, rows, published)
    audit.record_export(user, "dues-statement-docx", "党费收缴公示", len(rows), {"org": org.code, "year": year})
    return FileResponse(io.BytesIO(data), as_attachment=True, filename=f"{org.name}{year}年度党费收缴公示.docx",
                        content_type=statement_doc.DOCX_TYPE)


# ---- the rules ----------------------------------------------------------------------------------

@require_GET
def rules(request):
    """The bands in force and every version with its source: read by everyone signed in."""
    today = timezone.localdate()
    versions = queries.rules()
    current = rates.in_force(today)
    return render(request, "dues/rules.html", {"versions": versions, "current": current, "today": today,
                                               "staff": is_committee_staff(request.user),
                                               "labels": dict(Category.choices)})


@committee_staff_only
def rule_new(request):
    user = request.user
    today = timezone.localdate()
    current = rates.in_force(today)
    nxt = dt.date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    form = RuleForm(request.POST or None, initial={
        "effective_from": f"{nxt:%Y-%m}", "employed": bands_text(current.employed), "retired": bands_text(current.retired),
        "student": current.fixed.get("student"), "unemployed": current.fixed.get("unemployed"),
        "on_relief": current.fixed.get("on_relief"), "backpay_max_months": current.backpay_max_months,
        "source": current.source})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.add_rule(user, effective_from=d["effective_from"], employed=d["employed"], retired=d["retired"],
                              fixed={k: d[k] for k in ("student", "unemployed", "on_relief")},
                              backpay_max_months=d["backpay_max_months"], source=d["source"], note=d["note"],
                              today=today)
        except DuesError as exc:
            form.add_error(_field(exc, form), exc.message)
        else:
            messages.success(request, f"已修订党费标准，自{d['effective_from']:%Y年%m月}起执行。")
            return redirect("dues:rules")
    return render(request, "dues/rule_form.html", {"form": form})

"""Reads of dues for the pages, the export, the API and the commands: every one through
`visible_to`, a fixed number of queries per page whatever the number of members or months."""
from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.http import Http404

from dangjian.core.scoping import NOT_FOUND, can, get_visible_or_404, scope_of
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from . import collection, rates
from .models import DuesBase, DuesRule, Payment, Statement

LIST_KINDS = ("branch", "general_branch")


def member_or_404(user, pk, capability: str = "view") -> Member:
    return get_visible_or_404(Member.objects.select_related("org"), user, pk, capability)


def org_or_404(user, pk, capability: str = "view") -> Organization:
    return get_visible_or_404(Organization.objects.all(), user, pk, capability)


def default_org(user) -> Organization | None:
    """The highest organization the user views (their own scope's root)."""
    return Organization.objects.visible_to(user).order_by("path").first()


def members_under(user, org: Organization, q: str = ""):
    qs = Member.objects.visible_to(user).filter(org__path__startswith=org.path, status=Member.Status.ACTIVE)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(name__startswith=q) | Q(name_pinyin__startswith=q.lower()) | Q(name_initials__startswith=q.lower()))
    return qs


def year_months(year: int, today: dt.date) -> tuple[int, int]:
    """The months of `year` counted so far: the whole year in the past, up to this month now."""
    last = 12 if year < today.year else today.month
    return year * 100 + 1, year * 100 + max(last, 1)


def page_rows(members: list[Member], first: int, last: int, versions) -> dict[int, collection.MemberDues]:
    """MemberDues of a page of members (two queries: their bases, their payments)."""
    if not members:
        return {}
    ids = [m.pk for m in members]
    return {r.member_id: r for r in collection.member_rows(Member.objects.filter(pk__in=ids), first, last, versions)}


def children_figures(org: Organization, first: int, last: int, versions) -> tuple[list[dict], collection.Figures]:
    """The org's total and each direct child's (subtree) figures: two grouped queries over the
    whole subtree, then a pass in memory."""
    per_org = collection.by_org(org.path, first, last, versions)
    children = list(Organization.objects.filter(parent=org).order_by("path"))
    total = collection.Figures()
    by_child = {c.path: collection.Figures() for c in children}
    own = collection.Figures()
    step = len(children[0].path) if children else 0  # every child: the org's path and one segment
    for f in per_org.values():
        total.add(f)
        by_child.get(f.path[:step], own).add(f)  # the child whose path begins the org's
    rows = [{"org": c, "f": by_child[c.path]} for c in children if by_child[c.path].due or by_child[c.path].paid]
    if own.due or own.paid:
        rows.insert(0, {"org": org, "f": own, "own": True})
    return rows, total


def member_history(member: Member) -> tuple[list[DuesBase], list[Payment]]:
    bases = list(DuesBase.objects.filter(member=member).select_related("recorded_by__member").order_by("start"))
    payments = list(Payment.objects.filter(member=member).select_related("received_by__member").order_by("-month"))
    return bases, payments


def member_months(member: Member, year: int, today: dt.date, bases, payments, versions):
    first, last = year_months(year, today)
    return collection.months_of(bases, [p for p in payments if first <= p.month <= last], first, last, versions)


def ledger(bases, payments, today: dt.date, versions) -> list[collection.Month]:
    """Every month from the member's first base up to this month."""
    if not bases:
        return []
    first = collection.month_key(bases[0].start)
    last = today.year * 100 + today.month
    return collection.months_of(bases, payments, first, last, versions)


def unpaid_run(months: list[collection.Month]) -> int:
    """Consecutive months with nothing paid ending with the last month given (a month paid in
    part breaks the run, as on the six-month list)."""
    n = 0
    for m in reversed(months):
        if not m.unpaid:
            break
        n += 1
    return n


def lapsing(user, org: Organization, today: dt.date, months: int):
    return collection.lapsing(members_under(user, org), today, months).order_by("org__path", "name", "pk")


def rules() -> list[DuesRule]:
    return list(DuesRule.objects.select_related("created_by__member").order_by("-effective_from"))


def rule_versions():
    return rates.versions()


# ---- the yearly statement ---------------------------------------------------------------------

def may_read_statement(user, org: Organization, published: bool) -> bool:
    """Those over the branch always; the branch's own members once it is published."""
    if can(user, "view", org.path):
        return True
    scope = scope_of(user)
    return published and scope.member_org_path is not None and scope.member_org_path.startswith(org.path)


def statement_org_or_404(user, pk) -> tuple[Organization, bool]:
    try:
        org = Organization.objects.get(pk=int(pk))
    except (Organization.DoesNotExist, TypeError, ValueError):
        raise Http404(NOT_FOUND) from None
    return org, can(user, "view", org.path)


def statement(org: Organization, year: int, today: dt.date, versions) -> list[dict]:
    """Each member on the branch's roll with their twelve months (due, paid) of `year`: three
    queries whatever the number of members."""
    members = list(Member.objects.filter(org__path__startswith=org.path, status=Member.Status.ACTIVE)
                   .order_by("name", "pk"))
    ids = [m.pk for m in members]
    bases: dict[int, list] = {}
    for b in DuesBase.objects.filter(member_id__in=ids).order_by("member_id", "start"):
        bases.setdefault(b.member_id, []).append(b)
    pays: dict[int, list] = {}
    for p in Payment.objects.filter(member_id__in=ids, month__gte=year * 100 + 1, month__lte=year * 100 + 12):
        pays.setdefault(p.member_id, []).append(p)
    out = []
    for m in members:
        months = collection.months_of(bases.get(m.pk, []), pays.get(m.pk, []), year * 100 + 1, year * 100 + 12,
                                      versions)
        paid = sum((x.paid for x in months if x.paid is not None), start=collection.Decimal("0.00"))
        out.append({"member": m, "months": months, "paid": paid})
    return out


def published(org: Organization, year: int) -> Statement | None:
    return Statement.objects.filter(org=org, year=year).select_related("published_by__member").first()

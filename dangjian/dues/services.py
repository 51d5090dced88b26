"""Every write of dues: plain functions, one transaction each, audited, checked by `checks`
before anything is written. `user` None is the command line or the demo (no scope limit); a
user must hold `edit` over the member's organization (the branch records its members' dues)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from dangjian.core import audit
from dangjian.core.models import AuditEntry
from dangjian.core.scoping import can, is_committee_staff
from dangjian.members.models import Member

from . import rates
from .checks import (
    DuesError,
    allot,
    base_problems,
    first,
    month_label,
    parse_amount,
    payment_problems,
    rule_problems,
)
from .models import DuesBase, DuesRule, Payment, month_number

OUTSIDE = "不在您的权限范围内"


def _actor(user):
    return user if user is not None and user.is_authenticated else None


def _may_edit(user, member: Member) -> None:
    if user is not None and not can(user, "edit", member.org.path):
        raise DuesError("member", f"党员“{member.name}”{OUTSIDE}")


def _active(member: Member) -> None:
    if member.status != Member.Status.ACTIVE:
        raise DuesError("member", f"“{member.name}”不是在册党员（{member.get_status_display()}），不能登记党费")


def _chain(member_id: int) -> None:
    """Set each base's `end` to the month before the next one's start (the last: open)."""
    rows = list(DuesBase.objects.filter(member_id=member_id).order_by("start"))
    for row, nxt in zip(rows, rows[1:] + [None]):
        end = nxt.start - 1 if nxt is not None else None
        if row.end != end:
            DuesBase.objects.filter(pk=row.pk).update(end=end)
            row.end = end


def set_base(user, member: Member, *, base, category: str, effective_from: dt.date, note: str = "",
             today: dt.date | None = None) -> DuesBase:
    """A member's base from a month on (a change is a new dated row; the history stays). A base
    starting in a month the member has already paid is refused: the paid months keep the base
    they were paid by."""
    today = today or timezone.localdate()
    first(base_problems(base=base, category=category, effective_from=effective_from, today=today))
    _may_edit(user, member)
    _active(member)
    if category in rates.FIXED_KINDS:
        value = Decimal("0.00")
    elif category == rates.FARMER:
        try:
            value = rates.check_farmer(base, rates.in_force(effective_from))
        except rates.RateError as exc:
            raise DuesError(exc.field, exc.message) from None
    else:
        value = rates.check_base(base)
    start = month_number(effective_from.year * 100 + effective_from.month)
    with transaction.atomic():
        Member.objects.select_for_update().filter(pk=member.pk).first()
        paid = Payment.objects.filter(member=member, month_no__gte=start).order_by("month_no").first()
        if paid is not None:
            raise DuesError("effective_from", f"起始月份：{member.name} 已交纳{month_label(paid.month)}的党费，"
                                              "基数变更应从其后未交纳的月份开始")
        existing = DuesBase.objects.filter(member=member, effective_from=effective_from).first()
        if existing is not None:
            before = audit.snapshot(existing)
            existing.base, existing.category, existing.note = value, category, (note or "").strip()[:200]
            existing.recorded_by = _actor(user)
            existing.save(update_fields=["base", "category", "note", "recorded_by"])
            audit.record(user, existing, before, note="更正缴费基数")
            row = existing
        else:
            row = DuesBase.objects.create(member=member, base=value, category=category, effective_from=effective_from,
                                          start=start, note=(note or "").strip()[:200], recorded_by=_actor(user))
            audit.record(user, row, None, note="登记缴费基数")
        _chain(member.pk)
        row.refresh_from_db()
    return row


def plan_payment(member: Member, months: list[int], total: Decimal, paid_on: dt.date,
                 bases: list[DuesBase], paid: dict[int, Decimal], versions: list[rates.Rules]) -> list[Payment]:
    """The unsaved payments of `total` for `months` of `member` (one per month), or DuesError:
    a month without a base, a month already paid in full, less than the sum owed over several
    months. `bases` are the member's base rows, `paid` the amount already credited to each month
    that has a payment (both read by the caller, so an import checks a whole file in a few
    queries)."""
    months = sorted(set(months))
    dues, owed = [], []
    for m in months:
        n = month_number(m)
        base = next((b for b in reversed(bases) if b.start <= n and (b.end is None or b.end >= n)), None)
        if base is None:
            raise DuesError("month", f"月份：{member.name} {month_label(m)}没有登记缴费基数，请先登记缴费基数")
        rules = rates.in_force(dt.date(m // 100, m % 100, 1), versions)
        due = rates.compute(rules, base.base, base.category)[1]
        if m in paid and paid[m] >= due:
            raise DuesError("month", f"月份：{member.name} {month_label(m)}的党费已交纳，不能重复登记")
        dues.append(due)
        owed.append(due - paid.get(m, Decimal("0")))
    allotted = allot(total, owed, months)
    paid_no = month_number(paid_on.year * 100 + paid_on.month)
    large = rates.in_force(paid_on, versions).large_one_off
    return [Payment(member=member, month=m, month_no=month_number(m), amount=a, credited=c, due=d, paid_on=paid_on,
                    months_late=max(paid_no - month_number(m), 0), to_centre=a - c >= large)
            for m, (a, c), d in zip(months, allotted, dues)]


def credited_by_month(member_ids, months) -> dict[int, dict[int, Decimal]]:
    """{member id: {month: amount credited so far}} of the months that have a payment."""
    out: dict[int, dict[int, Decimal]] = {}
    rows = (Payment.objects.filter(member_id__in=member_ids, month__in=months).order_by()
            .values("member_id", "month").annotate(c=Sum("credited")).values_list("member_id", "month", "c"))
    for member_id, month, c in rows:
        out.setdefault(member_id, {})[month] = Decimal(c or 0).quantize(rates.CENT)
    return out


def record_payment(user, member: Member, *, months: list[int], amount, paid_on: dt.date,
                   today: dt.date | None = None) -> list[Payment]:
    """One payment covering `months`: all the months or none. One month may be paid in part,
    and its rest later; several months are each paid in full (surplus on the last)."""
    today = today or timezone.localdate()
    first(payment_problems(months=months, paid_on=paid_on, today=today))
    _may_edit(user, member)
    _active(member)
    total = parse_amount(amount)
    with transaction.atomic():
        Member.objects.select_for_update().filter(pk=member.pk).first()
        bases = list(DuesBase.objects.filter(member=member).order_by("start"))
        paid = credited_by_month([member.pk], months).get(member.pk, {})
        rows = plan_payment(member, months, total, paid_on, bases, paid, rates.versions())
        for p in rows:
            p.received_by = _actor(user)
        before = set(Payment.objects.filter(member=member, month__in=months).values_list("pk", flat=True))
        Payment.objects.bulk_create(rows)
        saved = [p for p in Payment.objects.filter(member=member, month__in=months).order_by("month", "pk")
                 if p.pk not in before]
        AuditEntry.objects.bulk_create([audit.entry(user, p, None, note=payment_note(p)) for p in saved])
    return saved


def payment_note(p: Payment) -> str:
    note = "登记党费" + ("（补交）" if p.months_late else "")
    if p.credited < p.due:
        note += f"（分次交纳，计入应交 {p.credited} 元）"
    if p.to_centre:
        note += f"（一次多交 {p.extra} 元，全部上缴中央）"
    return note


def delete_payment(user, payment: Payment) -> None:
    """撤销 a payment recorded by mistake."""
    _may_edit(user, payment.member)
    with transaction.atomic():
        audit.record(user, payment, audit.snapshot(payment), action="delete", note="撤销党费交纳记录")
        payment.delete()


def add_rule(user, *, effective_from: dt.date, employed: list, retired: list, fixed: dict, backpay_max_months: int,
             source: str, note: str = "", today: dt.date | None = None) -> DuesRule:
    """A new version of the rules from a month on (工委 staff only); earlier months keep theirs."""
    today = today or timezone.localdate()
    if user is not None and not is_committee_staff(user):
        raise DuesError(None, "只有机关工委工作人员可以修订党费标准")
    with transaction.atomic():
        existing = list(DuesRule.objects.select_for_update().values_list("effective_from", flat=True))
        first(rule_problems(effective_from=effective_from, employed=employed, retired=retired, fixed=fixed,
                            backpay_max_months=backpay_max_months, today=today, existing=existing))
        latest = DuesRule.objects.order_by("-effective_from").first()

        def bands(rows):
            return [[None if up is None else str(up), str(rate)] for up, rate in rows]

        fixed_monthly = dict(latest.fixed_monthly) if latest else {}
        fixed_monthly.update({k: str(v) for k, v in fixed.items()})
        rule = DuesRule.objects.create(
            effective_from=effective_from, start=month_number(effective_from.year * 100 + effective_from.month),
            employed_bands=bands(employed), retired_bands=bands(retired), fixed_monthly=fixed_monthly,
            backpay_max_months=backpay_max_months, arrears_months=latest.arrears_months if latest else 6,
            large_one_off=latest.large_one_off if latest else rates.DEFAULT_LARGE_ONE_OFF,
            source=(source or "").strip()[:300], note=(note or "").strip()[:200], created_by=_actor(user))
        audit.record(user, rule, None, note="修订党费标准")
    return rule

"""What is due, paid and owed, for one member month by month, or per member and per organization
over any subtree and period — set-based: the dues of every base row are computed by the database
(`due_cents`, one CASE over the bands of the rule in force) times the months it is in force
within the period, summed in grouped queries per rule version in the period (almost always
one), and the payments in grouped queries too. No query per organization or per member.

Each month counts in the organization the member belonged to on its first day (the `Membership`
row covering that day; 转出当月 stays with the sending organization), or in the present one when
no row covers it (data from before the history was kept); see docs/dues.md "Where a member
counts". The grouped reads count everything in the present organization first; one more
grouped read per kind joins the membership rows and moves each row's months from the present
organization to the row's. Members who left the roll (转出, 去世, 出党) count for the months
their rows cover. Still a constant number of queries. A month may
be paid in several sums: each payment's `credited` is the part of it that settles the month's
due (never more than was owed), so what a month still owes is its due less its credits, exact
in cents, and the collection rate is the share of the amount due that is settled:
    rate = (due − owed) / due,   owed = due − Σ credited.
Money paid over the due (自愿多交) is in `paid`, never in the rate.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Exists, F, IntegerField, Max, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Coalesce, ExtractDay, ExtractMonth, ExtractYear, Floor, Greatest, Least, Round

from dangjian.members.models import Member

from . import rates
from .models import DuesBase, Payment, month_key, month_number

FAR = 10**7  # a month number past any real one: the end of a base still in force
CENTS = Decimal("0.01")


def cents_of(value) -> Decimal:
    """A sum of cents from the database (an int, a float on SQLite, a Decimal) as yuan."""
    if value is None:
        return Decimal("0.00")
    return (Decimal(int(round(value))) * CENTS).quantize(CENTS)


def _bp(rate: Decimal) -> int:
    return int(rate * 10000)


def due_cents(rules: rates.Rules):
    """The monthly due in cents of a DuesBase row under `rules`, as a database expression:
    floor((round(base × 100) × rate in 1/10000 + 5000) / 10000) is the base times the rate
    rounded to the cent half up, exact on every database (the integers stay below 2^53)."""
    cents = Round(F("base") * 100)

    def banded(bands, category_q):
        whens = []
        for band in bands:
            amount = Floor((cents * Value(_bp(band.rate)) + Value(5000)) / Value(10000.0))
            cond = category_q if band.up_to is None else category_q & Q(base__lte=band.up_to)
            whens.append(When(cond, then=amount))
        return whens

    whens = banded(rules.employed, Q(category="employed")) + banded(rules.retired, Q(category="retired"))
    whens += [When(Q(category=k), then=Value(int(v * 100))) for k, v in rules.fixed.items()]
    low, high = rules.farmer  # the amount a farmer chose, within this version's range
    whens.append(When(Q(category=rates.FARMER), then=Least(Greatest(cents, Value(int(low * 100))),
                                                           Value(int(high * 100)))))
    return Case(*whens, default=Value(0), output_field=IntegerField())


def segments(first: int, last: int, versions: list[rates.Rules]) -> list[tuple[rates.Rules, int, int]]:
    """(rules, first month number, last month number) for each rule version in force within
    the months [first, last] (month numbers)."""
    out = []
    for i, r in enumerate(versions):
        start = month_number(r.effective_from.year * 100 + r.effective_from.month) if i else -FAR
        end = (month_number(versions[i + 1].effective_from.year * 100 + versions[i + 1].effective_from.month) - 1
               if i + 1 < len(versions) else FAR)
        lo, hi = max(first, start), min(last, end)
        if lo <= hi:
            out.append((r, lo, hi))
    return out


def _overlap(lo: int, hi: int):
    """Months of a base row within [lo, hi], as an expression (rows are filtered to overlap)."""
    return Least(Coalesce(F("end"), Value(FAR)), Value(hi)) - Greatest(F("start"), Value(lo)) + Value(1)


def _bases_in(qs, lo: int, hi: int):
    return qs.filter(start__lte=hi).filter(Q(end__isnull=True) | Q(end__gte=lo))


# A member counts in the figures while on the roll: now (在册, wherever no row says otherwise),
# or for the months their membership rows cover when they have left it (转出, 去世, 出党).
# 停止党籍 members pay no dues while suspended and are left out, as the suspension is not dated
# in the membership history.
COUNTED = (Member.Status.ACTIVE, *Member.LEFT)


def _month_of(field: str):
    return ExtractYear(field) * Value(12) + ExtractMonth(field) - Value(1)


def first_month(started_on: str):
    """The first month whose first day is on or after the date `started_on` (a field path), as a
    month number: the month itself when it starts on the 1st, else the next one."""
    return _month_of(started_on) + Least(ExtractDay(started_on) - Value(1), Value(1))


def last_month(ended_on: str):
    """The last month whose first day is before the date `ended_on` (a field path; null: still
    open, FAR): the month itself unless it ends on the 1st, else the one before."""
    return Coalesce(_month_of(ended_on) - Value(1) + Least(ExtractDay(ended_on) - Value(1), Value(1)), Value(FAR))


def _in_memberships(qs, root_path: str, month_lo, month_hi):
    """`qs` (DuesBase or Payment rows of counted members) joined with the member's membership
    rows, keeping the months [lo, hi] (expressions) a row covers: `lo`, `hi`, the row's
    organization (`row_org`, `row_path`) and the member's present one and status. Only the
    rows where either organization is in the subtree and the months move."""
    rows = "member__memberships__"
    return (qs.filter(member__status__in=COUNTED)
            .annotate(row_org=F(rows + "org_id"), row_path=F(rows + "org__path"),
                      lo=Greatest(month_lo, first_month(rows + "started_on")),
                      hi=Least(month_hi, last_month(rows + "ended_on")))
            .filter(row_org__isnull=False)
            # A row of the present organization moves nothing for a member on the roll now (and
            # is left out before its dates are read).
            .exclude(Q(row_org=F("member__org_id")) & Q(member__status=Member.Status.ACTIVE))
            .filter(hi__gte=F("lo"))
            .filter(Q(row_path__startswith=root_path) | Q(member__org__path__startswith=root_path)))


def _move(root_path: str, row: dict, out: dict, moved: Figures) -> None:
    """Move the figures of a joined row from the member's present organization to the
    membership row's: added to the row's organization when it is in the subtree, taken from the
    present one when the member is counted there (on the roll now, in the subtree)."""
    if row["row_path"].startswith(root_path):
        out.setdefault(row["row_org"], Figures(path=row["row_path"])).add(moved)
    if row["member__status"] == Member.Status.ACTIVE and row["member__org__path"].startswith(root_path):
        out.setdefault(row["member__org_id"], Figures(path=row["member__org__path"])).add(
            Figures(-moved.due, -moved.paid, -moved.settled))


@dataclass
class Figures:
    due: Decimal = Decimal("0.00")
    paid: Decimal = Decimal("0.00")
    settled: Decimal = Decimal("0.00")  # the dues of the months paid
    path: str = ""  # the organization's, in `by_org`

    @property
    def owed(self) -> Decimal:
        return max(self.due - self.settled, Decimal("0.00"))

    @property
    def rate(self) -> Decimal | None:
        """Collection rate (0–1), None when nothing is due."""
        if not self.due:
            return None
        return ((self.due - self.owed) / self.due).quantize(Decimal("0.0001"))

    def add(self, other: Figures) -> None:
        self.due += other.due
        self.paid += other.paid
        self.settled += other.settled


def by_org(root_path: str, first: int, last: int, versions: list[rates.Rules] | None = None) -> dict[int, Figures]:
    """{org id: Figures} for every organization with members in the subtree of `root_path`,
    over the months YYYYMM [first, last], each month in the organization the member belonged to
    on its first day: two grouped queries per rule version in the period (the members on the
    roll in their present organization, the months their membership rows move elsewhere) and
    two for the payments, whatever the number of organizations and members."""
    versions = versions or rates.versions()
    lo, hi = month_number(first), month_number(last)
    out: dict[int, Figures] = {}
    counted = Member.Status.ACTIVE
    bases = DuesBase.objects.filter(member__org__path__startswith=root_path, member__status=counted)
    group = ("row_org", "row_path", "member__org_id", "member__org__path", "member__status")
    for rules, a, b in segments(lo, hi, versions):
        rows = (_bases_in(bases, a, b).order_by().values("member__org_id", "member__org__path")
                .annotate(cents=Sum(_overlap(a, b) * due_cents(rules))))
        for row in rows:
            out.setdefault(row["member__org_id"], Figures(path=row["member__org__path"])).due += cents_of(row["cents"])
        moved = (_in_memberships(_bases_in(DuesBase.objects.all(), a, b), root_path,
                                 Greatest(F("start"), Value(a)), Least(Coalesce(F("end"), Value(FAR)), Value(b)))
                 .order_by().values(*group)
                 .annotate(cents=Sum((F("hi") - F("lo") + Value(1)) * due_cents(rules))))
        for row in moved:
            _move(root_path, row, out, Figures(due=cents_of(row["cents"])))
    payments = (Payment.objects.filter(member__org__path__startswith=root_path, member__status=counted,
                                       month_no__gte=lo, month_no__lte=hi)
                .order_by().values("member__org_id", "member__org__path")
                .annotate(paid=Sum("amount"), settled=Sum("credited")))
    for row in payments:
        f = out.setdefault(row["member__org_id"], Figures(path=row["member__org__path"]))
        f.paid += Decimal(row["paid"] or 0).quantize(CENTS)
        f.settled += Decimal(row["settled"] or 0).quantize(CENTS)
    moved = (_in_memberships(Payment.objects.filter(month_no__gte=lo, month_no__lte=hi), root_path,
                             F("month_no"), F("month_no"))
             .order_by().values(*group).annotate(paid=Sum("amount"), settled=Sum("credited")))
    for row in moved:
        _move(root_path, row, out, Figures(paid=Decimal(row["paid"] or 0).quantize(CENTS),
                                           settled=Decimal(row["settled"] or 0).quantize(CENTS)))
    # An organization whose members' months all count elsewhere is left out.
    return {pk: f for pk, f in out.items() if f.due or f.paid or f.settled}


def total(root_path: str, first: int, last: int) -> Figures:
    out = Figures()
    for f in by_org(root_path, first, last).values():
        out.add(f)
    return out


# ---- per member ------------------------------------------------------------------------------

@dataclass
class MemberDues:
    member_id: int
    name: str = ""
    org_code: str = ""
    base: Decimal | None = None
    category: str = ""
    rate: Decimal | None = None
    due: Decimal = Decimal("0.00")
    paid: Decimal = Decimal("0.00")
    settled: Decimal = Decimal("0.00")
    unpaid_months: int = 0  # months due and not paid up (nothing, or only in part)
    months: list = field(default_factory=list)

    @property
    def owed(self) -> Decimal:
        return max(self.due - self.settled, Decimal("0.00"))


@dataclass
class Month:
    month: int
    base: Decimal | None
    category: str
    rate: Decimal | None
    due: Decimal | None  # None: no base registered for the month
    paid: Decimal | None  # the sum of its payments; None: nothing paid
    paid_on: dt.date | None = None  # of the last payment
    months_late: int = 0
    calculation: str = ""
    settled: Decimal = Decimal("0.00")  # the part of `paid` that counts against the due

    @property
    def balance(self) -> Decimal:
        """Still owed for the month (0 when settled or nothing is due)."""
        return max((self.due or Decimal("0.00")) - self.settled, Decimal("0.00"))

    @property
    def owed(self) -> bool:
        """Something is still owed: not paid, or paid in part."""
        return bool(self.due) and self.balance > 0

    @property
    def partial(self) -> bool:
        return self.paid is not None and self.owed

    @property
    def unpaid(self) -> bool:
        """Due and nothing paid at all: what the six-month list counts (a month paid in part
        was paid, though not in full)."""
        return bool(self.due) and self.paid is None

    @property
    def extra(self) -> Decimal:
        return (self.paid or Decimal("0.00")) - self.settled


def months_of(bases: list, payments: list, first: int, last: int, versions: list[rates.Rules]) -> list[Month]:
    """One member's months YYYYMM [first, last] from their base rows and payments (in memory);
    a month's several payments are added up."""
    paid: dict[int, list] = {}
    for p in payments:
        paid.setdefault(p.month, []).append(p)
    out = []
    n, end = month_number(first), month_number(last)
    while n <= end:
        key = month_key(n)
        base = next((b for b in reversed(bases) if b.start <= n and (b.end is None or b.end >= n)), None)
        ps = sorted(paid.get(key, []), key=lambda p: (p.paid_on, p.pk or 0))
        amount_paid = sum((p.amount for p in ps), Decimal("0.00")) if ps else None
        settled = sum((p.credited for p in ps), Decimal("0.00"))
        last_paid = ps[-1] if ps else None
        if base is None:
            out.append(Month(key, None, "", None, None, amount_paid, settled=settled))
        else:
            rules = rates.in_force(dt.date(key // 100, key % 100, 1), versions)
            rate, amount = rates.compute(rules, base.base, base.category)
            out.append(Month(key, base.base, base.category, rate, amount, amount_paid,
                             last_paid.paid_on if last_paid else None, last_paid.months_late if last_paid else 0,
                             rates.calculation(base.base, base.category, rate, amount, rules), settled))
        n += 1
    return out


def member_rows(members_qs, first: int, last: int, versions: list[rates.Rules] | None = None):
    """MemberDues of each member of `members_qs` over the months [first, last], in member id
    order, streamed: two ordered reads (the base rows, the payment sums) merged as they come,
    so memory does not grow with the number of members. `base`, `category` and `rate` are those
    of the period's last month with a base."""
    versions = versions or rates.versions()
    lo, hi = month_number(first), month_number(last)
    segs = segments(lo, hi, versions)
    members = members_qs.order_by("pk").values_list("pk", "name", "org__code")
    bases = (_bases_in(DuesBase.objects.filter(member__in=members_qs.values("pk")), lo, hi)
             .order_by("member_id", "start").values_list("member_id", "base", "category", "start", "end")
             .iterator(chunk_size=5000))
    # One row per member and month paid: a month counts as paid up when its credits reach its due.
    pays = (Payment.objects.filter(member__in=members_qs.values("pk"), month_no__gte=lo, month_no__lte=hi)
            .order_by().values("member_id", "month_no").annotate(paid=Sum("amount"), settled=Sum("credited"),
                                                                 due=Max("due")).order_by("member_id", "month_no")
            .values_list("member_id", "paid", "settled", "due").iterator(chunk_size=5000))
    next_base = next(bases, None)
    next_pay = next(pays, None)
    for pk, name, code in members.iterator(chunk_size=5000):
        row = MemberDues(pk, name, code)
        due_months = 0
        while next_base is not None and next_base[0] < pk:
            next_base = next(bases, None)
        while next_base is not None and next_base[0] == pk:
            _, base, category, start, end = next_base
            for rules, a, b in segs:
                months = min(end if end is not None else FAR, b) - max(start, a) + 1
                if months > 0:
                    rate, amount = rates.compute(rules, base, category)
                    row.due += amount * months
                    due_months += months if amount else 0
                    row.base, row.category, row.rate = Decimal(base).quantize(CENTS), category, rate
            next_base = next(bases, None)
        while next_pay is not None and next_pay[0] < pk:
            next_pay = next(pays, None)
        paid_months = 0
        while next_pay is not None and next_pay[0] == pk:
            paid = Decimal(next_pay[1] or 0).quantize(CENTS)
            settled = Decimal(next_pay[2] or 0).quantize(CENTS)
            due = Decimal(next_pay[3] or 0).quantize(CENTS)
            row.paid += paid
            row.settled += settled
            paid_months += bool(due) and settled >= due
            next_pay = next(pays, None)
        row.unpaid_months = max(due_months - paid_months, 0)
        yield row


def lapsing(members_qs, today: dt.date, months: int):
    """The members of `members_qs` with dues due but nothing paid in each of the last `months`
    complete months (this month not counted): the list for the 党章第九条 procedure (连续六个月不
    交纳党费), which people decide — nothing here changes anyone's status. A month paid in part
    was paid: it stays owed, and is not a month of not paying. One query."""
    this = month_number(today.year * 100 + today.month)
    lo, hi = this - months, this - 1
    started = DuesBase.objects.filter(member=OuterRef("pk"), start__lte=lo)
    any_paid = Payment.objects.filter(member=OuterRef("pk"), month_no__gte=lo, month_no__lte=hi)
    return (members_qs.filter(status=Member.Status.ACTIVE).filter(Exists(started)).exclude(Exists(any_paid))
            .select_related("org"))


def window(today: dt.date, months: int) -> tuple[int, int]:
    """The YYYYMM keys of the first and last month of the lapse window ending last month."""
    this = month_number(today.year * 100 + today.month)
    return month_key(this - months), month_key(this - 1)

"""党费交纳 from a clerk's Excel list, through the common importer: title rows, merged cells
(a name merged over the rows of its months), short month names (“10月”, a range “1-3月”) and
amounts typed with 元 are read as clerks keep them; every row is checked against the roster,
the bases and the payments already recorded, and only a file without a single problem is
written, in one transaction.

A row names its member by 身份证号 when the column is there; otherwise by 姓名 within the
row's 组织代码, or within the importer's own scope when there is no such column — a name held
twice there is refused (the report asks for the 身份证号).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from dangjian.core import audit, crypto, idcard, xlsx
from dangjian.core.models import AuditEntry
from dangjian.core.scoping import scope_of
from dangjian.core.xlsx import CellError, Column, Fixed, chunks
from dangjian.members.models import Member
from dangjian.orgs.io import resolve_org_codes
from dangjian.orgs.models import Organization

from . import rates
from .checks import DuesError, month_label, parse_amount, parse_months, payment_problems
from .models import DuesBase, Payment
from .services import credited_by_month, payment_note, plan_payment

CHUNK = 500
AUDIT_NOTE = "党费交纳导入"

COLUMNS = [
    Column("姓名", "name", help="在册党员的姓名", example="李明", width=10),
    Column("身份证号", "id_number", required=False, help="可不填；填写时按身份证号识别党员（同名时必填）",
           width=21, text=True, aliases=("身份证号码", "公民身份号码", "身份证")),
    Column("组织代码", "org", required=False, help="可不填；填写时在该组织（含下级）中按姓名查找", example="CZ01",
           width=12, text=True),
    Column("月份", "month", help="所交党费的月份：2026年10月、2026-10、10月，或连续几个月如 2026年1-3月",
           example="2026年10月", width=14, aliases=("所属月份", "交纳月份", "缴费月份", "党费月份")),
    Column("金额", "amount", help="所填月份的合计金额（元），不少于应交金额", example="75.00", width=10,
           aliases=("交纳金额", "缴纳金额", "党费金额", "实交金额", "金额（元）", "实缴金额")),
    Column("交纳日期", "paid_on", required=False, help=f"可不填（按导入当天）；{xlsx.DATE_HINT}",
           example=dt.date(2026, 10, 15), width=12, aliases=("缴费日期", "缴纳日期", "收缴日期")),
]
NOTES = [
    "一行一名党员；一行可以是一个月，也可以是连续几个月（金额为这几个月的合计）。",
    "表格上方的标题行、合并的姓名单元格都可以保留；月份只写“10月”的，按交纳日期所在年度（晚于交纳月份的算上一年）。",
    "同一党员同一月份只能交纳一次；系统中已登记的月份不能重复导入。",
    "文件中任何一行有错误时，整个文件都不会导入；请按错误报告逐条修改后重新导入。",
]
_YUAN = re.compile(r"\s*元\s*$")


@dataclass
class Row:
    number: int
    name: str = ""
    id_number: str = ""
    org_code: str = ""
    month_text: object = None
    amount: Decimal | None = None
    paid_on: dt.date | None = None
    months: list[int] = field(default_factory=list)
    org: Organization | None = None
    member: Member | None = None
    payments: list[Payment] = field(default_factory=list)


def _id_text(value):
    if value in (None, "") or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError("身份证号被 Excel 存成了数字，后几位可能已丢失：请把该列设为文本格式后重新填写")
    try:
        return idcard.validate(re.sub(r"\s+", "", xlsx.code_text(value)))
    except ValueError as exc:
        raise CellError(str(exc)) from None


def _amount(value):
    try:
        typed = xlsx.cell_text(value)
        amount = parse_amount(value)
    except DuesError as exc:
        raise CellError(exc.message) from None
    if isinstance(value, str) and _YUAN.search(value):
        return Fixed(amount, typed, f"{amount}")
    return amount


class PaymentImporter(xlsx.Importer):
    columns = COLUMNS
    noun = "个月"
    title = "党费交纳"
    hint = "党支部的党费收缴表：按身份证号或姓名识别党员，每行一个月或连续几个月；已登记的月份不会重复导入。"
    notes = NOTES

    def parse(self, r: xlsx.RowReader) -> Row:
        row = Row(r.number)
        row.name = r.cell("name", lambda v: xlsx.text(v, "姓名", 50, required=True)) or ""
        row.id_number = r.cell("id_number", _id_text) or ""
        row.org_code = r.cell("org", lambda v: xlsx.text(xlsx.code_text(v), "组织代码", 32)) or ""
        row.amount = r.cell("amount", _amount)
        row.paid_on = r.cell("paid_on", lambda v: xlsx.date(v, "交纳日期")) or self.today
        if row.paid_on > self.today:
            r.fail("paid_on", f"交纳日期 {row.paid_on:%Y-%m-%d} 晚于今天，不能填写将来的日期")
            return row
        raw = r.raw.get("month")
        try:
            row.months, guessed = parse_months(raw, row.paid_on)
        except DuesError as exc:
            r.fail("month", exc.message.removeprefix("月份："))
            return row
        if guessed:
            shown = month_label(row.months[0]) + (f"至{month_label(row.months[-1])}" if len(row.months) > 1 else "")
            self.notes.value(r.number, "月份", xlsx.cell_text(raw), shown)
        for fld, message in payment_problems(months=row.months, paid_on=row.paid_on, today=self.today):
            r.fail("month" if fld == "month" else "paid_on", message.split("：", 1)[-1])
        return row

    def _members(self, rows: list[Row]) -> None:
        """Each row's member: by 身份证号, else by name within the row's org or the scope."""
        by_hash: dict[str, Member] = {}
        hashes = {r.number: crypto.lookup_hashes(r.id_number) for r in rows if r.id_number}
        for chunk in chunks(sorted({h for hs in hashes.values() for h in hs}), CHUNK):
            for m in Member.objects.filter(id_hash__in=chunk).select_related("org"):
                by_hash[m.id_hash] = m
        by_name: dict[str, list[Member]] = {}
        named = sorted({r.name for r in rows if r.name and not r.id_number})
        for chunk in chunks(named, CHUNK):
            for m in Member.objects.filter(name__in=chunk, status=Member.Status.ACTIVE).select_related("org"):
                if self.allowed(m.org.path):
                    by_name.setdefault(m.name, []).append(m)
        for r in rows:
            if not r.name or (r.org_code and r.org is None):
                continue
            if r.id_number:
                m = next((by_hash[h] for h in hashes[r.number] if h in by_hash), None)
                if m is None:
                    self.fail(r.number, "id_number", "系统中没有这个身份证号的党员，请核对")
                    continue
                if m.name != r.name:
                    self.fail(r.number, "name", f"姓名与身份证号不符（系统中为“{m.name}”），请核对")
                    continue
                if r.org is not None and not m.org.path.startswith(r.org.path):
                    self.fail(r.number, "org", f"“{m.name}”不在{r.org.name}，请核对组织代码")
                    continue
            else:
                found = [m for m in by_name.get(r.name, []) if r.org is None or m.org.path.startswith(r.org.path)]
                where = r.org.name if r.org is not None else "您的范围内"
                if not found:
                    self.fail(r.number, "name", f"“{r.name}”不是{where}的在册党员")
                    continue
                if len(found) > 1:
                    self.fail(r.number, "name", f"{where}有 {len(found)} 名党员叫“{r.name}”，请填写身份证号")
                    continue
                m = found[0]
            if not self.allowed(m.org.path):
                self.fail(r.number, "name", f"“{m.name}”不在您的导入范围内")
            elif m.status != Member.Status.ACTIVE:
                self.fail(r.number, "name", f"“{m.name}”不是在册党员（{m.get_status_display()}），不能登记党费")
            else:
                r.member = m

    def check(self, rows: list[Row]) -> None:
        resolve_org_codes(self, [r for r in rows if r.org_code], key="org", label="组织代码",
                          dissolved="不能再登记党费")
        self._members(rows)
        ready = [r for r in rows if r.member is not None and r.months and r.amount is not None]
        ids = sorted({r.member.pk for r in ready})
        bases: dict[int, list[DuesBase]] = {}
        paid: dict[int, dict[int, Decimal]] = {}
        months = sorted({m for r in ready for m in r.months})
        for chunk in chunks(ids, CHUNK):
            for b in DuesBase.objects.filter(member_id__in=chunk).order_by("member_id", "start"):
                bases.setdefault(b.member_id, []).append(b)
            paid.update(credited_by_month(chunk, months))
        versions = rates.versions()
        seen: dict[tuple[int, int], int] = {}
        for r in ready:
            again = next(((m, seen[(r.member.pk, m)]) for m in r.months if (r.member.pk, m) in seen), None)
            if again:
                self.fail(r.number, "month", f"{month_label(again[0])}与第 {again[1]} 行重复，同一党员同一月份只能填写一行")
                continue
            for m in r.months:
                seen[(r.member.pk, m)] = r.number
            try:
                r.payments = plan_payment(r.member, r.months, r.amount, r.paid_on, bases.get(r.member.pk, []),
                                          paid.get(r.member.pk, {}), versions)
            except DuesError as exc:
                key = "amount" if exc.field == "amount" else "month"
                self.fail(r.number, key, exc.message.split("：", 1)[-1])

    def plan(self, rows: list[Row]) -> tuple[int, int]:
        return sum(len(r.payments) for r in rows), 0

    def write(self, rows: list[Row]) -> None:
        made = [p for r in rows for p in r.payments]
        for p in made:
            p.received_by = self.actor
            p.source = Payment.Source.IMPORTED
        keys = {(p.member_id, p.month) for p in made}
        members = sorted({p.member_id for p in made})
        months = sorted({p.month for p in made})

        def of_the_file():
            for chunk in chunks(members, CHUNK):
                yield from (p for p in Payment.objects.filter(member_id__in=chunk, month__in=months)
                            if (p.member_id, p.month) in keys)

        before = {p.pk for p in of_the_file()}  # earlier sums of a month paid in parts
        for chunk in chunks(made, CHUNK):
            Payment.objects.bulk_create(chunk)
        saved = [p for p in of_the_file() if p.pk not in before]
        for chunk in chunks(saved, CHUNK):
            AuditEntry.objects.bulk_create([audit.entry(self.user, p, None, note=AUDIT_NOTE + payment_note(p)[4:])
                                            for p in chunk])

    @classmethod
    def sample(cls, user) -> tuple[dict, str]:
        """A member of the user's import scope with a base, and their first unpaid month."""
        scope = scope_of(user)
        prefixes = scope.prefixes("import")
        if not prefixes:
            return {}, ""
        from django.db.models import Q

        q = Q(pk__in=[])
        for p in prefixes:
            q |= Q(member__org__path__startswith=p)
        base = (DuesBase.objects.filter(q, member__status=Member.Status.ACTIVE, end__isnull=True)
                .select_related("member__org").order_by("member__org__path", "member_id").first())
        if base is None:
            return {}, ""
        from .collection import month_key

        paid = set(Payment.objects.filter(member=base.member).values_list("month", flat=True))
        n = base.start
        while month_key(n) in paid:
            n += 1
        month = month_key(n)
        rate, amount = rates.compute(rates.in_force(dt.date(month // 100, month % 100, 1)), base.base, base.category)
        return ({"name": base.member.name, "org": base.member.org.code, "month": month_label(month),
                 "amount": f"{amount}", "paid_on": min(dt.date.today(), dt.date(month // 100, month % 100, 1))},
                f"示例中的“{base.member.name}”是您有权导入的{base.member.org.name}的党员，月份是其尚未交纳的月份，"
                "金额按其缴费基数计算；请换成实际交纳的记录。")

"""`dangjian dues --period 2026-10 [--org CODE] --format json|table`: every member on the roll
(of the org's subtree) with their base, rate, due, paid and owed over the period.

JSON: {"members": [{"member", "org_code", "base", "rate", "due", "paid", "owed"}]} — member is the
member's name; figures are strings of exact decimals ("5000.01", "0.015", "75.00"); base and rate
are those of the period's last month with a base (null when none is registered; rate null for a
fixed amount). Printed as it is read: memory does not grow with the number of members. Bad input
(a period that is not one, an unknown org): a Chinese message, exit 2."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.core import periods
from dangjian.core.cli import stream_json, stream_table
from dangjian.dues import collection
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

KEYS = ("member", "org_code", "base", "rate", "due", "paid", "owed")


class Command(BaseCommand):
    help = "列出党员在某期间的缴费基数、费率、应交、已交和欠交党费（可限某党组织及其下级）"

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="期间：2026-10（月）、2026Q3、2026H2 或 2026（年）")
        parser.add_argument("--org", default="", help="组织代码：只列该组织及其下级组织的党员")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")

    def handle(self, *args, period, org, format, **options):
        try:
            p = periods.parse(period)
        except periods.PeriodError as exc:
            raise CommandError(f"--period：{exc}", returncode=2) from None
        qs = Member.objects.filter(status=Member.Status.ACTIVE)
        if org.strip():
            root = Organization.objects.filter(code=org.strip()).first()
            if root is None:
                raise CommandError(f"--org：没有组织代码为“{org.strip()}”的党组织", returncode=2)
            qs = qs.filter(org__path__startswith=root.path)
        rows = collection.member_rows(qs, p.months[0], p.months[-1])

        def values(r):
            return (r.name, r.org_code, None if r.base is None else f"{r.base}", None if r.rate is None else f"{r.rate}",
                    f"{r.due}", f"{r.paid}", f"{r.owed}")

        if format == "json":
            self.stdout.write('{\n "members": ', ending="")
            stream_json(_Indented(self.stdout), (dict(zip(KEYS, values(r))) for r in rows), indent=1)
            self.stdout.write("\n}")
            return
        header = ("姓名", "组织代码", "缴费基数", "费率", "应交", "已交", "欠交")
        stream_table(self.stdout, _with_header(header, (["—" if v is None else v for v in values(r)] for r in rows)))


def _with_header(header, rows):
    yield header
    yield from rows


class _Indented:
    """The array nested one level in the object: each of its lines indented once more."""

    def __init__(self, out):
        self.out = out

    def write(self, text, ending="\n"):
        self.out.write(text.replace("\n", "\n "), ending=ending)

"""`dangjian items [--org CODE] [--status open|overdue|closed] [--today YYYY-MM-DD] --format json`:
the rectification items, all of them or those of an organization's subtree, as
`{"items": [{"id", "list", "source", "org_code", "title", "deadline", "status", "overdue_days"}]}`
(codes, an ISO date, whole days past the deadline as `Item.overdue_days` counts them); also
`--format table` or `csv`. Streamed from a server-side cursor: memory does not grow with the
number of items. A bad --org or --status is refused with exit code 2."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from dangjian.core.cli import stream_csv, stream_json, stream_table, today_arg
from dangjian.orgs.models import Organization
from dangjian.rectification import queries
from dangjian.rectification.models import Item

KEYS = ("id", "list", "source", "org_code", "title", "deadline", "status", "overdue_days")
HEADER = ["编号", "清单", "来源", "组织代码", "事项", "整改时限", "状态", "超期天数"]
STATUSES = ("open", "overdue", "closed")


def overdue_days(status: str, deadline: dt.date, closed_on, today: dt.date) -> int:
    return Item(status=status, deadline=deadline, closed_on=closed_on).overdue_days(today)


class Command(BaseCommand):
    help = "列出督查整改事项（可限某党组织及其下级、未销号/已超期/已销号），输出 JSON、CSV 或表格"

    def add_arguments(self, parser):
        parser.add_argument("--org", default="", help="组织代码：只列该组织及其下级组织负责的事项")
        parser.add_argument("--status", default="", help="open 未销号 / overdue 已超期 / closed 已销号")
        parser.add_argument("--today", default="", help="以哪一天计算超期（YYYY-MM-DD，默认今天）")
        parser.add_argument("--format", default="table", choices=["json", "csv", "table"], help="输出格式")

    def handle(self, *args, org, status, today, format, **options):
        day = today_arg(today)
        status = status.strip()
        if status and status not in STATUSES:
            raise CommandError(f"--status：“{status}”不是可用的状态，应为 open（未销号）、overdue（已超期）或 closed（已销号）",
                               returncode=2)
        root = None
        if org.strip():
            root = Organization.objects.filter(code=org.strip()).first()
            if root is None:
                raise CommandError(f"--org：没有组织代码为“{org.strip()}”的党组织", returncode=2)
        items = queries.filtered(Item.objects.all(), today=day, status=status or None, org=root)
        rows = (items.order_by("id").values_list("pk", "list", "source", "org__code", "title", "deadline", "status",
                                                 "closed_on").iterator(chunk_size=2000))
        records = ((pk, lst, src, code, title, due.isoformat(), st, overdue_days(st, due, closed, day))
                   for pk, lst, src, code, title, due, st, closed in rows)
        if format == "json":
            self.stdout.write('{"items": ', ending="")
            stream_json(self.stdout, records, keys=KEYS)
            self.stdout.write("}")
        elif format == "csv":
            stream_csv(self.stdout, HEADER, records)
        else:
            stream_table(self.stdout, _with_header(records))


def _with_header(records):
    yield HEADER
    yield from records

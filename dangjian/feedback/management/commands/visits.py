"""`dangjian visits --org CODE [--period 2026|2026Q1|2026H1|2026-05] [--today DATE] --format json|table`:
the 三访三评 figures of an organization's subtree for a period (the figures page's numbers): 走访次数,
党员参与走访人次, 走访户数, 走访群众人次, problems raised and solved, pending and overdue, and the months."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.core import periods
from dangjian.core.cli import table, to_json, today_arg
from dangjian.feedback import figures
from dangjian.orgs.models import Organization

LABELS = (("visits", "走访次数"), ("participations", "党员参与走访人次"), ("households", "走访户数"),
          ("people", "走访群众人次"), ("raised", "收集问题"), ("solved", "解决问题"))


class Command(BaseCommand):
    help = "统计某党组织及其下级组织在某期间的三访三评数据（走访人次、户数、收集和解决问题件数）"

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="组织代码：统计该组织及其下级组织")
        parser.add_argument("--period", default="", help="期间：2026（年）、2026H1、2026Q1 或 2026-05；默认今年")
        parser.add_argument("--today", default="", help="按哪一天计算逾期（格式 2026-06-30），默认今天")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")

    def handle(self, *args, org, period, today, format, **options):
        day = today_arg(today)
        try:
            p = periods.parse(period) if period.strip() else periods.Period("year", day.year, 1)
        except periods.PeriodError as exc:
            raise CommandError(f"--period：{exc}", returncode=2) from None
        root = Organization.objects.filter(code=org.strip()).first()
        if root is None:
            raise CommandError(f"--org：没有组织代码为“{org.strip()}”的党组织", returncode=2)
        total = figures.totals(root.path, p.start, p.end, day)
        months = figures.by_month(root.path, p.start, p.end)
        if format == "json":
            self.stdout.write(to_json({
                "org_code": root.code, "period": p.label, **{k: getattr(total, k) for k, _ in LABELS},
                "pending": total.pending, "overdue": total.overdue,
                "months": [{"month": f"{m['month']:%Y-%m}", **{k: m[k] for k, _ in LABELS}} for m in months]}))
            return
        lines = [("月份", *(label for _, label in LABELS))]
        lines += [(f"{m['month']:%Y-%m}", *(m[k] for k, _ in LABELS)) for m in months]
        lines.append(("合计", *(getattr(total, k) for k, _ in LABELS)))
        self.stdout.write(table(lines))
        self.stdout.write(f"{root.name} {p.chinese}：尚待答复 {total.pending} 件，其中逾期 {total.overdue} 件。")

"""`dangjian transfers [--org CODE] [--status open|overdue|done] [--today DATE] --format json|table`:
the introduction letters, oldest first; with --org, those sent from or received in that org's
subtree. JSON: {"transfers": [{"id", "kind" (internal|out|in), "member", "letter_number",
"from_code", "to_code" (null outside the platform), "outside_org", "outside_region", "issued_on",
"valid_until", "status" (issued|accepted|returned|withdrawn), "closed_on", "overdue"}]}.
With --consider the JSON has one more key, "to_consider": the members the rules say should be
considered for a decision by people (never taken by the platform): [{"list" (remove_due: 停止党籍
满 suspended_years_to_remove 年; abroad_due: 出国（境）满 abroad_years_to_suspend 年), "member",
"org_code", "since" (the suspension's approval, or the day they went abroad), "rule", "source"}].
Exit code 2 on a bad argument."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.core.cli import table, to_json, today_arg
from dangjian.orgs.models import Organization
from dangjian.transfers import queries

STATUSES = ("open", "overdue", "done")


class Command(BaseCommand):
    help = "列出组织关系转接介绍信（可限某党组织及其下级、在途/逾期/已办结）"

    def add_arguments(self, parser):
        parser.add_argument("--org", default="", help="组织代码：只列该组织及其下级转出或接收的介绍信")
        parser.add_argument("--status", default="", help="open 在途、overdue 逾期未办结、done 已办结；不填为全部")
        parser.add_argument("--today", default=None, help="按哪一天判断逾期（默认今天，格式 2026-01-31）")
        parser.add_argument("--consider", action="store_true",
                            help="另列待研究名单：停止党籍满期、出国（境）满期的党员（只列名单，由人决定）")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")

    def handle(self, *args, org, status, today, format, consider=False, **options):
        status = status.strip()
        if status and status not in STATUSES:
            raise CommandError(f"--status：“{status}”无效，可选 open、overdue、done", returncode=2)
        day = today_arg(today)
        root = None
        if org.strip():
            root = Organization.objects.filter(code=org.strip()).first()
            if root is None:
                raise CommandError(f"--org：没有组织代码为“{org.strip()}”的党组织", returncode=2)
        rows = queries.command_rows(root=root, status=status, today=day)
        considered = queries.command_consider(root=root, today=day) if consider else None
        if format == "json":
            out = {"transfers": rows}
            if considered is not None:
                out["to_consider"] = considered
            self.stdout.write(to_json(out))
            return
        lines = [("党员", "介绍信编号", "转出", "接收", "开具日期", "有效期至", "状态")]
        lines += [(r["member"], r["letter_number"], r["from_code"] or r["outside_org"], r["to_code"] or r["outside_org"],
                   r["issued_on"], r["valid_until"], "逾期" if r["overdue"] else r["status"]) for r in rows]
        self.stdout.write(table(lines))
        self.stdout.write(f"共 {len(rows)} 封介绍信。")
        if considered is not None:
            labels = {k: c.label for k, c in queries.CONSIDER.items()}
            lines = [("待研究", "党员", "党组织", "起始日期")]
            lines += [(labels[r["list"]], r["member"], r["org_code"], r["since"]) for r in considered]
            self.stdout.write(table(lines))
            for c in queries.CONSIDER.values():
                self.stdout.write(f"{c.label}：{c.text()}（{c.source}）。只列名单，由人决定。")

"""`dangjian alerts [--org CODE] --format json|table`: structure alerts (换届, 空缺, 设置, 书记职级)."""
from django.core.management.base import BaseCommand

from dangjian.core import replica
from dangjian.core.cli import stream_json, table, today_arg
from dangjian.orgs.alerts import ALERT_KINDS, structure_alerts
from dangjian.orgs.queries import org_arg


class Command(BaseCommand):
    help = "列出组织设置方面的提醒：超期未换届、即将届满、委员空缺、应设未设支委会、支部人数、书记职级、机关纪委"

    def add_arguments(self, parser):
        parser.add_argument("--org", default=None, help="组织代码：只检查该组织及其下级")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")
        parser.add_argument("--today", default=None, help="以此日期计算（YYYY-MM-DD），默认今天")

    @replica.reports()  # read-only: a replica may answer
    def handle(self, *args, org, format, today, **options):
        alerts = structure_alerts(org=org_arg(org), today=today_arg(today))
        if format == "json":
            stream_json(self.stdout, (a.as_json() for a in alerts))
            return
        if not alerts:
            self.stdout.write("没有需要提醒的事项")
            return
        self.stdout.write(table([("组织代码", "组织名称", "提醒", "起始日期", "说明")] + [
            (a.org_code, a.org_name, ALERT_KINDS[a.kind], a.since.isoformat() if a.since else "—", a.message)
            for a in alerts
        ]))
        self.stdout.write(f"共 {len(alerts)} 条提醒")

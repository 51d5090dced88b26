"""`dangjian compliance --period 2026Q3 [--org CODE] --format json|csv|table`: recompute and store
the compliance rows of a period (for a subtree or the whole tree) and print them."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.activities import compliance
from dangjian.core import periods
from dangjian.core.cli import table, to_csv, to_json, today_arg
from dangjian.orgs.queries import org_arg


def _labels():
    from dangjian.activities.models import KIND_LABELS as kinds

    return kinds


class Command(BaseCommand):
    help = "计算并保存组织生活合规情况（某月 2026-03、季度 2026Q1、半年 2026H1 或全年 2026），按规则自身周期列出"

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="周期：2026-03、2026Q1、2026H1 或 2026")
        parser.add_argument("--org", default=None, help="组织代码：只计算该组织及其下级")
        parser.add_argument("--format", default="table", choices=["json", "csv", "table"], help="输出格式")
        parser.add_argument("--today", default=None, help="以此日期判断周期是否已结束（YYYY-MM-DD），默认今天")
        parser.add_argument("--members", action="store_true", help="另列出对党员个人的提醒（连续缺席、领导干部、书记讲党课）")

    def handle(self, *args, period, org, format, today, members=False, **options):
        try:
            p = periods.parse(period)
        except periods.PeriodError as exc:
            raise CommandError(f"--period：{exc}", returncode=2) from None
        today = today_arg(today)
        root = org_arg(org)
        verdicts = compliance.recompute(p.start, p.end, org=root, today=today)
        labels = _labels()
        if format == "json":
            self.stdout.write(to_json([v.as_json() for v in verdicts]))
        elif format == "csv":
            self.stdout.write(to_csv(
                ["org_code", "org_name", "period", "kind", "required", "held", "status", "evidence", "failed_quorum"],
                [[v.org_code, v.org_name, v.period.label, v.rule.code, v.required, v.held, v.status,
                  " ".join(map(str, v.evidence)), " ".join(map(str, v.failed_quorum))] for v in verdicts],
            ))
        else:
            rows = [("组织代码", "组织名称", "周期", "要求", "应开", "已开", "状态", "依据记录", "未达到会要求")]
            for v in verdicts:
                name = labels.get(v.rule.code) or ("书记讲党课" if v.rule.code == "party_lecture_by_secretary"
                                                   else v.rule.code)
                rows.append((v.org_code, v.org_name, v.period.label, name, v.required, v.held,
                             compliance.STATUS_LABELS[v.status], ",".join(map(str, v.evidence)) or "—",
                             ",".join(map(str, v.failed_quorum)) or "—"))
            counts = {}
            for v in verdicts:
                counts[v.status] = counts.get(v.status, 0) + 1
            summary = "，".join(f"{compliance.STATUS_LABELS[s]} {n}" for s, n in counts.items()) or "无适用的要求"
            self.stdout.write((table(rows) + "\n" if verdicts else "") + f"共 {len(verdicts)} 项：{summary}")
        if members:
            findings = compliance.member_findings(p.end.year, org=root, today=today)
            if format == "json":
                self.stderr.write(to_json(findings))
            else:
                self.stdout.write("\n党员个人提醒：")
                self.stdout.write(table([("检查", "党员", "组织", "状态", "说明")] + [
                    (f["check"], f["member_name"], f["org_code"], f["status"], f["message"]) for f in findings
                ]) if findings else "无")

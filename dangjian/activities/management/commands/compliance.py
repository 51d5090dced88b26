"""`dangjian compliance --period 2026Q3 [--org CODE] --format json|csv|table`: recompute and store
the compliance rows of a period (for a subtree or the whole tree) and print them.

The rows are stored first (`compliance.refresh`, a chunk of orgs at a time), then read back
from the stored rows through a server-side cursor and printed as they come (JSON and CSV), so a
province's year never sits in memory; the bytes are those of the verdicts' own `as_json`."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.activities import compliance
from dangjian.core import periods
from dangjian.core.cli import stream_csv, stream_json, table, to_json, today_arg
from dangjian.orgs.queries import org_arg

JSON_KEYS = ("org_code", "org_name", "period", "kind", "required", "held", "status", "evidence")


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
        compliance.refresh(p.start, p.end, org=root, today=today)
        stored = compliance.streamed_rows(p.start, p.end, org=root)
        labels = _labels()
        if format == "json":
            stream_json(self.stdout, (r[:8] for r in stored), keys=JSON_KEYS)
        elif format == "csv":
            stream_csv(self.stdout, ["org_code", "org_name", "period", "kind", "required", "held", "status",
                                     "evidence", "failed_quorum"],
                       ([*r[:7], " ".join(map(str, r[7])), " ".join(map(str, r[8]))] for r in stored))
        else:
            rows = [("组织代码", "组织名称", "周期", "要求", "应开", "已开", "状态", "依据记录", "未达到会要求")]
            counts = {}
            for code, name, label, kind, required, held, status, evidence, failed in stored:
                kind_name = labels.get(kind) or ("书记讲党课" if kind == "party_lecture_by_secretary" else kind)
                rows.append((code, name, label, kind_name, required, held, compliance.STATUS_LABELS[status],
                             ",".join(map(str, evidence)) or "—", ",".join(map(str, failed)) or "—"))
                counts[status] = counts.get(status, 0) + 1
            summary = "，".join(f"{compliance.STATUS_LABELS[s]} {n}" for s, n in counts.items()) or "无适用的要求"
            self.stdout.write((table(rows) + "\n" if len(rows) > 1 else "") + f"共 {len(rows) - 1} 项：{summary}")
        if members:
            findings = compliance.member_findings(p.end.year, org=root, today=today)
            if format == "json":
                self.stderr.write(to_json(findings))
            else:
                self.stdout.write("\n党员个人提醒：")
                self.stdout.write(table([("检查", "党员", "组织", "状态", "说明")] + [
                    (f["check"], f["member_name"], f["org_code"], f["status"], f["message"]) for f in findings
                ]) if findings else "无")

"""`dangjian duties --year 2026 [--org CODE] [--members] --format json|table`: every role holder's
duty list for a year, item by item and period by period, with its status and evidence; with
`--members`, every member's 党员 list too (one line per member × item × period: ask for an org).

`--format json` prints a JSON list of rows {"member_id", "member_name", "role", "org_code",
"org_name", "item", "title", "period", "required", "done", "status", "evidence": [activity ids],
"note"}; `status` is done / marked / open / missed / not_applicable, and `note` a mark's note or
why a line does not apply."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.core.cli import stream_json, table, today_arg
from dangjian.duties import catalog, completion
from dangjian.orgs.queries import org_arg


class Command(BaseCommand):
    help = "列出某年度各职务人员的责任清单完成情况（由组织生活记录生成或标记完成）"

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="年度，如 2026")
        parser.add_argument("--org", default=None, help="组织代码：只列出该组织及其下级的任职人员")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")
        parser.add_argument("--members", action="store_true", help="同时列出党员的责任清单（每名党员一行一项）")
        parser.add_argument("--today", default=None, help="以此日期判断周期是否已结束（YYYY-MM-DD），默认今天")

    def handle(self, *args, year, org, format, today, members=False, **options):
        raw = (year or "").strip()
        if not raw.isdigit() or len(raw) != 4 or not 2000 <= int(raw) <= 9999:
            raise CommandError(f"--year 应为四位年份（2000 年以后），收到“{year}”", returncode=2)
        today = today_arg(today)
        root = org_arg(org)
        holders = completion.holders(roots=[root.path] if root else None, members=members)
        lines = completion.compute(int(raw), holders, today=today, everyone=root is None)
        if format == "json":
            stream_json(self.stdout, (line.as_json() for line in lines))
            return
        roles = catalog.roles()
        rows = [("姓名", "职务", "组织代码", "责任事项", "周期", "情况", "依据")]
        counts: dict[str, int] = {}
        for line in lines:
            h = line.holder
            proof = (",".join(str(r.activity_id) for r in line.evidence) if line.evidence
                     else line.mark.note if line.mark else line.reason or "—")
            rows.append((h.name, roles[h.role]["label"], h.org_code, line.item.title, line.period.label,
                         line.status_label, proof))
            counts[line.status] = counts.get(line.status, 0) + 1
        people = len({(line.holder.member_id, line.holder.role, line.holder.org_id) for line in lines})
        summary = "，".join(f"{completion.STATUS_LABELS[s]} {n}" for s, n in counts.items()) or "没有任职人员或条目"
        self.stdout.write((table(rows) + "\n" if lines else "") + f"共 {people} 个职务、{len(lines)} 项：{summary}")

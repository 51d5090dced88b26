"""`dangjian audit-verify [--format json|table]`: check the change history's hash chain.

Exit code 0 when every entry links to the one before it; 1 at the first broken link, which is
named (id, time, what is wrong)."""
from django.core.management.base import BaseCommand
from django.utils import timezone

from dangjian.core import audit
from dangjian.core.cli import table, to_json

EXIT_BROKEN = 1
PROBLEMS = {"changed": "内容被修改", "missing": "缺少记录", "reordered": "顺序被调换"}


class Command(BaseCommand):
    help = "校验变更记录的哈希链（SM3），报告第一处断链"

    def add_arguments(self, parser):
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")

    def handle(self, *args, format, **options):
        result = audit.verify()
        broken = result.get("break")
        if broken:
            broken = {**broken, "at": timezone.localtime(broken["at"]).isoformat()}
        if format == "json":
            self.stdout.write(to_json({**result, "break": broken} if broken else result))
        elif broken:
            self.stdout.write(f"变更记录哈希链断开：已校验 {result['count']} 条完好，第一处问题如下")
            self.stdout.write(table([("记录编号", "记录时间", "问题", "说明"),
                                     (broken["id"], broken["at"][:19].replace("T", " "), PROBLEMS[broken["problem"]],
                                      broken["message"])]))
        else:
            self.stdout.write(f"变更记录哈希链完好：共 {result['count']} 条，末条哈希 {result['head']}")
        if broken:
            raise SystemExit(EXIT_BROKEN)

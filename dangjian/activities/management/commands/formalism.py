"""`dangjian formalism --year 2026 [--org CODE] [--kind late|burst|copied_minutes|same_attendance]
--format json|table`: the formalism signals of the records held in a year, with their evidence.

Printed from the stored signals (`FormalismSignal`), brought up to date first in this process as
the page's job does (`formalism.bring_current`), then streamed in the computation's order: the
same output as `formalism.compute` over the year, without holding the year's minutes (a
province's year is about a million records)."""
import itertools

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dangjian.activities import formalism
from dangjian.core.cli import stream_json, stream_table
from dangjian.orgs.queries import org_arg


class Command(BaseCommand):
    help = ("列出某年度组织生活记录中需要核实的形式主义问题提示（录入滞后、期末集中录入、会议记录雷同、"
            "出席名单雷同），附依据记录；提示仅供核实，不作为扣分依据")

    def add_arguments(self, parser):
        parser.add_argument("--year", default=None, help="年度（活动日期所在年份），默认今年")
        parser.add_argument("--org", default=None, help="组织代码：只列出该组织及其下级的提示（雷同比对仍在全部记录中进行）")
        parser.add_argument("--kind", default=None, choices=list(formalism.KINDS), help="只列出一类提示")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")

    def handle(self, *args, year, org, kind, format, **options):
        if year is None:
            year = timezone.localdate().year
        elif not str(year).strip().isdigit() or not 1921 <= int(year) <= 9999:
            raise CommandError(f"--year 应为四位年份（如 2026），收到“{year}”", returncode=2)
        year = int(year)
        org = org_arg(org)
        # Progress, not an error: written plain rather than in the error style.
        formalism.bring_current(year, say=lambda text: self.stderr.write(text, style_func=lambda x: x))
        signals = formalism.stored_rows(year, org=org, kind=kind)
        if format == "json":
            stream_json(self.stdout, (s.as_json() for s in signals))
            return
        first = next(signals, None)  # the table's widths are known only at the end: is there one?
        if first is None:
            self.stdout.write(f"{year} 年没有需要核实的提示")
            return
        counts: dict[str, int] = {}  # by kind, in the order the kinds first appear, as before

        def rows():
            yield "提示", "组织代码", "组织名称", "依据记录", "说明"
            for s in itertools.chain([first], signals):
                counts[s.kind_label] = counts.get(s.kind_label, 0) + 1
                yield s.kind_label, s.org_code, s.org_name, ",".join(map(str, s.activity_ids)), s.message

        total = stream_table(self.stdout, rows())
        self.stdout.write(f"共 {total} 条提示：" + "，".join(f"{k} {n}" for k, n in counts.items()))

"""`dangjian workdays add 2026-09-30 5` prints the 5th working day after 2026-09-30 (2026-10-13)
alone on one line; `dangjian workdays between A B` prints the working days after A up to and
including B. Public holidays and make-up working days count as the State Council set them
(core.workdays); a year whose arrangements are not entered yet is refused, exit code 2.
`dangjian workdays year 2027 --holidays "2027-01-01 至 2027-01-03 元旦;…" --workdays "…"
--notice "国办发明电〔2026〕…"` enters a year from the State Council's notice."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from dangjian.core import workdays


def _day(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(f"{what}应为 YYYY-MM-DD 格式的日期，收到“{value}”", returncode=2) from None


class Command(BaseCommand):
    help = "按工作日计算（法定节假日和调休按国务院办公厅通知）：add 日期 天数 → 第若干个工作日的日期；between 日期 日期 → 相隔的工作日数"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="某日之后第 N 个工作日的日期")
        add.add_argument("day", help="开始日期（YYYY-MM-DD）")
        add.add_argument("days", help="工作日天数")
        between = sub.add_parser("between", help="两个日期之间的工作日数（不含开始日，含结束日）")
        between.add_argument("start", help="开始日期（YYYY-MM-DD）")
        between.add_argument("end", help="结束日期（YYYY-MM-DD）")
        year = sub.add_parser("year", help="按国务院办公厅通知录入某年的放假和调休上班安排")
        year.add_argument("year", help="年度")
        year.add_argument("--holidays", required=True, help="放假安排，每段一行或用分号隔开：2027-10-01 至 2027-10-07 国庆节")
        year.add_argument("--workdays", default="", help="调休上班日：2027-09-26 国庆节；没有则不填")
        year.add_argument("--notice", required=True, help="依据：通知名称或文号")

    def handle(self, *args, action, **options):
        try:
            if action == "add":
                raw = options["days"].strip()
                if not raw.isdigit():
                    raise CommandError(f"工作日天数应为非负整数，收到“{raw}”", returncode=2)
                self.stdout.write(workdays.add(_day(options["day"], "开始日期"), int(raw)).isoformat())
            elif action == "between":
                self.stdout.write(str(workdays.between(_day(options["start"], "开始日期"),
                                                       _day(options["end"], "结束日期"))))
            else:
                raw = options["year"].strip()
                if not (raw.isdigit() and len(raw) == 4):
                    raise CommandError(f"年度应为四位年份，收到“{raw}”", returncode=2)
                row = workdays.enter_year(None, int(raw), holidays=options["holidays"], workdays=options["workdays"],
                                          notice=options["notice"])
                self.stdout.write(f"已录入 {row.year} 年节假日安排（依据：{row.notice}）")
        except workdays.WorkdayError as exc:
            raise CommandError(exc.message, returncode=2) from None

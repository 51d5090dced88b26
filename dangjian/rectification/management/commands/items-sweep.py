"""`dangjian items-sweep [--today YYYY-MM-DD]`: the daily pass over the rectification items —
one 催办 for each item entering its reminder window, one 督办 for each item past its deadline,
never twice; nothing on a day that is not a working day. Run once a day (deploy/ has a systemd
timer for it); running it again the same day writes nothing."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.core import workdays
from dangjian.core.cli import today_arg
from dangjian.rectification import services


class Command(BaseCommand):
    help = "督查整改每日催办、督办：临近时限的事项催办，超期的事项督办（每项各一次）"

    def add_arguments(self, parser):
        parser.add_argument("--today", default="", help="按哪一天处理（YYYY-MM-DD，默认今天）")

    def handle(self, *args, today, **options):
        day = today_arg(today)
        try:
            result = services.sweep(day)
        except workdays.WorkdayError as e:
            raise CommandError(f"{day:%Y-%m-%d}：{e.message}", returncode=2) from None
        if not result["workday"]:
            self.stdout.write(f"{day:%Y-%m-%d} 不是工作日，未催办、督办。")
            return
        self.stdout.write(f"{day:%Y-%m-%d}：催办 {result['remind']} 项，督办 {result['escalate']} 项。")

"""`dangjian dues-rate --base 5000.01 [--retired] [--on 2026-10-01] --format json|table`: the
monthly dues of a base by the rules in force (today, or --on).

JSON: {"base": "5000.01", "rate": "0.015", "amount": "75.00"} — every figure a string of an exact
decimal (never a floating-point number); the amount rounded to 0.01 half up. Bad input (not a
number, negative, over 1,000,000): a Chinese message, exit 2."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from dangjian.core.cli import table, to_json
from dangjian.dues import rates


class Command(BaseCommand):
    help = "按缴费基数计算每月应交党费（基数全额乘以所在档次费率，四舍五入到分）"

    def add_arguments(self, parser):
        parser.add_argument("--base", required=True, help="月工资收入（税后），元，如 5000.01")
        parser.add_argument("--retired", action="store_true", help="离退休党员（按离退休费率）")
        parser.add_argument("--on", default="", help="按该日执行的标准（默认今天），如 2026-10-01")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")

    def handle(self, *args, base, retired, on, format, **options):
        day = None
        if on:
            try:
                day = dt.date.fromisoformat(on)
            except ValueError:
                raise CommandError(f"--on：“{on}”不是有效的日期（如 2026-10-01）", returncode=2) from None
        try:
            value = rates.check_base(base)
            rate, amount = rates.rate_for(value, retired=retired, on=day)
        except rates.RateError as exc:
            raise CommandError(f"--base：{exc.message.removeprefix('缴费基数：')}", returncode=2) from None
        if format == "json":
            self.stdout.write(to_json({"base": f"{value}", "rate": f"{rate}", "amount": f"{amount}"}))
            return
        self.stdout.write(table([("缴费基数（元）", "费率", "每月应交（元）"), (f"{value}", rates.percent(rate), f"{amount}")]))
        self.stdout.write(rates.calculation(value, "retired" if retired else "employed", rate, amount))

"""`dangjian ratings --year 2026 --format json|table`: rate every active branch for the year by
its scheme (星级评定办法), store the result and print each branch's level with the reasons."""

from django.core.management.base import BaseCommand, CommandError

from dangjian.core.cli import table, to_json, today_arg
from dangjian.ratings import services
from dangjian.ratings.models import LEVEL_LABELS
from dangjian.ratings.rules import RatingError


def rows_of(run) -> list[dict]:
    return [
        {"org_code": r.org.code, "org_name": r.org.name, "level": r.level,
         "score": float(r.score) if r.score is not None else None,
         "reasons": [x["text"] for x in r.reasons]}
        for r in run.ratings.select_related("org").order_by("org__path")
    ]


class Command(BaseCommand):
    help = "按星级评定办法对全部党支部进行年度星级评定（示范、五星至一星、后进），保存并列出结果及依据"

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="评定年度，如 2026")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")
        parser.add_argument("--today", default=None, help="以此日期为评定日（YYYY-MM-DD），默认今天")
        parser.add_argument("--no-refresh", action="store_true", help="不先重新计算本年度组织生活合规情况")

    def handle(self, *args, year, format, today, no_refresh=False, **options):
        raw = str(year).strip()
        if not raw.isdigit() or len(raw) != 4:
            raise CommandError(f"--year：“{year}”不是有效的年份（如 2026）", returncode=2)
        try:
            run = services.run_rating(None, int(raw), today=today_arg(today), refresh=not no_refresh)
        except RatingError as exc:
            raise CommandError(exc.message, returncode=2) from None
        rows = rows_of(run)
        if format == "json":
            self.stdout.write(to_json(rows))
            return
        self.stdout.write(table([("代码", "党支部", "得分", "星级", "原因")] + [
            (r["org_code"], r["org_name"], f"{r['score']:.2f}" if r["score"] is not None else "—",
             LEVEL_LABELS[r["level"]], "；".join(x for x in r["reasons"][1:]))
            for r in rows]))
        shown = "，".join(f"{LEVEL_LABELS[lv]} {n}" for lv, n in run.counts.items() if n)
        self.stdout.write(f"{run}：{run.target_count} 个党支部，{shown}。依据：{run.basis_text}")

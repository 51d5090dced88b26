"""`dangjian ratings --year 2026 --format json|table`: rate every active branch for the year by
its scheme (星级评定办法), store the result and print each branch's level with the reasons."""

from django.core.management.base import BaseCommand, CommandError

from dangjian.core.cli import stream_json, table, today_arg
from dangjian.ratings import services
from dangjian.ratings.models import LEVEL_LABELS
from dangjian.ratings.rules import RatingError


def rows_of(run):
    """Each branch's rating, read through a server-side cursor: a province's branches are
    printed as they come, never held together."""
    for code, name, level, score, reasons in (run.ratings.order_by("org__path")
                                              .values_list("org__code", "org__name", "level", "score", "reasons")
                                              .iterator(chunk_size=2000)):
        yield {"org_code": code, "org_name": name, "level": level,
               "score": float(score) if score is not None else None, "reasons": [x["text"] for x in reasons]}


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
        if format == "json":
            stream_json(self.stdout, rows_of(run))
            return
        rows = list(rows_of(run))
        self.stdout.write(table([("代码", "党支部", "得分", "星级", "原因")] + [
            (r["org_code"], r["org_name"], f"{r['score']:.2f}" if r["score"] is not None else "—",
             LEVEL_LABELS[r["level"]], "；".join(x for x in r["reasons"][1:]))
            for r in rows]))
        shown = "，".join(f"{LEVEL_LABELS[lv]} {n}" for lv, n in run.counts.items() if n)
        self.stdout.write(f"{run}：{run.target_count} 个党支部，{shown}。依据：{run.basis_text}")

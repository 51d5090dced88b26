"""`dangjian assess --scheme CODE --period 2026-10 --format json|table [--replace]`: run the
evaluation of a scheme for a month, quarter or year that has ended, store it, and print each
target's score, grade and per-indicator scores.

A period not yet ended, or one whose manual scores are not all entered, gives a draft (暂定):
its rows say `"final": false` and `"grade": null` (the score and indicators stay), the table
says 暂定, and nobody is listed for 约谈. A period not yet begun is refused (exit 2). A period already evaluated is
evaluated again only with `--replace` (its scores, grades and places are replaced; a bulletin
may already have been issued from them); without it the command says when the period was
computed and exits 2 without changing anything."""

from django.core.management.base import BaseCommand, CommandError

from dangjian.assessment import queries, services
from dangjian.assessment.models import Grade, Scheme
from dangjian.core.cli import stream_json, table, today_arg


def rows_of(run):
    """Each target's score, read through a server-side cursor and printed as it comes."""
    final = run.is_final
    for code, name, total, grade, place, breakdown in (
            run.scores.order_by("place", "org__path")
            .values_list("org__code", "org__name", "total", "grade", "place", "breakdown").iterator(chunk_size=2000)):
        yield {"target_code": code, "target_name": name, "score": None if total is None else float(total),
               "grade": (grade or None) if final else None, "place": place, "final": final,
               "indicators": [{"indicator": b["name"], "weight": float(b["weight"]),
                               "score": None if b.get("score") is None else float(b["score"]),
                               "detail": b["detail"]} for b in breakdown]}


class Command(BaseCommand):
    help = "按考核方案对某月（2026-10）、某季度（2026Q3）或全年（2026）进行考评并保存结果"

    def add_arguments(self, parser):
        parser.add_argument("--scheme", required=True, help="考核方案代码")
        parser.add_argument("--period", required=True, help="周期：2026-10、2026Q3 或 2026")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")
        parser.add_argument("--today", default=None, help="以此日期为考评日（YYYY-MM-DD），默认今天")
        parser.add_argument("--replace", action="store_true",
                            help="该周期已考评过时，按当前数据重新考评并替换原结果（不加则不改动原结果）")

    def handle(self, *args, scheme, period, format, today, replace=False, **options):
        found = Scheme.objects.filter(code=scheme.strip()).first()
        if found is None:
            raise CommandError(f"--scheme：考核方案“{scheme}”不存在", returncode=2)
        day = today_arg(today)
        try:
            p = services.check_period(found, period)
            label = p.label
            existing = queries.run_of_period(found, label)
            if existing is not None and not replace:
                raise CommandError(f"{services.replace_message(existing)}。原结果未改动；"
                                   "如需重新考评并替换原结果，请加 --replace", returncode=2)
            run = services.run_evaluation(None, found, label, today=day, replace=replace)
        except services.AssessmentError as exc:
            raise CommandError(exc.message, returncode=2) from None
        replaced = existing is not None
        if format == "json":
            stream_json(self.stdout, rows_of(run))
            return
        rows = list(rows_of(run))
        labels = dict(Grade.choices)
        head = ("名次", "代码", "考核对象", "得分", "等次")
        self.stdout.write(table([head] + [(r["place"] or "—", r["target_code"], r["target_name"],
                                           "无得分" if r["score"] is None else f"{r['score']:.2f}",
                                           labels[r["grade"]] if r["grade"] else ("暂定" if not run.is_final else "—"))
                                          for r in rows]))
        counts = {labels[g]: sum(1 for r in rows if r["grade"] == g) for g in labels}
        done = f"{run}（已重新考评，替换原结果）" if replaced else f"{run}"
        graded = ("，".join(f"{k} {v}" for k, v in counts.items()) if run.is_final
                  else "暂定（" + "；".join(run.draft_reasons) + "），不评等次")
        self.stdout.write(f"{done}：{len(rows)} 个考核对象，" + graded
                          + (f"；{run.pending_manual} 项待考核组评分（暂不计入）" if run.pending_manual else "")
                          + f"；{run.admonitions.count()} 个列入约谈")

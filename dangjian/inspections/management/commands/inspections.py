"""`dangjian inspections draw ID [--format json|table]`: re-run the draw of a random inspection
from its recorded seed and pool, and say whether it gives the targets recorded; exit 1 when not.
`dangjian inspections list [--year 2026] --format json|table`: the plans with their progress."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.core.cli import fail, table, to_json
from dangjian.inspections import draw
from dangjian.inspections.models import Inspection


class Command(BaseCommand):
    help = "督查：复核随机督查的抽取结果（draw），或列出督查计划（list）"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["draw", "list"], help="draw 复核抽取；list 列出督查计划")
        parser.add_argument("id", nargs="?", default="", help="督查编号（draw 时必填）")
        parser.add_argument("--year", default="", help="年度，如 2026（list 时可用）")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")

    def handle(self, *args, action, id, year, format, **options):
        if action == "list":
            return self._list(year, format)
        raw = str(id).strip()
        if not raw.isdigit():
            raise CommandError(f"督查编号：“{raw[:20]}”不是有效的编号", returncode=2)
        inspection = Inspection.objects.filter(pk=int(raw)).first()
        if inspection is None:
            raise CommandError(f"没有编号为 {raw} 的督查", returncode=2)
        if not inspection.is_random or inspection.draw_seed is None:
            raise CommandError(f"“{inspection.title}”不是随机督查，没有抽取记录", returncode=2)
        again = draw.rerun(inspection.draw_pool, inspection.draw_count, inspection.draw_seed)
        recorded = list(inspection.targets.filter(position__gt=0).order_by("org__path")
                        .values_list("org__code", flat=True))
        same = sorted(again) == sorted(recorded)
        if format == "json":
            self.stdout.write(to_json({"id": inspection.pk, "seed": inspection.draw_seed, "count": inspection.draw_count,
                                       "rule": inspection.draw_rule, "pool": inspection.draw_pool,
                                       "drawn": again, "recorded": recorded, "same": same}))
        else:
            self.stdout.write(f"{inspection.title}：种子 {inspection.draw_seed}，从 {len(inspection.draw_pool)} 个党组织中抽取"
                              f" {inspection.draw_count} 个")
            n = max(len(again), len(recorded))
            pad = lambda codes: codes + [""] * (n - len(codes))  # noqa: E731
            self.stdout.write(table([("重新抽取", "已记录"), *zip(pad(again), pad(recorded))]))
            self.stdout.write("结果一致。" if same else "结果不一致：督查对象与按种子重新抽取的结果不同。")
        if not same:
            fail(self, "抽取结果与记录不一致", 1)

    def _list(self, year, format):
        qs = Inspection.objects.select_related("issuer").order_by("-starts_on", "-id")
        raw = str(year).strip()
        if raw:
            if not raw.isdigit() or len(raw) != 4:
                raise CommandError(f"--year：“{raw[:20]}”不是有效的年份（如 2026）", returncode=2)
            qs = qs.filter(year=int(raw))
        rows = [{"id": i.pk, "title": i.title, "kind": i.kind, "unannounced": i.unannounced, "issuer": i.issuer.code,
                 "starts_on": i.starts_on.isoformat(), "ends_on": i.ends_on.isoformat(), "status": i.status}
                for i in qs]
        if format == "json":
            self.stdout.write(to_json({"inspections": rows}))
            return
        self.stdout.write(table([("编号", "名称", "方式", "组织单位", "开始", "状态")] + [
            (r["id"], r["title"], r["kind"], r["issuer"], r["starts_on"], r["status"]) for r in rows]))

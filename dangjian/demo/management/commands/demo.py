"""`dangjian demo`: build the deterministic demo city (示例市) and print its logins."""
import datetime as dt
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from dangjian.core.text import terminal_table
from dangjian.demo import generator


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--today 应为 YYYY-MM-DD 格式的日期，收到“{value}”") from None


class Command(BaseCommand):
    help = "生成可重复的示例市演示数据（默认约 60 个部门、500 个党支部、10,000 名党员）"

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=10_000, help="党员人数（部门和支部数随之缩放），默认 10000")
        parser.add_argument("--seed", type=int, default=2026, help="随机种子：相同种子生成相同数据，默认 2026")
        parser.add_argument("--today", default=None, help="基准日期 YYYY-MM-DD（届满、空缺等据此计算），默认今天")
        parser.add_argument("--reset", action="store_true", help="先清空数据库中已有的组织、党员、账号和记录（仅用于演示库）")
        parser.add_argument("--if-empty", action="store_true",
                            help="数据库中已有党组织时不生成、正常退出（make demo 可重复运行）")

    def handle(self, *args, members, seed, today, reset, if_empty=False, **options):
        today = _date(today) if today else timezone.localdate()
        try:
            generator.check_size(members)
        except generator.DemoError as exc:
            raise CommandError(str(exc).replace("党员人数", "--members ")) from None
        orgs, taken = generator.existing_data()
        if if_empty and orgs and not reset:
            self.stdout.write(
                f"数据库中已有 {orgs} 个党组织，保留现有数据，未重新生成。"
                f"演示账号 {'、'.join(taken) or '（无）'}，密码 {generator.DEMO_PASSWORD}。"
            )
            return
        if not reset and orgs:
            raise CommandError(
                f"数据库中已有 {orgs} 个党组织，为避免覆盖真实数据，未生成示例数据。"
                "如确认这是演示库，请加 --reset 先清空再生成。"
            )
        if not reset and taken:
            raise CommandError(
                f"用户名 {'、'.join(taken)} 已被占用，未生成示例数据。如确认这是演示库，请加 --reset 先清空再生成。"
            )

        started = time.perf_counter()
        planner = generator.stream_city(members=members, seed=seed, today=today)
        bar = tqdm(total=1, file=sys.stderr, unit="人", desc="生成示例市", dynamic_ncols=True,
                   disable=options.get("verbosity", 1) == 0)

        def progress(done: int, total: int, message: str) -> None:
            bar.total = total
            bar.n = done
            bar.set_description(message)
            bar.refresh()

        try:
            with transaction.atomic():
                if reset:
                    bar.set_description("清空原有数据")
                    generator.clear_demo_data()
                result = generator.write_city(planner, progress)
        except generator.DemoError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        elapsed = time.perf_counter() - started
        self._report(result, elapsed)

    def _report(self, r: dict, elapsed: float) -> None:
        kinds = r["orgs_by_kind"]
        lines = [
            f"示例市已生成（种子 {r['seed']}，基准日期 {r['today']}），用时 {elapsed:.1f} 秒。",
            "",
            terminal_table([
                ("项目", "数量"),
                ("部门（单位）", r["departments"]),
                ("党组织合计", r["orgs"]),
                *[(f"  {label}", n) for label, n in kinds.items() if n],
                ("  其中联合党支部", r["joint_branches"]),
                ("党员", r["members"]),
                ("  其中预备党员", r["probationary"]),
                *([("组织生活记录（近一年）", r["life"]["activities"]), ("合规结果", r["life"]["compliance_rows"])]
                  if "life" in r else []),
                *([("考核方案", r["assessment"]["schemes"]), ("考评（月度、季度）", r["assessment"]["runs"]),
                   ("约谈（已约谈）", f"{r['assessment']['admonitions']}（{r['assessment']['admonitions_held']}）")]
                  if "assessment" in r else []),
                *([("星级评定（年度）", "、".join(map(str, r["ratings"]["years"])) or "—"),
                   ("软弱涣散整顿", r["ratings"]["weak"].get("cases", 0))] if "ratings" in r else []),
                *([("述职评议（述职报告、评议票）", f"{len(r['reviews']['reviews'])}（{r['reviews']['reports']}、"
                                                   f"{r['reviews']['votes']}）")] if "reviews" in r else []),
                *([("责任清单（责任人、已标记完成）", f"{r['duties']['role_holders']}（{r['duties']['marks']}）")]
                  if "duties" in r else []),
                *([("表彰决定", f"{r['commendations']['number']}（{r['commendations']['honours']} 个先进集体和个人）"
                   if r["commendations"].get("number") else r["commendations"]["message"])]
                  if "commendations" in r else []),
                *([("督查整改事项（未销号、其中超期，已销号）", f"{r['rectification']['total']}（{r['rectification']['open']}、"
                   f"{r['rectification']['overdue']}，{r['rectification']['closed']}）"),
                   ("督查整改催办、督办", f"{r['rectification']['swept']['remind']}、"
                                         f"{r['rectification']['swept']['escalate']}")]
                  if "total" in r.get("rectification", {}) else []),
                *([("党费交纳记录（补交；连续6月未交）", f"{r['dues']['payments']}（{r['dues']['backpay']}；"
                   f"{r['dues']['lapsing']} 人）")] if "dues" in r else []),
                *([("组织关系转接（系统内、系统外、逾期）",
                    f"{r['transfers']['internal']}、{r['transfers']['out']}、{r['transfers']['overdue']}"),
                   ("整建制转接（人）", r["transfers"]["bulk"]),
                   ("流动党员、失联、停止党籍", f"{r['transfers']['mobile']}、{r['transfers']['lost']}、"
                                              f"{r['transfers']['suspended']}")]
                  if "internal" in r.get("transfers", {}) else []),
            ]),
            "",
            "演示账号（仅供演示，请勿在正式环境使用）：",
            terminal_table([("用户名", "姓名", "角色", "范围（含下级）", "关联党员", "密码")] + [
                (a["username"], a["name"], a["role"], a["scope"], a["member"] or "—", a["password"])
                for a in r["accounts"]
            ]),
        ]
        self.stdout.write("\n".join(lines))

"""`dangjian honours --year 2026 [--org CODE] --format json|table`: the published 表彰决定 of a
year with the organizations and members they honoured; with --org, only the honours whose
organization is in that org's subtree (and the decisions that keep one)."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.commendations import queries
from dangjian.core.cli import table, to_json
from dangjian.orgs.models import Organization


class Command(BaseCommand):
    help = "列出某年度已印发的表彰决定及其表彰的先进集体和个人（可限某党组织及其下级）"

    def add_arguments(self, parser):
        parser.add_argument("--year", required=True, help="表彰年度，如 2026")
        parser.add_argument("--org", default="", help="组织代码：只列该组织及其下级组织受到的表彰")
        parser.add_argument("--format", default="table", choices=["json", "table"], help="输出格式")

    def handle(self, *args, year, org, format, **options):
        raw = str(year).strip()
        if not raw.isdigit() or len(raw) != 4:
            raise CommandError(f"--year：“{year}”不是有效的年份（如 2026）", returncode=2)
        root = None
        if org.strip():
            root = Organization.objects.filter(code=org.strip()).first()
            if root is None:
                raise CommandError(f"--org：没有组织代码为“{org.strip()}”的党组织", returncode=2)
        rows = queries.command_rows(int(raw), root)
        if format == "json":
            self.stdout.write(to_json({"decisions": rows}))
            return
        lines = [("文号", "成文日期", "荣誉称号", "组织代码", "党组织", "党员")]
        for d in rows:
            lines += [(d["number"], d["date"], h["honour"], h["org_code"], h["org_name"], h["member_name"] or "—")
                      for h in d["honours"]]
        self.stdout.write(table(lines))
        count = sum(len(d["honours"]) for d in rows)
        self.stdout.write(f"{raw} 年已印发表彰决定 {len(rows)} 份，表彰 {count} 个（名）先进集体和个人。")

"""`dangjian export-members --out FILE.xlsx [--org CODE]`: the roster, re-importable as is."""
from django.core.management.base import BaseCommand

from dangjian.core import audit, cli, replica
from dangjian.members.io import export_members
from dangjian.members.models import Member
from dangjian.orgs.models import Organization


class Command(BaseCommand):
    help = "导出在册党员花名册（.xlsx，含完整身份证号，可直接重新导入）"

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="输出文件，如 花名册.xlsx")
        parser.add_argument("--org", default="", help="只导出该组织代码及其全部下级组织的党员")

    @replica.reports()  # read-only: a replica may answer (its audit entry is written to the primary)
    def handle(self, *args, out, org, **options):
        qs = Member.objects.active()
        if org:
            path = Organization.objects.filter(code=org).values_list("path", flat=True).first()
            if path is None:
                cli.fail(self, f"组织代码“{org}”不存在")
            qs = qs.filter(org__path__startswith=path)
        try:
            count = export_members(qs, out)
        except OSError as exc:
            cli.fail(self, f"无法写入文件 {out}：{exc.strerror or exc}")
        audit.record_export(None, "members", "党员", count, {"org": org})
        cli.export_done(self, count, "名党员", out)

"""`dangjian export-orgs --out FILE.xlsx`: every active organization, re-importable as is."""
from django.core.management.base import BaseCommand

from dangjian.core import audit, cli, replica
from dangjian.orgs.io import export_orgs
from dangjian.orgs.models import Organization


class Command(BaseCommand):
    help = "导出全部正常状态的党组织（.xlsx，可直接重新导入）"

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="输出文件，如 组织.xlsx")

    @replica.reports()  # read-only: a replica may answer (its audit entry is written to the primary)
    def handle(self, *args, out, **options):
        try:
            count = export_orgs(Organization.objects.active(), out)
        except OSError as exc:
            cli.fail(self, f"无法写入文件 {out}：{exc.strerror or exc}")
        audit.record_export(None, "orgs", "党组织", count)
        cli.export_done(self, count, "个党组织", out)

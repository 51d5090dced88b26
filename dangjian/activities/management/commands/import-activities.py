"""`dangjian import-activities FILE.xlsx [--dry-run] [--format json]`: historical records of
organizational life."""
from dangjian.activities.io import import_activities
from dangjian.core.cli import ImportCommand


class Command(ImportCommand):
    help = "导入历史组织生活记录（.xlsx；任何一行有错则整个文件不写入，导入后重新计算合规情况）"
    noun = "条"

    def run_import(self, path, dry_run, progress):
        return import_activities(path, dry_run=dry_run, progress=progress)

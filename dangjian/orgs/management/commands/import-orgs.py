"""`dangjian import-orgs FILE.xlsx [--dry-run] [--format json]`: party organizations."""
from dangjian.core.cli import ImportCommand
from dangjian.orgs.io import import_orgs


class Command(ImportCommand):
    help = "导入党组织（.xlsx，按组织代码新增或更新；任何一行有错则整个文件不写入）"
    noun = "个组织"

    def run_import(self, path, dry_run, progress):
        return import_orgs(path, dry_run=dry_run, progress=progress)

"""`dangjian import-members FILE.xlsx [--dry-run] [--format json]`: the member roster."""
from dangjian.core.cli import ImportCommand
from dangjian.members.io import import_members


class Command(ImportCommand):
    help = "导入党员花名册（.xlsx，按身份证号新增或更新；任何一行有错则整个文件不写入）"
    noun = "人"

    def run_import(self, path, dry_run, progress):
        return import_members(path, dry_run=dry_run, progress=progress)

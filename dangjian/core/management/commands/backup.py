"""`dangjian backup --out DIR [--with-keys DIR2]`: database dump, attachments, key check
values and a manifest with checksums (core.backup, docs/operations.md)."""
from django.core.management.base import BaseCommand, CommandError

from dangjian.core.backup import BackupError, backup
from dangjian.core.keycheck import KeyMismatch


class Command(BaseCommand):
    help = "备份数据库、附件和密钥校验值（密钥本身只在指定 --with-keys 时另行复制）"

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="备份目录（新目录或空目录）")
        parser.add_argument("--with-keys", help="同时把密钥复制到这个目录；必须与备份目录分开存放")

    def handle(self, *args, out, with_keys=None, **options):
        try:
            result = backup(out, with_keys)
        except (BackupError, KeyMismatch) as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(f"备份完成：{result['out']}（数据库 {result['database']}，共 {result['files']} 个文件，"
                          f"数据密钥 {'、'.join(result['key_ids']) or '无'}）")
        if result["keys"]:
            self.stdout.write(f"密钥已复制到 {with_keys}：{'、'.join(result['keys'])}。请与数据备份分开保管。")
        else:
            self.stdout.write("备份中不含密钥：恢复时需要当前密钥目录中的密钥，请另行妥善备份密钥目录。")

"""`dangjian restore DIR [--force]`: check the backup's manifest, checksums and key check
values, then load the database and the attachments (core.backup, docs/operations.md)."""
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError

from dangjian.core.backup import BackupError, restore
from dangjian.core.keycheck import KeyMismatch


class Command(BaseCommand):
    help = "从备份目录恢复数据库和附件（先校验清单、校验和与密钥）"

    def add_arguments(self, parser):
        parser.add_argument("backup", help="备份目录（dangjian backup --out 生成）")
        parser.add_argument("--force", action="store_true", help="当前数据库已有数据时仍然覆盖")

    def handle(self, *args, backup, force=False, **options):
        try:
            result = restore(backup, force)
        except (BackupError, KeyMismatch) as exc:
            raise CommandError(str(exc), returncode=2) from None
        # Figures kept in the (shared) cache describe the database just replaced, whose ids
        # the backup's may repeat: none of them may be served again.
        cache.clear()
        self.stdout.write(f"恢复完成：数据库来自 {result['created_at']} 的备份（版本 {result['version']}），"
                          f"恢复附件 {result['files']} 个。")

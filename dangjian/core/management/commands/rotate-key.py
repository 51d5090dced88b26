"""`dangjian rotate-key [--key-file F] [--batch N]`: re-encrypt every 身份证号 and recompute
every lookup hash under a new SM4 key, then retire the old key (core.rotation)."""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from dangjian import keys
from dangjian.core.keycheck import KeyMismatch
from dangjian.core.rotation import RotationError, rotate


class Command(BaseCommand):
    help = "轮换数据加密密钥：生成（或读取）新密钥，分批重新加密全部身份证号，完成后停用旧密钥"

    def add_arguments(self, parser):
        parser.add_argument("--key-file", help="新密钥文件（32 字节密钥的 base64，可带 sm4: 前缀）；"
                                               "默认读取环境变量 DANGJIAN_NEW_FIELD_KEY，都没有则随机生成")
        parser.add_argument("--batch", type=int, default=500, help="每批重新加密的行数（每批一个事务），默认 500")

    def handle(self, *args, key_file=None, batch=500, **options):
        if batch < 1:
            raise CommandError("--batch 应为正整数", returncode=2)
        secret = None
        try:
            if key_file:
                path = Path(key_file)
                if not path.is_file():
                    raise CommandError(f"找不到密钥文件：{key_file}", returncode=2)
                secret = keys.decode(path.read_text(), key_file).secret
            elif os.environ.get("DANGJIAN_NEW_FIELD_KEY"):
                secret = keys.decode(os.environ["DANGJIAN_NEW_FIELD_KEY"], "环境变量 DANGJIAN_NEW_FIELD_KEY").secret
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from None

        def progress(label: str, done: int, total: int) -> None:
            share = done * 100 // total if total else 100
            self.stderr.write(f"正在重新加密{label}：{done}/{total}（{share}%）")

        try:
            result = rotate(secret, batch, progress)
        except (KeyMismatch, RotationError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc), returncode=3) from None
        if result["resumed"]:
            self.stdout.write("已继续完成上次中断的密钥轮换。")
        retired = "、".join(result["retired"]) or "无"
        self.stdout.write(f"密钥轮换完成：重新加密 {result['rows']} 条数据，当前密钥 {result['key']}，已停用的旧密钥：{retired}"
                          f"（移至 {keys.key_dir() / keys.RETIRED_DIR}，在以旧密钥加密的备份过期前请妥善保管）。")

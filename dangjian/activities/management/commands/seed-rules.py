"""`dangjian seed-rules`: add the organizational-life requirements of defaults.yaml that the
database does not have yet (also run after every migrate). Existing rules are never changed."""
from django.core.management.base import BaseCommand

from dangjian.activities.seed import seed_rules


class Command(BaseCommand):
    help = "按 rules/defaults.yaml 补充尚未写入数据库的组织生活频次要求（已有规则不改动）"

    def handle(self, *args, **options):
        n = seed_rules()
        self.stdout.write(f"新增 {n} 条频次要求" if n else "频次要求已是最新，无需新增")

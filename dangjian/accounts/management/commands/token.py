"""`dangjian token USERNAME [--reset]`: print the user's API token, creating it if needed."""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dangjian.accounts import services
from dangjian.accounts.models import User


class Command(BaseCommand):
    help = "生成或显示用户的 API 令牌（请求头：Authorization: Token 令牌）"

    def add_arguments(self, parser):
        parser.add_argument("username", help="用户名")
        parser.add_argument("--reset", action="store_true", help="作废原令牌并生成新令牌")

    @transaction.atomic
    def handle(self, *args, username, reset, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"用户“{username}”不存在")
        if not user.is_active:
            raise CommandError(f"用户“{username}”已停用，不能使用 API 令牌")
        token, created = services.issue_token(user, reset=reset)
        if reset or created:
            self.stderr.write(f"已为“{username}”生成新令牌" + ("，原令牌已作废" if reset else ""))
        self.stdout.write(token.key)

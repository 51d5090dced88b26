from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dangjian.accounts"
    label = "accounts"
    verbose_name = "账号"

    def ready(self):
        from django.contrib.auth import signals as auth_signals
        from django.db.models import signals
        from rest_framework.authtoken.models import Token

        from . import services

        # Every way in and out is recorded, the login page's and any other.
        auth_signals.user_logged_in.connect(
            lambda sender, request, user, **kw: services.record_login(user, services.client_address(request)),
            weak=False, dispatch_uid="accounts.record_login")
        auth_signals.user_logged_out.connect(
            lambda sender, request, user, **kw: services.record_logout(user, services.client_address(request)),
            weak=False, dispatch_uid="accounts.record_logout")
        signals.post_save.connect(services.token_saved, sender=Token, dispatch_uid="accounts.token_saved")
        signals.post_delete.connect(services.token_deleted, sender=Token, dispatch_uid="accounts.token_deleted")

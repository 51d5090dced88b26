from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _check_keys(using="default", **kwargs):
    # After migrate: a first install gets its field key and every install its key check value.
    from .keycheck import verify

    if using == "default":
        verify()


class CoreConfig(AppConfig):
    name = "dangjian.core"
    label = "core"
    verbose_name = "公共"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import (
            keycheck,  # noqa: F401  (registers the key check with `check`)
            privacy,
        )

        post_migrate.connect(_check_keys, sender=self, dispatch_uid="core_check_keys")
        user_logged_in.connect(privacy.session_started, dispatch_uid="dangjian.core.privacy.session_started")

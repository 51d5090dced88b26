from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _seed_calendar(using="default", **kwargs):
    # After migrate: the years of public holidays the bundled data knows (core.workdays).
    from .workdays import seed_from_library

    if using == "default":
        seed_from_library()


def _check_keys(using="default", **kwargs):
    # After migrate: a first install gets its field key and every install its key check value.
    from .keycheck import verify

    if using == "default":
        verify()


def _cache_table(using="default", **kwargs):
    # DANGJIAN_CACHE_URL=db: `migrate` also creates the cache table, so an upgrade or a first
    # install needs no extra step (createcachetable leaves an existing table alone).
    from django.conf import settings
    from django.core.management import call_command

    if using == "default" and any(c["BACKEND"].endswith("DatabaseCache") for c in settings.CACHES.values()):
        call_command("createcachetable", database=using, verbosity=0)


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
        post_migrate.connect(_cache_table, sender=self, dispatch_uid="core_cache_table")
        post_migrate.connect(_seed_calendar, sender=self, dispatch_uid="core_seed_calendar")
        user_logged_in.connect(privacy.session_started, dispatch_uid="dangjian.core.privacy.session_started")

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DuesConfig(AppConfig):
    """党费: the bands in force, each member's dated base, payments, arrears and collection rates."""

    name = "dangjian.dues"
    label = "dues"
    verbose_name = "党费"

    def ready(self):
        from .seed import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="dues_seed_rules")

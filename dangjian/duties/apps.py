from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DutiesConfig(AppConfig):
    """责任清单 (Duty lists): what each role must do, and whether the records show it done."""

    name = "dangjian.duties"
    label = "duties"
    verbose_name = "责任清单"

    def ready(self):
        from . import metrics  # noqa: F401 (registers duty_completion with the assessment registry)
        from .seed import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="duties_seed_items")

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CommendationsConfig(AppConfig):
    """评先评优: honours (荣誉称号), the decisions (表彰决定) that give them, and their counts."""

    name = "dangjian.commendations"
    label = "commendations"
    verbose_name = "评先评优"

    def ready(self):
        from . import panels  # noqa: F401 (puts the honours panel on the org and member pages)
        from .seed import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="commendations_seed_honours")

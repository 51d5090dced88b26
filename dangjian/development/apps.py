from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DevelopmentConfig(AppConfig):
    """发展党员: applicants from the application to full membership, the 25 steps of the five
    stages with their dates, people, votes and documents, and the timeline rules."""

    name = "dangjian.development"
    label = "development"
    verbose_name = "发展党员"

    def ready(self):
        from .seed import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="development_seed_rules")

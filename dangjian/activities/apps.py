from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ActivitiesConfig(AppConfig):
    """Organizational life (组织生活): records, the rules they answer to, compliance."""

    name = "dangjian.activities"
    label = "activities"
    verbose_name = "组织生活"

    def ready(self):
        from dangjian.orgs.signals import tree_changed

        from .compliance import on_tree_changed
        from .seed import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="activities_seed_rules")
        tree_changed.connect(on_tree_changed, dispatch_uid="activities_compliance_stale")

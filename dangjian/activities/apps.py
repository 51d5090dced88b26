from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    """Organizational life (组织生活): records, the rules they answer to, compliance, alerts."""

    name = "dangjian.activities"
    label = "activities"
    verbose_name = "组织生活"

from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    """三访三评: visits (走访), feedback (意见建议) and the complaint channel (投诉建议)."""

    name = "dangjian.feedback"
    label = "feedback"
    verbose_name = "走访与意见建议"

    def ready(self):
        from . import receivers  # noqa: F401 (follows the rectification items feedback was turned into)

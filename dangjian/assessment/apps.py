from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    """Assessment (考核): indicator schemes, monthly evaluation, quarterly grading, bulletins, admonitions."""

    name = "dangjian.assessment"
    label = "assessment"
    verbose_name = "考核"

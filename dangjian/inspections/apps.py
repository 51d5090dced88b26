from django.apps import AppConfig


class InspectionsConfig(AppConfig):
    """督查: inspection plans (日常、随机、集中、专项督查, 四不两直), their teams, targets and
    checklists, the findings recorded on site, and the outside evaluators' one-time codes."""

    name = "dangjian.inspections"
    label = "inspections"
    verbose_name = "督查"

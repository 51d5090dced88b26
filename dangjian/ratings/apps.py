from django.apps import AppConfig


class RatingsConfig(AppConfig):
    """星级评定: star ratings of branches, weak (软弱涣散) organizations and their overhaul, commendation."""

    name = "dangjian.ratings"
    label = "ratings"
    verbose_name = "星级评定"

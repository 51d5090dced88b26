from django.apps import AppConfig


class RectificationConfig(AppConfig):
    """整改: the one item workflow that every finding, comment, admonition, overhaul and piece of
    feedback feeds, from 待签收 to 已销号."""

    name = "dangjian.rectification"
    label = "rectification"
    verbose_name = "督查整改"

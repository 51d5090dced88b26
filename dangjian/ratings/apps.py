from django.apps import AppConfig


class RatingsConfig(AppConfig):
    """星级评定: star ratings of branches, weak (软弱涣散) organizations and their overhaul, commendation."""

    name = "dangjian.ratings"
    label = "ratings"
    verbose_name = "星级评定"

    def ready(self):
        # The case follows its overhaul item: closed when the item is closed (services.item_closed).
        from dangjian.rectification.signals import item_changed

        from . import services

        item_changed.connect(services.item_closed, dispatch_uid="ratings.weak_follows_its_item")

"""The feedback app follows the rectification items feedback was turned into: when one is
closed (销号), referred or returned, its feedback's solved day follows (事事有回应)."""
from django.dispatch import receiver

from dangjian.rectification.models import Item
from dangjian.rectification.signals import item_changed

from .services import follow_item


@receiver(item_changed, sender=Item, dispatch_uid="feedback_follows_items")
def on_item_changed(sender, item, event=None, **kwargs):
    follow_item(item)

"""Sent after every change of an item's state, once the transaction holding it has committed, so
an app above (a feedback's submitter, a weak organization's case) follows its items without this
app knowing it: `item_changed.send(sender=Item, item=item, event=event)`."""
from django.dispatch import Signal

item_changed = Signal()

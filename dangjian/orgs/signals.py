"""What the tree tells the apps above it. The tree imports none of them (docs/architecture.md),
so a change is announced and each app that keeps figures derived from the tree listens.

`tree_changed` is sent inside the changing transaction, with the ids of the organizations whose
own set-up changed: created, moved, re-kinded, dissolved, a committee seat filled or vacated.
(Terms are not announced: no stored figure is derived from them; the structure alerts read
them live.)"""
from django.dispatch import Signal

tree_changed = Signal()  # sender, org_ids: list[int]


def announce(org_ids) -> None:
    ids = sorted({i for i in org_ids if i is not None})
    if ids:
        tree_changed.send(sender="orgs", org_ids=ids)

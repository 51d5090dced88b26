"""The seeding of `Honour` from dangjian/rules/commendations.yaml: after every `migrate`, the
titles whose code is missing are added; a title that exists (renamed by staff or not) is left."""
from __future__ import annotations

from dangjian.core import defaults

from .models import Recipient


def honour_specs() -> list[dict]:
    specs = []
    for position, item in enumerate(defaults.load("commendations").get("honours") or []):
        if item["recipient"] not in Recipient.values:
            raise ValueError(f"commendations.yaml: unknown recipient of {item['code']}")
        specs.append(dict(code=item["code"], name=item["name"], recipient=item["recipient"],
                          source=item.get("source", ""), position=position))
    return specs


def seed_honours(using: str = "default") -> int:
    from .models import Honour

    existing = set(Honour.objects.using(using).values_list("code", flat=True))
    names = set(Honour.objects.using(using).values_list("name", flat=True))
    new = [Honour(**s) for s in honour_specs() if s["code"] not in existing and s["name"] not in names]
    Honour.objects.using(using).bulk_create(new)
    return len(new)


def on_post_migrate(sender, using="default", **kwargs):
    seed_honours(using)

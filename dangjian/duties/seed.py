"""The seeding of `DutyItem` from the default duty lists (dangjian/rules/duties.yaml).

Seeded after every `migrate` (and by the demo) rather than by a data migration, for the same
reasons as the activity rules (activities/seed.py): the file is only the starting point, 工委
staff edit the lists in the platform, so seeding adds the items whose code is missing and never
touches one that exists; an item added to the file reaches existing installations on their next
migrate; a database emptied by `flush` gets its lists back.
"""
from __future__ import annotations

from dangjian.activities.models import KIND_LABELS

from .catalog import catalog
from .models import ROLE_LABELS, Evidence, Per, Relation, Where

SEED_FROM_YEAR = 2000


def item_specs() -> list[dict]:
    """The file's items as DutyItem field values."""
    specs = []
    for role, items in (catalog().get("duty_lists") or {}).items():
        if role not in ROLE_LABELS:
            raise ValueError(f"duties.yaml: unknown role {role}")
        for position, item in enumerate(items or []):
            evidence = item["evidence"]
            spec = dict(code=item["code"], role=role, title=item["title"], period=item["period"],
                        min_count=item.get("count", 1), source=item.get("source", ""),
                        confirmed=bool(item.get("confirmed")), note=item.get("note", ""), position=position,
                        leaders_only=bool(item.get("leaders_only")), from_year=SEED_FROM_YEAR)
            if evidence == "manual":
                spec.update(evidence=Evidence.MANUAL, kinds=[], where="", relation="",
                            fact=item.get("fact", ""), per=item.get("per", Per.PERSON))
            else:
                kinds = list(evidence["kinds"])
                unknown = [k for k in kinds if k not in KIND_LABELS]
                if unknown or evidence["where"] not in Where.values or evidence["relation"] not in Relation.values:
                    raise ValueError(f"duties.yaml: bad evidence of {item['code']}")
                spec.update(evidence=Evidence.DERIVED, kinds=kinds, where=evidence["where"],
                            relation=evidence["relation"], fact="", per=Per.PERSON)
            specs.append(spec)
    return specs


def seed_items(using: str = "default") -> int:
    """Create the items whose code is not in the database yet; returns how many."""
    from .models import DutyItem

    existing = set(DutyItem.objects.using(using).values_list("code", flat=True).distinct())
    new = [DutyItem(**spec) for spec in item_specs() if spec["code"] not in existing]
    DutyItem.objects.using(using).bulk_create(new)
    return len(new)


def on_post_migrate(sender, app_config=None, verbosity=1, using="default", **kwargs):
    if app_config is None or app_config.label != "duties":
        return
    seed_items(using=using)

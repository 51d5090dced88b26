"""The 整改要求 of every admonition already held become a rectification item: source
"admonition", on the task list, issued by the working committee over the admonished organization,
opened on the day of the talk and due three months after it (the earlier records have no
deadline), in rectification from then on. Backwards, those items are removed (the requirements
stay in the admonition's own record)."""
import datetime as dt

from django.db import migrations

from dangjian.core.periods import name_of

DEFAULT_DEADLINE_DAYS = 90


def _committee(Organization, org, cache):
    prefixes = [org.path[:i] for i in range(9, len(org.path) + 1, 9)]
    key = org.path[:-9] or org.path
    if key not in cache:
        found = (Organization.objects.filter(path__in=prefixes, kind="working_committee").order_by("-path").first())
        cache[key] = found or Organization.objects.get(path=org.path[:9])
    return cache[key]


def forwards(apps, schema_editor):
    Admonition = apps.get_model("assessment", "Admonition")
    Organization = apps.get_model("orgs", "Organization")
    Item = apps.get_model("rectification", "Item")
    ItemEvent = apps.get_model("rectification", "ItemEvent")
    have = set(Item.objects.filter(source="admonition").values_list("source_id", flat=True))
    cache = {}
    held = (Admonition.objects.filter(status="done", talked_on__isnull=False).exclude(outcome="")
            .select_related("org", "run__scheme").order_by("id"))
    for adm in held.iterator(chunk_size=500):
        if adm.pk in have:
            continue
        item = Item.objects.create(
            list="task", source="admonition", source_id=adm.pk,
            source_label=f"{adm.run.scheme.name} {name_of(adm.run.period)}约谈"[:200], title=f"{adm.org.name}约谈整改"[:200],
            description=adm.outcome, org=adm.org, issuer=_committee(Organization, adm.org, cache),
            opened_on=adm.talked_on, deadline=adm.talked_on + dt.timedelta(days=DEFAULT_DEADLINE_DAYS),
            status="rectifying")
        ItemEvent.objects.create(item=item, kind="open", on=adm.talked_on, text=adm.outcome)


def backwards(apps, schema_editor):
    Item = apps.get_model("rectification", "Item")
    while Item.objects.filter(source="admonition").exists():  # a referral chain from its last item back
        Item.objects.filter(source="admonition").exclude(
            pk__in=Item.objects.filter(referred_from__isnull=False).values("referred_from")).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("assessment", "0006_run_draft_and_final"),
        ("rectification", "0002_item_withdrawn"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

"""Every weak organization's overhaul becomes a rectification item: source "overhaul" (its record
the case), on the task list, issued by the working committee over the organization, opened on
the day of identification and due on the plan's deadline, its requirements the measures and the
person responsible. Its progress notes become the item's timeline; a closed case's item is closed
on the case's day with its verification (after a request for closing on the same day, since the
old flow had none); a withdrawn case's item is withdrawn. A case with notes but no plan yet gets
a pending item due three months after identification, which the plan revises when saved.
Backwards, the notes come back from the timelines and the items are removed."""
import datetime as dt

from django.db import migrations

DEFAULT_DEADLINE_DAYS = 90
NO_REQUEST = "由原整顿记录转入：当时由机关工委直接验收销号"


def _committee(Organization, org, cache):
    key = org.path[:-9] or org.path
    if key not in cache:
        prefixes = [org.path[:i] for i in range(9, len(org.path) + 1, 9)]
        found = Organization.objects.filter(path__in=prefixes, kind="working_committee").order_by("-path").first()
        cache[key] = found or Organization.objects.get(path=org.path[:9])
    return cache[key]


def forwards(apps, schema_editor):
    WeakOrg = apps.get_model("ratings", "WeakOrg")
    WeakNote = apps.get_model("ratings", "WeakNote")
    Organization = apps.get_model("orgs", "Organization")
    Item = apps.get_model("rectification", "Item")
    ItemEvent = apps.get_model("rectification", "ItemEvent")
    have = set(Item.objects.filter(source="overhaul").values_list("source_id", flat=True))
    with_notes = set(WeakNote.objects.values_list("weak_id", flat=True))
    cache = {}
    for w in WeakOrg.objects.select_related("org").order_by("id").iterator(chunk_size=500):
        if w.pk in have or (w.deadline is None and w.pk not in with_notes):
            continue
        planned = w.deadline is not None
        if planned:
            description = f"{w.measures}\n整顿责任人：{w.responsible}"
        else:
            description = "（尚未制定整顿方案）"
        deadline = max(w.deadline or w.identified_on + dt.timedelta(days=DEFAULT_DEADLINE_DAYS), w.identified_on)
        notes = list(WeakNote.objects.filter(weak=w).order_by("noted_on", "id"))
        status = {"closed": "closed", "withdrawn": "withdrawn"}.get(w.status, "rectifying" if planned else "pending")
        item = Item.objects.create(
            list="task", source="overhaul", source_id=w.pk,
            source_label=f"{w.identified_on:%Y年%m月%d日}认定软弱涣散党组织", title=f"{w.org.name}软弱涣散整顿"[:200],
            description=description, org=w.org, issuer=_committee(Organization, w.org, cache),
            opened_on=w.identified_on, deadline=deadline, status=status,
            closed_on=w.closed_on if status == "closed" else None, created_by=w.identified_by)
        events = [ItemEvent(item=item, kind="open", on=w.identified_on, text=description, user=w.identified_by)]
        events += [ItemEvent(item=item, kind="note", on=n.noted_on, text=n.text, user=n.author) for n in notes]
        if status == "closed":
            on = w.closed_on or w.identified_on
            events += [ItemEvent(item=item, kind="request", on=on, text=NO_REQUEST),
                       ItemEvent(item=item, kind="close", on=on, text=w.verification, user=w.closed_by)]
        elif status == "withdrawn":
            on = max([w.identified_on, *(n.noted_on for n in notes)])
            events.append(ItemEvent(item=item, kind="withdraw", on=on, text=f"撤销软弱涣散认定：{w.withdrawn_reason}"))
        ItemEvent.objects.bulk_create(events)


def backwards(apps, schema_editor):
    WeakNote = apps.get_model("ratings", "WeakNote")
    Item = apps.get_model("rectification", "Item")
    ItemEvent = apps.get_model("rectification", "ItemEvent")
    notes = ItemEvent.objects.filter(item__source="overhaul", kind="note").select_related("item").order_by("on", "id")
    WeakNote.objects.bulk_create([WeakNote(weak_id=e.item.source_id, noted_on=e.on, text=e.text, author=e.user)
                                  for e in notes])
    while Item.objects.filter(source="overhaul").exists():  # a referral chain from its last item back
        Item.objects.filter(source="overhaul").exclude(
            pk__in=Item.objects.filter(referred_from__isnull=False).values("referred_from")).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("ratings", "0004_weakorg_version"),
        ("rectification", "0002_item_withdrawn"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

"""Every 点评整改事项 becomes a rectification item: source "review" (its record the report), on
the problem list, issued by the review's organizing org to the reporting org, the reporter named
responsible when they belong to that org, due on its 整改期限 or three months after it was entered.
Its timeline shows it opened, and for one marked done the request (the 整改情况 as evidence) and
the close on the day it was marked done. Backwards, each such item becomes a comment again."""
import datetime as dt

from django.db import migrations
from django.utils import timezone

DEFAULT_DEADLINE_DAYS = 90
MIGRATED = "由原点评整改事项转入"


def _day(value):
    if value is None:
        return None
    return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()


def _title(text):
    first = text.strip().splitlines()[0].strip() if text.strip() else "点评意见"
    return first if len(first) <= 60 else first[:59] + "…"


def forwards(apps, schema_editor):
    ReviewItem = apps.get_model("reviews", "ReviewItem")
    Item = apps.get_model("rectification", "Item")
    ItemEvent = apps.get_model("rectification", "ItemEvent")
    for old in (ReviewItem.objects.select_related("report__review__org", "report__org", "report__reporter__org")
                .order_by("id").iterator(chunk_size=500)):
        report = old.report
        opened = _day(old.created_at) or timezone.localdate()
        done_on = _day(old.done_at) if old.status == "done" else None
        if done_on is not None and done_on < opened:
            done_on = opened
        deadline = max(old.due_on or opened + dt.timedelta(days=DEFAULT_DEADLINE_DAYS), opened)
        reporter = report.reporter
        in_org = reporter.org_id is not None and reporter.org.path.startswith(report.org.path)
        item = Item.objects.create(
            list="problem", source="review", source_id=report.pk,
            source_label=f"{report.review.title}·{report.org.name}"[:200], title=_title(old.text)[:200],
            description=old.text, org=report.org, responsible=reporter if in_org else None, issuer=report.review.org,
            opened_on=opened, deadline=deadline, status="closed" if done_on else "rectifying", closed_on=done_on,
            created_by=old.created_by, version=old.version)
        events = [ItemEvent(item=item, kind="open", on=opened, text=old.text, user=old.created_by)]
        if done_on:
            events += [ItemEvent(item=item, kind="request", on=done_on, text=old.done_note or "已整改"),
                       ItemEvent(item=item, kind="close", on=done_on, text=f"{MIGRATED}，当时标记为已整改")]
        ItemEvent.objects.bulk_create(events)


def backwards(apps, schema_editor):
    ReviewItem = apps.get_model("reviews", "ReviewItem")
    Item = apps.get_model("rectification", "Item")
    ItemEvent = apps.get_model("rectification", "ItemEvent")
    items = Item.objects.filter(source="review", referred_from__isnull=True).order_by("id")
    for item in items.iterator(chunk_size=500):
        request = ItemEvent.objects.filter(item=item, kind="request").order_by("-id").first()
        closed = item.status == "closed"
        when = (timezone.make_aware(dt.datetime.combine(item.closed_on, dt.time(12)))
                if closed and item.closed_on else None)
        ReviewItem.objects.create(report_id=item.source_id, text=item.description or item.title,
                                  due_on=item.deadline, status="done" if closed else "open",
                                  done_note=request.text if closed and request else "", done_at=when,
                                  created_by=item.created_by)
    referred = Item.objects.filter(source="review")
    ItemEvent.objects.filter(item__in=referred).delete()
    while referred.exists():  # a referral chain goes from its last item back to its first
        Item.objects.filter(source="review").exclude(
            pk__in=Item.objects.filter(referred_from__isnull=False).values("referred_from")).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("reviews", "0007_report_version"),
        ("rectification", "0002_item_withdrawn"),
        ("members", "0007_member_name_index"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

"""Pinyin of org names for search (as members have), filled for the organizations already
stored; from now on `Organization.save()` and the bulk writers keep them."""
import re

from django.db import migrations, models

from dangjian.core.text import pinyin_full, pinyin_initials

_NOT_PINYIN = re.compile(r"[^a-z0-9]")


def backfill(apps, schema_editor):
    Organization = apps.get_model("orgs", "Organization")
    batch = []
    for org in Organization.objects.only("pk", "name").order_by("pk").iterator(chunk_size=2000):
        org.name_pinyin = _NOT_PINYIN.sub("", pinyin_full(org.name))
        org.name_initials = _NOT_PINYIN.sub("", pinyin_initials(org.name))
        batch.append(org)
        if len(batch) == 500:
            Organization.objects.bulk_update(batch, ["name_pinyin", "name_initials"])
            batch = []
    Organization.objects.bulk_update(batch, ["name_pinyin", "name_initials"])


class Migration(migrations.Migration):

    dependencies = [
        ("orgs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="name_initials",
            field=models.CharField(default="", editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name="organization",
            name="name_pinyin",
            field=models.CharField(default="", editable=False, max_length=600),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

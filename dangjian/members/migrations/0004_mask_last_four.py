"""The stored mask keeps only the last four digits (core.idcard.mask): the region prefix
beside the birth date left too few candidates for the whole number."""
from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Concat, Right


def last_four(apps, schema_editor):
    Member = apps.get_model("members", "Member")
    Member.objects.update(id_mask=Concat(Value("*" * 14), Right("id_mask", 4)))


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0003_member_version'),
    ]

    operations = [
        migrations.RunPython(last_four, migrations.RunPython.noop),
    ]

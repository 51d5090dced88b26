from django.db import migrations, models


def fill_scores(apps, schema_editor):
    """The stored copies take their score from their figures, a chunk of ids at a time."""
    FormalismSignal = apps.get_model("activities", "FormalismSignal")
    copies = FormalismSignal.objects.filter(kind="copied_minutes", score__isnull=True).order_by("pk")
    batch = []
    for row in copies.only("pk", "figures").iterator(chunk_size=2000):
        row.score = (row.figures or {}).get("score")
        batch.append(row)
        if len(batch) >= 2000:
            FormalismSignal.objects.bulk_update(batch, ["score"])
            batch = []
    if batch:
        FormalismSignal.objects.bulk_update(batch, ["score"])


class Migration(migrations.Migration):

    dependencies = [
        ('activities', '0011_compliance_end_status_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='formalismsignal',
            name='score',
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(fill_scores, migrations.RunPython.noop),
    ]

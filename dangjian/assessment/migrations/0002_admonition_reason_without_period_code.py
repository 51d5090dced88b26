"""An admonition's reason began with its run's period code ("2026Q1 考评得分 …"); every page shows
it beside the run, which names the period in Chinese, so the reason now says only why."""
from django.db import migrations


def forwards(apps, schema_editor):
    Admonition = apps.get_model("assessment", "Admonition")
    changed = []
    for a in Admonition.objects.select_related("run").only("pk", "reason", "run__period").iterator():
        prefix = f"{a.run.period} 考评得分"
        if a.reason.startswith(prefix):
            a.reason = a.reason[len(a.run.period) + 1:]
            changed.append(a)
    Admonition.objects.bulk_update(changed, ["reason"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("assessment", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""Exports were recorded under the app that offered them ("exchange.export", "ratings.export");
there is now one export record for every app (core.audit.record_export)."""
from django.db import migrations

OLD = ("exchange.export", "ratings.export")


def forwards(apps, schema_editor):
    apps.get_model("core", "AuditEntry").objects.filter(table__in=OLD).update(table="core.export")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_actions")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

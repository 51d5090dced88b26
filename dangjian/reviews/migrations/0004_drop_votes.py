from django.db import migrations


def rewrite_files(apps, schema_editor):
    """A dropped column's values stay in the table's file, and a dropped table's pages in the
    database file, until they are written anew: rewrite them so no time of use is left."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM FULL reviews_ballot")  # rewritten rows hold NULL for dropped columns
        elif connection.vendor == "sqlite":
            cursor.execute("VACUUM")


class Migration(migrations.Migration):
    """The per-vote rows and the ballots' times of use are gone: each could link a vote to a
    ballot (docs/reviews.md)."""

    # VACUUM cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("reviews", "0003_votes_into_counts"),
    ]

    operations = [
        migrations.RemoveField(model_name="ballot", name="used_at"),
        migrations.DeleteModel(name="Vote"),
        migrations.RunPython(rewrite_files, migrations.RunPython.noop),
    ]

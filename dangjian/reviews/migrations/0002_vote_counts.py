import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Vote counters per (report, voter group, grade) and a plain “used” mark on ballots; the
    next migration moves the existing votes into them."""

    dependencies = [
        ("reviews", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="VoteCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("grade", models.CharField(choices=[("excellent", "好"), ("good", "较好"), ("fair", "一般"),
                                                    ("poor", "差")], max_length=10)),
                ("count", models.PositiveIntegerField(default=0)),
                ("writes", models.PositiveIntegerField(default=0)),
                ("group", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                            to="reviews.votergroup")),
                ("report", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                             to="reviews.dutyreport")),
                ("review", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                             to="reviews.dutyreview")),
            ],
            options={
                "verbose_name": "评议票数",
                "indexes": [models.Index(fields=["review", "report"], name="reviews_vot_review__09ceb2_idx")],
                "constraints": [models.UniqueConstraint(fields=("report", "group", "grade"),
                                                        name="one_vote_count_per_report_group_grade")],
            },
        ),
        migrations.AddField(
            model_name="ballot",
            name="used",
            field=models.BooleanField(default=False),
        ),
    ]

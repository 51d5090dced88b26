from django.db import migrations

GRADES = ("excellent", "good", "fair", "poor")


def votes_into_counts(apps, schema_editor):
    """Every review whose voting has opened gets a counter for each (report, voter group, grade),
    holding the number of its per-vote rows; a ballot with a time of use is marked used. The
    per-vote rows and the times are dropped by the next migration."""
    DutyReview = apps.get_model("reviews", "DutyReview")
    DutyReport = apps.get_model("reviews", "DutyReport")
    VoterGroup = apps.get_model("reviews", "VoterGroup")
    Vote = apps.get_model("reviews", "Vote")
    VoteCount = apps.get_model("reviews", "VoteCount")
    Ballot = apps.get_model("reviews", "Ballot")
    from django.db.models import Count

    for review in DutyReview.objects.exclude(status="draft").order_by("pk"):
        counted = {(r, g, grade): n for r, g, grade, n in Vote.objects.filter(review_id=review.pk)
                   .values_list("report_id", "group_id", "grade").annotate(n=Count("id")).order_by()}
        groups = list(VoterGroup.objects.filter(review_id=review.pk).order_by("pk").values_list("pk", flat=True))
        reports = list(DutyReport.objects.filter(review_id=review.pk).order_by("pk").values_list("pk", flat=True))
        used = Ballot.objects.filter(group__review_id=review.pk, used_at__isnull=False).count()
        VoteCount.objects.bulk_create([
            VoteCount(review_id=review.pk, report_id=r, group_id=g, grade=grade, count=counted.get((r, g, grade), 0),
                      writes=used)
            for r in reports for g in groups for grade in GRADES], batch_size=1000)
    Ballot.objects.filter(used_at__isnull=False).update(used=True)
    Vote.objects.all().delete()


def counts_into_votes(apps, schema_editor):
    """Back to one row per vote (in no particular order, with random keys); times of use are lost."""
    import secrets

    Vote = apps.get_model("reviews", "Vote")
    VoteCount = apps.get_model("reviews", "VoteCount")
    Ballot = apps.get_model("reviews", "Ballot")
    rows = []
    for c in VoteCount.objects.filter(count__gt=0):
        rows += [Vote(id=secrets.randbits(63) or 1, review_id=c.review_id, report_id=c.report_id, group_id=c.group_id,
                      grade=c.grade) for _ in range(c.count)]
    Vote.objects.bulk_create(rows, batch_size=1000)
    VoteCount.objects.all().delete()
    closed = {b.pk: b.group.review.closed_at or b.group.review.opened_at
              for b in Ballot.objects.filter(used=True).select_related("group__review")}
    for pk, at in closed.items():
        Ballot.objects.filter(pk=pk).update(used_at=at)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0002_vote_counts"),
    ]

    operations = [
        migrations.RunPython(votes_into_counts, counts_into_votes),
    ]

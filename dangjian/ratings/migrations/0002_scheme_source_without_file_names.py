"""A year's rating rules built from the defaults cited them by file name ("rules/defaults.yaml
star_rating（…）：…参照 SOURCES.md 7.6 所列…"); users now read the same citation without file names.

A data migration: rating rules are never re-seeded (a year's scheme is built once, from the year
before or the defaults), so only a one-time rewrite reaches existing installations. Only a source
still reading exactly as the platform wrote it is rewritten — a year copied from another copies
the text, so it is caught too; one that staff edited stays as they wrote it — and each rewrite is
in the change history, made by the system. Both texts are frozen here.
"""
from django.db import migrations

NOTE = "依据不再写平台内部的文件名"
OLD = ("rules/defaults.yaml star_rating（本地默认值，原文待核对）：本地默认值：分数线与五星比例参照 SOURCES.md 7.6 "
       "所列地方星级评定做法（百分制，95分以上五星且不超过10%，85、75、65、60分分档，60分以下后进），软弱涣散情形参照 7.7"
       "（书记空缺超过3个月、超期未换届、组织生活不正常）；封顶情形和示范比例为本地设定")
NEW = ("本地默认值（国家未规定星级评定标准）：分数线与五星比例参照地方星级评定做法（百分制，95分以上五星且不超过10%，"
       "85、75、65、60分分档，60分以下后进），软弱涣散情形参照地方认定标准（书记空缺超过3个月、超期未换届、组织生活不正常）；"
       "封顶情形和示范比例由机关工委设定（原文待核对）")


def without_file_names(apps, schema_editor):
    RatingScheme = apps.get_model("ratings", "RatingScheme")
    AuditEntry = apps.get_model("core", "AuditEntry")
    db = schema_editor.connection.alias
    for scheme in RatingScheme.objects.using(db).filter(source=OLD):
        scheme.source = NEW
        scheme.save(update_fields=["source"])
        AuditEntry.objects.using(db).create(table="ratings.ratingscheme", object_id=scheme.pk, action="update",
                                            changes={"source": [OLD, NEW]}, user=None, note=NOTE)


class Migration(migrations.Migration):

    dependencies = [
        ("ratings", "0001_initial"),
        ("core", "0002_audit_actions"),
    ]

    operations = [
        migrations.RunPython(without_file_names, migrations.RunPython.noop),
    ]

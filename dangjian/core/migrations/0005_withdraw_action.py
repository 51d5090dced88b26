"""A withdrawn organizational-life record (撤回, as the pages say: it stays but no longer counts)
was logged as a deletion labelled 撤销, a word the pages never use for it. It has its own action
now, labelled 撤回, and a deletion reads 删除. Earlier withdrawals are relabelled."""
from django.db import migrations, models


def forwards(apps, schema_editor):
    withdrawals = apps.get_model("core", "AuditEntry").objects.filter(table="activities.activity", action="delete")
    withdrawals.filter(note="撤回记录").update(note="")  # the action itself says it now
    withdrawals.update(action="withdraw")


def backwards(apps, schema_editor):
    apps.get_model("core", "AuditEntry").objects.filter(table="activities.activity", action="withdraw").update(
        action="delete")


class Migration(migrations.Migration):
    dependencies = [("core", "0004_named_locks")]
    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(choices=[("create", "新增"), ("update", "修改"), ("delete", "删除"), ("withdraw", "撤回"),
                                            ("reveal", "查看完整身份证号"), ("export", "导出")], max_length=8),
        ),
        migrations.RunPython(forwards, backwards),
    ]

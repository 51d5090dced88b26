from django.conf import settings
from django.db import migrations, models


def credit_the_due(apps, schema_editor):
    """Until now a month was paid in full or not at all: every payment settled its month's due."""
    Payment = apps.get_model("dues", "Payment")
    Payment.objects.update(credited=models.F("due"))


class Migration(migrations.Migration):

    dependencies = [
        ('dues', '0001_initial'),
        ('members', '0008_alter_member_status'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(fields=['member', 'month'], name='dues_paymen_member__5d3cb7_idx'),
        ),
        migrations.RemoveConstraint(
            model_name='payment',
            name='one_dues_payment_per_month',
        ),
        migrations.AddField(
            model_name='duesrule',
            name='large_one_off',
            field=models.DecimalField(decimal_places=2, default=1000, max_digits=12, verbose_name='一次多交上缴中央起点（元）'),
        ),
        migrations.AddField(
            model_name='payment',
            name='credited',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=12, verbose_name='计入应交（元）'),
        ),
        migrations.AddField(
            model_name='payment',
            name='to_centre',
            field=models.BooleanField(default=False, verbose_name='多交部分全部上缴中央'),
        ),
        migrations.AlterField(
            model_name='duesbase',
            name='category',
            field=models.CharField(choices=[('employed', '在职'), ('retired', '离退休'), ('student', '学生'), ('unemployed', '下岗失业'), ('on_relief', '享受最低生活保障'), ('farmer', '农民')], default='employed', max_length=12, verbose_name='交纳类别'),
        ),
        migrations.RunPython(credit_the_due, migrations.RunPython.noop),
    ]

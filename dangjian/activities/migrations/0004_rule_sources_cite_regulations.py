"""The seeded requirements cited their regulations by abbreviations ("支部工作条例(2018) 第十一条");
they now cite each regulation by its full name and article, as users read them
(“《中国共产党支部工作条例（试行）》第十一条”).

A data migration rather than a seeding rule: seeding (activities/seed.py) never touches a
requirement that exists, and this is a one-time correction of wording the platform itself wrote.
Only a source still reading exactly as seeded is rewritten — one that staff edited stays as they
wrote it, in every version — and each rewrite is in the change history, made by the system.
The wording is frozen here, so the migration means the same whatever the defaults file says later.
"""
from django.db import migrations

NOTE = "依据改为引用法规全称和条款"
# code → (wording seeded before, wording now)
SOURCES = {
    "general_meeting": ("支部工作条例(2018) 第十一条", "《中国共产党支部工作条例（试行）》第十一条"),
    "committee_meeting": ("支部工作条例 第十二条", "《中国共产党支部工作条例（试行）》第十二条"),
    "cell_meeting": ("支部工作条例 第十三条", "《中国共产党支部工作条例（试行）》第十三条"),
    "party_lecture": ("地方惯例（条例只规定“按期”）",
                      "地方惯例：《中国共产党支部工作条例（试行）》第十六条只规定党支部“按期”组织党员上党课"),
    "party_lecture_by_secretary": ("支部工作条例 组织生活章: 党委(党组)书记每年至少讲1次党课",
                                   "《中国共产党支部工作条例（试行）》第十六条：党委（党组）书记每年至少讲1次党课"),
    "theme_day": ("党员教育管理工作条例(2019) 第十六条", "《中国共产党党员教育管理工作条例》第十六条"),
    "org_life_meeting": ("支部工作条例; 党员教育管理工作条例 第十七条",
                         "《中国共产党支部工作条例（试行）》第十七条；《中国共产党党员教育管理工作条例》第十七条"),
    "member_appraisal": ("党员教育管理工作条例 第十八条", "《中国共产党党员教育管理工作条例》第十八条"),
    "talk": ("支部工作条例", "《中国共产党支部工作条例（试行）》第十九条"),
    "democratic_life_meeting": ("民主生活会若干规定(2016)",
                                "《县以上党和国家机关党员领导干部民主生活会若干规定》：民主生活会一般每年召开1次"),
    "central_study": ("中心组学习规则(2017) 未规定频次，此为本地默认值",
                      "本地默认值：《中国共产党党委（党组）理论学习中心组学习规则》未规定集体学习的频次"),
    "organ_member_assembly": ("机关基层组织工作条例(2019) 第二十六条",
                              "《中国共产党党和国家机关基层组织工作条例》第二十六条第六项"),
}


def cite_in_full(apps, schema_editor):
    ActivityRule = apps.get_model("activities", "ActivityRule")
    AuditEntry = apps.get_model("core", "AuditEntry")
    db = schema_editor.connection.alias
    for code, (old, new) in SOURCES.items():
        for rule in ActivityRule.objects.using(db).filter(code=code, source=old):
            rule.source = new
            rule.save(update_fields=["source"])
            AuditEntry.objects.using(db).create(table="activities.activityrule", object_id=rule.pk, action="update",
                                                changes={"source": [old, new]}, user=None, note=NOTE)


class Migration(migrations.Migration):

    dependencies = [
        ("activities", "0003_compliance_freshness"),
        ("core", "0002_audit_actions"),
    ]

    operations = [
        migrations.RunPython(cite_in_full, migrations.RunPython.noop),
    ]

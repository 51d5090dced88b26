"""The seeded duty items cited a county's speech (“全县机关党建工作推进会讲话”, “县直机关工委”) on a
city platform, and regulations by abbreviation. They now cite each regulation by its full name and
article, or say that a number is the working committee's own requirement.

A data migration rather than a seeding rule: seeding (duties/seed.py) never touches an item that
exists, and this is a one-time correction of wording the platform itself wrote. Only a source still
reading exactly as seeded is rewritten, in every version of the item — one that staff edited stays as
they wrote it — and each rewrite is in the item's change history, made by the system. The texts are
frozen here, so the migration means the same whatever rules/duties.yaml says later.
"""
from django.db import migrations

NOTE = "依据改为引用法规全称和条款"
# code → (wording seeded before, wording now)
SOURCES = {
    "pgs_lecture": (
        "支部工作条例(2018) 组织生活章：党委（党组）书记每年至少讲1次党课；机关基层组织工作条例(2019) 第十八条",
        "《中国共产党支部工作条例（试行）》第十六条（党委（党组）书记每年至少讲1次党课）；《中国共产党党和国家机关基层组织工作条例》第十八条",
    ),
    "pgs_hear_report": (
        "“每半年至少听取一次机关党委工作汇报，讨论研究机关党建工作，解决好机构设置、人员编制、经费保障等问题”（全县机关党建工作推进会讲话）；机关基层组织工作条例 第三十五条“定期研究机关党建工作”（未规定次数）",
        "《中国共产党党和国家机关基层组织工作条例》第三十五条（党组（党委）定期研究机关党建工作，未规定次数）；“每半年至少一次”为机关工委确定的本地要求",
    ),
    "pgs_democratic_life": (
        "县以上党和国家机关党员领导干部民主生活会若干规定(2016)：一般每年召开1次",
        "《县以上党和国家机关党员领导干部民主生活会若干规定》：民主生活会一般每年召开1次",
    ),
    "pgs_dual_org_life": (
        "党员教育管理工作条例(2019) 第十六条；民主生活会若干规定 第三条第二款；“有的党员领导干部对参加双重组织生活不重视也不经常”（全县机关党建工作推进会讲话）",
        "《中国共产党党员教育管理工作条例》第十六条；《县以上党和国家机关党员领导干部民主生活会若干规定》第三条第二款",
    ),
    "pgs_pledge": (
        "“每年年初组织县直单位党组织书记进行抓党建公开承诺”（全县机关党建工作推进会讲话）",
        "《中国共产党党和国家机关基层组织工作条例》第三十五条（党组（党委）履行机关党建主体责任）；年初作出公开承诺为机关工委确定的本地要求",
    ),
    "pgs_duty_report": (
        "党委（党组）书记抓基层党建工作述职评议考核办法（试行）(2019)；“个市直单位的党组（党委）书记、机关党组织书记分别作了述职报告”（市直机关党的工作会议讲话）",
        "《党委（党组）书记抓基层党建工作述职评议考核办法（试行）》；《中国共产党党和国家机关基层组织工作条例》第三十九条",
    ),
    "pgs_inform": (
        "机关基层组织工作条例(2019) 第三十五条",
        "《中国共产党党和国家机关基层组织工作条例》第三十五条",
    ),
    "lm_dual_org_life": (
        "党员教育管理工作条例(2019) 第十六条；民主生活会若干规定 第三条第二款",
        "《中国共产党党员教育管理工作条例》第十六条；《县以上党和国家机关党员领导干部民主生活会若干规定》第三条第二款",
    ),
    "lm_branch_life": (
        "机关基层组织工作条例(2019) 第十九条“党员领导干部自觉参加双重组织生活”（未规定次数）；“机关党建重点是落实党员领导干部双重组织生活”（全县机关党建工作推进会讲话）",
        "《中国共产党党和国家机关基层组织工作条例》第十九条（党员领导干部自觉参加双重组织生活，未规定次数）；“每季度至少一次”为机关工委确定的本地要求",
    ),
    "lm_lecture": (
        "支部工作条例(2018)：党员领导干部应当定期为基层党员讲党课（“每年1次”为本平台默认）；“领导干部交流讲党课”（机关党建工作会议讲话）",
        "《中国共产党支部工作条例（试行）》第十六条（党员领导干部应当定期为基层党员讲党课）；《中国共产党党和国家机关基层组织工作条例》第十八条；“每年至少一次”为机关工委确定的本地要求",
    ),
    "lm_liaison": (
        "“建立党组（党委）成员基层党建工作联系点，指导基层党建工作，积极参加机关党建活动，发挥表率作用”（全县机关党建工作推进会讲话）",
        "《中国共产党党和国家机关基层组织工作条例》第三十五条（班子其他成员履行“一岗双责”）；建立基层党建工作联系点为机关工委确定的本地要求",
    ),
    "lm_supervise": (
        "“班子成员对分管部门、单位的党建工作负领导责任”（全县机关党建工作推进会讲话）；“对分管的部门和人员，既要管工作又要管思想”（机关党建工作会议讲话）",
        "《中国共产党党和国家机关基层组织工作条例》第三十五条（班子其他成员履行“一岗双责”）；每年至少一次为机关工委确定的本地要求",
    ),
    "ocs_lecture": (
        "支部工作条例(2018) 组织生活章：党委（党组）书记每年至少讲1次党课",
        "《中国共产党支部工作条例（试行）》第十六条（党委（党组）书记每年至少讲1次党课）",
    ),
    "ocs_report": (
        "“每半年至少听取一次机关党委工作汇报”（全县机关党建工作推进会讲话）",
        "《中国共产党党和国家机关基层组织工作条例》第三十五条（党组（党委）定期研究机关党建工作，未规定次数）；“每半年至少一次”为机关工委确定的本地要求",
    ),
    "ocs_assembly": (
        "机关基层组织工作条例(2019) 第二十六条第六项",
        "《中国共产党党和国家机关基层组织工作条例》第二十六条第六项",
    ),
    "ocs_duty_report": (
        "机关基层组织工作条例(2019) 第三十九条",
        "《中国共产党党和国家机关基层组织工作条例》第三十九条",
    ),
    "ocs_training": (
        "“每年都对党务工作者进行全员培训”（机关党建工作会议讲话）；机关基层组织工作条例 第三十一条",
        "《中国共产党党和国家机关基层组织工作条例》第三十一条（任职培训、定期轮训）；党务工作者每年全员培训为机关工委确定的本地要求",
    ),
    "gbs_lecture": (
        "支部工作条例(2018) 组织生活章（书记讲党课）；机关基层组织工作条例 第十八条",
        "《中国共产党支部工作条例（试行）》第十六条（党员领导干部定期讲党课，党委（党组）书记每年至少讲1次）；《中国共产党党和国家机关基层组织工作条例》第十八条",
    ),
    "gbs_talk": (
        "支部工作条例(2018)：谈心谈话每年一般不少于1次",
        "《中国共产党支部工作条例（试行）》第十九条（谈心谈话每年一般不少于1次）",
    ),
    "gbs_duty_report": (
        "机关基层组织工作条例(2019) 第三十九条",
        "《中国共产党党和国家机关基层组织工作条例》第三十九条",
    ),
    "bs_lecture": (
        "支部工作条例(2018) 组织生活章：党委（党组）书记每年至少讲1次党课；“书记交流讲党课”（机关党建工作会议讲话）",
        "《中国共产党支部工作条例（试行）》第十六条（党支部按期组织党员上党课；党委（党组）书记每年至少讲1次党课）",
    ),
    "bs_general_meeting": (
        "支部工作条例(2018) 第十一条、第十四条（党员大会由书记召集主持）",
        "《中国共产党支部工作条例（试行）》第十一条、第十四条（党员大会由书记召集主持）",
    ),
    "bs_org_life": (
        "支部工作条例(2018)；党员教育管理工作条例(2019) 第十七条、第十八条",
        "《中国共产党支部工作条例（试行）》第十七条；《中国共产党党员教育管理工作条例》第十七条、第十八条",
    ),
    "bs_talk": (
        "支部工作条例(2018)：支委之间、支委和党员之间谈心谈话每年一般不少于1次",
        "《中国共产党支部工作条例（试行）》第十九条（支委之间、支委和党员之间谈心谈话每年一般不少于1次）",
    ),
    "bs_duty_report": (
        "机关基层组织工作条例(2019) 第三十九条",
        "《中国共产党党和国家机关基层组织工作条例》第三十九条",
    ),
    "bs_training": (
        "机关基层组织工作条例(2019) 第三十一条（任职培训、定期轮训）；“党支部书记持证上岗”（市直机关党建工作半年总结会讲话）",
        "《中国共产党党和国家机关基层组织工作条例》第三十一条（任职培训、定期轮训）；每年参加支部书记培训为机关工委确定的本地要求",
    ),
}


def cite_regulations(apps, schema_editor):
    DutyItem = apps.get_model("duties", "DutyItem")
    AuditEntry = apps.get_model("core", "AuditEntry")
    db = schema_editor.connection.alias
    for code, (old, new) in SOURCES.items():
        for item in DutyItem.objects.using(db).filter(code=code, source=old):
            item.source = new
            item.save(update_fields=["source"])
            AuditEntry.objects.using(db).create(table="duties.dutyitem", object_id=item.pk, action="update",
                                                changes={"source": [old, new]}, user=None, note=NOTE)


class Migration(migrations.Migration):

    dependencies = [
        ("duties", "0002_dutyitem_fact_label"),
        ("core", "0002_audit_actions"),
    ]

    operations = [
        migrations.RunPython(cite_regulations, migrations.RunPython.noop),
    ]

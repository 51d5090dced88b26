"""The seeding of `TimelineRule` from the `development` section of dangjian/rules/defaults.yaml:
after every `migrate`, a rule whose code has no row yet is added, in force from the day the
regulation was published; a rule staff changed (a later row) is left as it is."""
from __future__ import annotations

import datetime as dt

from dangjian.core import defaults

# 中共中央办公厅印发《中国共产党发展党员工作细则》 on 2014-05-28.
PUBLISHED = dt.date(2014, 5, 28)
REGULATION = "中国共产党发展党员工作细则"
ORGANS = "中国共产党党和国家机关基层组织工作条例"


def rule_specs() -> list[dict]:
    """(code, name, value, value_max, unit, source) for every duration, from defaults.yaml."""
    d = defaults.section("development")
    training = d.get("training_min") or {}
    extension = list(d.get("probation_extension_months") or [6, 12])
    return [
        dict(code="min_age", name="申请入党年满十八周岁", value=int(d["min_age"]), value_max=None, unit="岁",
             source=f"党章第一条；{REGULATION}第五条"),
        dict(code="talk_within", name="收到入党申请书后一个月内派人谈话",
             value=int(d["talk_within_months_after_application"]), value_max=None, unit="月",
             source=f"{REGULATION}第七条"),
        dict(code="activist_review", name="党支部每半年对入党积极分子考察一次",
             value=int(d["activist_review_every_months"]), value_max=None, unit="月", source=f"{REGULATION}第十一条"),
        dict(code="activist_min", name="经过一年以上培养教育和考察方可列为发展对象",
             value=int(d["activist_min_months_before_candidate"]), value_max=None, unit="月",
             source=f"{REGULATION}第十三条"),
        dict(code="training_days", name="发展对象集中培训一般不少于三天", value=int(training.get("days", 3)),
             value_max=None, unit="天", source=f"{REGULATION}第十七条"),
        dict(code="training_hours", name="发展对象集中培训一般不少于二十四学时", value=int(training.get("hours", 24)),
             value_max=None, unit="学时", source=f"{REGULATION}第十七条"),
        dict(code="branch_meeting_within", name="预审合格后一个月内提交支部大会讨论",
             value=int(d["branch_meeting_within_months_after_pre_review"]), value_max=None, unit="月",
             source=f"{REGULATION}第二十、二十二条"),
        dict(code="approval_within", name="基层党委三个月内审批，特殊情况不超过六个月",
             value=int(d["approval_within_months"]), value_max=int(d["approval_max_months"]), unit="月",
             source=f"{REGULATION}第二十五条"),
        dict(code="probation", name="预备期为一年，从支部大会通过之日算起", value=int(d["probation_months"]),
             value_max=None, unit="月", source=f"{REGULATION}第三十二条；党章第七条"),
        dict(code="extension", name="延长预备期一次，不少于半年、最长不超过一年", value=extension[0],
             value_max=extension[-1], unit="月", source=f"{REGULATION}第三十二条；党章第七条"),
        dict(code="confirm_within", name="支部大会讨论转正后三个月内审批",
             value=int(d["confirmation_approval_within_months"]), value_max=None, unit="月",
             source=f"{REGULATION}第三十三条"),
    ]


def seed_rules(using: str = "default") -> int:
    from .models import TimelineRule

    existing = set(TimelineRule.objects.using(using).values_list("code", flat=True))
    new = [TimelineRule(effective_from=PUBLISHED, **s) for s in rule_specs() if s["code"] not in existing]
    TimelineRule.objects.using(using).bulk_create(new)
    return len(new)


def on_post_migrate(sender, using="default", **kwargs):
    seed_rules(using)

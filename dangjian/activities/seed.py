"""The regulation defaults (dangjian/rules/defaults.yaml) and the seeding of `ActivityRule`.

Seeding is an idempotent function run after every `migrate` (post_migrate) and by
`dangjian seed-rules`, rather than a data migration, because:
- rules are data that 工委 staff change in the platform; the file is only the starting point,
  so seeding adds a requirement whose code is not in the database yet and never touches one
  that exists (a staff edit always wins, and a requirement staff ended stays ended);
- a requirement added to the file later reaches existing installations on their next
  migrate without a new migration;
- a database emptied by `flush` (transactional tests, a demo reset) gets its rules back,
  which a data migration would not do.
"""
from __future__ import annotations

import datetime as dt

from dangjian.core import defaults

SEED_EFFECTIVE_FROM = dt.date(2000, 1, 1)

_BRANCH = ["branch"]
_TEAMS = ["leading_group"]
# The file's `applies_to` is prose; this is how each requirement reads it: (org kinds, condition).
APPLICATION: dict[str, tuple[list[str], str]] = {
    "general_meeting": (_BRANCH, "always"),
    "committee_meeting": (_BRANCH, "has_committee"),
    "cell_meeting": (["cell"], "always"),
    "party_lecture": (_BRANCH, "always"),
    "party_lecture_by_secretary": (["leading_group", "committee", "organ_committee", "branch"], "lecture_by_secretary"),
    "theme_day": (_BRANCH, "always"),
    "org_life_meeting": (_BRANCH, "always"),
    "member_appraisal": (_BRANCH, "always"),
    "talk": (_BRANCH, "always"),
    "democratic_life_meeting": (_TEAMS, "always"),
    "central_study": (_TEAMS, "always"),
    "organ_member_assembly": (["organ_committee", "committee", "general_branch", "branch"], "top_of_unit"),
}
QUORUMS = {
    "more than half of voting members": "half_voting",
    "more than half of committee members": "half_committee",
    "at least 2/3": "two_thirds",
}
# Requirements on each member's hours, not on an organization's meetings.
NOT_ORG_RULES = {"training_hours"}


EXTRA_NOTES = {
    "usual_quarter": lambda v: f"通常在第{v}季度召开",
    "steps": lambda v: "步骤：" + "、".join({"self": "个人自评", "peer": "党员互评", "vote": "民主测评"}.get(x, x) for x in v),
    "min_hours": lambda v: f"每次不少于{v}小时",
    "between": lambda v: "范围：" + "、".join({"committee-committee": "支委之间", "committee-member": "支委与党员",
                                           "member-member": "党员之间"}.get(x, x) for x in v),
}


def rule_specs() -> list[dict]:
    """The file's activity_frequency entries as ActivityRule field values."""
    specs = []
    for position, item in enumerate(defaults.entries("activity_frequency")):
        code = item["kind"]
        if code in NOT_ORG_RULES or code not in APPLICATION:
            continue
        org_kinds, condition = APPLICATION[code]
        kind = "party_lecture" if code == "party_lecture_by_secretary" else code
        # The file's comments are in English; the note users read is Chinese. Applicability and
        # quorum are shown from the rule's own fields, so only the extra details go here.
        note_parts = [EXTRA_NOTES[k](v) for k, v in item.items() if k in EXTRA_NOTES]
        specs.append(dict(
            code=code, kind=kind, org_kinds=org_kinds, condition=condition, period=item["period"],
            min_count=item.get("min_count", 1), quorum=QUORUMS.get(item.get("quorum") or "", "none"),
            effective_from=SEED_EFFECTIVE_FROM, source=item.get("source", ""),
            confirmed=bool(item.get("confirmed")), note="；".join(note_parts), position=position,
        ))
    return specs


def seed_rules(verbosity: int = 0, stdout=None, using: str = "default") -> int:
    """Create the requirements whose code is not in the database yet; returns how many."""
    from .models import ActivityRule

    existing = set(ActivityRule.objects.using(using).values_list("code", flat=True).distinct())
    new = [ActivityRule(**spec) for spec in rule_specs() if spec["code"] not in existing]
    ActivityRule.objects.using(using).bulk_create(new)
    if verbosity and stdout is not None and new:
        stdout.write(f"已写入 {len(new)} 条组织生活频次要求")
    return len(new)


def on_post_migrate(sender, app_config=None, verbosity=1, using="default", **kwargs):
    if app_config is None or app_config.label != "activities":
        return
    seed_rules(using=using)

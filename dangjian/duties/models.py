"""责任清单 (duty lists): per role, what must be done on what schedule, and the proof.

A `DutyItem` is one line of a role's list, one version of it: `code` names the item across
versions, a version holds from `from_year` to `to_year`, so a past year is judged by the list
then in force. Who holds a role is never stored: it is read from the tree (committee seats,
leading cadres) when the lists are computed (see completion.py).

An item is either derived — the records the platform already holds show it done (a 党课 whose
lecturer is the person, the person present at their branch's 组织生活会 …) — or manual: no
record can show it, so the person or a party-affairs officer marks it done with a short note
(`DutyMark`). A manual fact may be shared by several roles of one unit (the 党组 hearing the
机关党委's report is one event): the mark's subject is then the unit, and it counts on every
list that names the fact, so nobody reports the same thing twice.
"""
from django.conf import settings
from django.db import models

from dangjian.activities.models import KIND_LABELS, Period
from dangjian.core import periods
from dangjian.core.versioning import Versioned


class DutyRole(models.TextChoices):
    PARTY_GROUP_SECRETARY = "party_group_secretary", "党组书记"
    LEADERSHIP_MEMBER = "leadership_member", "班子成员"
    ADMINISTRATIVE_HEAD = "administrative_head", "行政负责人"
    ORGAN_COMMITTEE_SECRETARY = "organ_committee_secretary", "机关党委书记"
    DISCIPLINE_SECRETARY = "discipline_secretary", "机关纪委书记/纪检委员"
    GENERAL_BRANCH_SECRETARY = "general_branch_secretary", "党总支书记"
    BRANCH_SECRETARY = "branch_secretary", "支部书记"
    ORGAN_COMMITTEE = "organ_committee", "机关党委"
    PARTY_MEMBER = "party_member", "党员"


ROLE_LABELS = dict(DutyRole.choices)
# The eight lists: the secretaries of 党总支 and 党支部 keep one list between them (总支/支部书记).
DUTY_LISTS: list[tuple[str, tuple[str, ...]]] = [
    ("党组书记", (DutyRole.PARTY_GROUP_SECRETARY,)),
    ("班子成员", (DutyRole.LEADERSHIP_MEMBER,)),
    ("行政负责人", (DutyRole.ADMINISTRATIVE_HEAD,)),
    ("机关党委书记", (DutyRole.ORGAN_COMMITTEE_SECRETARY,)),
    ("机关纪委书记/纪检委员", (DutyRole.DISCIPLINE_SECRETARY,)),
    ("总支/支部书记", (DutyRole.GENERAL_BRANCH_SECRETARY, DutyRole.BRANCH_SECRETARY)),
    ("机关党委", (DutyRole.ORGAN_COMMITTEE,)),
    ("党员", (DutyRole.PARTY_MEMBER,)),
]
# Roles held by an organization itself rather than by a person.
BODY_ROLES = (DutyRole.ORGAN_COMMITTEE,)
# The kinds of organization a role is held at (its "role org").
ROLE_ORG_KINDS: dict[str, tuple[str, ...]] = {
    DutyRole.PARTY_GROUP_SECRETARY: ("leading_group",),
    DutyRole.LEADERSHIP_MEMBER: ("leading_group",),
    DutyRole.ADMINISTRATIVE_HEAD: ("leading_group", "organ_committee", "committee"),
    DutyRole.ORGAN_COMMITTEE_SECRETARY: ("organ_committee", "committee"),
    DutyRole.DISCIPLINE_SECRETARY: ("organ_committee", "committee", "general_branch", "branch"),
    DutyRole.GENERAL_BRANCH_SECRETARY: ("general_branch",),
    DutyRole.BRANCH_SECRETARY: ("branch",),
    DutyRole.ORGAN_COMMITTEE: ("organ_committee", "committee"),
    DutyRole.PARTY_MEMBER: ("branch", "cell"),
}


class Evidence(models.TextChoices):
    DERIVED = "derived", "由组织生活记录生成"
    MANUAL = "manual", "本人或党务干部标记完成"


class Where(models.TextChoices):
    ROLE_ORG = "role_org", "本职务所在组织"
    OWN_BRANCH = "own_branch", "本人所在党支部（含党小组）"
    ANY = "any", "任何组织"


class Relation(models.TextChoices):
    ORG = "org", "组织召开即可"
    LECTURER = "lecturer", "本人为授课人"
    HOST = "host", "本人为主持人"
    PRESENT = "present", "本人出席"
    ATTENDED = "attended", "本人出席或列席"
    TALK_PARTY = "talk_party", "本人为谈话一方"


class Per(models.TextChoices):
    PERSON = "person", "每人分别标记"
    UNIT = "unit", "同一单位共用一次标记"


class DutyItem(Versioned):
    """One item of a role's duty list, one version of it."""

    code = models.CharField("条目代码", max_length=48)
    role = models.CharField("职务", max_length=32, choices=DutyRole.choices)
    title = models.CharField("责任内容", max_length=200)
    period = models.CharField("周期", max_length=8, choices=Period.choices)
    min_count = models.PositiveSmallIntegerField("每周期至少次数", default=1)
    evidence = models.CharField("完成依据", max_length=8, choices=Evidence.choices)
    kinds = models.JSONField("计入的组织生活类型", default=list, blank=True)
    where = models.CharField("记录所在组织", max_length=12, choices=Where.choices, blank=True)
    relation = models.CharField("本人身份", max_length=12, choices=Relation.choices, blank=True)
    # Manual items only: marks are kept per fact; items naming the same fact share one mark. Empty:
    # the item's own code. Chosen in the editor among the other manual items, never typed.
    fact = models.CharField("共用标记", max_length=48, blank=True)
    per = models.CharField("标记范围", max_length=8, choices=Per.choices, default=Per.PERSON)
    # Party member items only: asked of leading cadres alone (双重组织生活).
    leaders_only = models.BooleanField("仅限党员领导干部", default=False)
    source = models.CharField("依据", max_length=300, blank=True)
    confirmed = models.BooleanField("已核对原文", default=False)
    note = models.TextField("说明", blank=True)
    position = models.PositiveSmallIntegerField("排序", default=0)
    from_year = models.PositiveSmallIntegerField("起始年度")
    to_year = models.PositiveSmallIntegerField("截止年度", null=True, blank=True)

    # The code ties the versions together and the position orders the list: neither is news.
    HISTORY_HIDDEN = ("code", "position")

    class Meta:
        ordering = ["role", "position", "code", "from_year"]
        verbose_name = "责任清单条目"
        constraints = [models.UniqueConstraint(fields=["code", "from_year"], name="one_duty_item_version_per_year")]

    def __str__(self):
        return self.title

    @classmethod
    def history_display(cls, name, value):
        if name == "kinds" and isinstance(value, list):
            return "、".join(KIND_LABELS.get(k, "其他类型") for k in value)
        if name == "fact" and isinstance(value, str):
            return shared_fact_label(sharing_fact(value)) or "已停用的事项"
        return None

    @property
    def is_manual(self) -> bool:
        return self.evidence == Evidence.MANUAL

    @property
    def fact_code(self) -> str:
        return self.fact or self.code

    @property
    def kind_labels(self) -> str:
        return "、".join(KIND_LABELS.get(k, k) for k in self.kinds)

    @property
    def schedule(self) -> str:
        return f"{self.get_period_display()}至少 {self.min_count} 次"

    @property
    def evidence_text(self) -> str:
        """How completion is shown, in one phrase (the templates page, the person's list)."""
        if self.is_manual:
            shared = "，同一单位共用一次标记" if self.per == Per.UNIT else ""
            who = "机关党委书记" if self.role in BODY_ROLES else "本人"
            return f"无记录可以反映，由{who}或党务干部标记完成并写明情况{shared}"
        where = {Where.ROLE_ORG: "本职务所在组织的", Where.OWN_BRANCH: "本人所在党支部的", Where.ANY: ""}[self.where]
        who = {Relation.ORG: "", Relation.LECTURER: "（本人授课）", Relation.HOST: "（本人主持）",
               Relation.PRESENT: "（本人出席）", Relation.ATTENDED: "（本人出席或列席）",
               Relation.TALK_PARTY: "（本人为谈话一方）"}[self.relation]
        return f"{where}{self.kind_labels}记录{who}"

    def in_force(self, year: int) -> bool:
        return self.from_year <= year and (self.to_year is None or year <= self.to_year)


class AdministrativeHead(models.Model):
    """A unit's 行政负责人 (一岗双责): the tree holds the party side of a unit — its 党组, seats,
    leading cadres — but not who heads the administration, so that one fact is named here."""

    unit = models.OneToOneField("orgs.Unit", on_delete=models.PROTECT, related_name="+", verbose_name="单位")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+",
                               verbose_name="行政负责人")
    since = models.DateField("任职日期", null=True, blank=True)

    class Meta:
        verbose_name = "单位行政负责人"

    def __str__(self):
        return f"{self.unit} 行政负责人"


class DutyMark(models.Model):
    """A manual item marked done for one period, with a short note of what was done.

    `subject` is "m<member id>" for a person's own item, "u<unit id>" for a fact the roles of
    a unit share, "o<org id>" for an item of an organization's own list (the 机关党委). One row per (fact, subject, period): withdrawing a mark keeps the row
    (is_active false) and marking again reuses it, so history lives in the audit log."""

    AUDIT_EXCLUDE = ("marked_at",)

    fact = models.CharField("标记事项", max_length=48, editable=False)
    subject = models.CharField(max_length=24, editable=False)
    member = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name="党员")
    unit = models.ForeignKey("orgs.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name="单位")
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                            verbose_name="职务所在组织")
    item_code = models.CharField("标记时的条目", max_length=48, editable=False)
    year = models.PositiveSmallIntegerField("年度", editable=False)
    period = models.CharField("周期", max_length=8)  # 2026-03, 2026Q1, 2026H1, 2026
    done_on = models.DateField("完成日期")
    note = models.CharField("完成情况", max_length=200)
    is_active = models.BooleanField("有效", default=True)
    withdrawn_reason = models.CharField("撤销原因", max_length=200, blank=True)
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name="标记人")
    marked_at = models.DateTimeField("标记时间", auto_now=True)

    class Meta:
        verbose_name = "责任清单完成标记"
        constraints = [models.UniqueConstraint(fields=["fact", "subject", "period"], name="one_mark_per_fact_period")]
        indexes = [models.Index(fields=["year", "fact"])]

    def __str__(self):
        return f"{periods.name_of(self.period)} {self.note}"

    @classmethod
    def history_display(cls, name, value):
        if name == "period":  # 2026H1 → 2026年上半年, as bulletins write periods
            from dangjian.assessment.bulletin import period_text

            try:
                return period_text(value)
            except ValueError:  # not a period label: read as stored
                return None
        return None


def in_list_order(items) -> list[DutyItem]:
    """Items as the lists show them: by role (党组书记 first), then position; a code's latest version first."""
    roles = list(ROLE_LABELS)
    return sorted(items, key=lambda i: (roles.index(i.role), i.position, i.code, -i.from_year))


def sharing_fact(fact: str, exclude_code: str = "") -> list[DutyItem]:
    """The manual items (latest version of each, still in force or later) whose marks are kept
    under `fact`, but for the item `exclude_code`."""
    rows = in_list_order(DutyItem.objects.filter(evidence=Evidence.MANUAL, to_year__isnull=True)
                         .filter(models.Q(fact=fact) | models.Q(fact="", code=fact)).exclude(code=exclude_code))
    seen, out = set(), []
    for item in rows:
        if item.code not in seen:
            seen.add(item.code)
            out.append(item)
    return out


def shared_fact_label(items: list[DutyItem]) -> str:
    """“与党组书记“…”、机关党委书记“…”共用一次标记” (titles quoted: a title may hold a 、)."""
    if not items:
        return ""
    return "与" + "、".join(f"{ROLE_LABELS.get(i.role, '')}“{i.title}”" for i in items) + "共用一次标记"


def org_subject(org_id: int) -> str:
    """The subject of an item an organization holds itself (the 机关党委's own list)."""
    return f"o{org_id}"


def person_subject(member_id: int) -> str:
    return f"m{member_id}"


def unit_subject(unit_id: int) -> str:
    return f"u{unit_id}"

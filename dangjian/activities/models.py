"""Organizational life (组织生活): what a branch records once, and the rules it answers to.

An `Activity` is one meeting or event; it may count as several kinds at once (a 主题党日 that
is also a 支部党员大会 and a 党课), one `ActivityKind` row per kind. The kind rows carry the
org, the date, the month (YYYYMM) and the quorums reached of their activity, so the compliance
engine counts them over the whole tree without joins.

Attendance figures that decide a quorum (应到/实到 of voting members, of the committee, of the
attendance list) are taken when the record is written or changed, so a member who transfers
or becomes a full member later does not change whether a past meeting was quorate; an import
of historical records without attendance lists supplies its own 应到/实到.
"""
from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from dangjian.core.scoping import Scope, ScopedQuerySet
from dangjian.core.versioning import Versioned
from dangjian.orgs.models import TopOrgOwned, TopOrgQuerySetMixin


class ActivityKindChoice(models.TextChoices):
    GENERAL_MEETING = "general_meeting", "支部党员大会"
    COMMITTEE_MEETING = "committee_meeting", "支部委员会"
    CELL_MEETING = "cell_meeting", "党小组会"
    PARTY_LECTURE = "party_lecture", "党课"
    THEME_DAY = "theme_day", "主题党日"
    ORG_LIFE_MEETING = "org_life_meeting", "组织生活会"
    MEMBER_APPRAISAL = "member_appraisal", "民主评议党员"
    DEMOCRATIC_LIFE_MEETING = "democratic_life_meeting", "民主生活会"
    CENTRAL_STUDY = "central_study", "理论学习中心组学习"
    FIRST_AGENDA_STUDY = "first_agenda_study", "第一议题"
    TALK = "talk", "谈心谈话"
    WARNING_EDUCATION = "warning_education", "警示教育"
    ORGAN_MEMBER_ASSEMBLY = "organ_member_assembly", "机关党员干部大会"


KIND_LABELS = dict(ActivityKindChoice.choices)

# Which organizations may hold which kinds. Grassroots kinds (主题党日, 党课 …) may also be held by
# 党总支 and 机关党委 for their whole membership; 民主生活会 and 中心组学习 belong to leadership teams.
_GRASSROOTS = ("organ_committee", "committee", "general_branch", "branch")
KINDS_FOR_ORG: dict[str, tuple[str, ...]] = {
    "general_meeting": _GRASSROOTS,
    "committee_meeting": _GRASSROOTS,
    "cell_meeting": ("cell",),
    "party_lecture": (*_GRASSROOTS, "cell", "leading_group", "working_committee"),
    "theme_day": (*_GRASSROOTS, "cell"),
    "org_life_meeting": (*_GRASSROOTS, "cell"),
    "member_appraisal": _GRASSROOTS,
    "democratic_life_meeting": ("leading_group", "committee", "organ_committee", "working_committee"),
    "central_study": ("leading_group", "committee", "organ_committee", "working_committee"),
    "first_agenda_study": ("leading_group", "committee", "organ_committee", "general_branch", "branch",
                           "working_committee"),
    "talk": (*_GRASSROOTS, "cell", "leading_group"),
    "warning_education": (*_GRASSROOTS, "cell", "leading_group", "working_committee"),
    "organ_member_assembly": ("organ_committee", "committee", "general_branch", "branch"),
}


class ActivityQuerySet(TopOrgQuerySetMixin, ScopedQuerySet):
    path_lookup = "org__path"

    def self_q(self, scope: Scope):
        # A plain member sees the meetings they were asked to attend (listed on the attendance,
        # whatever their status) and their own branch's meetings from today on. A subquery, not
        # a join on attendances, so a record never comes back once per attendance row.
        if not scope.member_id:
            return None
        q = Q(pk__in=Attendance.objects.filter(member_id=scope.member_id).values("activity_id"))
        if scope.member_org_path:
            q |= Q(org__path=scope.member_org_path, held_on__gte=timezone.localdate())
        return q

    def active(self):
        return self.filter(status=Activity.Status.ACTIVE)


class Activity(TopOrgOwned, Versioned):
    """One record of organizational life (组织生活记录)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "有效"
        WITHDRAWN = "withdrawn", "已撤回"

    class Source(models.TextChoices):
        ENTERED = "entered", "平台录入"
        IMPORTED = "imported", "历史导入"

    AUDIT_EXCLUDE = ("updated_at",)

    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="activities",
                            verbose_name="党组织")
    held_on = models.DateField("日期")
    month = models.PositiveIntegerField(editable=False, db_index=True)  # YYYYMM of held_on
    starts_at = models.TimeField("开始时间", null=True, blank=True)
    place = models.CharField("地点", max_length=100, blank=True)
    topic = models.CharField("主题", max_length=200, blank=True)
    host = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", verbose_name="主持人")
    recorder = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name="记录人")
    lecturer = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="lectures", verbose_name="授课人")
    lecturer_name = models.CharField("授课人（非本组织）", max_length=50, blank=True)
    # 谈心谈话: the two parties and the date only — never what was said.
    talk_party_a = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name="谈话人")
    talk_party_b = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name="谈话对象")
    minutes = models.TextField("会议记录", blank=True)
    decisions = models.TextField("决定事项", blank=True)

    # Quorum figures at the time of recording (see the module docstring).
    expected_count = models.PositiveIntegerField("应到人数", null=True, blank=True)
    present_count = models.PositiveIntegerField("实到人数", null=True, blank=True)
    voting_expected = models.PositiveIntegerField("应到有表决权党员", null=True, blank=True)
    voting_present = models.PositiveIntegerField("实到有表决权党员", null=True, blank=True)
    committee_expected = models.PositiveIntegerField("应到委员", null=True, blank=True)
    committee_present = models.PositiveIntegerField("实到委员", null=True, blank=True)

    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.ACTIVE)
    withdrawn_reason = models.CharField("撤回原因", max_length=200, blank=True)
    source = models.CharField("来源", max_length=12, choices=Source.choices, default=Source.ENTERED)
    # Kept by the platform, never editable: a record entered long after its date shows it.
    recorded_at = models.DateTimeField("录入时间", auto_now_add=True, editable=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", editable=False, verbose_name="录入人")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-held_on", "-id"]
        verbose_name = "组织生活记录"
        indexes = [
            models.Index(fields=["org", "held_on"]),
            # The lists' order (newest first): a page of a province's records is read from the
            # index's end, not sorted out of every record of the tree.
            models.Index(fields=["held_on", "id"], name="activity_held_on_id"),
            # What changed since a time, for the formalism index's catch-up (formalism.sync_year).
            models.Index(fields=["updated_at"]),
        ]

    def __str__(self):
        return f"{self.held_on} {self.topic or self.kind_labels}"

    @property
    def kind_list(self) -> list[str]:
        return [k.kind for k in self.kinds.all()]

    @property
    def kind_labels(self) -> str:
        return "、".join(KIND_LABELS.get(k, k) for k in self.kind_list)


# Which quorums an activity reached, as bits, so the compliance engine reads them from the kind
# rows without joining the activity. An unknown figure (None) never fails a quorum.
QUORUM_BITS = {"none": 0, "half_voting": 1, "half_committee": 2, "two_thirds": 4}


def quorum_bits(activity) -> int:
    def reached(expected, present, test):
        return expected is None or present is None or test(expected, present)

    bits = 0
    if reached(activity.voting_expected, activity.voting_present, lambda e, p: p * 2 > e):
        bits |= QUORUM_BITS["half_voting"]
    if reached(activity.committee_expected, activity.committee_present, lambda e, p: p * 2 > e):
        bits |= QUORUM_BITS["half_committee"]
    if reached(activity.expected_count, activity.present_count, lambda e, p: p * 3 >= e * 2):
        bits |= QUORUM_BITS["two_thirds"]
    return bits


class ActivityKind(TopOrgOwned):
    """One kind an activity counts as, with the activity's org, date, month and reached quorums
    copied so the compliance engine reads kind rows without joins. Written only through
    `kind_rows` so the copies always match their activity."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="kinds")
    kind = models.CharField("类型", max_length=32, choices=ActivityKindChoice.choices)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField()
    month = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)  # false once the activity is withdrawn
    quorum = models.PositiveSmallIntegerField(default=7)  # QUORUM_BITS reached by the activity

    class Meta:
        verbose_name = "组织生活类型"
        constraints = [models.UniqueConstraint(fields=["activity", "kind"], name="one_kind_row_per_activity")]
        indexes = [models.Index(fields=["month", "kind", "org"]), models.Index(fields=["org", "month"])]


def kind_rows(activity, kinds) -> list[ActivityKind]:
    """Unsaved kind rows of a saved activity (for bulk_create, also by imports)."""
    bits = quorum_bits(activity)
    active = activity.status == Activity.Status.ACTIVE
    return [ActivityKind(activity_id=activity.pk, kind=k, org_id=activity.org_id, top_org_id=activity.top_org_id,
                         held_on=activity.held_on, month=activity.month, is_active=active, quorum=bits)
            for k in kinds]


class Attendance(TopOrgOwned):
    TOP_ORG_FROM = "activity"  # an attendance lives with its record, wherever the member is now

    class Status(models.TextChoices):
        PRESENT = "present", "出席"
        ABSENT = "absent", "缺席"
        EXCUSED = "excused", "请假"
        OBSERVER = "observer", "列席"

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendances")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="attendances",
                               verbose_name="党员")
    status = models.CharField("出席情况", max_length=12, choices=Status.choices)
    reason = models.CharField("请假事由", max_length=200, blank=True)

    class Meta:
        verbose_name = "出席情况"
        constraints = [models.UniqueConstraint(fields=["activity", "member"], name="one_attendance_per_member")]
        indexes = [models.Index(fields=["member", "status"])]

    @classmethod
    def history_changes(cls, entries) -> dict[int, list[dict]]:
        """A record's attendance list is kept in its history as {member id: [status before, after]}
        (services._write_attendance). A new list reads one line per status with the names
        (出席（3 人）：张三、李四、王五); a change, one line per member whose status changed
        (张三：出席 → 请假). The names of all the entries are read in one query."""
        from dangjian.core.history import EMPTY, GONE

        ids = {int(k) for e in entries for k in e.changes if str(k).isdigit()}
        member = cls._meta.get_field("member").related_model
        names = dict(member._base_manager.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
        labels = dict(cls.Status.choices)
        order = {s: i for i, s in enumerate(cls.Status.values)}

        def status(value):
            return labels.get(value, EMPTY) if value else EMPTY

        out = {}
        for e in entries:
            pairs = sorted(((int(k), pair) for k, pair in e.changes.items() if str(k).isdigit()),
                           key=lambda kv: (names.get(kv[0], ""), kv[0]))
            if e.action == "create":
                grouped: dict[str, list[str]] = {}
                for mid, (_, after) in pairs:
                    if after:
                        grouped.setdefault(after, []).append(names.get(mid, GONE))
                out[e.pk] = [{"label": f"{status(s)}（{len(who)} 人）", "before": EMPTY, "after": "、".join(who)}
                             for s, who in sorted(grouped.items(), key=lambda kv: order.get(kv[0], len(order)))]
            else:
                out[e.pk] = [{"label": names.get(mid, GONE), "before": status(before), "after": status(after)}
                             for mid, (before, after) in pairs if before != after]
        return out


def attachment_path(instance, filename):
    return f"activities/{instance.activity.held_on:%Y/%m}/{instance.activity_id}/{filename}"


class Attachment(models.Model):
    """An optional file of a record (a scan of the sign-in sheet, slides). Never required:
    the record's text is the evidence."""

    AUDIT_EXCLUDE = ("file",)  # name, size and type are in the history; the stored path is not
    TYPE_LABELS = {
        "application/pdf": "PDF 文档", "image/jpeg": "JPG 图片", "image/png": "PNG 图片",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word 文档",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel 表格",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint 演示文稿",
    }

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField("文件", upload_to=attachment_path, max_length=255)
    name = models.CharField("文件名", max_length=200)
    size = models.PositiveIntegerField("大小（字节）")
    content_type = models.CharField("文件类型", max_length=100)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "附件"

    @classmethod
    def history_display(cls, name, value):
        if name == "content_type":
            return cls.TYPE_LABELS.get(value, "其他类型文件")
        return None


class Period(models.TextChoices):
    MONTH = "month", "每月"
    QUARTER = "quarter", "每季度"
    HALF = "half", "每半年"
    YEAR = "year", "每年"


class Quorum(models.TextChoices):
    NONE = "none", "无到会要求"
    HALF_VOTING = "half_voting", "有表决权党员过半数到会"
    HALF_COMMITTEE = "half_committee", "委员过半数到会"
    TWO_THIRDS = "two_thirds", "应到会人数三分之二以上到会"


class Condition(models.TextChoices):
    """Which organizations of the rule's kinds the rule applies to, and for
    `lecture_by_secretary` which records count."""

    ALWAYS = "always", "所列类别的全部组织"
    HAS_COMMITTEE = "has_committee", "设支部委员会的组织"
    TOP_OF_UNIT = "top_of_unit", "各单位机关党组织（工委直属）"
    LECTURE_BY_SECRETARY = "lecture_by_secretary", "由本组织书记讲授（书记在任时）"


class ActivityRule(models.Model):
    """A frequency requirement (频次要求), one version of it.

    `code` names the requirement across its versions; a change by 工委 staff ends the current
    version the day before the new one's `effective_from`, so past periods keep being judged by
    the rule that was in force. A period is judged by the version in force on its last day."""

    code = models.CharField("规则代码", max_length=48)
    kind = models.CharField("组织生活类型", max_length=32, choices=ActivityKindChoice.choices)
    org_kinds = models.JSONField("适用组织类别", default=list)
    condition = models.CharField("适用条件", max_length=24, choices=Condition.choices, default=Condition.ALWAYS)
    period = models.CharField("周期", max_length=8, choices=Period.choices)
    min_count = models.PositiveSmallIntegerField("最少次数", default=1)
    quorum = models.CharField("到会要求", max_length=16, choices=Quorum.choices, default=Quorum.NONE)
    effective_from = models.DateField("生效日期")
    effective_to = models.DateField("失效日期", null=True, blank=True)
    source = models.CharField("依据", max_length=300, blank=True)
    confirmed = models.BooleanField("已核对原文", default=False)
    note = models.TextField("说明", blank=True)
    position = models.PositiveSmallIntegerField(default=0)  # display order

    # The code ties the versions together and the position orders the list: neither is news.
    HISTORY_HIDDEN = ("code", "position")

    class Meta:
        ordering = ["position", "code", "effective_from"]
        verbose_name = "频次要求"
        constraints = [
            models.UniqueConstraint(fields=["code", "effective_from"], name="one_rule_version_per_day"),
        ]

    @classmethod
    def history_display(cls, name, value):
        if name == "org_kinds" and isinstance(value, list):
            from dangjian.orgs.models import OrgKind

            labels = dict(OrgKind.choices)
            return "、".join(labels.get(k, "其他组织") for k in value)
        return None

    def __str__(self):
        return f"{self.get_kind_display()}（{self.get_period_display()}至少 {self.min_count} 次）"

    def in_force_on(self, day) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class ComplianceRowQuerySet(TopOrgQuerySetMixin, models.QuerySet):
    def not_met_on(self, today):
        """应开未开 as of `today`: missing, or still `due` although its period is over."""
        running, ended = self._not_met_halves(today)
        return self.filter(running | ended)

    def not_met_parts(self, today):
        """`not_met_on` as two querysets, the running periods' and the ended ones', for a count
        per side that reads each half from the index alone."""
        return tuple(self.filter(q) for q in self._not_met_halves(today))

    @staticmethod
    def _not_met_halves(today) -> tuple[Q, Q]:
        # Written per side of `today` so that each half is a range of the (period_end, status)
        # index: a running period's many `due` rows are never read to be thrown away.
        return (Q(status=ComplianceRow.Status.MISSING, period_end__gte=today),
                Q(status__in=[ComplianceRow.Status.MISSING, ComplianceRow.Status.DUE], period_end__lt=today))

    def with_status_on(self, today):
        """Each row with `status_now`, the status `ComplianceRow.status_on` gives it today."""
        over = When(status=ComplianceRow.Status.DUE, period_end__lt=today, then=Value(ComplianceRow.Status.MISSING))
        return self.annotate(status_now=Case(over, default=F("status"), output_field=models.CharField()))


class ComplianceRow(TopOrgOwned):
    """The stored verdict for one org × rule × period (the rule's own period)."""

    class Status(models.TextChoices):
        MET = "met", "已完成"
        MISSING = "missing", "应开未开"
        DUE = "due", "待完成"
        NOT_APPLICABLE = "not_applicable", "不适用"

    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(ActivityRule, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=48)
    kind = models.CharField(max_length=32)
    period = models.CharField(max_length=8)  # 2026-03, 2026Q1, 2026H1, 2026
    period_start = models.DateField()
    period_end = models.DateField()
    required = models.PositiveSmallIntegerField()
    held = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices)
    evidence = models.JSONField(default=list)  # activity ids that count
    failed_quorum = models.JSONField(default=list)  # activity ids of the kind that missed the quorum
    computed_at = models.DateTimeField(auto_now=True)

    objects = ComplianceRowQuerySet.as_manager()

    class Meta:
        verbose_name = "合规结果"
        constraints = [models.UniqueConstraint(fields=["org", "code", "period"], name="one_row_per_org_rule_period")]
        indexes = [models.Index(fields=["period_start", "period_end"]), models.Index(fields=["org", "period_start"]),
                   # 应开未开 per period of a subtree (activities.queries.NewestPeriodFirst), read
                   # from the index alone: a province's year is millions of rows.
                   models.Index(fields=["period_end", "status", "top_org"], name="compliance_end_status_top")]

    @staticmethod
    def status_on(status: str, period_end, today) -> str:
        """The one rule for reading a stored verdict later: a `due` whose period has ended is
        `missing`, without a recomputation (nothing recorded in time can change it any more).
        The querysets' `not_met_on` and `with_status_on` say the same in SQL."""
        if status == ComplianceRow.Status.DUE and period_end < today:
            return ComplianceRow.Status.MISSING
        return status

    @property
    def shortfall(self) -> int:
        if self.status in (self.Status.MET, self.Status.NOT_APPLICABLE):
            return 0
        return max(0, self.required - self.held)


class ComplianceStale(models.Model):
    """Stored verdicts that a change has made out of date: those of `org` (every org when
    empty) for the periods overlapping [since, until]. Written in the same transaction as the
    change (a record, a seat, a move, a rule), removed by the refresh that recomputes them
    (compliance.refresh_stale). Insert-only: a mark made while a refresh runs survives it."""

    org = models.ForeignKey("orgs.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    since = models.DateField()
    until = models.DateField()
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "待重算的合规结果"


class ComplianceCoverage(models.Model):
    """A period (2026-03, 2026Q1 …) whose verdicts have been computed for the whole tree, so
    every organization has its stored row; later changes keep them fresh through stale marks.
    A reader finding a period not covered yet computes it once for the whole tree."""

    period = models.CharField(max_length=8, unique=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "已计算的合规周期"


# ---- formalism signals (formalism.py computes them; these rows keep them for the page) ---------

class FormalismSignal(TopOrgOwned):
    """One stored formalism signal of a year (形式主义提示): what `formalism.compute` found, kept
    so the page reads it instead of recomputing the year. `records` lists the evidence as
    [id, org id, held on, recorded on, topic]; `figures` and `message` are the computation's."""

    year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16)
    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    held_on = models.DateField()  # the first record's date, for the order of the list
    first_id = models.BigIntegerField()  # the first record's id, the same
    # A copy's earlier record: with first_id, finds the copies a changed record takes part in.
    second_id = models.BigIntegerField(null=True, blank=True)
    # A copy's score (figures["score"]) as a column: copies that share their later record are in
    # the computation's order by score, highest first, then by the earlier record, and the
    # command streams the stored signals in that order through SQL.
    score = models.FloatField(null=True, blank=True)
    records = models.JSONField(default=list)
    figures = models.JSONField(default=dict)
    message = models.TextField()

    class Meta:
        verbose_name = "形式主义提示"
        indexes = [models.Index(fields=["year", "org", "kind"]), models.Index(fields=["year", "first_id"]),
                   models.Index(fields=["year", "second_id"])]


class FormalismYear(models.Model):
    """Which data a year's stored signals were computed from (`stamp`: the number of the year's
    records, their latest change, the thresholds), when, and whether a refresh holds the year."""

    year = models.PositiveSmallIntegerField(unique=True)
    stamp = models.CharField(max_length=120, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)  # the last whole-year computation's wall time
    refreshing_since = models.DateTimeField(null=True, blank=True)
    # The copy index of the year (FormalismRecord, MinutesFingerprint, MinutesFingerprintCount):
    # the computation's version and thresholds it was built under (another basis: rebuilt), the
    # records and the minutes it holds, and the time up to which changes have been taken in.
    basis = models.CharField(max_length=120, blank=True)
    records = models.PositiveIntegerField(default=0)
    documents = models.PositiveIntegerField(default=0)
    synced_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "形式主义提示计算状态"


class FormalismRecord(models.Model):
    """A record of the year as the copy index last took it in: `updated_at` then, and whether its
    minutes are one of the year's documents (active, minutes not empty). Not a foreign key: a
    record deleted outright must still be found missing (the year is then rebuilt). One row per
    year: a record moved to another year leaves the first year's index through its own row."""

    year = models.PositiveSmallIntegerField()
    activity_id = models.BigIntegerField()
    updated_at = models.DateTimeField()
    document = models.BooleanField(default=False)

    class Meta:
        verbose_name = "形式主义索引记录"
        constraints = [models.UniqueConstraint(fields=["year", "activity_id"], name="formalism_record_unique")]
        indexes = [models.Index(fields=["activity_id"])]


class MinutesFingerprint(models.Model):
    """One anchored fingerprint (core.similarity.fingerprints: CRC-32 of a 10-character shingle,
    kept as BIGINT) of one record's minutes: the index through which a new record meets the
    records it may have copied, without reading the year."""

    year = models.PositiveSmallIntegerField()
    hash = models.BigIntegerField()
    activity_id = models.BigIntegerField()

    class Meta:
        verbose_name = "会议记录指纹"
        indexes = [models.Index(fields=["year", "hash"]), models.Index(fields=["activity_id"])]


class MinutesFingerprintCount(models.Model):
    """In how many of the year's minutes a fingerprint is found: above the limit it is a standard
    formulation (core.similarity.common_limit)."""

    year = models.PositiveSmallIntegerField()
    hash = models.BigIntegerField()
    docs = models.PositiveIntegerField()

    class Meta:
        verbose_name = "会议记录指纹计数"
        constraints = [models.UniqueConstraint(fields=["year", "hash"], name="minutes_fingerprint_count_unique")]
        indexes = [models.Index(fields=["year", "docs"])]

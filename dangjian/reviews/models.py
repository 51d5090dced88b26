"""述职评议 (DutyReview): yearly duty reports of party secretaries, the review meeting's votes,
copy detection between reports, and the comments (点评) that become items to rectify.

Anonymity of review votes
-------------------------
A voter receives a `Ballot`: a one-time random code (16 characters, 80 bits) printed on paper and
drawn from a pile at the meeting. Only the code's SHA-256 is stored, with the voter group it
belongs to and whether it was used (not when). The ballot is never linked to a person or a login.

Votes are not stored one by one. When voting opens, a `VoteCount` of 0 is created for every
(report, voter group, grade) of the review; casting a ballot adds 1 to the chosen counters and
rewrites every other counter of the review unchanged, in the one transaction that marks the
ballot used. So no row is created or ordered by a vote, and each vote leaves all counters of the
review with the same new row version: the database's own transaction ids (PostgreSQL's xmin,
InnoDB's row transaction id) say "the last ballot touched everything", never which grades it
gave. After each vote and at closing the old row versions are cleared (VACUUM on PostgreSQL, a
truncating WAL checkpoint with secure_delete on SQLite); at closing every counter and ballot of
the review is rewritten once more, so the rows kept afterwards all carry the closing
transaction's id. Results are shown only after the review is closed, and a group's grades only
when at least `min_group()` of its ballots were cast (smaller groups are merged into “其他” or
left out). Voting needs no login and leaves no change-history entry, session or message.

What this does not cover (see the threat model in docs/reviews.md): whoever reads the database
server's write-ahead log, statement log or a snapshot taken *while* voting is open sees each
vote's changes as they happen.
"""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from dangjian.assessment.models import Grade
from dangjian.core.scoping import ScopedQuerySet, scope_of
from dangjian.core.versioning import Versioned

# Points of each grade on a 0–100 scale, for the weighted vote score. Chosen so that a review
# whose votes are all of one grade lands inside that grade's band of the assessment thresholds
# (好 ≥ 90, 较好 ≥ 80, 一般 ≥ 60, 差 below: assessment.models.DEFAULT_THRESHOLDS): 好 = 100,
# 较好 = 85 (middle of 80–90), 一般 = 70 (middle of 60–80), 差 = 50 (below 60, but not 0, so that
# one 差 among many 好 moves the score by as much as a grade step and not by a whole scale).
# Each review may set its own (`DutyReview.grade_points`).
DEFAULT_GRADE_POINTS = {"excellent": 100, "good": 85, "fair": 70, "poor": 50}
GRADES = [g.value for g in Grade]
GRADE_LABELS = dict(Grade.choices)


def random_id() -> int:
    """A random positive 63-bit key (the key of the per-vote rows that migration 0001 made)."""
    return secrets.randbits(63) or 1


def min_group() -> int:
    """The fewest ballots cast for a voter group's grades to be shown (settings.REVIEW_MIN_GROUP,
    default 5): with fewer, a person's vote could be read from the group's counts. A group also
    needs at least this many ballots issued before voting opens."""
    return max(1, int(getattr(settings, "REVIEW_MIN_GROUP", 5)))


# Kinds of organization that hold a review of the organizations below them.
ORGANIZER_KINDS = ("working_committee", "committee", "organ_committee", "general_branch")
# Direct subordinates expected to report, unless one of these kinds: a 党小组 is part of its
# branch. A 党组 reports beside its unit's organ party organization: seed 000 asks both the
# 党组（党委）书记, the first responsible person, and the organ party secretary to 述职.
NOT_REPORTING_KINDS = ("cell",)


def default_grade_points() -> dict:
    return dict(DEFAULT_GRADE_POINTS)


class DutyReviewQuerySet(ScopedQuerySet):
    path_lookup = "org__path"

    def visible_to(self, user, capability: str = "view"):
        """Organizers and readers of the organizing org see the whole review. A participant sees
        the review held by the org right above the top of their scope (the review they report
        to), and every review in which a report of their scope was submitted; a plain member the
        reviews they reported in."""
        scope = scope_of(user)
        prefixes = scope.prefixes(capability)
        q = Q(pk__in=[])
        for prefix in prefixes:
            q |= Q(org__path__startswith=prefix)
        if capability == "view":
            parents = [p[:-9] for p in prefixes if len(p) > 9]
            if parents:
                q |= Q(org__path__in=parents)
            q |= Q(pk__in=DutyReport.objects.visible_to(user).values("review_id"))
        return self.filter(q)


class DutyReview(Versioned):
    """One review meeting (述职评议会) of a year, held by `org` for the organizations below it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "筹备中"
        OPEN = "open", "投票中"
        CLOSED = "closed", "已结束"

    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+",
                            verbose_name="组织单位")
    year = models.PositiveSmallIntegerField("年度")
    title = models.CharField("名称", max_length=100)
    meeting_on = models.DateField("评议会日期", null=True, blank=True)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.DRAFT)
    # The combined result: vote_share % of the weighted vote score plus the rest of the
    # assessment total (as a percentage of the scheme's total) of `run`.
    vote_share = models.DecimalField("评议票占比（%）", max_digits=5, decimal_places=2, default=50)
    run = models.ForeignKey("assessment.Run", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                            verbose_name="关联考核")
    grade_points = models.JSONField("等次分值", default=default_grade_points)
    opened_at = models.DateTimeField("开始投票时间", null=True, blank=True, editable=False)
    closed_at = models.DateTimeField("结束投票时间", null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DutyReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "org__path", "id"]
        verbose_name = "述职评议"
        constraints = [models.UniqueConstraint(fields=["org", "year", "title"], name="one_review_title_per_org_year")]

    def __str__(self):
        return self.title

    def points(self) -> dict[str, int]:
        return {**DEFAULT_GRADE_POINTS, **(self.grade_points or {})}

    @classmethod
    def history_display(cls, name, value):
        if name == "grade_points" and isinstance(value, dict):
            from dangjian.core.history import in_order, number

            return "、".join(f"{GRADE_LABELS.get(k, '其他等次')} {number(v)} 分"
                            for k, v in in_order(value, GRADE_LABELS))
        return None


class DutyReportQuerySet(ScopedQuerySet):
    path_lookup = "org__path"

    def visible_to(self, user, capability: str = "view"):
        """The reporting org's readers, the organizing org's readers, and the reporter."""
        scope = scope_of(user)
        q = Q(pk__in=[])
        for prefix in scope.prefixes(capability):
            q |= Q(org__path__startswith=prefix) | Q(review__org__path__startswith=prefix)
        if capability == "view" and scope.member_id:
            q |= Q(reporter_id=scope.member_id)
        return self.filter(q)


def original_path(instance, filename):
    return f"reviews/{instance.review.year}/{instance.review_id}/{filename}"


class DutyReport(Versioned):
    """述职报告: what a secretary reports for their organization. The text is what the check for
    copies reads (typed in, or taken from the uploaded .txt/.docx, whose original may be kept)."""

    AUDIT_EXCLUDE = ("original", "text", "updated_at", "checked_at")

    review = models.ForeignKey(DutyReview, on_delete=models.PROTECT, related_name="reports", verbose_name="述职评议")
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name="述职组织")
    reporter = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+", verbose_name="述职人")
    title = models.CharField("标题", max_length=200)
    text = models.TextField("报告正文")
    original = models.FileField("原文件", upload_to=original_path, max_length=255, blank=True)
    original_name = models.CharField("原文件名", max_length=200, blank=True)
    submitted_at = models.DateTimeField("提交时间", auto_now_add=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    checked_at = models.DateTimeField("查重时间", null=True, blank=True, editable=False)

    objects = DutyReportQuerySet.as_manager()

    class Meta:
        ordering = ["review", "org__path"]
        verbose_name = "述职报告"
        constraints = [models.UniqueConstraint(fields=["review", "org"], name="one_report_per_org_per_review")]

    def __str__(self):
        return self.title

    @property
    def check_is_current(self) -> bool:
        return self.checked_at is not None and self.checked_at >= self.updated_at


class VoterGroup(Versioned):
    """A group of voters (党员代表, 两代表一委员, 群众代表 …) with its weight in the vote score."""

    review = models.ForeignKey(DutyReview, on_delete=models.CASCADE, related_name="groups", verbose_name="述职评议")
    name = models.CharField("投票群体", max_length=40)
    weight = models.DecimalField("权重（%）", max_digits=5, decimal_places=2)
    position = models.PositiveSmallIntegerField(default=0)

    HISTORY_HIDDEN = ("position",)  # the order the groups are listed in

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "投票群体"
        constraints = [models.UniqueConstraint(fields=["review", "name"], name="one_group_name_per_review")]

    def __str__(self):
        return self.name


class Ballot(models.Model):
    """A one-time voting code. Only its hash is kept, and whether it was used — not when; it
    belongs to a voter group, never to a person, and no count refers to it (see the module
    docstring)."""

    group = models.ForeignKey(VoterGroup, on_delete=models.PROTECT, related_name="ballots")
    code_hash = models.CharField(max_length=64, unique=True)
    used = models.BooleanField(default=False)

    class Meta:
        verbose_name = "选票"


class VoteCount(models.Model):
    """How many ballots of a voter group gave a report a grade. All of a review's counters are
    created (at 0) when voting opens and only ever rewritten together, so neither a row, its
    order nor its version tells which ballot gave which grade (see the module docstring)."""

    review = models.ForeignKey(DutyReview, on_delete=models.PROTECT, related_name="+")
    report = models.ForeignKey(DutyReport, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(VoterGroup, on_delete=models.PROTECT, related_name="+")
    grade = models.CharField(max_length=10, choices=Grade.choices)
    count = models.PositiveIntegerField(default=0)
    # Raised on every counter of the review at each vote and at closing: a row whose values did
    # not change would keep its old transaction id on MariaDB/MySQL (which skip unchanged rows),
    # and that id would then point at the last ballot that raised it. Equal on all of a review's
    # counters, so it says no more than the turnout.
    writes = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "评议票数"
        constraints = [models.UniqueConstraint(fields=["report", "group", "grade"],
                                               name="one_vote_count_per_report_group_grade")]
        indexes = [models.Index(fields=["review", "report"])]


class CopyFinding(models.Model):
    """Two reports sharing copied passages. Stored once per pair (`report` has the smaller id);
    `passages` are [report start, report end, other start, other end] offsets into the texts."""

    report = models.ForeignKey(DutyReport, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(DutyReport, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField("雷同比例")
    copied = models.PositiveIntegerField("雷同字数")
    passages = models.JSONField(default=list)
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "雷同内容"
        constraints = [
            models.UniqueConstraint(fields=["report", "other"], name="one_finding_per_report_pair"),
            models.CheckConstraint(condition=Q(report__lt=models.F("other")), name="finding_pair_ordered"),
        ]

    def seen_from(self, report_id: int) -> tuple[int, list[tuple[int, int, int, int]]]:
        """(the other report's id, passages as [this start, this end, other start, other end])."""
        if report_id == self.report_id:
            return self.other_id, [tuple(p) for p in self.passages]
        return self.report_id, [(p[2], p[3], p[0], p[1]) for p in self.passages]

"""Reads of development for the pages, the export, the API and the command: every one through
`visible_to`, a fixed number of queries whatever the number of applicants or organizations.

Who sees what: an applicant is read by those who view their branch, recorded by those who edit
it; the applicant's own login reads their own progress (我的入党进程) and nothing else.
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q

from dangjian.core.scoping import get_visible_or_404
from dangjian.members.models import Member
from dangjian.orgs.models import Organization

from . import checks
from .catalog import Stage
from .models import Applicant, DevelopmentStep, StepCorrection
from .rules import Rules


def applicants(user, *, root: Organization | None = None, stage: str = "", status: str = "active", q: str = "",
               capability: str = "view"):
    qs = Applicant.objects.visible_to(user, capability)
    if root is not None:
        qs = qs.filter(org__path__startswith=root.path)
    if stage:
        qs = qs.filter(stage=stage)
    if status:
        qs = qs.filter(status=status)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(name__startswith=q) | Q(workplace__contains=q) | Q(id_mask__endswith=q[-4:])
                       if q.isdigit() else Q(name__contains=q) | Q(workplace__contains=q))
    return qs.select_related("org").order_by("org__path", "name", "id")


def applicant_or_404(user, pk, capability: str = "view") -> Applicant:
    return get_visible_or_404(Applicant.objects.select_related("org", "member", "user"), user, pk, capability)


def stage_counts(qs) -> list[dict]:
    """[{"stage", "label", "count"}] for every stage of the pipeline (one query)."""
    found = dict(qs.order_by().values_list("stage").annotate(n=Count("id")))
    return [{"stage": s, "label": label, "count": found.get(s, 0)} for s, label in Stage.CHOICES]


def figures(user, *, root: Organization | None, year: int) -> dict:
    """申请人、入党积极分子、发展对象 now in development, and 新发展党员 (admitted in `year`): one query."""
    qs = Applicant.objects.visible_to(user)
    if root is not None:
        qs = qs.filter(org__path__startswith=root.path)
    return qs.order_by().aggregate(
        applicants=Count("id", filter=Q(status=Applicant.Status.ACTIVE, stage=Stage.APPLICATION)),
        activists=Count("id", filter=Q(status=Applicant.Status.ACTIVE, stage=Stage.ACTIVIST)),
        candidates=Count("id", filter=Q(status=Applicant.Status.ACTIVE, stage=Stage.CANDIDATE)),
        new_members=Count("id", filter=Q(member__joined_on__year=year)),
    )


def timeline_rows(applicant_ids: list[int]) -> dict[int, list[tuple]]:
    """The step rows (checks.STEP_COLUMNS) of the given applicants, in date order: one query."""
    out: dict[int, list[tuple]] = {pk: [] for pk in applicant_ids}
    for row in (DevelopmentStep.objects.filter(applicant_id__in=applicant_ids)
                .order_by("applicant_id", "done_on", "id").values_list(*checks.STEP_COLUMNS)):
        out[row[0]].append(row)
    return out


def annotate_page(applicants_page: list[Applicant], today: dt.date, rules: Rules) -> None:
    """Each applicant of a page gets `next_step`, `next_due`, `overdue` and `violations`: one query
    for the page's steps, whatever the page holds."""
    rows = timeline_rows([a.pk for a in applicants_page])
    for a in applicants_page:
        active = a.status == Applicant.Status.ACTIVE
        a.next_step, a.next_due = checks.next_due(rows[a.pk], active, rules)
        a.overdue = bool(a.next_due and a.next_due < today)
        a.violations = checks.judge(a.pk, a.name, a.org.code, a.birth_date, a.applied_on, active, rows[a.pk],
                                    today, rules)


def steps_of(applicant: Applicant) -> list[DevelopmentStep]:
    return list(applicant.steps.select_related("talker", "first_sponsor", "second_sponsor", "approver",
                                               "recorded_by__member").order_by("done_on", "id"))


def corrections_of(applicant: Applicant) -> list[StepCorrection]:
    return list(applicant.corrections.select_related("by__member").order_by("at", "id"))


def full_members(user, org: Organization):
    """The full members a secretary may name as 培养联系人 / 入党介绍人 / 谈话人: the branch's own and
    those of the party committee above it (the unit's subtree)."""
    top = org.path.split("/")[:2]
    prefix = "/".join(top) + "/" if len(top) == 2 and top[1] else org.path
    return (Member.objects.visible_to(user).active().filter(org__path__startswith=prefix)
            .select_related("org").order_by("org__path", "name"))


def approvers(org: Organization) -> list[Organization]:
    """The party committees above the branch that may approve (nearest first)."""
    ids = [int(p) for p in org.path.strip("/").split("/")[:-1]]
    found = Organization.objects.filter(pk__in=ids, kind__in=checks.APPROVER_KINDS).in_bulk()
    return [found[i] for i in reversed(ids) if i in found]


def export_rows(qs, today: dt.date, rules: Rules):
    """Rows for the Excel export, a page of 2000 at a time (one query for each page's steps)."""
    from dangjian.core import xlsx

    keys = list(qs.values_list("pk", flat=True))
    for chunk in xlsx.chunks(keys, 2000):
        found = {a.pk: a for a in qs.order_by().filter(pk__in=chunk)}
        page = [found[k] for k in chunk if k in found]
        annotate_page(page, today, rules)
        for a in page:
            yield [a.org.code, a.org.name, a.name, a.get_gender_display(), a.id_mask, a.workplace, a.stage_label,
                   a.get_status_display(), a.applied_on.isoformat(), a.stage_since.isoformat(), a.next_step,
                   a.next_due.isoformat() if a.next_due else "", "；".join(v.message for v in a.violations)]

"""Reads of transfers and standing for the pages, the export, the API and the command: every one
through `visible_to`, a fixed number of queries whatever the number of letters or members.

A transfer is seen from both ends (the sending and the receiving organization's people); a
standing record by those who view the member's organization now.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from dangjian.core import periods
from dangjian.core.scoping import get_visible_or_404, scope_of
from dangjian.members.models import Member
from dangjian.members.queries import search_q
from dangjian.orgs.models import Organization

from . import checks
from .models import Standing, Transfer

DIRECTIONS = {"out": "转出", "in": "转入"}
STATUSES = {"open": "在途", "overdue": "逾期未办结", "accepted": "已接收/回执已返回", "returned": "已退回",
            "withdrawn": "已撤回", "done": "已办结"}
SHOWS = {"mobile": "流动党员", "lost": "失联党员", "eligible": "可提请停止党籍", "suspended": "已停止党籍",
         "remove_due": "停止党籍满期待研究", "abroad_due": "出国（境）满期待研究"}


@dataclass(frozen=True)
class Consider:
    """A 待研究 list: members the rules say should be considered for a decision, which people take
    (a branch meeting, the approving organization). The platform only lists them."""

    key: str
    label: str
    rule: str  # with {years}
    source: str
    setting: str  # the field of checks.Rules giving the years

    def years(self) -> int:
        return getattr(checks.rules(), self.setting)

    def text(self) -> str:
        return self.rule.format(years=self.years())


CONSIDER = {
    "remove_due": Consider("remove_due", "停止党籍满期待研究",
                           "停止党籍满 {years} 年后仍无法取得联系的，按自行脱党予以除名；已取得联系的，研究恢复党籍",
                           "党员教育管理工作条例(2019) 第二十四条", "suspended_years_to_remove"),
    "abroad_due": Consider("abroad_due", "出国（境）满期待研究",
                           "出国（境）学习研究超过 {years} 年仍未返回的，一般予以停止党籍",
                           "党员教育管理工作条例(2019) 第二十四条", "abroad_years_to_suspend"),
}
RELATED = ("member", "from_org", "to_org")


def with_status(qs, status: str, today: dt.date):
    if status == "open":
        return qs.open()
    if status == "overdue":
        return qs.overdue(today)
    if status == "done":
        return qs.exclude(status=Transfer.Status.ISSUED)
    if status in Transfer.Status.values:
        return qs.filter(status=status)
    return qs


def transfers(user, *, direction: str = "", status: str = "", root: Organization | None = None, q: str = "",
              today: dt.date | None = None):
    """The letters the user may see: `direction` out (sent from `root`'s subtree, or from the
    user's) or in (received there); `status` one of STATUSES; `q` the member's name."""
    today = today or dt.date.today()
    qs = Transfer.objects.visible_to(user)
    if root is not None:
        if direction == "in":
            qs = qs.filter(to_org__path__startswith=root.path)
        elif direction == "out":
            qs = qs.filter(from_org__path__startswith=root.path)
        else:
            qs = qs.filter(Q(from_org__path__startswith=root.path) | Q(to_org__path__startswith=root.path))
    elif direction == "in":
        qs = qs.exclude(kind=Transfer.Kind.OUT).filter(_side_q(user, "to_org"))
    elif direction == "out":
        qs = qs.exclude(kind=Transfer.Kind.IN).filter(_side_q(user, "from_org"))
    qs = with_status(qs, status, today)
    if q.strip():
        qs = qs.filter(member__in=Member.objects.filter(search_q(q, anywhere=True)).values("pk"))
    return qs.select_related(*RELATED).order_by("-issued_on", "-id")


def _side_q(user, field: str) -> Q:
    q = Q(pk__in=[])
    for prefix in scope_of(user).prefixes("view"):
        q |= Q(**{f"{field}__path__startswith": prefix})
    return q


def transfer_or_404(user, pk, capability: str = "view") -> Transfer:
    return get_visible_or_404(Transfer.objects.select_related(*RELATED, "member__org", "batch", "created_by__member",
                                                              "closed_by__member"), user, pk, capability)


def counts(user, today: dt.date) -> dict:
    """Open and overdue letters the user may see, one query each."""
    qs = Transfer.objects.visible_to(user)
    return {"open": qs.open().count(), "overdue": qs.overdue(today).count()}


def of_member(user, member: Member) -> list[Transfer]:
    return list(Transfer.objects.visible_to(user).filter(member=member).select_related(*RELATED)
                .order_by("-issued_on", "-id"))


def standing_of(user, member: Member) -> list[Standing]:
    """The member's standing history in the order it was recorded."""
    return list(Standing.objects.visible_to(user).filter(member=member)
                .select_related("org", "host_org", "approver", "created_by__member").order_by("id"))


def mobile_members(user, *, root: Organization | None = None, q: str = ""):
    """The members on the roll marked 流动党员 (by a registration here, or on their record)."""
    qs = Member.objects.visible_to(user).filter(is_mobile=True, status=Member.Status.ACTIVE).select_related("org")
    if root is not None:
        qs = qs.filter(org__path__startswith=root.path)
    if q.strip():
        qs = qs.filter(search_q(q, anywhere=True))
    return qs.order_by("org__path", "name", "id")


def mobile_records(members) -> dict[int, Standing]:
    """The open 流动 registration of each of `members`, one query."""
    rows = (Standing.objects.filter(member__in=list(members), kind=Standing.Kind.MOBILE, closed_on__isnull=True)
            .select_related("host_org").order_by("id"))
    return {s.member_id: s for s in rows}


def standing_rows(user, show: str, *, root: Organization | None = None, q: str = "", today: dt.date | None = None):
    """The open records putting members on one list (SHOWS other than "mobile")."""
    today = today or dt.date.today()
    qs = Standing.objects.visible_to(user).select_related("member", "member__org", "host_org", "approver")
    if show in ("lost", "eligible"):
        qs = qs.filter(kind=Standing.Kind.LOST, closed_on__isnull=True, member__status=Member.Status.ACTIVE)
        if show == "eligible":
            months = checks.rules().lost_contact_months_to_suspend
            qs = qs.filter(lost_since__lte=periods.months_before(today, months))
    elif show == "suspended":
        qs = qs.filter(kind=Standing.Kind.SUSPEND, member__status=Member.Status.SUSPENDED)
    elif show in CONSIDER:
        qs = considered(qs, show, today)
    else:
        return qs.none()
    if root is not None:
        qs = qs.filter(member__org__path__startswith=root.path)
    if q.strip():
        qs = qs.filter(member__in=Member.objects.filter(search_q(q, anywhere=True)).values("pk"))
    return qs.order_by("member__org__path", "member__name", "id")


def considered(qs, key: str, today: dt.date):
    """The rows of `qs` (standing records) putting a member on the 待研究 list `key` (CONSIDER) on
    `today`: a suspension in force for its years or more (the last suspension of a member not
    restored since), or a registration abroad still open for its years or more."""
    limit = periods.months_before(today, 12 * CONSIDER[key].years())
    if key == "remove_due":
        restored = Standing.objects.filter(member=OuterRef("member"), kind=Standing.Kind.RESTORE, id__gt=OuterRef("id"))
        return qs.filter(kind=Standing.Kind.SUSPEND, member__status=Member.Status.SUSPENDED,
                         decided_on__lte=limit).filter(~Exists(restored))
    return qs.filter(kind=Standing.Kind.MOBILE, abroad=True, closed_on__isnull=True,
                     member__status=Member.Status.ACTIVE, away_since__lte=limit)


def command_consider(*, root: Organization | None, today: dt.date) -> list[dict]:
    """The 待研究 lists as `dangjian transfers --consider` prints them, every member (--org: of
    that subtree), by list, organization and name."""
    out = []
    for key, c in CONSIDER.items():
        qs = considered(Standing.objects.all(), key, today).select_related("member", "member__org")
        if root is not None:
            qs = qs.filter(member__org__path__startswith=root.path)
        rule = c.text()
        out += [{"list": key, "member": s.member.name, "org_code": s.member.org.code,
                 "since": (s.decided_on if key == "remove_due" else s.away_since).isoformat(),
                 "rule": rule, "source": c.source}
                for s in qs.order_by("member__org__path", "member__name", "id")]
    return out


def away_long(row: Standing, today: dt.date) -> bool:
    """A mobile member away for `transfer_when_away_months` or more: at a fixed place, their
    relation should move there (党员教育管理工作条例 第二十四条)."""
    months = checks.rules().transfer_when_away_months
    return row.away_since is not None and row.away_since <= periods.months_before(today, months)


def command_rows(*, root: Organization | None, status: str, today: dt.date) -> list[dict]:
    """The letters as `dangjian transfers` prints them (every letter; --org: sent from or
    received in that subtree)."""
    qs = Transfer.objects.all()
    if root is not None:
        qs = qs.filter(Q(from_org__path__startswith=root.path) | Q(to_org__path__startswith=root.path))
    qs = with_status(qs, status, today).select_related(*RELATED).order_by("issued_on", "id")
    return [{
        "id": t.pk, "kind": t.kind, "member": t.member.name, "letter_number": t.letter_number,
        "from_code": t.from_org.code if t.from_org_id else None,
        "to_code": t.to_org.code if t.to_org_id else None,
        "outside_org": t.outside_org or None, "outside_region": t.outside_region or None,
        "issued_on": t.issued_on.isoformat(), "valid_until": t.valid_until.isoformat(),
        "status": t.status, "closed_on": t.closed_on.isoformat() if t.closed_on else None,
        "overdue": t.is_open and t.valid_until < today,
    } for t in qs.iterator(chunk_size=2000)]

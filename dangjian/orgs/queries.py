"""Reads of the organization tree: scoped lists, subtree figures, term status."""
import datetime as dt

from django.db.models import Count, Q

from .models import SEGMENT, Organization


def org_list(user):
    return Organization.objects.visible_to(user).select_related("unit", "parent")


def filter_orgs(qs, params):
    """The one org filter for list, export and API: q (name or code), kind, status
    (default active), under (code: that subtree)."""
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(code__iexact=q))
    kind = params.get("kind")
    if kind:
        qs = qs.filter(kind=kind)
    status = params.get("status") or Organization.Status.ACTIVE
    if status != "all":
        qs = qs.filter(status=status)
    under = (params.get("under") or "").strip()
    if under:
        path = Organization.objects.filter(code=under).values_list("path", flat=True).first()
        qs = qs.filter(path__startswith=path) if path else qs.none()
    return qs


def roots_for(user):
    """The top organizations of what the user can see (no visible ancestor)."""
    visible = list(Organization.objects.visible_to(user).active().values("pk", "path"))
    paths = {row["path"] for row in visible}
    top = [row["pk"] for row in visible if not any(row["path"].startswith(p) and row["path"] != p for p in paths)]
    return Organization.objects.filter(pk__in=top).select_related("unit")


def subtree_counts(org) -> dict:
    """Figures for one subtree, in two aggregate queries."""
    from dangjian.members.models import Member

    orgs = Organization.objects.filter(path__startswith=org.path, status="active").aggregate(
        total=Count("pk"), branches=Count("pk", filter=Q(kind="branch"))
    )
    members = Member.objects.filter(org__path__startswith=org.path, status="active").aggregate(
        total=Count("pk"),
        full=Count("pk", filter=Q(category="full")),
        probationary=Count("pk", filter=Q(category="probationary")),
        leaders=Count("pk", filter=Q(is_leader=True)),
    )
    return {"orgs": orgs, "members": members}


def term_status(term, today: dt.date | None = None) -> str:
    if term is None:
        return "none"
    days = term.days_left(today)
    if days < 0:
        return "expired"
    if days <= 183:
        return "expiring"
    return "ok"


def _count(qs):
    """A correlated COUNT(*) subquery: no GROUP BY, so it is valid on every database."""
    from django.db.models import F, Func, IntegerField, Subquery

    return Subquery(
        qs.order_by().annotate(n=Func(F("pk"), function="COUNT", output_field=IntegerField())).values("n")[:1],
        output_field=IntegerField(),
    )


def with_counts(qs, user):
    """Annotate each organization with its active members over the whole subtree and its
    visible active children — one query for the whole list, whatever its length."""
    from django.db.models import OuterRef

    from dangjian.members.models import Member

    return qs.annotate(
        member_count=_count(Member.objects.filter(org__path__startswith=OuterRef("path"), status="active")),
        child_count=_count(Organization.objects.visible_to(user).filter(parent=OuterRef("pk"), status="active")),
    )


def attach_counts(orgs, user) -> list:
    """The same two figures as `with_counts`, for a list already fetched: two GROUP BY
    queries in all. A correlated subquery per row cannot use the path index (its LIKE
    pattern is not a constant), which made a department's sixty branches take a second."""
    from dangjian.members.models import Member

    orgs = list(orgs)
    if not orgs:
        return orgs
    prefixes: list[str] = []
    for path in sorted({o.path for o in orgs}, key=len):
        if not any(path.startswith(p) for p in prefixes):
            prefixes.append(path)
    under = Q(pk__in=[])
    for prefix in prefixes:
        under |= Q(org__path__startswith=prefix)
    totals: dict[str, int] = {}
    per_org = Member.objects.filter(under, status="active").order_by().values_list("org__path").annotate(n=Count("pk"))
    for path, n in per_org:
        # Each org's members count towards every org above it.
        for end in range(SEGMENT, len(path) + 1, SEGMENT):
            totals[path[:end]] = totals.get(path[:end], 0) + n
    children = dict(
        Organization.objects.visible_to(user).active().filter(parent__in=[o.pk for o in orgs])
        .order_by().values_list("parent").annotate(n=Count("pk"))
    )
    for o in orgs:
        o.member_count = totals.get(o.path, 0)
        o.child_count = children.get(o.pk, 0)
    return orgs


def visible_children(user, org) -> list:
    qs = Organization.objects.visible_to(user).active().filter(parent=org).select_related("unit").order_by("code")
    return attach_counts(qs, user)


def ancestors(user, org):
    """The visible ancestors of `org`, root first, in one query."""
    return Organization.objects.visible_to(user).filter(path__in=org.ancestor_paths()).order_by("path")


def counts_for(user) -> dict:
    """Home-page figures over everything the user can see: two aggregate queries."""
    from dangjian.members.models import Member

    from .models import OrgKind

    by_kind = dict(
        Organization.objects.visible_to(user).active().order_by().values_list("kind").annotate(n=Count("pk"))
    )
    kinds = [(label, by_kind.get(value, 0)) for value, label in OrgKind.choices if by_kind.get(value)]
    members = Member.objects.visible_to(user).active().aggregate(
        total=Count("pk"),
        full=Count("pk", filter=Q(category="full")),
        probationary=Count("pk", filter=Q(category="probationary")),
        leaders=Count("pk", filter=Q(is_leader=True)),
    )
    return {
        "orgs_total": sum(by_kind.values()),
        "orgs_by_kind": kinds,
        "branches": by_kind.get(OrgKind.BRANCH, 0),
        "members": members,
    }


def months_before(day: dt.date, months: int) -> dt.date:
    import calendar

    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    return dt.date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


TERM_WARNING_DAYS = 183  # about six months before the end of a term
VACANCY_WARNING_MONTHS = 3


def term_alerts(user, today: dt.date, limit: int = 20):
    """Current terms of visible organizations that have ended or end within six months,
    soonest first: (total count, first `limit` rows)."""
    from .models import Term

    qs = Term.objects.filter(
        is_current=True,
        org__in=Organization.objects.visible_to(user).active(),
        ends_on__lte=today + dt.timedelta(days=TERM_WARNING_DAYS),
    ).select_related("org").order_by("ends_on", "org__code")
    return qs.count(), list(qs[:limit])


def vacancy_alerts(user, today: dt.date, limit: int = 20):
    """Committee seats of visible organizations vacant for more than three months."""
    from .models import CommitteeSeat

    qs = CommitteeSeat.objects.filter(
        is_active=True,
        holder__isnull=True,
        org__in=Organization.objects.visible_to(user).active(),
        vacant_since__lt=months_before(today, VACANCY_WARNING_MONTHS),
    ).select_related("org").order_by("vacant_since", "org__code")
    return qs.count(), list(qs[:limit])

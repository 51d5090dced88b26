"""Reads of the organization tree: scoped lists, subtree figures, term status.

Figures about members are counted through the tree's own relation (`members`, declared by the
members app on its model): the tree never imports the apps above it."""
import datetime as dt
import re

from django.core.management.base import CommandError
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.db.models.functions import Length

from dangjian.core import defaults
from dangjian.core.periods import months_before
from dangjian.core.scoping import scope_of

from . import departments
from .alerts import ALERT_KINDS, Thresholds, kinds_of, scope_alerts
from .models import SEGMENT, CommitteeSeat, Organization, OrgKind, SeatRole, Term, top_of_path, top_org_models, top_path

# Members counted in the figures: those on the roster now.
ACTIVE_MEMBER = Q(members__status="active")
# Text that may be pinyin: Latin letters (with digits, spaces, apostrophes: "xi'an", "di 1").
_SPELLED = re.compile(r"^[A-Za-z0-9\s']*[A-Za-z][A-Za-z0-9\s']*$")
_NOT_PINYIN = re.compile(r"[^a-z0-9]")


def org_list(user):
    return Organization.objects.visible_to(user).select_related("unit", "parent")


def search_orgs(qs, text: str):
    """The one org search, for the tree page, the API, the export and the autocomplete: a
    part of the code (any case), a part of the name, or — typed in Latin letters — a part of
    the name's full pinyin or of its initials (czj → 市财政局…, diyidang → …第一党支部).
    Rows are annotated with `match_rank` (0 best: the code itself, then the code or the
    name beginning with the text) for callers that list the best matches first."""
    text = text.replace("\x00", "").strip()
    if not text:
        return qs
    q = Q(name__icontains=text) | Q(code__icontains=text)
    starts = Q(name__istartswith=text) | Q(code__istartswith=text)
    spelled = _NOT_PINYIN.sub("", text.lower()) if _SPELLED.match(text) else ""
    if spelled:
        q |= Q(name_initials__contains=spelled) | Q(name_pinyin__contains=spelled)
        starts |= Q(name_initials__startswith=spelled) | Q(name_pinyin__startswith=spelled)
    return qs.filter(q).annotate(match_rank=Case(
        When(code__iexact=text, then=Value(0)), When(starts, then=Value(1)), default=Value(2),
        output_field=IntegerField(),
    ))


# The autocomplete lists this many of the best matches, never every organization.
LOOKUP_LIMIT = 20
LOOKUP_CAPABILITIES = ("view", "edit", "import", "manage", "inspect")


def lookup(user, text: str, capability: str = "view", kinds=(), dissolved: bool = False,
           limit: int = LOOKUP_LIMIT) -> list[Organization]:
    """The best `limit` + 1 matches of `text` among the orgs the user holds `capability` over
    (the extra one tells the caller there are more): the code itself first, then codes and
    names that begin with the text, higher orgs before lower ones. One query. Each carries
    `parent_name`: its parent's name where the user may view the parent (two 第一党支部 told
    apart), else empty — nothing outside the scope is named."""
    qs = Organization.objects.visible_to(user, capability)
    if not dissolved:
        qs = qs.active()
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    found = list(search_orgs(qs, text).select_related("parent").order_by("match_rank", Length("path"), "path")
                 [:limit + 1])
    scope = scope_of(user)
    for o in found:
        o.parent_name = o.parent.name if o.parent and scope.allows("view", o.parent.path) else ""
    return found


def filter_orgs(qs, params):
    """The one org filter for list, export and API: q (see `search_orgs`), kind, status
    (default active), under (code: that subtree)."""
    q = (params.get("q") or "").strip()
    if q:
        qs = search_orgs(qs, q)
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


def org_arg(code: str | None) -> Organization | None:
    """The organization a command's --org names (None: the whole tree); exit code 2 if unknown."""
    if not code:
        return None
    org = Organization.objects.filter(code=code.strip()).first()
    if org is None:
        raise CommandError(f"--org：组织代码“{code}”不存在", returncode=2)
    return org


def roots_for(user):
    """The top organizations of what the user can see: the roots of their view scope (no
    visible ancestor by construction), or a plain member's own organization."""
    scope = scope_of(user)
    prefixes = scope.prefixes("view") or ([scope.member_org_path] if scope.member_org_path else [])
    return Organization.objects.filter(path__in=prefixes, status=Organization.Status.ACTIVE).select_related("unit")


def subtree_counts(org) -> dict:
    """Figures for one subtree: the orgs in one aggregate query, the members from the
    departments' cached counts (`member_counts`)."""
    subtree = Organization.objects.filter(path__startswith=org.path, status="active")
    orgs = subtree.aggregate(total=Count("pk"), branches=Count("pk", filter=Q(kind="branch")))
    return {"orgs": orgs, "members": MemberCounts.of([org.path]).figures(org.path)}


FIGURES = ("total", "full", "probationary", "leaders")


class MemberCounts:
    """The active members of every organization of some subtrees, counted per department and
    kept in the cache (orgs.departments): a page showing the members of a subtree of a
    million reads a few cached entries instead of counting the million. Each department holds
    {path: (org active, total, full, probationary, leaders)} for its orgs with members, and
    the sums over them."""

    def __init__(self, found: dict[str, dict]):
        self.found = found

    @classmethod
    def of(cls, prefixes: list[str]) -> "MemberCounts":
        return cls(departments.read("members", prefixes, _count_members, default=_EMPTY_PART))

    def _parts_under(self, path: str):
        return (v for p, v in self.found.items() if p.startswith(path))

    def figures(self, path: str, exact: bool = False) -> dict[str, int]:
        """Active members of the active orgs of the subtree `path` (of that org alone when
        `exact`), as `member_figures` counts them."""
        sums = [0, 0, 0, 0]
        if exact or len(path) > 2 * SEGMENT:
            own = self.found.get(top_path(path), _EMPTY_PART)["own"]
            rows = (v for p, v in own.items() if (p == path if exact else p.startswith(path)))
            for active, *figs in rows:
                if active:
                    sums = [a + b for a, b in zip(sums, figs)]
        else:
            for part in self._parts_under(path):
                sums = [a + b for a, b in zip(sums, part["active"])]
        return dict(zip(FIGURES, sums))

    def total(self, path: str) -> int:
        """Active members of every org of the subtree `path`, dissolved orgs included (as the
        tree lists them)."""
        if len(path) > 2 * SEGMENT:
            own = self.found.get(top_path(path), _EMPTY_PART)["own"]
            return sum(v[1] for p, v in own.items() if p.startswith(path))
        return sum(part["all"] for part in self._parts_under(path))


_EMPTY_PART = {"own": {}, "all": 0, "active": (0, 0, 0, 0)}


def _count_members(where) -> dict[str, dict]:
    """The per-department entries of `MemberCounts` for the orgs matching `where`: one
    GROUP BY."""
    out: dict[str, dict] = {}
    rows = (Organization.objects.filter(where).order_by().values_list("path", "status")
            .annotate(**member_figures()).filter(total__gt=0))
    for path, status, *figs in rows:
        part = out.setdefault(top_path(path), {"own": {}, "all": 0, "active": (0, 0, 0, 0)})
        active = status == Organization.Status.ACTIVE
        part["own"][path] = (active, *figs)
        part["all"] += figs[0]
        if active:
            part["active"] = tuple(a + b for a, b in zip(part["active"], figs))
    return out


def member_figures() -> dict:
    """Aggregates of active members over a queryset of organizations (each member is in one)."""
    return dict(
        total=Count("members", filter=ACTIVE_MEMBER),
        full=Count("members", filter=ACTIVE_MEMBER & Q(members__category="full")),
        probationary=Count("members", filter=ACTIVE_MEMBER & Q(members__category="probationary")),
        leaders=Count("members", filter=ACTIVE_MEMBER & Q(members__is_leader=True)),
    )


def term_status(term, today: dt.date | None = None) -> str:
    """none / expired / expiring (within the re-election reminder window) / ok."""
    if term is None:
        return "none"
    today = today or dt.date.today()
    if term.ends_on < today:
        return "expired"
    if term.ends_on <= months_before(today, -Thresholds.from_defaults().reelection_reminder_months):
        return "expiring"
    return "ok"


def attach_counts(orgs, user) -> list:
    """Each organization's active members over its whole subtree (from the departments'
    cached counts, `MemberCounts`) and its visible active children (one GROUP BY), whatever
    the length of the list."""
    orgs = list(orgs)
    if not orgs:
        return orgs
    prefixes: list[str] = []
    for path in sorted({o.path for o in orgs}, key=len):
        if not any(path.startswith(p) for p in prefixes):
            prefixes.append(path)
    counts = MemberCounts.of(prefixes)
    children = dict(
        Organization.objects.visible_to(user).active().filter(parent__in=[o.pk for o in orgs])
        .order_by().values_list("parent").annotate(n=Count("pk"))
    )
    for o in orgs:
        o.member_count = counts.total(o.path)
        o.child_count = children.get(o.pk, 0)
    return orgs


# A level of the tree shows at most this many organizations; the rest are listed, paginated,
# on the tree page (`?under=`): a province's working committee has thousands of departments.
CHILDREN_LIMIT = 100


def visible_children(user, org, limit: int = CHILDREN_LIMIT) -> tuple[list, int]:
    """The first `limit` visible active children of `org` with their counts, and how many
    there are in all."""
    qs = Organization.objects.visible_to(user).active().filter(parent=org)
    nodes = list(qs.select_related("unit").order_by("code")[:limit + 1])
    total = len(nodes) if len(nodes) <= limit else qs.count()
    return attach_counts(nodes[:limit], user), total


def ancestors(user, org):
    """The visible ancestors of `org`, root first, in one query."""
    return Organization.objects.visible_to(user).filter(path__in=org.ancestor_paths()).order_by("path")


def org_counts(user) -> dict:
    """Home-page figures of the organizations the user can see, and of their members: two
    aggregate queries."""
    visible = Organization.objects.visible_to(user).active()
    by_kind = dict(visible.order_by().values_list("kind").annotate(n=Count("pk")))
    kinds = [(label, by_kind.get(value, 0)) for value, label in OrgKind.choices if by_kind.get(value)]
    # The members of the visible active orgs: the view scope's subtrees, and a member's own
    # org where it lies outside them (seen through `self`), from the cached counts.
    scope = scope_of(user)
    prefixes = scope.prefixes("view")
    own = scope.member_org_path if scope.member_org_path and not scope.allows("view", scope.member_org_path) else None
    counts = MemberCounts.of(prefixes + ([own] if own else []))
    members = dict.fromkeys(FIGURES, 0)
    for path, exact in [(p, False) for p in prefixes] + ([(own, True)] if own else []):
        for key, n in counts.figures(path, exact).items():
            members[key] += n
    return {
        "orgs_total": sum(by_kind.values()),
        "orgs_by_kind": kinds,
        "branches": by_kind.get(OrgKind.BRANCH, 0),
        "members": members,
    }


def alerts_page(user, kind: str, q: str, today: dt.date) -> tuple[list, dict[str, int]]:
    """The structure alerts of everything the user views, filtered by kind (a kind or a group)
    and by a part of the org's name or code; with counts per kind before the kind filter."""
    found = scope_alerts(scope_of(user).prefixes("view"), today)
    if q:
        found = [a for a in found if q in a.org_name or q.lower() in a.org_code.lower()]
    counts = {k: 0 for k in ALERT_KINDS}
    for a in found:
        counts[a.kind] += 1
    wanted = set(kinds_of(kind))
    return [a for a in found if a.kind in wanted], counts


def term_alerts(user, today: dt.date, limit: int = 20):
    """Current terms of visible organizations that have ended or end within the re-election
    reminder window (organization rules), soonest first: (total count, first `limit` rows)."""
    horizon = months_before(today, -Thresholds.from_defaults().reelection_reminder_months)
    qs = Term.objects.filter(
        is_current=True,
        org__in=Organization.objects.visible_to(user).active(),
        ends_on__lte=horizon,
    ).select_related("org").order_by("ends_on", "org__code")
    return _counted_head(qs, limit)


def vacancy_alerts(user, today: dt.date, limit: int = 20):
    """Committee seats of visible organizations vacant longer than the organization rules
    allow (secretary_vacancy_alert_months), longest first."""
    qs = CommitteeSeat.objects.filter(
        is_active=True,
        holder__isnull=True,
        org__in=Organization.objects.visible_to(user).active(),
        vacant_since__lt=months_before(today, Thresholds.from_defaults().secretary_vacancy_alert_months),
    ).select_related("org").order_by("vacant_since", "org__code")
    return _counted_head(qs, limit)


def _counted_head(qs, limit: int) -> tuple[int, list]:
    """(count, first `limit` rows): a short list is its own count, so the COUNT is asked for
    only when the list is full (a branch's home page has a handful of alerts, or none)."""
    rows = list(qs[:limit])
    return (len(rows) if len(rows) < limit else qs.count()), rows


def under_roots(roots, path_lookup: str = "org__path") -> Q:
    """Rows of a `TopOrgOwned` model in the subtrees of `roots` (orgs with pk and path), read
    through the row's own `top_org` column wherever the root's depth allows it, so the rows
    are filtered without joining their orgs: a root at the top by its top-level children, a
    department's top org by itself, a deeper root by its department and then its path."""
    q = Q(pk__in=[])
    for r in roots:
        if len(r.path) <= SEGMENT:
            tops = Organization.objects.filter(Q(pk=r.pk) | Q(parent_id=r.pk)).values("pk")
            q |= Q(top_org_id__in=tops)
        elif len(r.path) == 2 * SEGMENT:
            q |= Q(top_org_id=r.pk)
        else:
            q |= Q(top_org_id=top_of_path(r.path), **{f"{path_lookup}__startswith": r.path})
    return q


def top_org_ids(org_ids) -> dict[int, int]:
    """{org id: its top-level org id} for `org_ids`, one query per 2,000 ids: what a bulk writer
    (an import, the demo's COPY) puts in the `top_org` column of the rows it writes per org."""
    ids = sorted(set(org_ids))
    found: dict[int, int] = {}
    for i in range(0, len(ids), 2000):
        found.update(Organization.objects.filter(pk__in=ids[i:i + 2000]).values_list("pk", "top_org_id"))
    return found


def top_org_mismatches() -> dict[str, int]:
    """Rows whose `top_org` is not the one the path of their org (or of their record's org)
    gives, per table (empty when all agree); one COUNT per table, computed in the database."""
    from django.db.models import F
    from django.db.models.functions import Cast, Substr

    def derived(prefix: str):
        """The top-level org id the path at `prefix` names (the depth-1 segment, or the root's)."""
        return Case(When(n__gte=2 * SEGMENT, then=Cast(Substr(f"{prefix}path", SEGMENT + 1, SEGMENT - 1), IntegerField())),
                    default=Cast(Substr(f"{prefix}path", 1, SEGMENT - 1), IntegerField()))

    def wrong(qs, prefix: str) -> int:
        qs = qs.alias(n=Length(f"{prefix}path")).alias(top=derived(prefix))
        return qs.filter(n__gte=SEGMENT).exclude(top_org_id=F("top")).count() + qs.filter(top_org__isnull=True).count()

    found = {"orgs.Organization": wrong(Organization.objects.all(), "")}
    for model in top_org_models():
        prefix = f"{model.TOP_ORG_FROM}__"
        related = model._meta.get_field(model.TOP_ORG_FROM).related_model
        if related is not Organization:
            prefix += f"{related.TOP_ORG_FROM}__"
        found[model._meta.label] = wrong(model._base_manager.all(), prefix)
    return {label: n for label, n in found.items() if n}


# How each seat of a unit's party organizations answers for its party building (seed 001: “党组
# （党委）书记负总责、班子成员分工负责、机关党委推进落实、行政负责人‘一岗双责’”; seed 000: 第一责任人).
# The unit's administrative heads hold no seat: their 一岗双责 is on their duty list.
UNIT_DUTIES = {
    ("leading_group", SeatRole.SECRETARY): "第一责任人，对本单位党建工作负总责",
    ("leading_group", None): "班子成员，对分管部门、单位的党建工作负领导责任（一岗双责）",
    (None, SeatRole.SECRETARY): "负责谋划和统筹推进本单位机关党建工作，推进落实",
    (None, SeatRole.DISCIPLINE_OFFICER): "协助党组织加强党风廉政建设，履行监督责任",
}


def party_group_secretary_post() -> str:
    """The word of a 职务 that names a 党组's secretary where its 党组 has no seat entered
    ("党组书记、局长"): rules/duties.yaml `post_keyword`, the one reading of it for the duty lists,
    the reviews and the unit page. Empty when the rules name none."""
    return ((defaults.load("duties").get("roles") or {}).get("party_group_secretary") or {}).get("post_keyword") or ""


def unit_duties(user, org: Organization) -> list[dict]:
    """Who answers for what in the unit of a department's top organization (a working
    committee's direct child): the unit's 党组 (or 党委) and its organ party organization are
    assessed together as one target (assessment.queries.targets). Each organization of the unit
    under the working committee, 党组 first, with the people whose seat carries a duty in the
    unit's responsibility system. A 党组 without seats entered is read as the duty lists read it
    (rules/duties.yaml): the unit's leading cadre whose 职务 names the 党组书记 (post_keyword),
    and its other leading cadres as 班子成员. Empty for any other organization. Three queries at
    most; organizations the user may not view are named without their people."""
    if org.unit_id is None or org.parent_id is None or org.parent.kind != OrgKind.WORKING_COMMITTEE:
        return []
    orgs = list(Organization.objects.filter(parent_id=org.parent_id, unit_id=org.unit_id, status="active")
                .order_by("path"))
    if len(orgs) < 2:
        return []
    orgs.sort(key=lambda o: (o.kind != OrgKind.LEADING_GROUP, o.path))
    kinds = {o.pk: o.kind for o in orgs}
    visible = set(Organization.objects.visible_to(user).filter(pk__in=list(kinds)).values_list("pk", flat=True))
    # Per organization, (order, role, duty) → the people holding it (None for a vacant seat).
    lines: dict[int, dict[tuple, list]] = {o.pk: {} for o in orgs}
    order = list(SeatRole.values)
    for seat in (CommitteeSeat.objects.filter(org__in=visible, is_active=True).select_related("holder")
                 .order_by("org_id", "id")):
        kind = kinds[seat.org_id]
        duty = ((UNIT_DUTIES.get((kind, seat.role)) or UNIT_DUTIES.get((kind, None))) if kind == OrgKind.LEADING_GROUP
                else UNIT_DUTIES.get((None, seat.role)))
        if duty:
            key = (order.index(seat.role), seat.get_role_display(), duty)
            lines[seat.org_id].setdefault(key, []).append((seat.holder, ""))
    unseated = [o for o in orgs if o.kind == OrgKind.LEADING_GROUP and o.pk in visible
                and not any(k[0] == 0 and any(h for h, _ in held) for k, held in lines[o.pk].items())]
    if unseated:
        keyword = party_group_secretary_post()
        member = Organization._meta.get_field("members").related_model
        leaders = list(member.objects.filter(status="active", is_leader=True, org__unit_id=org.unit_id)
                       .order_by("org__path", "name", "pk"))
        head = next((m for m in leaders if keyword and keyword in (m.post or "")), None)
        for o in unseated:
            for m in leaders:
                key = ((0, "党组书记", UNIT_DUTIES[("leading_group", SeatRole.SECRETARY)]) if m is head
                       else (1, "班子成员", UNIT_DUTIES[("leading_group", None)]))
                lines[o.pk].setdefault(key, []).append((m, m.post))
    return [{"org": o, "visible": o.pk in visible,
             "lines": [{"role": role, "duty": duty, "people": held} for (_, role, duty), held in sorted(lines[o.pk].items())]}
            for o in orgs]

"""The one scoping rule and the one access vocabulary: what a user may see and do is decided
here and nowhere else.

A role assignment is (user, role, org): the role's capabilities hold over that org's whole
subtree (materialized path prefix). Every queryset shown to a user passes through
`ScopedQuerySet.visible_to(user, capability)`; objects outside answer 404 because the views
look them up in that queryset (`get_visible_or_404`).

On top of the capabilities, two role predicates that pages ask for:
- `is_committee_staff`: 工委 staff — "manage" over a working committee (机关工委). They own
  what binds the whole tree: rules, schemes, runs, ratings, duty lists. A 工委管理员 role given
  on a department is not staff: it manages that department only.
- `oversees`: the user's view scope reaches an organization that has others below it to
  compare (a 工委, 党组, 党委, 机关党委 or 党总支) — the pages that compare organizations
  (overview, formalism signals, ratings) are theirs; a branch's people have their branch.

The scope is read in one query from the user's own relations (role assignments with their
org, the member record with its org): the kernel imports no domain app.
"""
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q
from django.http import Http404

# Capabilities by role. "view" = read the subtree; "edit" = change org/member records;
# "import" = bulk import and export; "see_id" = the full 身份证号; "manage" = the working
# committee's own work (with a working committee in scope); "inspect" = what an inspection team
# does over the organizations it is assigned to (督查考核: scoring the 考核组评分 indicators,
# naming a weak organization), never closing what it opened; "self" = own record only.
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    "wc_admin": frozenset({"view", "edit", "import", "see_id", "manage", "inspect"}),
    "unit_admin": frozenset({"view", "edit", "import", "see_id"}),
    "branch_secretary": frozenset({"view", "edit"}),
    "inspector": frozenset({"view", "inspect"}),
    "leader": frozenset({"view"}),
    "member": frozenset({"self"}),
}
# Organization kinds (orgs.models.OrgKind) with others below them to compare.
WORKING_COMMITTEE = "working_committee"
SUPERVISING = (WORKING_COMMITTEE, "leading_group", "committee", "organ_committee", "general_branch")
NOT_FOUND = "未找到，或不在您的权限范围内"


@dataclass
class Scope:
    """Path prefixes per capability, the user's own member id, and the role predicates."""

    paths: dict[str, list[str]] = field(default_factory=dict)
    member_id: int | None = None
    member_org_path: str | None = None
    member_name: str = ""
    committee_staff: bool = False
    supervising_roots: list[str] = field(default_factory=list)  # view roots of a SUPERVISING kind

    def prefixes(self, capability: str) -> list[str]:
        return self.paths.get(capability, [])

    def allows(self, capability: str, path: str) -> bool:
        return any(path.startswith(p) for p in self.prefixes(capability))

    @property
    def is_empty(self) -> bool:
        return not self.paths and self.member_id is None


def scope_of(user) -> Scope:
    """Computed once per user object (one query), then cached on it."""
    cached = getattr(user, "_dangjian_scope", None)
    if cached is not None:
        return cached
    scope = Scope()
    if user is not None and user.is_authenticated and user.is_active:
        kinds: dict[str, str] = {}
        rows = get_user_model()._default_manager.filter(pk=user.pk).values_list(
            "roles__role", "roles__org__path", "roles__org__kind", "roles__org__status", "member_id",
            "member__org__path", "member__name")
        for role, path, kind, status, member_id, member_path, member_name in rows:
            scope.member_id, scope.member_org_path = member_id, member_path if member_id else None
            scope.member_name = member_name or ""
            if role is None or status != "active":
                continue
            kinds[path] = kind
            capabilities = ROLE_CAPABILITIES.get(role, ())
            for cap in capabilities:
                scope.paths.setdefault(cap, []).append(path)
            if "manage" in capabilities and kind == WORKING_COMMITTEE:
                scope.committee_staff = True
        for cap, prefixes in scope.paths.items():
            scope.paths[cap] = _minimal(prefixes)
        scope.supervising_roots = [p for p in scope.prefixes("view") if kinds.get(p) in SUPERVISING]
    user._dangjian_scope = scope
    return scope


def cached_scope(user) -> Scope | None:
    """The scope if this user object has computed it already (no query), else None."""
    return getattr(user, "_dangjian_scope", None)


def _minimal(prefixes: list[str]) -> list[str]:
    """Drop prefixes already covered by a shorter one, so the SQL stays small."""
    kept: list[str] = []
    for p in sorted(set(prefixes), key=len):
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return kept


# ---- the access vocabulary ------------------------------------------------------------------

def can(user, capability: str, path: str) -> bool:
    return scope_of(user).allows(capability, path)


def can_anywhere(user, capability: str) -> bool:
    return bool(scope_of(user).prefixes(capability))


def is_committee_staff(user) -> bool:
    """工委 staff: a 工委管理员 role on a working committee (see the module docstring)."""
    return scope_of(user).committee_staff


def oversees(user) -> bool:
    """The user's view scope has a root above branch level: the comparing pages are theirs."""
    return bool(scope_of(user).supervising_roots)


def require(allowed: bool, message: str = NOT_FOUND) -> None:
    """404 (never 403) when a page is not the user's: others learn nothing of it."""
    if not allowed:
        raise Http404(message)


def require_committee_staff(user) -> None:
    require(is_committee_staff(user), "未找到，或只有机关工委工作人员可以使用此功能")


def committee_staff_only(view):
    """A page for 工委 staff only: 404 for everyone else, before anything is read. Marked, so
    the URL-walking test finds every such page and checks who is let in."""
    from functools import wraps

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        require_committee_staff(request.user)
        return view(request, *args, **kwargs)

    wrapped.committee_staff_only = True
    return wrapped


def get_visible_or_404(queryset, user, pk, capability: str = "view"):
    """The object `pk` of `queryset` if `user` holds `capability` over it, else 404 — the one
    way views, the API and importers look an object up. A joined scope (a member's own
    records through attendance) may repeat a row; the first is the object."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404(NOT_FOUND) from None
    found = list(queryset.visible_to(user, capability).filter(pk=pk).order_by()[:1])
    if not found:
        raise Http404(NOT_FOUND)
    return found[0]


class ScopedQuerySet(models.QuerySet):
    """Subclasses name the lookup that reaches the org path of each row."""

    path_lookup = "path"

    # How a plain member (capability "self") reaches rows: a Q built from the scope.
    def self_q(self, scope: Scope) -> Q | None:
        return None

    def visible_to(self, user, capability: str = "view"):
        scope = scope_of(user)
        q = Q(pk__in=[])
        for prefix in scope.prefixes(capability):
            q |= Q(**{f"{self.path_lookup}__startswith": prefix})
        if capability == "view":
            own = self.self_q(scope)
            if own is not None:
                q |= own
        return self.filter(q)

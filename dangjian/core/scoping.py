"""The one scoping rule: what a user may see and do is decided here and nowhere else.

A role assignment is (user, role, org): the role's capabilities hold over that org's
whole subtree (materialized path prefix). Every queryset shown to a user passes through
`ScopedQuerySet.visible_to(user, capability)`; objects outside answer 404 because the
views look them up in that queryset.
"""
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.db.models import Q

# Capabilities by role. "view" = read the subtree; "edit" = change org/member records;
# "import" = bulk import and export; "see_id" = the full 身份证号; "self" = own record only.
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    "wc_admin": frozenset({"view", "edit", "import", "see_id", "manage"}),
    "unit_admin": frozenset({"view", "edit", "import", "see_id"}),
    "branch_secretary": frozenset({"view", "edit"}),
    "inspector": frozenset({"view"}),
    "leader": frozenset({"view"}),
    "member": frozenset({"self"}),
}


@dataclass
class Scope:
    """Path prefixes per capability, plus the user's own member id."""

    paths: dict[str, list[str]] = field(default_factory=dict)
    member_id: int | None = None
    member_org_path: str | None = None

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
        RoleAssignment = apps.get_model("accounts", "RoleAssignment")
        rows = RoleAssignment.objects.filter(user=user, org__status="active").values_list("role", "org__path")
        for role, path in rows:
            for cap in ROLE_CAPABILITIES.get(role, ()):
                scope.paths.setdefault(cap, []).append(path)
        if user.member_id:
            scope.member_id = user.member_id
            Member = apps.get_model("members", "Member")
            scope.member_org_path = (
                Member.objects.filter(pk=user.member_id).values_list("org__path", flat=True).first()
            )
        for cap, prefixes in scope.paths.items():
            scope.paths[cap] = _minimal(prefixes)
    user._dangjian_scope = scope
    return scope


def _minimal(prefixes: list[str]) -> list[str]:
    """Drop prefixes already covered by a shorter one, so the SQL stays small."""
    kept: list[str] = []
    for p in sorted(set(prefixes), key=len):
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return kept


def can(user, capability: str, path: str) -> bool:
    return scope_of(user).allows(capability, path)


def can_anywhere(user, capability: str) -> bool:
    return bool(scope_of(user).prefixes(capability))


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

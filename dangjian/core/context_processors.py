"""What the menu offers, read from the user's scope (computed once per request and cached on
the user, no further query)."""
from django.utils.functional import SimpleLazyObject

from .people import display_name
from .scoping import is_committee_staff, oversees, scope_of


def menu(request):
    def capabilities():
        scope = scope_of(request.user)
        found = {cap: bool(scope.prefixes(cap)) for cap in ("view", "edit", "import", "manage")}
        found["oversee"] = oversees(request.user)
        found["staff"] = is_committee_staff(request.user)
        found["member"] = scope.member_id is not None
        found["member_id"] = scope.member_id
        # The header names the person (the member's name, else the account's), not the login.
        found["person"] = display_name(request.user)
        # An applicant's own login (我的入党进程): asked only by a menu holding nothing else, so
        # every other user pays no query for it. The relation is the applicant's, not an import.
        found["applicant"] = lambda: getattr(request.user, "applicant", None) is not None
        return found

    return {"menu": SimpleLazyObject(capabilities)}

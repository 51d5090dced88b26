"""What the menu offers, read from the user's scope (computed once per request and cached on
the user). `oversee` — whether the user's view reaches an organization above branches, for the
pages that compare organizations — costs one query, and only on pages that show the menu."""
from django.apps import apps
from django.utils.functional import SimpleLazyObject

from .scoping import scope_of

# Organizations that have others below them to compare (the pages' own rule, e.g.
# activities.views.formalism.SUPERVISING).
SUPERVISING = ("working_committee", "organ_committee", "committee", "general_branch", "leading_group")


def menu(request):
    def capabilities():
        scope = scope_of(request.user)
        found = {cap: bool(scope.prefixes(cap)) for cap in ("view", "edit", "import", "manage")}
        roots = scope.prefixes("view")
        Organization = apps.get_model("orgs", "Organization")
        found["oversee"] = bool(roots) and Organization.objects.filter(
            path__in=roots, kind__in=SUPERVISING).exists()
        return found

    return {"menu": SimpleLazyObject(capabilities)}

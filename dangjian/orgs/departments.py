"""Figures kept per department in the cache, recomputed only where a write touched.

Some figures of a subtree read every member in it: the members counted per organization, the
structure alerts (counts, ranks). Over a province's million members each such read costs about
a second, too much for a page. They are kept in the cache per department — the subtree of an
organization just below a root, and each root's own organization on its own — so that a page
reads the departments it shows, and a change in one department recomputes that department
only, never the tree.

An entry is named by what it holds, a stamp the caller gives (the day, for alerts judged
against it), a fingerprint of the tables (their highest ids: a bulk writer that adds rows, or a
rebuilt database, is never served from before) and the department's generation. Every write
that can change a department's figures moves its generation on after it commits (`touch`):
org set-up (the `tree_changed` signal), terms, members created, edited, transferred or
imported. A reader that computed from data older than a write stores its result under a
generation that the commit moves past, so nobody reads it again. Entries live a day at most.

With Django's default cache each process keeps its own entries; the production settings' shared
cache (Redis or the database) lets every worker read what one computed. A per-process cache
cannot hear of another process's writes (a command run in a terminal beside the server edits
members: its `touch` moves its own copy on), so there entries live a minute, not a day: a small
install recomputes a department's figures in milliseconds.
"""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, Subquery

from .models import SEGMENT, CommitteeSeat, Organization, Term, top_path

PREFIX = "orgs:dept"
LIFETIME = 24 * 3600
LIFETIME_PER_PROCESS = 60
# Above this many departments to compute, one pass over the asked subtrees is cheaper than a
# filter naming each department.
MANY = 50


def parts(prefixes: list[str]) -> list[str]:
    """The departments holding the subtrees `prefixes`: one query for the children of the
    roots among them."""
    roots = [p for p in prefixes if len(p) <= SEGMENT]
    found = {top_path(p) for p in prefixes}
    if roots:
        found.update(Organization.objects.filter(parent__path__in=roots).values_list("path", flat=True))
    return sorted(found)


def fingerprint() -> str:
    """The highest ids of the tables the figures come from, in one query."""
    # The members app's model, through the relation it declares (the tree imports no app).
    member = Organization._meta.get_field("members").related_model
    row = (Organization.objects.order_by("-pk").annotate(
        term=Subquery(Term.objects.order_by("-pk").values("pk")[:1]),
        seat=Subquery(CommitteeSeat.objects.order_by("-pk").values("pk")[:1]),
        member=Subquery(member.objects.order_by("-pk").values("pk")[:1]),
    ).values_list("pk", "term", "seat", "member").first())
    return "-".join(str(v) for v in row or ())


def _gen_key(part: str) -> str:
    return f"{PREFIX}:gen:{part}"


def touch(paths) -> None:
    """Move on the departments of `paths` (org paths) now and again once the current
    transaction commits: their figures are computed again when next asked for. Now, so that
    the writer's own reads see its change; after the commit, because another reader may have
    computed from the data as it was before it and stored that under the generation of now."""
    keys = sorted({_gen_key(top_path(p)) for p in paths if p})

    def bump():
        for key in keys:
            cache.add(key, 0, None)
            try:
                cache.incr(key)
            except ValueError:  # evicted between the two calls
                cache.set(key, 1, None)

    if keys:
        bump()
        transaction.on_commit(bump)


def touch_all() -> None:
    """`touch` every department (a bulk writer that may have changed any): one query."""
    roots = list(Organization.objects.filter(parent__isnull=True).values_list("path", flat=True))
    touch(parts(roots))


def touch_orgs(org_ids) -> None:
    """`touch` by org ids (what `tree_changed` carries)."""
    touch(Organization.objects.filter(pk__in=list(org_ids)).values_list("path", flat=True))


def read(name: str, prefixes: list[str], compute: Callable[[Q], dict], stamp: str = "", default=None) -> dict:
    """{department: value} for the departments of `prefixes`, from the cache where present;
    the others from `compute(where)`, which answers {department: value} for the orgs matching
    `where` (a filter on Organization covering whole departments), and are stored. A
    department `compute` says nothing of gets `default`. Queries: the departments, the
    fingerprint, and `compute`'s own when something is missing."""
    if not prefixes:
        return {}
    return read_parts(name, parts(prefixes), compute, stamp, default, cover=prefixes)


def read_parts(name: str, wanted: list[str], compute: Callable[[Q], dict], stamp: str = "", default=None, *,
               cover: list[str] | None = None) -> dict:
    """`read` for the departments `wanted` themselves (as `parts` names them: a root stands for
    its own organization only): a page that shows a few departments of many reads only those.
    With more than MANY to compute, one pass over the subtrees `cover` replaces the filter
    naming each."""
    if not wanted:
        return {}
    gens = cache.get_many([_gen_key(p) for p in wanted])
    base = f"{PREFIX}:{name}:{stamp}:{fingerprint()}"
    keys = {p: f"{base}:{p}:{gens.get(_gen_key(p), 0)}" for p in wanted}
    found = cache.get_many(list(keys.values()))
    missing = [p for p in wanted if keys[p] not in found]
    if missing:
        where = Q(pk__in=[])
        if cover and len(missing) > MANY:
            # Whole departments (a unit admin's prefix may lie inside one): a root covers its own.
            for p in {p if len(p) <= SEGMENT else top_path(p) for p in cover}:
                where |= Q(path__startswith=p)
        else:
            for p in missing:
                where |= Q(path=p) if len(p) <= SEGMENT else Q(path__startswith=p)
        computed = compute(where)
        fresh = {keys[p]: computed.get(p, default) for p in missing}
        cache.set_many(fresh, LIFETIME if settings.CACHE_SHARED else LIFETIME_PER_PROCESS)
        found.update(fresh)
    return {p: found[keys[p]] for p in wanted}

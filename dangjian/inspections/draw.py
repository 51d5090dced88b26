"""The draw of a random inspection (随机督查): which organizations a seed picks from a pool.

The pool is given by its rule — the active organizations of chosen kinds below an organization
— and is put in the order of the tree (the organizations' paths), whatever order it was read in;
then `random.Random(seed).sample(pool, count)` picks the targets. The same seed and pool give the
same targets on any machine and in any Python 3, so anyone holding the recorded seed and the
pool (kept with the plan as codes in that order) can re-run the draw and check it.
"""
from __future__ import annotations

import random
import secrets

from dangjian.orgs.models import Organization

MAX_SEED = 10**9


def new_seed() -> int:
    """A seed to announce with the plan: 1 to 999,999,999."""
    return secrets.randbelow(MAX_SEED - 1) + 1


def pool(under: Organization, kinds) -> list[Organization]:
    """The pool of a rule: active organizations of `kinds` below `under` (not itself), in path order."""
    return list(Organization.objects.filter(path__startswith=under.path, kind__in=list(kinds),
                                            status=Organization.Status.ACTIVE)
                .exclude(pk=under.pk).order_by("path"))


def sample(orgs, count: int, seed: int) -> list:
    """The `count` organizations the seed draws from `orgs` (in any order), in path order."""
    ordered = sorted(orgs, key=lambda o: o.path)
    picked = random.Random(seed).sample(ordered, min(count, len(ordered)))
    return sorted(picked, key=lambda o: o.path)


def rerun(codes: list[str], count: int, seed: int) -> list[str]:
    """The draw again from a recorded pool (codes in path order): the codes it picks."""
    return sorted(random.Random(seed).sample(list(codes), min(count, len(codes))), key=list(codes).index)

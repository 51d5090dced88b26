"""The default duty lists (dangjian/rules/duties.yaml) as the platform reads them at run time:
each role's label, responsibility and source, and the word of the 职务 that names a 党组书记.
Seeding the items from the same file is seed.py's."""
from __future__ import annotations

from dangjian.core import defaults
from dangjian.orgs.queries import party_group_secretary_post

from .models import ROLE_LABELS


def catalog() -> dict:
    return defaults.load("duties")


def roles() -> dict[str, dict]:
    """Per role: label, responsibility (第一责任人 …), source, and for 党组书记 the word of the
    职务 that names the holder where the 党组 has no secretary seat."""
    out = {}
    for code, label in ROLE_LABELS.items():
        spec = dict((catalog().get("roles") or {}).get(code) or {})
        spec.setdefault("label", label)
        spec.setdefault("responsibility", "")
        spec.setdefault("source", "")
        out[code] = spec
    return out


def post_keyword() -> str:
    return party_group_secretary_post()

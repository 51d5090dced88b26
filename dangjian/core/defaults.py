"""The regulation defaults shipped with the platform (dangjian/rules/*.yaml): frequencies,
organization rules, dues bands, development durations, star-rating lines, 减负 limits, duty lists.

Read once per process. They are only the starting point: each app seeds its own tables from its
section after `migrate`, and 工委 staff change the rules in the platform from then on. Sources
and articles for every line: dangjian/rules/SOURCES.md.
"""
from __future__ import annotations

import functools
from dataclasses import fields, replace
from pathlib import Path

import yaml

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


@functools.cache
def load(name: str = "defaults") -> dict:
    """A rules file by name (`defaults`, `duties`), parsed."""
    with open(RULES_DIR / f"{name}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def section(name: str) -> dict:
    """One section of defaults.yaml (`organization`, `burden_reduction` …), a fresh copy."""
    return dict(load().get(name) or {})


def entries(name: str) -> list:
    """A section of defaults.yaml that is a list (`activity_frequency`)."""
    return list(load().get(name) or [])


def settings_of(cls, name: str, **overrides):
    """A frozen dataclass of settings (`cls`, whose fields carry the code's defaults) filled
    from the section `name` of defaults.yaml, then from `overrides` (tests, a page's choice);
    an override the dataclass does not know is refused."""
    known = {f.name: f for f in fields(cls)}
    unknown = set(overrides) - set(known)
    if unknown:
        raise ValueError(f"未知的阈值：{'、'.join(sorted(unknown))}")
    values = {}
    for key, value in section(name).items():
        if key in known:
            # The file's numbers and flags are read as the field's own type (5 for "5").
            values[key] = type(known[key].default)(value) if known[key].default is not None else value
    return replace(cls(**values), **overrides)

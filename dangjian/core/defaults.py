"""The regulation defaults shipped with the platform (dangjian/rules/*.yaml): frequencies,
organization rules, dues bands, development durations, star-rating lines, 减负 limits, duty lists.

Read once per process. They are only the starting point: each app seeds its own tables from its
section after `migrate`, and 工委 staff change the rules in the platform from then on. Sources
and articles for every line: dangjian/rules/SOURCES.md.
"""
from __future__ import annotations

import functools
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

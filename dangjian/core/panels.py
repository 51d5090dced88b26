"""Panels that an app puts on another app's page without the page's app knowing it.

The org page and the member page belong to apps low in the house (orgs, members); what an app
above knows of an organization or a person (its honours, say) is shown there by registering a
panel here, in its `AppConfig.ready()`:

    panels.register("orgs.detail", honours_of_org)

A panel is a function `(request, obj) -> str`: the HTML of a card (rendered from the app's own
template, so safe), or "" to show nothing. The page calls `panels.render(name, request, obj)`
and prints the pieces in the order the apps registered them. A panel reads with a fixed number
of queries and shows only what the request's user may see.
"""
from __future__ import annotations

from collections.abc import Callable

PAGES = ("orgs.detail", "members.detail")

_registered: dict[str, list[Callable]] = {}


def register(page: str, panel: Callable) -> None:
    if page not in PAGES:
        raise ValueError(f"no page takes panels by the name {page!r} (known: {', '.join(PAGES)})")
    if panel not in _registered.setdefault(page, []):
        _registered[page].append(panel)


def render(page: str, request, obj) -> list[str]:
    return [html for panel in _registered.get(page, []) if (html := panel(request, obj))]

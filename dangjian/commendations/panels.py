"""The honours panel of the org page and the member page (core.panels): the honours of published
decisions the org or the member received, with the decision's number and date. One query each."""
from django.template.loader import render_to_string

from dangjian.core import panels

from . import queries


def org_panel(request, org) -> str:
    rows = queries.of_org(request.user, org)
    return render_to_string("commendations/_panel.html", {"rows": rows, "for_org": True}) if rows else ""


def member_panel(request, member) -> str:
    rows = queries.of_member(request.user, member)
    return render_to_string("commendations/_panel.html", {"rows": rows, "for_org": False}) if rows else ""


panels.register("orgs.detail", org_panel)
panels.register("members.detail", member_panel)

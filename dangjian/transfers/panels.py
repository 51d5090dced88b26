"""The member page's panel (core.panels): the member's letters and standing history, with the
decisions the user may record for them. Two queries."""
from django.template.loader import render_to_string

from dangjian.core import panels
from dangjian.core.scoping import can

from . import queries
from .forms import ACTIONS, actions_for


def member_panel(request, member) -> str:
    user = request.user
    letters = queries.of_member(user, member)
    history = queries.standing_of(user, member)
    editable = can(user, "edit", member.org.path)
    actions = [(a, ACTIONS[a]) for a in actions_for(member, history)] if editable else []
    if not (letters or history or actions):
        return ""
    return render_to_string("transfers/_panel.html", {
        "member": member, "letters": letters, "history": history, "actions": actions,
        "can_issue": editable and member.status == member.Status.ACTIVE}, request=request)


panels.register("members.detail", member_panel)

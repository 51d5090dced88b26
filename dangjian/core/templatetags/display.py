"""Filters that show a stored value as a person reads it (`{% load display %}`).

- `{{ activity.recorded_by|person }}`: the person behind a login (`core.people.display_name`),
  never the login itself.
- `{{ row.period|period_name }}`: a period by its Chinese name (2026年第一季度), never its code
  (2026Q1).
- `{{ member|birth_for:user }}`: a birth date as this user may see it — whole with "see_id"
  over the member's organization, else the year only (`core.idcard.birth_shown`).
"""
from django import template

from dangjian.core.idcard import birth_shown
from dangjian.core.people import display_name
from dangjian.core.periods import name_of
from dangjian.core.scoping import can

register = template.Library()


@register.filter
def person(user) -> str:
    return display_name(user)


@register.filter
def period_name(period) -> str:
    return name_of(period)


@register.filter
def birth_for(member, user) -> str:
    return birth_shown(member.birth_date, can(user, "see_id", member.org.path))

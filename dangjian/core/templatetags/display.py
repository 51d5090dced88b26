"""Filters that show a stored value as a person reads it (`{% load display %}`).

- `{{ activity.recorded_by|person }}`: the person behind a login (`core.people.display_name`),
  never the login itself.
"""
from django import template

from dangjian.core.people import display_name

register = template.Library()


@register.filter
def person(user) -> str:
    return display_name(user)

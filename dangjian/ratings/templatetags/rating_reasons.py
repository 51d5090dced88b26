"""A rating's reasons as a list (`{% load rating_reasons %}`), for ratings/_reasons.html.

`{% rating_reasons r.reasons %}` writes the list in Python: the ratings pages show a page of 50
ratings with several reasons each, and the template's loop over them was a large part of the
page's time. The markup is the one the loop wrote (tests/test_ratings.py compares the two),
every value escaped as the template escaped it.
"""
from html import escape  # what django.utils.html.escape applies, without a SafeString per value

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


def _shown(value) -> str:
    return escape(str(value)) if value is not None else "None"


@register.simple_tag
def rating_reasons(reasons) -> str:
    items = []
    for x in reasons:
        bold = ' class="fw-semibold"' if x.get("binding") else ""
        items.append(f'<li data-kind="{_shown(x.get("kind", ""))}"{bold}>{_shown(x.get("text", ""))}</li>')
    return mark_safe(f'<ol class="small mb-0 ps-3 reasons">{"".join(items)}</ol>')  # every value in it is escaped

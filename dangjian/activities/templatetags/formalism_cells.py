"""The count cells of a row of the formalism summary (`{% load formalism_cells %}`).

`{% formalism_cells u unit_base %}` writes a unit's cells in Python: the summary holds a row per
sub-organization (a hundred and more for the working committee), and the cells drawn by the
template's loop were most of the page's time. The markup is the one the loop wrote
(tests/test_formalism.py compares the two), every value escaped as the template escaped it.
"""
from html import escape  # what django.utils.html.escape applies, without a SafeString per value
from urllib.parse import quote

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def formalism_cells(unit, unit_base) -> str:
    # The link of every cell of the row: `unit_base`, then the org as the urlencode filter writes it.
    link = f'?{escape(str(unit_base))}&amp;org={escape(quote(str(unit.org.code), safe="/"))}'
    if unit.own:
        link += "&amp;own=1"
    out = []
    for k, n in unit.cells:
        if n:
            out.append(f'<td><a href="{link}&amp;kind={escape(str(k))}" title="列出这些提示">{escape(str(n))}</a></td>')
        else:
            out.append('<td><span class="text-muted">0</span></td>')
    return mark_safe("".join(out))  # every value in it is escaped

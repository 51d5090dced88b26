"""The month cells of the overview's table (`{% load overview %}`).

`{% overview_cells unit.cells cell_base %}` writes a unit's twelve cells in Python: the table
holds up to 30 units of 12 cells each, and the same markup drawn by the template's own loop,
six lookups and two conditions a cell, was most of the page's time. The markup is the one the
loop wrote (tests/test_overview.py compares the two), escaped the same way.
"""
from html import escape  # what django.utils.html.escape applies, without a SafeString per value

from django import template
from django.utils.safestring import mark_safe

from dangjian.activities.queries import percent

register = template.Library()


@register.simple_tag
def overview_cells(cells, cell_base) -> str:
    base = escape(str(cell_base))
    out = []
    for c in cells:
        rate = c.rate
        if rate is not None:
            out.append(f'<td title="{escape(c.tip)}" data-rate="{rate:.4f}"><a href="?{base}&amp;{escape(c.query)}'
                       f'#overview-lists">{escape(percent(rate))}</a></td>')
        else:
            out.append(f'<td title="{escape(c.tip)}"><span class="text-muted">{escape(c.text)}</span></td>')
    return mark_safe("".join(out))  # every value in it is escaped

"""The month cells of the overview's table (`{% load overview %}`).

`{% overview_cells unit.cells cell_base %}` writes a unit's twelve cells in Python: the table
holds up to 30 units of 12 cells each, and the same markup drawn by the template's own loop,
six lookups and two conditions a cell, was most of the page's time. The markup is the one the
loop wrote (tests/test_overview.py compares the two), escaped the same way.
"""
from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from dangjian.activities.queries import percent

register = template.Library()


@register.simple_tag
def overview_cells(cells, cell_base) -> str:
    out = []
    for c in cells:
        rate = c.rate
        if rate is not None:
            out.append(format_html('<td title="{}" data-rate="{}"><a href="?{}&amp;{}#overview-lists">{}</a></td>',
                                   c.tip, f"{rate:.4f}", cell_base, c.query, percent(rate)))
        else:
            out.append(format_html('<td title="{}"><span class="text-muted">{}</span></td>', c.tip, c.text))
    return mark_safe("".join(out))  # every part went through format_html

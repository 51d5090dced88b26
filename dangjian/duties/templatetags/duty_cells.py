"""The item cells of a row of the duty overview (`{% load duty_cells %}`).

`{% duty_cells row.cells %}` writes a holder's cells in Python: a page of 50 holders with a badge
per item and period, each drawn by the template's loop through seven lookups, was more than half
of the page's time. The markup is the one the loop wrote (tests/test_duties.py compares the two),
every value escaped as the template escaped it.
"""
from html import escape  # what django.utils.html.escape applies, without a SafeString per value

from django import template
from django.utils.safestring import mark_safe

register = template.Library()

GAP = "\n    "  # the loop's own whitespace around each cell


@register.simple_tag
def duty_cells(cells_per_item) -> str:
    out = []
    for cells in cells_per_item:
        badges = "".join(
            f'<span class="badge {escape(str(c["badge"]))} me-1" title="{escape(str(c["label"]))}：'
            f'{escape(str(c["status_label"]))}" data-period="{escape(str(c["period"]))}" '
            f'data-status="{escape(str(c["status"]))}">{escape(str(c["label"]))}</span>'
            for c in cells) or '<span class="text-muted">—</span>'
        out.append(f'{GAP}<td class="small text-nowrap">{badges}</td>{GAP}')
    return mark_safe("".join(out))  # every value in it is escaped

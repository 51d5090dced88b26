"""年度党费收缴公示 as a .docx: a landscape A4 page with the branch's title, a table of each
member's twelve months (the amount paid, or 未交 for a month owed) and the year's total, and
the date it was published."""
from __future__ import annotations

import io

from django.utils import timezone

from dangjian.core.text import export_text

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def to_docx(org, year: int, rows: list[dict], published) -> bytes:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(15))
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(export_text(f"{org.name}{year}年度党费收缴情况公示"))
    run.bold, run.font.size = True, Pt(16)
    table = doc.add_table(rows=1, cols=14)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ["姓名"] + [f"{i}月" for i in range(1, 13)] + ["合计（元）"]):
        cell.text = text
    for r in rows:
        cells = table.add_row().cells
        cells[0].text = export_text(r["member"].name)
        for cell, m in zip(cells[1:13], r["months"]):
            cell.text = f"{m.paid}" if m.paid is not None else ("未交" if m.owed else "")
        cells[13].text = f"{r['paid']}"
    for row in table.rows:
        for cell in row.cells:
            for p in cell.paragraphs:
                for run in p.runs:
                    run.font.size = Pt(9)
    when = published.published_at if published is not None else timezone.now()
    foot = doc.add_paragraph(export_text(f"{org.name}　{timezone.localtime(when):%Y年%m月%d日}"))
    foot.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()

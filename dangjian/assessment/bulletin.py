"""The bulletin (通报) of an evaluation run: its text, built once from the stored scores, then
shown as a web page or written as a .docx in 公文 style (GB/T 9704-2012 as far as a generated
document can follow it).

`compose` is pure: it takes the run's stored rows and returns the document as a title, the
addressee (主送), a list of blocks (headings and paragraphs), the signature (落款) and the date.
The page and the .docx both render exactly these strings, so what is read on screen is what is
printed. Only organizations are named, never a person — a bulletin reports how party
organizations carried out their duties, it does not rank people.

Who reads which text (see `queries.visible_runs`): a bulletin names units across the whole tree, so
its full text is for those who can view every target of the run (工委 staff, leaders). A
unit's party officer or a branch secretary whose organizations were assessed reads the same
document with the whole-run figures (counts and scores, no names) and the named lists cut to
the organizations in their scope, marked as an excerpt; the platform never shows the name of
an organization outside a user's scope.
"""
from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from dangjian.core import periods
from dangjian.core.scoping import can, scope_of
from dangjian.core.text import export_text
from dangjian.orgs.models import Organization, OrgKind

from .models import GRADE_ORDER, Admonition, Grade, Level, Run, TargetScore

CENT = Decimal("0.01")
GRADE_LABELS = dict(Grade.choices)
CN_DIGITS = "〇一二三四五六七八九"
# What a run of each cycle is called in the title and the text.
CYCLE_SUBJECT = {
    Run.Cycle.MONTHLY: ("党建工作考评情况", "考评"),
    Run.Cycle.QUARTERLY: ("党建工作责任落实情况分级量化考核结果", "分级量化考核"),
    Run.Cycle.YEARLY: ("党建工作考核结果", "考核"),
}
# (plural noun in the text, noun in the list headings, addressee) per scheme level.
LEVEL_WORDS = {
    Level.UNIT: ("部门（单位）党组织", "单位", "各部门（单位）党组织："),
    Level.BRANCH: ("党支部", "党支部", "各部门（单位）党组织、各党支部："),
}
SHORTFALLS_SHOWN = 2


# ---- Chinese forms of dates, periods and scores ----------------------------------------------

def cn_number(n: int) -> str:
    """1–31 as written in dates: 十、十一、二十、三十一."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return CN_DIGITS[ones]
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


def cn_date(day: dt.date) -> str:
    """二〇二六年十一月二十三日: the 成文日期 of GB/T 9704."""
    year = "".join(CN_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{cn_number(day.month)}月{cn_number(day.day)}日"


def period_text(label: str) -> str:
    """2026年10月, 2026年第三季度, 2026年度 (a bulletin names a year as 年度)."""
    p = periods.parse(label)
    return f"{p.year}年度" if p.unit == "year" else p.chinese


def score_text(value: Decimal) -> str:
    return f"{Decimal(value).quantize(CENT)}分"


INTERIM_MARK = "（暂定结果，不能作为正式通报）"


def title_of(run: Run) -> str:
    """The bulletin's title; a draft run (`Run.is_final` false: no bulletin is issued from it,
    see services.bulletin_problem) says so in the title itself, so no page of it can pass for
    the period's bulletin."""
    subject = CYCLE_SUBJECT.get(run.cycle, CYCLE_SUBJECT[Run.Cycle.MONTHLY])[0]
    return f"关于{period_text(run.period)}{subject}的通报" + (INTERIM_MARK if run.is_interim else "")


# ---- the document ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    # "heading1" (一、 黑体), "heading2" (（一） 楷体), "para" (正文), "item" (one numbered line of a list of
    # organizations, 正文), "note" (excerpt notice)
    kind: str
    text: str


@dataclass(frozen=True)
class Entry:
    """One organization named by the bulletin."""

    org_id: int
    name: str
    total: Decimal
    grade: str
    shortfalls: tuple[str, ...] = ()
    talked_on: dt.date | None = None

    @property
    def grade_label(self) -> str:
        return GRADE_LABELS[self.grade]


@dataclass(frozen=True)
class Figures:
    assessed: int
    grade_counts: dict[str, int]  # grade code → count, in GRADE_ORDER
    average: Decimal | None
    highest: Decimal | None
    lowest: Decimal | None
    full_marks: Decimal
    admonish_below: Decimal
    pending_manual: int
    indicator_rates: list[tuple[str, float | None, int]]  # (indicator, mean share of its weight, not scored)


@dataclass
class Bulletin:
    title: str
    addressee: str
    blocks: list[Block]
    signature: str
    date: dt.date
    figures: Figures
    good: list[Entry]
    lagging: list[Entry]
    admonished: list[Entry]
    excerpt: bool = False
    interim: bool = False
    filename: str = field(default="")

    @property
    def date_text(self) -> str:
        return cn_date(self.date)

    @property
    def text(self) -> str:
        """The whole document as plain text, in reading order."""
        return "\n".join([self.title, self.addressee, *(b.text for b in self.blocks), self.signature,
                          self.date_text])

    def signature_indents(self, line_chars: int = 28) -> tuple[int, int]:
        """Right indents (in characters) of the signature and the date (GB/T 9704 7.3.5.2,
        without a seal): the signature two characters from the right; the date on the next
        line, its first character two to the right of the signature's first; a date longer
        than the signature pushes the signature left so the date still ends two from the right."""
        name, date = len(self.signature), len(self.date_text)
        name_indent = max(2, 4 + date - name)
        date_indent = name_indent + name - 2 - date
        return min(name_indent, line_chars - 1), max(0, date_indent)


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _listing(entries: list[Entry], *, scores: bool = True, shortfalls: bool = False,
             talks: bool = False) -> list[Block]:
    """One numbered line per organization. Never names joined by 、 in a sentence: a joint branch is
    called “甲、乙联合党支部”, and in a run of names it would read as two units."""
    items = []
    for i, e in enumerate(entries, 1):
        details = [score_text(e.total)] if scores else []
        if shortfalls and e.shortfalls:
            # Names are quoted: an indicator's own name may hold a 、 (“班子健全、按期换届”).
            details.append("主要失分指标：" + "".join(f"“{n}”" for n in e.shortfalls))
        if talks and e.talked_on:
            details.append(f"已于{e.talked_on.year}年{e.talked_on.month}月{e.talked_on.day}日约谈")
        end = "。" if i == len(entries) else "；"
        items.append(Block("item", f"{i}．{e.name}" + (f"（{'，'.join(details)}）" if details else "") + end))
    return items


def names_text(names: list[str]) -> str:
    """Organizations named in a sentence: each in quotation marks, so a name holding a 、 stays one
    name (“甲、乙联合党支部”“丙党支部”)."""
    return "".join(f"“{n}”" for n in names)


def _shortfalls(breakdown: list[dict]) -> tuple[str, ...]:
    """The indicators that cost a target the most points (an unscored manual item is not a
    shortfall of the target: the assessors have not scored it yet)."""
    lost = []
    for row in breakdown or []:
        if row.get("pending") or row.get("score") is None:
            continue  # not scored yet, or 不适用 for the target
        gap = Decimal(str(row.get("applied_weight", row.get("weight", 0)))) - Decimal(str(row.get("score", 0)))
        if gap > 0:
            lost.append((-gap, len(lost), row.get("name", "")))
    return tuple(name for _, _, name in sorted(lost)[:SHORTFALLS_SHOWN])


def _indicator_rates(rows: list[list[dict]]) -> list[tuple[str, float | None, int]]:
    """Per indicator: the mean share of its weight scored, over the targets already scored,
    and how many targets the assessors have not scored yet."""
    names: dict[str, tuple[list[float], list[int]]] = {}
    for breakdown in rows:
        for row in breakdown or []:
            values, pending = names.setdefault(row.get("name", ""), ([], [0]))
            if row.get("pending"):
                pending[0] += 1
            elif row.get("ratio") is not None:  # 不适用 for the target: not part of the mean
                values.append(float(row.get("ratio", 0)))
    return [(name, sum(v) / len(v) if v else None, p[0]) for name, (v, p) in names.items()]


def compose(*, run: Run, scores: list[TargetScore], admonitions: list[Admonition], issuer: str,
            shown: Callable[[str], bool] | None = None, scope_label: str = "") -> Bulletin:
    """The bulletin of `run` from its stored rows. `scores` and `admonitions` carry their
    `org` (name, path); `shown(path)` says which organizations the reader may see named —
    None means all (the full text); figures always cover the whole run."""
    scheme = run.scheme
    noun, short, addressee = LEVEL_WORDS.get(scheme.level, LEVEL_WORDS[Level.UNIT])
    subject, act = CYCLE_SUBJECT.get(run.cycle, CYCLE_SUBJECT[Run.Cycle.MONTHLY])
    when = period_text(run.period)
    # A target with every indicator 不适用 has no score: not counted, not named.
    scores = [s for s in scores if s.total is not None]
    totals = [s.total for s in scores]
    counts = Counter(s.grade for s in scores)
    figures = Figures(
        assessed=len(scores),
        grade_counts={g.value: counts.get(g.value, 0) for g in GRADE_ORDER},
        average=(sum(totals, Decimal(0)) / len(totals)).quantize(CENT) if totals else None,
        highest=max(totals) if totals else None,
        lowest=min(totals) if totals else None,
        full_marks=scheme.total,
        admonish_below=scheme.admonish_below,
        pending_manual=run.pending_manual,
        indicator_rates=_indicator_rates([s.breakdown for s in scores]),
    )
    excerpt = shown is not None and not all(shown(s.org.path) for s in scores)
    visible = [s for s in scores if shown is None or shown(s.org.path)]
    ordered = sorted(visible, key=lambda s: (-s.total, s.org.path))
    good = [Entry(s.org_id, s.org.name, s.total, s.grade) for s in ordered if s.grade == Grade.EXCELLENT]
    lagging = [Entry(s.org_id, s.org.name, s.total, s.grade, _shortfalls(s.breakdown)) for s in ordered
               if s.grade == Grade.POOR or s.total < scheme.admonish_below]
    by_org = {s.org_id: s for s in scores}
    admonished = []
    for a in sorted(admonitions, key=lambda a: a.org.path):
        if shown is not None and not shown(a.org.path):
            continue
        s = by_org.get(a.org_id)
        admonished.append(Entry(a.org_id, a.org.name, s.total if s else Decimal(0), s.grade if s else Grade.POOR,
                                talked_on=a.talked_on if a.status == Admonition.Status.DONE else None))

    scored_by_hand = any("manual_score" in row or row.get("pending") for s in scores for row in s.breakdown or [])
    blocks = [Block("note", f"（{run.draft_text}。）")] if run.is_interim else []
    blocks.append(Block("para", (
        f"根据《{scheme.name}》，{issuer}依据机关党建工作平台已有的工作记录"
        f"{'和考核组评分' if scored_by_hand else ''}，"
        f"按照{len(figures.indicator_rates)}项考核指标，对{figures.assessed}个{noun}{when}党建工作进行了{act}。"
        "现将有关情况通报如下。")))

    blocks.append(Block("heading1", "一、总体情况"))
    if scores:
        c = figures.grade_counts
        blocks.append(Block("para", (
            f"本次共{act}{figures.assessed}个{noun}，满分{score_text(figures.full_marks)}，"
            f"平均得分{score_text(figures.average)}，最高{score_text(figures.highest)}，"
            f"最低{score_text(figures.lowest)}。其中，评为“好”的{c['excellent']}个，“较好”的{c['good']}个，"
            f"“一般”的{c['fair']}个，“差”的{c['poor']}个。")))
        rates = [f"“{name}”尚未评分" if rate is None
                 else f"“{name}”{_percent(rate)}" + (f"（{pending}个尚未评分）" if pending else "")
                 for name, rate, pending in figures.indicator_rates]
        if rates:
            blocks.append(Block("para", "各项指标平均得分率：" + "，".join(rates) + "。"))
        if figures.pending_manual:
            blocks.append(Block("para", f"另有{figures.pending_manual}项考核组评分尚未录入，暂不计入，"
                                        "结果为暂定，评分录入后重新计算。"))
    else:
        blocks.append(Block("para", f"本次没有需要{act}的{noun}。"))

    blocks.append(Block("heading1", f"二、{act}结果"))
    if excerpt:
        where = f"{scope_label}范围" if scope_label else "查看者所辖范围"
        blocks.append(Block("note", (
            f"（本文本为{where}节选：以下名单只列出该范围内的{noun}，总体情况为全部{figures.assessed}个{noun}的统计；"
            f"完整通报以{issuer}印发文本为准。）")))
    blocks.append(Block("heading2", f"（一）评为“好”的{short}（{len(good)}个）"))
    if good:
        blocks += _listing(good)
    else:
        blocks.append(Block("para", f"本次没有评为“好”的{short}。"))
    blocks.append(Block("heading2", f"（二）需要改进的{short}（{len(lagging)}个）"))
    if lagging:
        blocks.append(Block("para", f"以下{short}评为“差”或得分低于约谈分数线（{score_text(scheme.admonish_below)}）："))
        blocks += _listing(lagging, shortfalls=True)
    else:
        blocks.append(Block("para", f"本次没有评为“差”或得分低于约谈分数线的{short}。"))

    blocks.append(Block("heading1", "三、约谈安排"))
    if admonished:
        held = [e for e in admonished if e.talked_on]
        blocks.append(Block("para", (
            f"对得分低于约谈分数线的{len(admonished)}个{noun}，由{issuer}约谈其党组织主要负责同志，"
            "听取情况说明，提出整改要求" + (f"（其中{len(held)}个已完成约谈）" if held else "") + "：")))
        blocks += _listing(admonished, scores=False, talks=True)
    else:
        blocks.append(Block("para", f"本次没有需要约谈的{noun}。"))

    blocks.append(Block("heading1", "四、有关要求"))
    blocks.append(Block("para", f"评为“好”的{noun}要总结经验、保持标准，把党建工作融入日常、落到实处。"))
    blocks.append(Block("para", (
        f"得分靠后的{noun}要对照考核指标逐项查找原因，明确整改措施和时限，整改情况纳入下一周期{act}。"
        "组织生活按实际开展情况如实记录，不得为应付考评补记、补造记录，不以材料多少论成效。")))

    day = timezone.localtime(run.computed_at).date() if run.computed_at else timezone.localdate()
    title = title_of(run)
    return Bulletin(title=title, addressee=addressee, blocks=blocks, signature=issuer, date=day, figures=figures,
                    good=good, lagging=lagging, admonished=admonished, excerpt=excerpt, interim=run.is_interim,
                    filename=f"{title}{'（节选）' if excerpt else ''}.docx")


# ---- reads -----------------------------------------------------------------------------------

def issuer_name(first_path: str | None) -> str:
    """The working committee that issues the bulletin: the highest one above the targets."""
    committees = list(Organization.objects.filter(kind=OrgKind.WORKING_COMMITTEE).order_by("path")
                      .values_list("name", "path"))
    for name, path in committees:
        if first_path and first_path.startswith(path):
            return name
    return committees[0][0] if committees else "机关工委"


def for_run(run: Run, user=None) -> Bulletin:
    """The bulletin of `run` as `user` may read it (None: the command line, the full text).
    A fixed number of queries whatever the number of targets."""
    scores = list(TargetScore.objects.filter(run=run).select_related("org")
                  .only("org", "total", "grade", "place", "breakdown", "org__name", "org__path")
                  .order_by("place", "org__path"))
    admonitions = list(Admonition.objects.filter(run=run).select_related("org")
                       .only("org", "status", "talked_on", "org__name", "org__path"))
    issuer = issuer_name(min((s.org.path for s in scores), default=None))
    shown, label = None, ""
    if user is not None and not all(can(user, "view", s.org.path) for s in scores):
        def shown(path):
            return can(user, "view", path)
        prefixes = scope_of(user).prefixes("view")
        label = names_text(list(Organization.objects.filter(path__in=prefixes).order_by("path")
                                .values_list("name", flat=True)))
    return compose(run=run, scores=scores, admonitions=admonitions, issuer=issuer, shown=shown, scope_label=label)


# ---- the .docx -------------------------------------------------------------------------------

# python-docx (with lxml) is imported by the functions below, where a .docx is written: the
# pages and commands that never write one do not pay for loading it.
#
# (font named in the document, the font Word and WPS substitute when it is not installed).
# No font is embedded or fetched: 政务内网 machines have the GB2312 fonts or the system ones.
FONT_TITLE = ("方正小标宋简体", "宋体")
FONT_BODY = ("仿宋_GB2312", "仿宋")
FONT_HEADING1 = ("黑体", "SimHei")
FONT_HEADING2 = ("楷体_GB2312", "楷体")
FONT_PAGE = ("宋体", "SimSun")
SIZE_TITLE = 22  # 二号
SIZE_BODY = 16  # 三号
SIZE_PAGE = 14  # 四号
LINE = 28.95  # 22 lines on a 225 mm text block
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _fonts(run_or_style, font: tuple[str, str], size: float):
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run_or_style.font.name = font[0]
    run_or_style.font.size = Pt(size)
    rpr = run_or_style.element.get_or_add_rPr()
    rfonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), font[0])


def _paragraph(doc, text: str, font: tuple[str, str], size: float, *, align=None, first_line_chars: int = 0,
               right_chars: int = 0, line: float = LINE):
    from docx.enum.text import WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Pt

    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(line)
    fmt.space_before = fmt.space_after = Pt(0)
    if align is not None:
        p.alignment = align
    if first_line_chars:
        fmt.first_line_indent = Pt(size * first_line_chars)
    if right_chars:
        fmt.right_indent = Pt(size * right_chars)
    ind = p._p.get_or_add_pPr().find(qn("w:ind"))
    if ind is not None:
        # Character units as well, so the indent follows the text if the size is changed in Word.
        if first_line_chars:
            ind.set(qn("w:firstLineChars"), str(first_line_chars * 100))
        if right_chars:
            ind.set(qn("w:rightChars"), str(right_chars * 100))
    if text:
        # XML refuses control characters: a stored name holding one would make the download fail.
        _fonts(p.add_run(export_text(text)), font, size)
    return p


def _page_number(paragraph, font, size):
    """— N — with a PAGE field, as GB/T 9704 7.5 writes page numbers."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def run(text=None, fld=None, instr=None):
        r = paragraph.add_run(text or "")
        _fonts(r, font, size)
        if fld:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), fld)
            r._r.append(el)
        if instr:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = instr
            r._r.append(el)

    run("— ")
    run(fld="begin")
    run(instr=" PAGE ")
    run(fld="separate")
    run("1")
    run(fld="end")
    run(" —")


def _font_fallbacks(doc, fonts):
    """Declare each font with its substitute (w:altName) in the font table, so a machine
    without 方正小标宋简体 or 仿宋_GB2312 shows 宋体 / 仿宋 instead of an arbitrary font."""
    from lxml import etree

    part = next((p for p in doc.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml"), None)
    if part is None:
        return
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    root = etree.fromstring(part.blob)
    known = {f.get(f"{{{ns}}}name") for f in root.findall(f"{{{ns}}}font")}
    for name, alt in fonts:
        if name in known:
            continue
        font = etree.SubElement(root, f"{{{ns}}}font", {f"{{{ns}}}name": name})
        etree.SubElement(font, f"{{{ns}}}altName", {f"{{{ns}}}val": alt})
        etree.SubElement(font, f"{{{ns}}}charset", {f"{{{ns}}}val": "86"})  # GB2312
        etree.SubElement(font, f"{{{ns}}}family", {f"{{{ns}}}val": "auto"})
        etree.SubElement(font, f"{{{ns}}}pitch", {f"{{{ns}}}val": "variable"})
    # A plain package part keeps its bytes in `_blob`; python-docx has no API for the font table.
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def to_docx(bulletin: Bulletin) -> bytes:
    """The bulletin as a .docx: A4, margins 37/35/28/26 mm, 22 lines of 28.95 pt, title in 二号
    小标宋 centred, body in 三号仿宋 indented two characters, 一、 headings in 黑体 and （一） in
    楷体, the signature and date right-aligned, page numbers — N — outside on odd and even pages."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    normal = doc.styles["Normal"]
    _fonts(normal, FONT_BODY, SIZE_BODY)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    _font_fallbacks(doc, (FONT_TITLE, FONT_BODY, FONT_HEADING1, FONT_HEADING2, FONT_PAGE))

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    # The page number's line sits 7 mm below the text block (GB/T 9704 7.5).
    section.footer_distance = Mm(22)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(round(LINE * 20)))

    # Page numbers: odd pages right, even pages left, one character in from the edge.
    doc.settings.odd_and_even_pages_header_footer = True
    for footer, align, side in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT, "right"),
                                (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "left")):
        footer.is_linked_to_previous = False
        p = footer.paragraphs[0]
        p.alignment = align
        setattr(p.paragraph_format, f"{side}_indent", Pt(SIZE_PAGE))
        _page_number(p, FONT_PAGE, SIZE_PAGE)

    body = dict(font=FONT_BODY, size=SIZE_BODY)
    _paragraph(doc, "", **body)
    _paragraph(doc, bulletin.title, FONT_TITLE, SIZE_TITLE, align=WD_ALIGN_PARAGRAPH.CENTER, line=35)
    _paragraph(doc, "", **body)
    _paragraph(doc, bulletin.addressee, align=WD_ALIGN_PARAGRAPH.JUSTIFY, **body)
    fonts = {"heading1": FONT_HEADING1, "heading2": FONT_HEADING2, "note": FONT_HEADING2}
    for block in bulletin.blocks:
        _paragraph(doc, block.text, fonts.get(block.kind, FONT_BODY), SIZE_BODY, align=WD_ALIGN_PARAGRAPH.JUSTIFY,
                   first_line_chars=2)
    _paragraph(doc, "", **body)
    name_indent, date_indent = bulletin.signature_indents()
    _paragraph(doc, bulletin.signature, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=name_indent, **body)
    _paragraph(doc, bulletin.date_text, align=WD_ALIGN_PARAGRAPH.RIGHT, right_chars=date_indent, **body)

    props = doc.core_properties
    props.title, props.author, props.subject = export_text(bulletin.title), export_text(bulletin.signature), "通报"
    props.created = props.modified = timezone.now()
    props.language = "zh-CN"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()

"""The 表彰通报 of a decision: its text, then a .docx in the same 公文 layout as the assessment
bulletins — the document is an `assessment.bulletin.Bulletin` (title, addressee, blocks,
signature, date) written by `bulletin.to_docx`, so both kinds of document print alike.

Names are grouped by honour in the order of the titles; a member is named with the organization
they belonged to when the decision was drafted.
"""
from __future__ import annotations

from dangjian.assessment import bulletin
from dangjian.orgs.models import OrgKind

from .models import Commendation, Decision

ADDRESSEE = {
    OrgKind.WORKING_COMMITTEE: "各部门（单位）党组（党委）、机关党委（党总支），各党支部：",
}
DEFAULT_ADDRESSEE = "所属各党组织："
CN_ORDINALS = "一二三四五六七八九十"


def _ordinal(i: int) -> str:
    return CN_ORDINALS[i] if i < len(CN_ORDINALS) else str(i + 1)


def compose(decision: Decision, entries: list[Commendation]) -> bulletin.Bulletin:
    groups: dict[int, tuple[str, list[str]]] = {}
    people: set[int] = set()  # honours given to persons: counted 名, organizations 个
    for c in entries:
        name = f"{c.member.name}（{c.org.name}）" if c.member_id else c.org.name
        groups.setdefault(c.honour_id, (c.honour.name, []))[1].append(name)
        if c.member_id:
            people.add(c.honour_id)
    titles = "、".join(name for name, _ in groups.values())
    collective = sum(len(names) for pk, (_, names) in groups.items() if pk not in people)
    persons = sum(len(names) for pk, (_, names) in groups.items() if pk in people)
    counted = "、".join(x for x in (f"{collective} 个先进集体" if collective else "",
                                    f"{persons} 名先进个人" if persons else "") if x)
    blocks = [bulletin.Block("para", (
        f"{decision.year}年，全市机关各级党组织和广大党员干部深入贯彻落实党中央关于加强党的建设的决策部署，"
        f"涌现出一批先进集体和先进个人。为表彰先进、树立典型，经研究，决定对以下 {counted}"
        f"予以通报表彰，分别授予{titles}称号。"))]
    for i, (pk, (honour, names)) in enumerate(groups.items()):
        blocks.append(bulletin.Block("heading1", f"{_ordinal(i)}、{honour}（{len(names)}{'名' if pk in people else '个'}）"))
        blocks += [bulletin.Block("item", name) for name in names]
    blocks.append(bulletin.Block("para", (
        "希望受到表彰的先进集体和个人珍惜荣誉、再接再厉，充分发挥示范引领作用。各级党组织和广大党员要以先进为榜样，"
        "推动机关党建工作高质量发展。")))
    return bulletin.Bulletin(
        title=decision.title + ("" if decision.is_published else "（草稿）"), addressee=ADDRESSEE.get(decision.issuer.kind, DEFAULT_ADDRESSEE), blocks=blocks,
        signature=decision.issuer.name, date=decision.decided_on, figures=None, good=[], lagging=[], admonished=[],
        filename=f"{decision.number} {decision.title}.docx")


def to_docx(decision: Decision, entries: list[Commendation]) -> bytes:
    return bulletin.to_docx(compose(decision, entries))


DOCX_TYPE = bulletin.DOCX_TYPE

"""The 整改情况报告 of an inspection: its text, then a .docx in the same 公文 layout as the
assessment bulletins (an `assessment.bulletin.Bulletin` written by `bulletin.to_docx`).

It says what was inspected, how (督查方式, 四不两直), which targets were visited and when, and
each target's findings by list (问题、任务、建议清单), with the state of the rectification item each
finding became, when it became one (`item_states`: finding id → text).
"""
from __future__ import annotations

from dangjian.assessment import bulletin

from .models import Finding, FindingList, Inspection, Target

CN_ORDINALS = "一二三四五六七八九十"
DOCX_TYPE = bulletin.DOCX_TYPE


def _day(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _ordinal(i: int) -> str:
    return CN_ORDINALS[i] if i < len(CN_ORDINALS) else str(i + 1)


def compose(inspection: Inspection, targets: list[Target], findings: list[Finding],
            item_states: dict[int, str] | None = None) -> bulletin.Bulletin:
    item_states = item_states or {}
    visited = [t for t in targets if t.visited_on]
    by_list = {v: sum(1 for f in findings if f.list == v) for v in FindingList.values}
    how = inspection.get_kind_display() + ("（四不两直）" if inspection.unannounced else "")
    drawn = (f"督查对象由随机抽取确定（抽取种子 {inspection.draw_seed}，从{len(inspection.draw_pool)}个党组织中抽取"
             f"{inspection.draw_count}个）。" if inspection.is_random and inspection.draw_seed else "")
    blocks = [bulletin.Block("para", (
        f"{_day(inspection.starts_on)}至{_day(inspection.ends_on)}，{inspection.issuer.name}"
        f"采取{how}方式，对{len(targets)}个党组织开展督查。{drawn}截至目前，已走访{len(visited)}个，"
        f"共发现问题{by_list['problem']}个，提出任务{by_list['task']}项、建议{by_list['suggestion']}条。"))]
    if inspection.note:
        blocks.append(bulletin.Block("para", f"督查内容：{inspection.note}"))
    per_target: dict[int, list[Finding]] = {}
    for f in findings:
        per_target.setdefault(f.target_id, []).append(f)
    blocks.append(bulletin.Block("heading1", "一、督查发现及整改情况"))
    if not findings:
        blocks.append(bulletin.Block("para", "本次督查未发现需要整改的问题。"))
    n = 0
    for t in targets:
        found = per_target.get(t.pk, [])
        if not found:
            continue
        n += 1
        when = f"（{_day(t.visited_on)}）" if t.visited_on else ""
        blocks.append(bulletin.Block("heading2", f"（{_ordinal(n - 1)}）{t.org.name}{when}"))
        for i, f in enumerate(found, start=1):
            state = item_states.get(f.pk)
            tail = f"整改情况：{state}。" if state else "尚未列入整改清单。"
            on = f"【{f.item.text}】" if f.item_id else ""
            blocks.append(bulletin.Block("item", f"{i}．{f.get_list_display()}：{on}{f.text}。{tail}".replace("。。", "。")))
    quiet = [t.org.name for t in visited if t.pk not in per_target]
    if quiet:
        blocks.append(bulletin.Block("para", f"以下党组织未发现问题：{'、'.join(quiet)}。"))
    blocks.append(bulletin.Block("heading1", "二、下一步工作"))
    blocks.append(bulletin.Block("para", (
        "各有关党组织要对照问题清单、任务清单、建议清单，逐项明确责任人和整改时限，限时解决办理，"
        "做到事事有回应、件件有落实。整改情况纳入年度党建工作考核。")))
    return bulletin.Bulletin(
        title=f"关于{inspection.title}整改情况的报告", addressee="", blocks=blocks,
        signature=inspection.issuer.name, date=(inspection.reported_at.date() if inspection.reported_at
                                                else inspection.ends_on),
        figures=None, good=[], lagging=[], admonished=[], filename=f"{inspection.title}整改情况报告.docx")


def to_docx(doc: bulletin.Bulletin) -> bytes:
    return bulletin.to_docx(doc)

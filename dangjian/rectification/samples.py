"""Example histories of rectification items, for the demo city: each item given moves along
the workflow as a unit would make them — signed for a few days after it was opened, progress
reported, put up for closing, some returned once, most closed, some closed after the deadline,
some still pending or rectifying past it — dated no later than `today`. Written in a few bulk
statements (the demo makes thousands of items); the moves' rules are those of services.py."""
from __future__ import annotations

import datetime as dt
import random

from .models import Item, ItemEvent

PROGRESS = ["已召开专题会议研究整改措施，明确责任分工", "已制定整改方案，建立整改台账，逐项推进",
            "已完成主要整改措施，正在整理佐证材料", "已对照问题开展自查，补齐相关制度和记录"]
EVIDENCE = ["整改措施已全部落实，附会议记录、制度文件和整改台账", "问题已整改到位，佐证材料已上传，请予销号"]
CHECKS = ["经查阅台账和实地核查，整改到位，同意销号", "佐证材料齐全，整改成效明显，同意销号"]
RETURNS = ["佐证材料不全，缺少会议记录，请补充后重新申请", "整改措施尚未落实到位，请继续整改"]


def follow(items: list[Item], rng: random.Random, today: dt.date) -> dict[str, int]:
    """Move each of `items` (open, just opened) along a path chosen by `rng`; returns how many
    ended in each state."""
    events, changed = [], []
    for item in items:
        day = item.opened_on
        span = max(7, (item.deadline - item.opened_on).days)

        def step(kind, after, text="", item=item):
            nonlocal day
            on = day + dt.timedelta(days=max(1, after))
            if on > today:
                return False
            day = on
            events.append(ItemEvent(item=item, kind=kind, on=on, text=text))
            return True

        fate = rng.random()
        if fate < 0.15 or not step(ItemEvent.Kind.SIGN, rng.randint(1, 7), "已签收，立即组织整改"):
            continue  # not yet signed for (待签收), overdue once the deadline passes
        item.status = Item.Status.RECTIFYING
        changed.append(item)
        step(ItemEvent.Kind.NOTE, rng.randint(5, max(6, span // 3)), rng.choice(PROGRESS))
        if fate < 0.35:
            continue  # still rectifying
        if not step(ItemEvent.Kind.REQUEST, int(span * rng.uniform(0.3, 1.3)), rng.choice(EVIDENCE)):
            continue
        item.status = Item.Status.CLOSING
        if fate < 0.5:
            if not step(ItemEvent.Kind.RETURN, rng.randint(2, 10), rng.choice(RETURNS)):
                continue
            item.status, item.returned_count = Item.Status.RECTIFYING, item.returned_count + 1
            if not step(ItemEvent.Kind.REQUEST, rng.randint(7, 30), rng.choice(EVIDENCE)):
                continue
            item.status = Item.Status.CLOSING
        if step(ItemEvent.Kind.CLOSE, rng.randint(2, 12), rng.choice(CHECKS)):
            item.status, item.closed_on = Item.Status.CLOSED, day
    ItemEvent.objects.bulk_create(events, batch_size=1000)
    for item in changed:
        item.version += 1
    Item.objects.bulk_update(changed, ["status", "closed_on", "returned_count", "version"], batch_size=500)
    out: dict[str, int] = {}
    for item in items:
        out[item.status] = out.get(item.status, 0) + 1
    return out

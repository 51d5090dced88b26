"""Levels from figures: a pure function over every branch of a year at once (no queries), so
the rules of `rules.py` can be checked against hand-computed expectations.

Each step leaves a reason in Chinese with the figures it used, in the order applied, so a
branch's page answers "why this level" from the stored row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from dangjian.orgs.alerts import ALERT_KINDS

from .models import LEVEL_LABELS, LEVEL_ORDER, RANK, STAR_LEVELS, Level
from .rules import QUOTA_LEVELS, Rules, _num, _pct


@dataclass
class Figures:
    """What the rating of one branch is made of."""

    org_id: int
    score: Decimal | None  # % of full marks; None: nothing to rate by
    score_text: str = ""
    runs_counted: int = 0
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (kind, message) on the rating day
    missing: int = 0  # 应开未开 in the year's closed periods
    weak: str = ""  # the 软弱涣散 case of the year, described; "" if none


@dataclass
class Result:
    org_id: int
    score: Decimal | None
    base_level: str
    level: str
    capped: bool = False
    qualified: bool = False
    commendable: bool = False
    reasons: list[dict] = field(default_factory=list)


def _reason(result: Result, kind: str, text: str, **extra) -> None:
    result.reasons.append({"kind": kind, "text": text, **extra})


def by_line(score: Decimal, rules: Rules) -> str:
    for lv in STAR_LEVELS:
        if score >= rules.thresholds[lv]:
            return lv.value
    return Level.LAGGING.value


def _lower(a: str, b: str) -> str:
    return a if RANK[a] <= RANK[b] else b


def _next_down(level: str) -> str:
    return LEVEL_ORDER[LEVEL_ORDER.index(level) + 1].value


def _holds(cap, f: Figures) -> str | None:
    """The evidence if the cap's condition holds for the branch, else None."""
    if cap.alert:
        found = [m for k, m in f.alerts if k == cap.alert]
        return "；".join(found) if found else None
    if cap.missing_above is not None:
        return f"应开未开 {f.missing} 项" if f.missing > cap.missing_above else None
    return f.weak or None


def effective_quotas(rules: Rules) -> dict[str, Decimal]:
    """A quota counts the level and those above, so a level's share can be no larger than any
    lower level's: the tighter one holds."""
    out, tightest = {}, None
    for lv in reversed(QUOTA_LEVELS):
        q = rules.quotas.get(lv)
        if q is not None:
            tightest = q if tightest is None else min(q, tightest)
        if tightest is not None:
            out[lv.value] = tightest
    return {lv.value: out[lv.value] for lv in QUOTA_LEVELS if lv.value in out}  # applied from the top


def assign(figures: list[Figures], rules: Rules) -> dict[int, Result]:
    results: dict[int, Result] = {}
    rated: list[int] = []
    clean: set[int] = set()  # no cap condition holds
    score = {f.org_id: f.score for f in figures}
    for f in figures:
        if f.score is None:
            r = results[f.org_id] = Result(f.org_id, None, Level.UNRATED, Level.UNRATED)
            _reason(r, "score", f.score_text or "本年度没有可用于评定的数据，未评定")
            continue
        base = by_line(f.score, rules)
        r = results[f.org_id] = Result(f.org_id, f.score, base, base)
        rated.append(f.org_id)
        _reason(r, "score", f.score_text or f"得分 {f.score}")
        if base == Level.LAGGING:
            _reason(r, "line", f"得分 {f.score}，低于达标线（一星线）{_num(rules.thresholds[Level.STAR1])} 分，为后进")
        else:
            _reason(r, "line", f"得分 {f.score}，达到{LEVEL_LABELS[base]}线 {_num(rules.thresholds[base])} 分")
        holds = False
        for cap in rules.caps:
            evidence = _holds(cap, f)
            if evidence is None:
                continue
            holds = True
            before = r.level
            r.level = _lower(r.level, cap.max_level)
            binding = r.level != before
            r.capped |= binding
            text = f"{cap.condition}（{evidence}），最高{LEVEL_LABELS[cap.max_level]}"
            text += f"：由{LEVEL_LABELS[before]}降为{LEVEL_LABELS[r.level]}" if binding else "（未低于现有等级）"
            _reason(r, "cap", text, cap=cap.code, binding=binding, evidence=evidence)
        if not holds:
            clean.add(f.org_id)

    # 示范: from the five-star branches no cap condition holds for.
    model_line = rules.thresholds.get(Level.MODEL)
    for o in rated:
        r = results[o]
        if r.level != Level.STAR5:
            continue
        if o not in clean:
            _reason(r, "model", "存在封顶情形，不参评示范")
        elif model_line is not None and r.score < model_line:
            _reason(r, "model", f"得分 {r.score}，低于示范线 {_num(model_line)} 分，不参评示范")
        else:
            r.level = Level.MODEL
            _reason(r, "model", "五星且无封顶情形" + (f"、得分不低于示范线 {_num(model_line)} 分" if model_line is not None
                                                  else "") + "，列为示范")

    n = len(rated)
    for lv, q in effective_quotas(rules).items():
        limit = int((q * n).to_integral_value(rounding=ROUND_FLOOR))
        above = sum(1 for o in rated if RANK[results[o].level] > RANK[lv])
        at = sorted((o for o in rated if results[o].level == lv), key=lambda o: -score[o])
        room = limit - above
        if len(at) <= room:
            continue
        cutoff = score[at[room]] if room > 0 else None
        down = _next_down(lv)
        label = "示范" if lv == Level.MODEL else f"{LEVEL_LABELS[lv]}及以上"
        for o in at:
            if cutoff is not None and score[o] > cutoff:
                continue
            r = results[o]
            r.level = down
            why = ("与分界线得分并列，一同" if cutoff is not None and score[o] == cutoff and at.index(o) < room
                   else "未进入比例，")
            _reason(r, "quota", f"{label}不超过参评党支部的 {_pct(q)}（{n} 个中至多 {limit} 个），"
                                f"得分 {score[o]} {why}降为{LEVEL_LABELS[down]}")

    if rules.lagging_share is not None and n:
        need = int((rules.lagging_share * n).to_integral_value(rounding=ROUND_FLOOR))
        have = sum(1 for o in rated if results[o].level == Level.LAGGING)
        k = need - have
        if k > 0:
            rest = sorted((o for o in rated if results[o].level != Level.LAGGING), key=lambda o: score[o])
            cutoff = score[rest[k]] if k < len(rest) else None
            for o in rest[:k]:
                if cutoff is not None and score[o] >= cutoff:
                    break
                r = results[o]
                _reason(r, "lagging", f"得分 {score[o]} 位于参评党支部最低的 {_pct(rules.lagging_share)}"
                                      f"（{n} 个中 {need} 个），由{LEVEL_LABELS[r.level]}评为后进")
                r.level = Level.LAGGING

    alerts = {f.org_id: f.alerts for f in figures}
    weak = {f.org_id: f.weak for f in figures}
    for o in rated:
        r = results[o]
        r.qualified = RANK[r.level] >= RANK[Level.STAR1]
        if r.level in rules.commendation_levels and not weak[o] and not (rules.commendation_no_alerts and alerts[o]):
            r.commendable = True
            _reason(r, "commendation", f"{LEVEL_LABELS[r.level]}" + ("、无结构预警" if rules.commendation_no_alerts else "")
                                       + "、非软弱涣散，列为先进基层党组织推荐对象")
        _reason(r, "level", f"评定为{LEVEL_LABELS[r.level]}" + ("（达标）" if r.qualified else "（未达标）"))
    return results


def alert_label(kind: str) -> str:
    return ALERT_KINDS.get(kind, kind)

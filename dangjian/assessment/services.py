"""Writes of assessment: schemes and their indicators, manual scores, evaluation runs and
admonitions. Each is one transaction, audited; bad input raises `AssessmentError` with a Chinese
message naming the field, and nothing is written.

A run is a draft (暂定, 阶段性) or final (定稿). It is a draft while its period has not ended
(每月一考评 may look at a month half way through) or some manual scores are not entered: a
draft keeps its scores, with what is missing said wherever it is shown, but has no grade, lists
nobody for 约谈 and no bulletin (通报, a formal document) is issued from it — a month still
running has meetings yet to hold, and a missing score is not a zero. A run computed complete
after its period is final at once; a draft is made final by computing it again once the data
is complete (`run_evaluation` with `replace`, or the committee staff's 定稿, `finalize`, which
refuses while scores are missing or the period is open). Entering the last missing score
changes no stored result by itself: the run is computed again and is final then.

Scoring (`_scored`): an indicator's contribution is `ratio × weight`. An automatic indicator
with nothing to measure for a target (its ratio is None: nothing fell due) is 不适用 for that
target, never full marks: its weight is shared among the target's other indicators in
proportion to their weights (the sum of the target's weights stays the scheme's total). A manual
indicator not yet scored is left out the same way in a draft (never counted as 0). A target for
which every indicator is 不适用 has no total, no grade and no place.

Running a period again replaces its scores (admonitions already held are kept), and a
bulletin may already have been issued from them: a second run of a period is refused unless
the caller asks for it (`replace=True`, the page's confirmation, the command's `--replace`).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from dangjian.activities import compliance
from dangjian.core import audit, periods, versioning
from dangjian.core.models import AuditEntry
from dangjian.orgs.models import Organization
from dangjian.rectification import queries as rectification_queries
from dangjian.rectification import services as rectify
from dangjian.rectification.models import Item, ItemEvent

from . import checks, metrics, queries
from .models import GRADE_ORDER, Admonition, Indicator, Level, ManualScore, Run, Scheme, TargetScore

CENT = Decimal("0.01")
# The demo's talks, recorded in bulk, give their measures three months (the form asks the date or
# the working days of each).
DEFAULT_DEADLINE_DAYS = 90
CYCLES = {"month": Run.Cycle.MONTHLY, "quarter": Run.Cycle.QUARTERLY, "year": Run.Cycle.YEARLY}


class AssessmentError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _decimal(value, field: str, label: str, *, low=Decimal(0), high=None) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise AssessmentError(field, f"{label}：“{value}”不是数字") from None
    if not d.is_finite() or d < low or (high is not None and d > high):
        bound = f"{low} 到 {high}" if high is not None else f"不小于 {low}"
        raise AssessmentError(field, f"{label}：应为 {bound} 的数字，收到 {value}")
    return d.quantize(CENT)


# ---- schemes and indicators ------------------------------------------------------------------

def _check_grading(thresholds: dict, quotas: dict) -> tuple[dict, dict]:
    t = {}
    for key in ("excellent", "good", "fair"):
        if key in (thresholds or {}):
            t[key] = float(_decimal(thresholds[key], "thresholds", "等次分数线", high=Decimal(100)))
    merged = {**{"excellent": 90, "good": 80, "fair": 60}, **t}
    if not merged["excellent"] > merged["good"] > merged["fair"]:
        raise AssessmentError("thresholds", "等次分数线：应满足 好 > 较好 > 一般")
    q = {}
    for key, value in (quotas or {}).items():
        if key not in ("excellent", "good"):
            raise AssessmentError("quotas", "等次比例上限：只能限定“好”和“较好”的比例")
        q[key] = float(_decimal(value, "quotas", "等次比例上限", high=Decimal(1)))
    return t, q


def create_scheme(user, *, code: str, name: str, year: int, level: str, total=100, thresholds=None,
                  quotas=None, admonish_below=60, note: str = "") -> Scheme:
    code, name = (code or "").strip(), (name or "").strip()
    if not code:
        raise AssessmentError("code", "方案代码：必填")
    if Scheme.objects.filter(code=code).exists():
        raise AssessmentError("code", f"方案代码：“{code}”已被使用")
    if not name:
        raise AssessmentError("name", "方案名称：必填")
    if level not in Level.values:
        raise AssessmentError("level", "考核对象：应为各单位党组织或党支部")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise AssessmentError("year", f"年度：“{year}”不是有效的年份")
    t, q = _check_grading(thresholds or {}, quotas or {})
    scheme = Scheme(code=code, name=name, year=year, level=level,
                    total=_decimal(total, "total", "总分", low=Decimal(1), high=Decimal(1000)),
                    thresholds=t, quotas=q, note=note,
                    admonish_below=_decimal(admonish_below, "admonish_below", "约谈分数线", high=Decimal(100)))
    with transaction.atomic():
        scheme.save()
        audit.record(user, scheme, None)
    return scheme


def check_indicator(scheme: Scheme, spec: dict, known_rules: set[str]) -> dict:
    """One indicator's fields, checked; raises AssessmentError naming the field."""
    name = (spec.get("name") or "").strip()
    category = (spec.get("category") or "").strip()
    note = (spec.get("note") or "").strip()
    if not name:
        raise AssessmentError("name", "指标：名称必填")
    if not category:
        raise AssessmentError("category", f"指标“{name}”：类别必填")
    found = checks.forbidden_basis(name, category, note)
    if found:
        raise AssessmentError("name", checks.forbidden_message(name, *found))
    weight = _decimal(spec.get("weight"), "weight", f"指标“{name}”的分值", low=CENT, high=scheme.total)
    method = spec.get("method")
    fields = dict(name=name, category=category, note=note, weight=weight, method=method, metric="", params={},
                  max_score=None)
    if method == Indicator.Method.METRIC:
        metric = spec.get("metric") or ""
        if metric not in metrics.REGISTRY:
            raise AssessmentError("metric", f"指标“{name}”：请选择计算指标，可选："
                                  + "、".join(f"“{m.label}”" for m in metrics.REGISTRY.values()))
        allowed = metrics.REGISTRY[metric].params
        params = {k: v for k, v in (spec.get("params") or {}).items() if v not in (None, "")}
        unknown = set(params) - set(allowed)
        if unknown:
            raise AssessmentError("params", f"指标“{name}”：“{metrics.REGISTRY[metric].label}”"
                                  "不能限定组织生活要求或另加计算参数，请去掉")
        if "rule" in params and params["rule"] not in known_rules:
            raise AssessmentError("params", f"指标“{name}”：所选的组织生活要求不存在或已停止执行，请重新选择")
        fields.update(metric=metric, params=params)
    elif method == Indicator.Method.MANUAL:
        fields["max_score"] = _decimal(spec.get("max_score") or weight, "max_score", f"指标“{name}”的评分满分",
                                       low=CENT, high=Decimal(1000))
    else:
        raise AssessmentError("method", f"指标“{name}”：计分方式应为平台数据自动计算或考核组评分")
    return fields


def save_indicators(user, scheme: Scheme, specs: list[dict], version: int | None = None) -> list[Indicator]:
    """Replace the scheme's indicator list with `specs` (in order). An item with an `id` updates
    that indicator; indicators left out are deleted unless assessors have scored them. The
    weights must add up to the scheme's total. The list is one whole with the scheme: `version`
    is the scheme's version the editor read (core.versioning), and a save made since raises
    StaleVersion."""
    known_rules = metrics.rule_codes()
    checked = []
    for i, spec in enumerate(specs):
        try:
            checked.append((spec.get("id"), check_indicator(scheme, spec, known_rules)))
        except AssessmentError as exc:
            raise AssessmentError(exc.field, f"第 {i + 1} 项：{exc.message}") from None
    names = [f["name"] for _, f in checked]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise AssessmentError("name", f"指标“{dup}”重复")
    weights = sum((f["weight"] for _, f in checked), Decimal(0))
    if weights != scheme.total:
        raise AssessmentError("weight", f"各项分值合计 {weights} 分，应等于方案总分 {scheme.total} 分")
    with transaction.atomic():
        versioning.claim(scheme, version)
        existing = {i.pk: i for i in Indicator.objects.select_for_update().filter(scheme=scheme)}
        kept = {int(pk) for pk, _ in checked if pk}
        if kept - set(existing):
            raise AssessmentError("id", "指标已被修改，请刷新后再保存")
        dropped = set(existing) - kept
        scored = set(ManualScore.objects.filter(indicator_id__in=dropped).values_list("indicator_id", flat=True))
        if scored:
            raise AssessmentError("id", f"指标“{existing[min(scored)].name}”已有考核组评分，不能删除")
        for pk in dropped:
            audit.record(user, existing[pk], audit.snapshot(existing[pk]), action="delete")
        Indicator.objects.filter(pk__in=dropped).delete()
        # Names are unique per scheme: clear the kept ones first so a swap of names saves.
        Indicator.objects.filter(pk__in=kept).update(name=_placeholder_name())
        out = []
        for position, (pk, fields) in enumerate(checked):
            ind = existing.get(int(pk)) if pk else Indicator(scheme=scheme)
            before = audit.snapshot(ind) if pk else None
            for key, value in fields.items():
                setattr(ind, key, value)
            ind.position = position
            ind.save()
            audit.record(user, ind, before)
            out.append(ind)
    return out


def _placeholder_name():
    return Concat(Value("~"), F("id"), output_field=CharField())


def copy_scheme(user, source: Scheme, *, code: str, year: int, name: str | None = None) -> Scheme:
    """Copy last year's scheme (its grading and indicators) for a new year."""
    with transaction.atomic():
        new = create_scheme(user, code=code, name=name or source.name.replace(str(source.year), str(year)),
                            year=year, level=source.level, total=source.total, thresholds=source.thresholds,
                            quotas=source.quotas, admonish_below=source.admonish_below, note=source.note)
        new.copied_from = source
        new.save(update_fields=["copied_from"])
        known = metrics.rule_codes()
        for ind in source.indicators.all():
            spec = {f: getattr(ind, f) for f in ("name", "category", "note", "weight", "method", "metric", "params",
                                                  "max_score")}
            fields = check_indicator(new, spec, known)
            copy = Indicator.objects.create(scheme=new, position=ind.position, **fields)
            audit.record(user, copy, None, note=f"复制自 {source.code}")
    return new


# ---- manual scores ---------------------------------------------------------------------------

COMMENT_MAX = 500


class ManualScoreErrors(AssessmentError):
    """Every problem of a grid of manual scores at once: `problems` holds one dict per problem
    with the indicator id, the org id, the field (`score` or `comment`) and the message."""

    def __init__(self, problems: list[dict]):
        super().__init__("score", f"有 {len(problems)} 处需要修改，评分均未保存")
        self.problems = problems


def _manual_problems(indicator: Indicator, org: Organization, target_ids: set[int], score,
                     comment: str) -> tuple[Decimal | None, list[tuple[str, str]]]:
    """The checked score and every problem of one manual score, as (field, message)."""
    if indicator.method != Indicator.Method.MANUAL:
        return None, [("indicator", f"指标“{indicator.name}”由平台数据自动计算，不能人工评分")]
    if org.pk not in target_ids:
        return None, [("org", f"“{org.name}”不是本方案的考核对象")]
    problems, value = [], None
    if str(score if score is not None else "").strip() == "":
        problems.append(("score", f"“{indicator.name}”得分：未填写（填写了评分说明时须同时填写得分）"))
    else:
        try:
            value = _decimal(score, "score", f"“{indicator.name}”得分", high=indicator.max_score)
        except AssessmentError as exc:
            problems.append(("score", exc.message))
    if not (comment or "").strip():
        problems.append(("comment", "评分说明：必填，请写明扣分或得分的依据"))
    elif len(comment.strip()) > COMMENT_MAX:
        problems.append(("comment", f"评分说明：过长（最多 {COMMENT_MAX} 个字，现有 {len(comment.strip())} 个字）"))
    return value, problems


def _save_manual_score(user, indicator: Indicator, period: str, org: Organization, value: Decimal,
                       comment: str, version: int | None = None) -> ManualScore | None:
    """Write one cell. `version` is the cell's as the assessor saw it (0: it was empty); a cell
    saved since raises StaleVersion. A cell whose score and comment are already the stored ones
    is not written (None): its version stays, so re-sending an untouched cell never makes
    another assessor's save of it stale, nor does another's save of it make this one fail."""
    row = ManualScore.objects.filter(indicator=indicator, period=period, org=org).first()
    if row is not None and (row.score, row.comment) == (value, comment.strip()):
        return None
    if row is None:
        if version:  # drawn from a cell that existed and is gone: nothing can have deleted it
            raise versioning.StaleVersion(ManualScore(indicator=indicator, period=period, org=org), None)
        row = ManualScore(indicator=indicator, period=period, org=org, score=value, comment=comment.strip(),
                          assessor=user)
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            # Another assessor scored the empty cell at the same moment and committed first.
            raise versioning.StaleVersion(row, 1) from None
        audit.record(user, row, None)
        return row
    # The cell was empty for the assessor (0) but someone has scored it since: stale too.
    versioning.claim(row, version)
    before = audit.snapshot(row)
    row.score, row.comment, row.assessor = value, comment.strip(), user
    row.save()
    audit.record(user, row, before)
    return row


def enter_manual_score(user, indicator: Indicator, period: str, org: Organization, score, comment: str,
                       version: int | None = None) -> ManualScore | None:
    p = check_period(indicator.scheme, period)
    target_ids = {t.org_id for t in queries.targets(indicator.scheme.level)}
    value, problems = _manual_problems(indicator, org, target_ids, score, comment)
    if problems:
        raise AssessmentError(*problems[0])
    with transaction.atomic():
        return _save_manual_score(user, indicator, p.label, org, value, comment, version)


def enter_manual_scores(user, scheme: Scheme, period: str, entries: list[tuple]) -> int:
    """Several manual scores at once (the grid of a period), all or nothing. `entries` are
    (indicator id, org id, score, comment[, version]); a cell with neither score nor comment is
    skipped, and so is one holding what is stored already. Every cell is checked before anything
    is written, and all the problems are raised together (`ManualScoreErrors`), each naming its
    cell, so the grid can show them all at once.

    The version sits on each cell, not on the sheet: two assessors scoring different targets of
    one period (the usual split of a 考核组) both save; only a cell both of them changed is
    refused, to the second one, named with who scored it and when, and the grid shows the newer
    value there. A version per sheet would refuse the second assessor's whole grid for a change
    to a cell they never touched. The version is the one the grid was drawn with (0 for an
    empty cell); None (or a 4-tuple) checks nothing, as an API client that sends none."""
    p = check_period(scheme, period)
    indicators = {i.pk: i for i in scheme.indicators.all()}
    orgs = Organization.objects.in_bulk({e[1] for e in entries})
    target_ids = {t.org_id for t in queries.targets(scheme.level)}
    # An inspection team scores the targets assigned to it only (queries.scorable_targets).
    allowed = target_ids if user is None else {t.org_id for t in queries.scorable_targets(user, scheme.level)}
    checked, problems = [], []
    for ind_id, org_id, score, comment, *rest in entries:
        version = rest[0] if rest else None
        if str(score if score is not None else "").strip() == "" and not (comment or "").strip():
            continue
        if ind_id not in indicators or org_id not in orgs:
            raise AssessmentError("score", "评分表已过期，请刷新后再填写")
        value, found = _manual_problems(indicators[ind_id], orgs[org_id], target_ids, score, comment)
        if not found and org_id not in allowed:
            found = [("org", f"“{orgs[org_id].name}”不在您负责督查考核的范围内")]
        problems += [dict(indicator=ind_id, org=org_id, field=field, message=message,
                          where=f"{orgs[org_id].name}·{indicators[ind_id].name}") for field, message in found]
        if not found:
            checked.append((indicators[ind_id], orgs[org_id], value, comment, version))
    if problems:
        raise ManualScoreErrors(problems)
    saved, stale = 0, []
    with transaction.atomic():
        for indicator, org, value, comment, version in checked:
            try:
                saved += _save_manual_score(user, indicator, p.label, org, value, comment, version) is not None
            except versioning.StaleVersion as exc:
                stale.append(dict(indicator=indicator.pk, org=org.pk, field="score", stale=True,
                                  message=f"“{indicator.name}”：{exc.message}", where=f"{org.name}·{indicator.name}"))
        if stale:
            # All or nothing: the cells written above are undone with the transaction.
            transaction.set_rollback(True)
    if stale:
        raise ManualScoreErrors(stale)
    return saved


# ---- evaluation runs -------------------------------------------------------------------------

def check_period(scheme: Scheme, label: str) -> periods.Period:
    try:
        p = periods.parse(label)
    except periods.PeriodError as exc:
        raise AssessmentError("period", str(exc)) from None
    if p.unit not in CYCLES:
        raise AssessmentError("period", "周期：考评按月（2026-10）、季度（2026Q3）或年度（2026）进行")
    if p.year != scheme.year:
        raise AssessmentError("period", f"方案“{scheme.name}”适用于 {scheme.year} 年，{p.chinese}没有适用的考核方案")
    return p


def grade_all(totals: dict[int, Decimal], scheme: Scheme) -> dict[int, str]:
    """Grades by thresholds, then quotas from the top: targets that would push a grade over its
    cap drop to the next grade, ties together (a quota is never exceeded by a tie)."""
    lines = scheme.grade_thresholds()
    pct = {k: (v / Decimal(100)) * scheme.total for k, v in lines.items()}

    def by_line(total):
        for g in ("excellent", "good", "fair"):
            if total >= pct[g]:
                return g
        return "poor"

    grades = {org: by_line(t) for org, t in totals.items()}
    n = len(totals)
    for g in ("excellent", "good"):
        cap = (scheme.quotas or {}).get(g)
        if cap is None:
            continue
        limit = int(Decimal(str(cap)) * n)  # whole targets only
        holders = sorted((o for o, gr in grades.items() if gr == g), key=lambda o: -totals[o])
        if len(holders) <= limit:
            continue
        cutoff = totals[holders[limit]]  # the first score that does not fit
        nxt = GRADE_ORDER[GRADE_ORDER.index(g) + 1]
        for o in holders:
            if totals[o] <= cutoff:
                grades[o] = nxt
    return grades


def replace_message(run: Run) -> str:
    """What a second run of a period would replace, said before it is done."""
    when = timezone.localtime(run.computed_at)
    return (f"{periods.name_of(run.period)}已于 {when:%Y-%m-%d %H:%M} 考评过，通报可能已经据此印发；"
            "重新考评将按当前数据替换原有得分、等次和名次（已约谈的记录保留）")


NOT_APPLICABLE = "本项不适用，分值按比例分配至其他指标"
NOT_SCORED = "考核组尚未评分，暂不计入，分值按比例分配至其他指标（暂定）"


def _scored(t, indicators, values, manual, *, breakdown: list | None) -> tuple[Decimal | None, int]:
    """A target's total (None when every indicator is 不适用) and how many of its manual scores
    are pending; its rows per indicator are appended to `breakdown` when one is given. An
    indicator without a ratio (不适用, or a manual score pending) gives its weight to the others
    in proportion to theirs (see the module docstring)."""
    pending, parts = 0, []
    for i in indicators:
        if i.method == Indicator.Method.METRIC:
            v = values[i.pk][t.org_id]
            ratio = None if v.ratio is None else Decimal(str(v.ratio))
            row = dict(numerator=v.numerator, denominator=v.denominator, detail=v.detail)
            if ratio is None:
                row.update(not_applicable=True, note=NOT_APPLICABLE)
        else:
            s = manual.get((i.pk, t.org_id))
            if s is None:
                pending += 1
                ratio = None
                row = dict(detail="考核组尚未评分", pending=True, note=NOT_SCORED)
            else:
                ratio = s.score / i.max_score
                row = dict(detail=s.comment, manual_score=str(s.score), max_score=str(i.max_score))
        parts.append((i, ratio, row))
    full = sum((i.weight for i in indicators), Decimal(0))
    counted = sum((i.weight for i, ratio, _ in parts if ratio is not None), Decimal(0))
    total = None if not counted else Decimal(0)
    for i, ratio, row in parts:
        if ratio is None:
            weight, score = Decimal(0), None
        else:
            weight = (i.weight * full / counted) if counted != full else i.weight
            score = (ratio * weight).quantize(CENT)
            total += score
        if breakdown is not None:
            breakdown.append(dict(indicator_id=i.pk, name=i.name, category=i.category, weight=str(i.weight),
                                  applied_weight=str(weight.quantize(CENT)),
                                  ratio=None if ratio is None else float(ratio),
                                  score=None if score is None else str(score), **row))
    return total, pending


def finalize_problem(run: Run, today: dt.date) -> str | None:
    """Why a run cannot be made final now, or None."""
    if run.is_final:
        return f"{run}已于 {timezone.localtime(run.finalized_at):%Y-%m-%d %H:%M} 定稿，不能重复定稿" \
            if run.finalized_at else f"{run}已经定稿，不能重复定稿"
    if run.period_end >= today:
        return (f"{periods.name_of(run.period)}尚未结束（至 {run.period_end:%Y-%m-%d}），不能定稿："
                f"请在 {run.period_end + dt.timedelta(days=1):%Y-%m-%d} 及以后定稿")
    missing = _missing_manual(run.scheme, run.period, queries.targets(run.scheme.level))
    if missing:
        names = "、".join(f"“{d['name']}”{d['targets']} 个考核对象" for d in missing)
        return f"考核组评分尚未录入齐全，不能定稿：{names}未评分。请录入后再定稿"
    return None


def _missing_manual(scheme: Scheme, period: str, targets) -> list[dict]:
    """Per manual indicator of the scheme, how many targets have no score for the period."""
    ids = {t.org_id for t in targets}
    out = []
    for i in scheme.indicators.filter(method=Indicator.Method.MANUAL):
        have = set(ManualScore.objects.filter(indicator=i, period=period).values_list("org_id", flat=True)) & ids
        if len(ids - have):
            out.append(dict(indicator_id=i.pk, name=i.name, targets=len(ids - have)))
    return out


def finalize(user, run: Run, *, today: dt.date | None = None) -> Run:
    """定稿: compute the run again with the data as it now is and make it final. Refused (nothing
    written) while manual scores are missing, the period is open, or the run is final already."""
    today = today or timezone.localdate()
    problem = finalize_problem(run, today)
    if problem:
        raise AssessmentError("run", problem)
    return run_evaluation(user, run.scheme, run.period, today=today, replace=True, finalizing=True)


def bulletin_problem(run: Run) -> str | None:
    """Why no bulletin can be issued from a run (a draft), or None."""
    if run.is_final:
        return None
    return (f"{run}是暂定结果（{'；'.join(run.draft_reasons)}），不能据此印发通报。"
            "请在数据齐全、周期结束后重新考评或定稿")


def run_evaluation(user, scheme: Scheme, period: str, *, today: dt.date | None = None,
                   replace: bool = False, finalizing: bool = False) -> Run:
    """Score every target of the scheme's level for a period that has begun and store the
    result: final when the period has ended and every manual score is in, a draft otherwise
    (no grades, no admonitions). A period already evaluated is evaluated again only with
    `replace` (its scores are replaced; admonitions already held are kept). See the module
    docstring for why."""
    today = today or timezone.localdate()
    p = check_period(scheme, period)
    if p.start > today:
        raise AssessmentError("period", f"{p.chinese}尚未开始，不能考评")
    existing = Run.objects.filter(scheme=scheme, period=p.label).first()
    if existing is not None and not replace:
        raise AssessmentError("replace", replace_message(existing) + "。确需重新考评的，请确认后再操作")
    indicators = list(scheme.indicators.all())
    if not indicators:
        raise AssessmentError("scheme", f"方案“{scheme.name}”还没有指标")
    weights = sum((i.weight for i in indicators), Decimal(0))
    if weights != scheme.total:
        raise AssessmentError("scheme", f"方案“{scheme.name}”各项分值合计 {weights} 分，应等于总分 {scheme.total} 分")
    end = min(p.end, today)
    targets = queries.targets(scheme.level)
    # Compliance is stored per period and kept fresh by the changes themselves; compute only
    # what is marked stale or was never computed.
    compliance.ensure_fresh(p.start, end, today=today)
    values = {i.pk: metrics.compute(i.metric, targets, p.start, end, i.params, today)
              for i in indicators if i.method == Indicator.Method.METRIC}
    manual = {(s.indicator_id, s.org_id): s for s in ManualScore.objects.filter(
        indicator__scheme=scheme, period=p.label)}
    # The totals first, the breakdowns (a few dicts per indicator and target: most of a run's
    # memory at a province's size) only while their slice of scores is written.
    totals, pending = {}, 0
    for t in targets:
        totals[t.org_id], waiting = _scored(t, indicators, values, manual, breakdown=None)
        pending += waiting
    period_open = p.end >= today
    final = not period_open and not pending
    if finalizing and not final:
        raise AssessmentError("run", "考评数据不完整，不能定稿")
    scored = {o: v for o, v in totals.items() if v is not None}
    grades = grade_all(scored, scheme) if final else {}
    order = sorted((t for t in targets if t.org_id in scored), key=lambda t: (-totals[t.org_id], t.path))
    places, prev, place = {}, None, 0
    for n, t in enumerate(order, 1):
        if totals[t.org_id] != prev:
            place, prev = n, totals[t.org_id]
        places[t.org_id] = place
    with transaction.atomic():
        run, created = Run.objects.select_for_update().get_or_create(
            scheme=scheme, period=p.label,
            defaults=dict(cycle=CYCLES[p.unit], period_start=p.start, period_end=p.end, computed_by=user))
        before = None if created else audit.snapshot(run)
        run.computed_by, run.target_count, run.pending_manual = user, len(targets), pending
        run.pending_detail = _missing_manual(scheme, p.label, targets) if pending else []
        run.period_open = period_open
        was_final = run.is_final
        run.status = Run.Status.FINAL if final else Run.Status.DRAFT
        if final and not was_final:
            run.finalized_at, run.finalized_by = timezone.now(), user
        elif not final:
            run.finalized_at, run.finalized_by = None, None
        run.save()
        TargetScore.objects.filter(run=run).delete()
        for i in range(0, len(targets), 500):
            scores = []
            for t in targets[i:i + 500]:
                rows: list[dict] = []
                _scored(t, indicators, values, manual, breakdown=rows)
                scores.append(TargetScore(run=run, org_id=t.org_id, total=totals[t.org_id], grade=grades.get(t.org_id, ""),
                                          place=places.get(t.org_id), breakdown=rows))
            TargetScore.objects.bulk_create(scores)
        # Only a final result lists anyone for 约谈; a draft's pending ones go (held ones stay).
        below = {o for o, v in scored.items() if v < scheme.admonish_below} if final else set()
        dropped = list(Admonition.objects.filter(run=run, status=Admonition.Status.PENDING).exclude(org_id__in=below))
        # A pending admonition the new result no longer calls for goes, and its removal is recorded.
        AuditEntry.objects.bulk_create([audit.entry(user, a, audit.snapshot(a), "delete", "重新考评后不再列入约谈")
                                        for a in dropped])
        Admonition.objects.filter(pk__in=[a.pk for a in dropped]).delete()
        have = set(Admonition.objects.filter(run=run).values_list("org_id", flat=True))
        Admonition.objects.bulk_create([
            Admonition(run=run, org_id=o, reason=f"考评得分 {totals[o]} 分，低于约谈分数线 {scheme.admonish_below} 分")
            for o in sorted(below - have)
        ])
        state = "定稿" if final else "暂定"
        audit.record(user, run, before, action="create" if created else "update",
                     note=(f"定稿{p.chinese}考评" if finalizing else f"考评{p.chinese}")
                     + f"：{len(targets)} 个考核对象（{state}）")
    return run


def record_admonitions(user, talks: list[tuple[Admonition, dt.date]], *, talked_with: str, talked_by: str,
                       outcome: str, deadline_days: int = DEFAULT_DEADLINE_DAYS) -> int:
    """Many talks at once, each on its own day (`talks`: (admonition, talked_on)), with the
    checks and history of `record_admonition`: a year of a province's admonitions is thousands,
    written in one UPDATE per batch and one insert of their history instead of five queries
    each. For a writer that holds the records (the demo): no editor's version is compared. Each
    talk opens its rectification item (as `record_admonition`), due `deadline_days` calendar
    days after the talk, in one insert of the items and one of their timelines."""
    today = timezone.localdate()
    talked_with, talked_by, outcome = (talked_with or "").strip(), (talked_by or "").strip(), (outcome or "").strip()
    for field, value, label in (("talked_with", talked_with, "约谈对象"), ("talked_by", talked_by, "约谈人"),
                                ("outcome", outcome, "约谈情况及整改要求")):
        if not value:
            raise AssessmentError(field, f"{label}：必填")
    for admonition, talked_on in talks:
        if talked_on is None or talked_on > today:
            raise AssessmentError("talked_on", "约谈日期：不能晚于今天")
        if talked_on < admonition.run.period_start:
            raise AssessmentError("talked_on", "约谈日期：不能早于考评周期的开始")
    entries, changed = [], []
    with transaction.atomic():
        for admonition, talked_on in talks:
            before = audit.snapshot(admonition)
            admonition.talked_on, admonition.talked_with, admonition.talked_by = talked_on, talked_with[:100], \
                talked_by[:100]
            admonition.outcome, admonition.status = outcome, Admonition.Status.DONE
            admonition.version += 1
            changed.append(admonition)
            entries.append(audit.entry(user, admonition, before))
        Admonition.objects.bulk_update(changed, ["talked_on", "talked_with", "talked_by", "outcome", "status",
                                                 "version"], batch_size=500)
        have = set(Item.objects.filter(source=Item.Source.ADMONITION, source_id__in=[a.pk for a in changed])
                   .values_list("source_id", flat=True))
        committees: dict[str, Organization] = {}
        new = []
        for a in changed:
            if a.pk in have:
                continue
            top = a.org.path[:9]
            if top not in committees:
                committees[top] = rectification_queries.committee_of(a.org)
            new.append(Item(list=Item.List.TASK, source=Item.Source.ADMONITION, source_id=a.pk,
                            source_label=admonition_label(a), title=f"{a.org.name}约谈整改"[:200], description=outcome,
                            org=a.org, issuer=committees[top], opened_on=a.talked_on,
                            deadline=a.talked_on + dt.timedelta(days=deadline_days),
                            created_by=user if user is not None and user.is_authenticated else None))
        Item.objects.bulk_create(new, batch_size=500)
        items = list(Item.objects.filter(source=Item.Source.ADMONITION, source_id__in=[i.source_id for i in new]))
        ItemEvent.objects.bulk_create([ItemEvent(item=i, kind=ItemEvent.Kind.OPEN, on=i.opened_on, text=i.description)
                                       for i in items], batch_size=1000)
        entries += [audit.entry(user, i, None, note="交办整改事项") for i in items]
        AuditEntry.objects.bulk_create([e for e in entries if e is not None], batch_size=1000)
    return len(changed)


def admonition_label(admonition: Admonition) -> str:
    """The source of an admonition's item as a list shows it: the run and its period."""
    run = admonition.run
    return f"{run.scheme.name} {periods.name_of(run.period)}约谈"[:200]


def record_admonition(user, admonition: Admonition, *, talked_on: dt.date, talked_with: str, talked_by: str,
                      outcome: str, deadline: dt.date | None = None, workdays: int | None = None,
                      version: int | None = None, today: dt.date | None = None) -> Admonition:
    """The talk of an admonition. Its 整改要求 become a rectification item on the task list,
    issued by the working committee to the admonished organization, opened on the day of the
    talk and due on `deadline` or `workdays` working days after it (one of them required);
    recording the talk again revises the item while it is open. `version` is the one the editor
    read (core.versioning): a record saved since raises StaleVersion."""
    today = today or timezone.localdate()
    if talked_on is None or talked_on > today:
        raise AssessmentError("talked_on", "约谈日期：不能晚于今天")
    if talked_on < admonition.run.period_start:
        raise AssessmentError("talked_on", "约谈日期：不能早于考评周期的开始")
    talked_with, talked_by, outcome = (talked_with or "").strip(), (talked_by or "").strip(), (outcome or "").strip()
    for field, value, label in (("talked_with", talked_with, "约谈对象"), ("talked_by", talked_by, "约谈人"),
                                ("outcome", outcome, "约谈情况及整改要求")):
        if not value:
            raise AssessmentError(field, f"{label}：必填")
    item = Item.objects.filter(source=Item.Source.ADMONITION, source_id=admonition.pk).order_by("id").first()
    if item is None and deadline is None and workdays in (None, ""):
        raise AssessmentError("deadline", "整改时限：必填，填写日期或工作日天数其中一项")
    try:
        with transaction.atomic():
            versioning.claim(admonition, version)
            before = audit.snapshot(admonition)
            admonition.talked_on, admonition.talked_with, admonition.talked_by = talked_on, talked_with[:100], \
                talked_by[:100]
            admonition.outcome, admonition.status = outcome, Admonition.Status.DONE
            admonition.save()
            audit.record(user, admonition, before)
            if item is None:
                rectify.open_item(user, org=admonition.org, list=Item.List.TASK,
                                  title=f"{admonition.org.name}约谈整改", description=outcome,
                                  source=Item.Source.ADMONITION, source_id=admonition.pk,
                                  source_label=admonition_label(admonition),
                                  issuer=rectification_queries.committee_of(admonition.org),
                                  deadline=deadline, workdays=workdays, opened_on=talked_on, today=today)
            elif item.is_open:
                if workdays not in (None, ""):
                    deadline, _ = rectify.deadline_of(item.opened_on, None, workdays)
                rectify.revise(user, item, description=outcome, deadline=deadline, reason="约谈记录修改", today=today)
    except rectify.ItemError as exc:
        raise AssessmentError(exc.field if exc.field in ("deadline", "workdays") else "outcome", exc.message) from None
    return admonition

"""Writes of star ratings: a year's scheme, a rating run, weak-organization cases and their
overhaul, the record of an export. Each is one transaction, audited; bad input raises
`RatingError` with a Chinese message naming the field, and nothing is written.

A rating run is set-based: the branches, the counted assessment scores, the year's compliance
rows, the structure alerts of the rating day, the weak cases and last year's levels are read
in a fixed number of queries whatever the size of the tree, then `levels.assign` gives every
level at once and the rows are written with one bulk insert.

A rating never judges branches on absent data. A year is refused, with what is missing, when
the basis its scheme uses has no results (`basis_problem`): by assessment, no run of the chosen
cycles for a period ended by the rating day (a run computed while its period was running is
never counted); by compliance, no organizational-life record in the year, or no requirement
period since the records began that has ended. The compliance rate (and 应开未开 for the caps)
counts only the periods that began in or after the month of the year's first record anywhere
in the tree: before it the platform holds no record to judge by, and a city that began using
the platform in October would otherwise be rated 后进 for January to September. Within the
covered periods a branch's missing record is a requirement not met, as the compliance pages
show it. A branch with no result at all (no score in any counted run, no requirement due) is
未评定 with the reason. The pages offer only the years rated or rateable (`rateable_years`).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from dangjian.activities import compliance
from dangjian.activities.models import Activity, ComplianceRow
from dangjian.assessment.models import Level as TargetLevel
from dangjian.assessment.models import Run, Scheme, TargetScore
from dangjian.core import audit, periods, versioning
from dangjian.core.text import citation_problem
from dangjian.orgs.alerts import structure_alerts
from dangjian.orgs.models import Organization
from dangjian.rectification import queries as rectification_queries
from dangjian.rectification import services as rectify
from dangjian.rectification.models import Item, ItemEvent
from dangjian.rectification.services import ItemError

from . import levels, rules
from .models import LEVEL_LABELS, Basis, Level, Rating, RatingRun, RatingScheme, WeakOrg
from .rules import CYCLE_LABELS, RatingError

CENT = Decimal("0.01")
FIRST_YEAR = 2000
# 软弱涣散 is a finding about a grassroots party organization, not about a 党组, a 党小组 or the 工委.
WEAK_KINDS = ("organ_committee", "committee", "general_branch", "branch")


def _text(value, field: str, label: str, max_length: int | None = None) -> str:
    s = (value or "").strip()
    if not s:
        raise RatingError(field, f"{label}：必填")
    if max_length and len(s) > max_length:
        raise RatingError(field, f"{label}：过长（最多 {max_length} 个字，现有 {len(s)} 个字）")
    return s


def _year(year) -> int:
    if not isinstance(year, int) or not FIRST_YEAR <= year <= 2100:
        raise RatingError("year", f"年度：“{year}”不是有效的年份")
    return year


# ---- the scheme of a year ------------------------------------------------------------------

def branch_schemes(year: int):
    """The branch-level assessment schemes of the year, the one with most runs first."""
    return (Scheme.objects.filter(level=TargetLevel.BRANCH, year=year)
            .annotate(run_count=Count("runs")).order_by("-run_count", "code"))


def proposed(year: int) -> tuple[dict, str]:
    """The field values a new scheme for `year` starts from, and where they come from: the
    latest earlier year's scheme, else the defaults of rules/defaults.yaml. The assessment
    scheme is the year's branch-level one with the most runs; with none, the basis is the
    compliance rate, said so in the note."""
    earlier = RatingScheme.objects.filter(year__lt=year).order_by("-year").first()
    if earlier is not None:
        fields = rules.of_scheme(earlier).as_fields()
        origin = f"复制自 {earlier.year} 年办法"
        source, note = rules.readable_source(earlier.source), earlier.note
    else:
        fields = rules.default_rules().as_fields()
        origin = "按平台默认值建立"
        source, note = rules.default_source(), ""
    chosen = branch_schemes(year).first()
    fields["assessment_scheme"] = chosen
    if fields["basis"] == Basis.ASSESSMENT and (chosen is None or not chosen.run_count):
        fields["basis"] = Basis.COMPLIANCE
        note = (f"建立时没有 {year} 年党支部考核结果，按组织生活按规定落实率评定；"
                "有考核结果后可改为按考核结果评定。" + (f"\n{note}" if note else ""))
    elif fields["basis"] == Basis.COMPLIANCE and chosen is not None and chosen.run_count:
        note = (f"沿用上一年度按组织生活落实率评定；本年度已有党支部考核方案“{chosen.name}”的考评结果，"
                "可改为按考核结果评定。" + (f"\n{note}" if note else ""))
    return {**fields, "source": source, "note": note}, origin


def ensure_scheme(user, year: int) -> RatingScheme:
    _year(year)
    with transaction.atomic():
        found = RatingScheme.objects.select_for_update().filter(year=year).first()
        if found is not None:
            return found
        fields, origin = proposed(year)
        scheme = RatingScheme.objects.create(year=year, **fields)
        audit.record(user, scheme, None, note=origin)
    return scheme


def _summary(before: dict, after: dict) -> str:
    labels = {"basis": "评定依据", "assessment_scheme_id": "考核方案", "cycles": "计入的考评", "thresholds": "星级分数线",
              "quotas": "比例上限", "lagging_share": "后进最低比例", "caps": "封顶情形", "commendation": "评先推荐条件",
              "weak_candidates": "软弱涣散提示条件", "source": "依据", "note": "说明"}
    changed = [label for key, label in labels.items() if before.get(key) != after.get(key)]
    return ("修改" + "、".join(changed)) if changed else ""


def save_scheme(user, year: int, data: dict, version: int | None = None) -> RatingScheme:
    """Create or change the scheme of `year` from `data` (the RatingScheme fields; the
    assessment scheme as an object or None). `version` is the one the editor read
    (core.versioning): a change saved since raises StaleVersion."""
    _year(year)
    checked = rules.check(data)
    chosen = data.get("assessment_scheme")
    if checked.basis == Basis.ASSESSMENT:
        if chosen is None:
            raise RatingError("assessment_scheme", "考核方案：按考核结果评定时必须选择党支部考核方案")
        if chosen.level != TargetLevel.BRANCH or chosen.year != year:
            raise RatingError("assessment_scheme", f"考核方案：“{chosen.name}”不是 {year} 年的党支部考核方案")
    source = (data.get("source") or "").strip()
    problem = citation_problem(source, required=False)
    if problem:
        raise RatingError("source", f"依据：{problem}")
    fields = {**checked.as_fields(), "assessment_scheme": chosen, "source": source,
              "note": (data.get("note") or "").strip()}
    with transaction.atomic():
        scheme = RatingScheme.objects.select_for_update().filter(year=year).first()
        if scheme is not None:
            versioning.claim(scheme, version)
        before = audit.snapshot(scheme) if scheme else None
        scheme = scheme or RatingScheme(year=year)
        for key, value in fields.items():
            setattr(scheme, key, value)
        scheme.save()
        after = audit.snapshot(scheme)
        audit.record(user, scheme, before, note=_summary(before or {}, after) if before else "建立评定办法")
    return scheme


# ---- a rating run --------------------------------------------------------------------------

def rating_day(year: int, today: dt.date) -> dt.date:
    return min(dt.date(year, 12, 31), today)


def _pct(total: Decimal, full: Decimal) -> Decimal:
    return (total * 100 / full).quantize(CENT, rounding=ROUND_HALF_UP)


def _mean(values: list[Decimal]) -> Decimal:
    return (sum(values, Decimal(0)) / len(values)).quantize(CENT, rounding=ROUND_HALF_UP)


def _branches(day: dt.date) -> list[tuple]:
    """Active branches that existed on the rating day, in tree order."""
    return list(Organization.objects.filter(kind="branch", status=Organization.Status.ACTIVE)
                .filter(Q(established_on__isnull=True) | Q(established_on__lte=day))
                .order_by("path").values_list("pk", "code", "name", "path"))


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def records_start(year: int, day: dt.date) -> dt.date | None:
    """The first organizational-life record of the year up to the rating day, anywhere in the
    tree: the day the platform's records of the year begin (None: the year has none)."""
    return (Activity.objects.filter(status=Activity.Status.ACTIVE, held_on__gte=dt.date(year, 1, 1), held_on__lte=day)
            .aggregate(first=Min("held_on"))["first"])


def counted_runs(source: Scheme, cycles: list[str], day: dt.date) -> list[Run]:
    """The runs of the assessment scheme a rating averages: of the chosen cycles, for periods
    ended by the rating day, never a run computed while its period was still running."""
    runs = Run.objects.filter(scheme=source, cycle__in=cycles, period_end__lte=day).order_by("period_start")
    return [r for r in runs if not r.is_interim]


def _cycles_text(cycles) -> str:
    return "、".join(CYCLE_LABELS[c] for c in cycles)


def _assessment_problem(year: int, source: Scheme | None, rules_: rules.Rules, day: dt.date,
                        runs: list[Run]) -> str | None:
    if source is None:
        return (f"{year} 年评定办法按考核结果评定，但没有选择党支部考核方案，"
                "请在评定办法中选择考核方案或改为按组织生活落实率评定")
    if not runs:
        return (f"考核方案“{source.name}”在 {year} 年还没有{_cycles_text(rules_.cycles)}结果"
                f"（截至 {day:%Y年%m月%d日}已结束的周期），按考核结果评定没有依据，不能评定；"
                "请先进行考评，或在评定办法中改为按组织生活落实率评定")
    return None


def _compliance_problem(year: int, first: dt.date | None, day: dt.date, today: dt.date) -> str | None:
    if first is None:
        return (f"{year} 年没有任何组织生活记录，按组织生活按规定落实率评定没有依据，不能评定；"
                "请先录入或导入该年度的组织生活记录，或在评定办法中改为按党支部考核结果评定")
    if not _month_end(first) < today or _month_end(first) > day:
        return (f"{year} 年的组织生活记录始于 {first:%Y年%m月%d日}，截至 {day:%Y年%m月%d日}还没有此后开始"
                "并已结束的组织生活要求，按组织生活按规定落实率评定没有依据，不能评定")
    return None


def basis_problem(year: int, today: dt.date) -> str | None:
    """Why `year` cannot be rated now, in Chinese, or None if it can: the basis its scheme
    uses (the stored scheme, else the one a rating would create) has no results for the year.
    A rating never judges branches on absent data. Reads only, a few queries."""
    if year > today.year:
        return f"{year} 年尚未开始，不能评定"
    day = rating_day(year, today)
    scheme = RatingScheme.objects.select_related("assessment_scheme").filter(year=year).first()
    fields = ({"basis": scheme.basis, "assessment_scheme": scheme.assessment_scheme, "cycles": scheme.cycles}
              if scheme is not None else proposed(year)[0])
    if fields["basis"] == Basis.ASSESSMENT:
        source = fields["assessment_scheme"]
        cycles = rules.of_scheme(scheme).cycles if scheme is not None else list(fields["cycles"])
        runs = counted_runs(source, cycles, day) if source is not None else []
        return _assessment_problem(year, source, rules.Rules(Basis.ASSESSMENT, cycles, {}), day, runs)
    return _compliance_problem(year, records_start(year, day), day, today)


def rateable_years(today: dt.date, problems: dict | None = None) -> list[int]:
    """The years that can be rated now (latest first): those with organizational-life records
    or branch-level assessment runs whose scheme's basis has results (`basis_problem`).
    `problems`, when given, receives each year's `basis_problem` as found here, so a page that
    shows one of them does not ask again."""
    # No ordering: with the model's own, DISTINCT is over (month, ordering columns) and answers
    # every record of every year, a row each, on every ratings page.
    months = (Activity.objects.filter(month__lte=today.year * 100 + 12).order_by()
              .values_list("month", flat=True).distinct())
    years = {m // 100 for m in months} | set(
        Scheme.objects.filter(level=TargetLevel.BRANCH, year__lte=today.year, runs__isnull=False).order_by()
        .values_list("year", flat=True).distinct())
    found = {y: basis_problem(y, today) for y in years if FIRST_YEAR <= y}
    if problems is not None:
        problems.update(found)
    return sorted((y for y, problem in found.items() if problem is None), reverse=True)


def _assessment_scores(scheme: RatingScheme, rules_: rules.Rules, day: dt.date) -> tuple[dict, str, list[int]]:
    source = scheme.assessment_scheme
    runs = counted_runs(source, rules_.cycles, day) if source is not None else []
    problem = _assessment_problem(scheme.year, source, rules_, day, runs)
    if problem:
        raise RatingError("assessment_scheme", problem)
    period = {r.pk: r.period for r in runs}
    per_org: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    # A target with every indicator 不适用 has no total in that run: that run is not counted for it.
    for org_id, run_id, total in TargetScore.objects.filter(run__in=runs, total__isnull=False).order_by().values_list(
            "org_id", "run_id", "total"):
        per_org[org_id].append((period[run_id], _pct(total, source.total)))
    full = "" if source.total == 100 else f"（满分 {source.total.normalize():f} 分，已折合百分制）"
    scores = {}
    for org_id, items in per_org.items():
        items.sort()
        mean = _mean([v for _, v in items])
        listed = "、".join(f"{periods.name_of(p)} {v}" for p, v in items)
        scores[org_id] = (mean, f"{source.name}：{listed}，{len(items)} 次平均 {mean} 分{full}", len(items))
    basis = f"“{source.name}”{'、'.join(periods.name_of(r.period) for r in runs)}共 {len(runs)} 次考评的平均得分"
    absent = [c for c in rules_.cycles if c not in {r.cycle for r in runs}]
    if absent:
        basis += f"；{_cycles_text(absent)}本年度没有结果，未计入"
    return scores, basis, [r.pk for r in runs]


def _compliance(year: int, day: dt.date, today: dt.date, since: dt.date | None) -> dict[int, tuple[int, int]]:
    """(met, missing) per branch over the requirements of the year whose period began on or
    after `since` (the first day of the month the year's records begin; None: no records, so
    nothing to judge) and has ended by the rating day — one grouped query over the stored rows.
    A requirement still running is neither met nor missed yet (a stored `due` becomes missing
    once its period is over); one whose period began before the records did has no record to
    be judged by, and is not counted."""
    if since is None:
        return {}
    grouped = (ComplianceRow.objects.filter(org__kind="branch", period_start__gte=max(since, dt.date(year, 1, 1)),
                                            period_end__lte=min(day, dt.date(year, 12, 31)))
               .exclude(status=compliance.NOT_APPLICABLE).with_status_on(today)
               .values_list("org_id", "status_now").annotate(n=Count("id")).order_by())
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for org_id, status, n in grouped:
        if status == compliance.MET:
            out[org_id][0] += n
        elif status == compliance.MISSING:
            out[org_id][1] += n
    return {k: (v[0], v[1]) for k, v in out.items()}


def _weak_cases(year: int) -> dict[int, str]:
    """软弱涣散 cases open at any time of the year, by org."""
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    qs = (WeakOrg.objects.exclude(status=WeakOrg.Status.WITHDRAWN)
          .filter(identified_on__lte=end).filter(Q(closed_on__isnull=True) | Q(closed_on__gte=start))
          .order_by("identified_on").values_list("org_id", "identified_on", "closed_on"))
    out = {}
    for org_id, on, closed in qs:
        out.setdefault(org_id, f"{on:%Y年%m月%d日}认定" + (f"，{closed:%Y年%m月%d日}销号" if closed else "，尚未销号"))
    return out


def figures(scheme: RatingScheme, rules_: rules.Rules, day: dt.date,
            today: dt.date) -> tuple[list[tuple], list[levels.Figures], str, list[int]]:
    year = scheme.year
    branches = _branches(day)
    first = records_start(year, day)
    since = _month_start(first) if first is not None else None
    # Periods that began before the year's records did are not judged (no record to judge by).
    coverage = (f"平台组织生活记录始于 {first:%Y年%m月%d日}，此前开始的周期没有记录可依，不计入"
                if since is not None and since > dt.date(year, 1, 1) else "")
    met_missing = _compliance(year, day, today, since)
    if rules_.basis == Basis.ASSESSMENT:
        scores, basis, run_ids = _assessment_scores(scheme, rules_, day)
        if since is None and any(c.missing_above is not None for c in rules_.caps):
            basis += "；本年度没有组织生活记录，“应开未开”封顶情形未适用"
        elif coverage and any(c.missing_above is not None for c in rules_.caps):
            basis += f"；应开未开只计 {since:%Y年%m月} 起的周期（平台组织生活记录始于 {first:%Y年%m月%d日}）"
        unscored = "本年度计入的考评中没有该党支部的得分（没有考核结果），未评定"
    else:
        problem = _compliance_problem(year, first, day, today)
        if problem is None and not any(met + missing for met, missing in met_missing.values()):
            problem = (f"{year} 年截至 {day:%Y年%m月%d日}没有已结束并可评判的组织生活要求，"
                       "按组织生活按规定落实率评定没有依据，不能评定")
        if problem:
            raise RatingError("basis", problem)
        scores, run_ids = {}, []
        for org_id, (met, missing) in met_missing.items():
            due = met + missing
            if due:
                value = (Decimal(met) * 100 / due).quantize(CENT, rounding=ROUND_HALF_UP)
                scores[org_id] = (value, f"组织生活按规定落实率：已结束周期应完成 {due} 项，已完成 {met} 项，"
                                         f"折合 {value} 分", 0)
        basis = f"{year} 年组织生活按规定落实率（截至 {day:%Y年%m月%d日}已结束的周期"
        basis += f"；{coverage}）" if coverage else "）"
        unscored = "本年度计入的周期内该党支部没有应开展的组织生活要求（没有可评判的数据），未评定"
    alerts = defaultdict(list)
    for a in structure_alerts(today=day):
        alerts[a.org_id].append((a.kind, a.message))
    weak = _weak_cases(year)
    out = []
    for pk, _code, _name, _path in branches:
        score, text, runs = scores.get(pk, (None, "", 0))
        if score is None:
            text = unscored
        out.append(levels.Figures(pk, score, text, runs, alerts.get(pk, []), met_missing.get(pk, (0, 0))[1],
                                  weak.get(pk, "")))
    return branches, out, basis, run_ids


def run_rating(user, year: int, *, today: dt.date | None = None, refresh: bool = True) -> RatingRun:
    """Rate every active branch for `year` and store the result (re-rating replaces it).
    `refresh` brings the year's compliance rows up to date first. One transaction: a rating
    refused (no assessment results …) leaves nothing behind, not even a new year's scheme."""
    today = today or timezone.localdate()
    _year(year)
    if year > today.year:
        raise RatingError("year", f"{year} 年尚未开始，不能评定")
    day = rating_day(year, today)
    # Refused before anything is written or recomputed when the basis has no results.
    problem = basis_problem(year, today)
    if problem:
        raise RatingError("basis", problem)
    with transaction.atomic():
        scheme = ensure_scheme(user, year)
        rules_ = rules.of_scheme(scheme)
        if refresh:
            compliance.ensure_fresh(dt.date(year, 1, 1), day, today=today)
        branches, figs, basis, run_ids = figures(scheme, rules_, day, today)
        results = levels.assign(figs, rules_)
        previous = dict(Rating.objects.filter(year=year - 1).values_list("org_id", "level"))
        by_org = {f.org_id: f for f in figs}
        counts = {lv: 0 for lv in Level.values}
        rows = []
        for pk, _code, _name, _path in branches:
            r, f = results[pk], by_org[pk]
            counts[r.level] += 1
            rows.append(Rating(org_id=pk, year=year, score=r.score, base_level=r.base_level, level=r.level,
                               previous_level=previous.get(pk, ""), qualified=r.qualified, capped=r.capped,
                               commendable=r.commendable, missing_count=f.missing,
                               alert_kinds=sorted({k for k, _ in f.alerts}), weak=bool(f.weak),
                               runs_counted=f.runs_counted, reasons=r.reasons))
        run = RatingRun.objects.select_for_update().filter(year=year).first()
        before = audit.snapshot(run) if run else None
        run = run or RatingRun(year=year)
        run.scheme, run.rated_on, run.basis_text = scheme, day, basis[:300]
        run.assessment_runs, run.applied, run.counts = run_ids, rules_.as_json(), counts
        run.target_count, run.computed_by = len(rows), user
        run.save()
        Rating.objects.filter(run=run).delete()
        for row in rows:
            row.run = run
        Rating.objects.bulk_create(rows, batch_size=500)
        shown = "，".join(f"{LEVEL_LABELS[lv]} {n}" for lv, n in counts.items() if n)
        audit.record(user, run, before, action="create" if before is None else "update",
                     note=f"{year} 年星级评定：{len(rows)} 个党支部，{shown}"[:200])
    return run


# ---- weak organizations (软弱涣散) ----------------------------------------------------------

def _day(value, field: str, label: str, *, low: dt.date | None, today: dt.date, low_label: str = "") -> dt.date:
    if not isinstance(value, dt.date):
        raise RatingError(field, f"{label}：必填（格式：2026-01-31）")
    if value > today:
        raise RatingError(field, f"{label}：不能晚于今天")
    if low is not None and value < low:
        raise RatingError(field, f"{label}：不能早于{low_label}（{low:%Y-%m-%d}）")
    return value


def identify_weak(user, org: Organization, *, identified_on: dt.date, reasons: str, rating_year: int | None = None,
                  today: dt.date | None = None) -> WeakOrg:
    """认定: the working committee names a weak organization, from a rating (`rating_year`) or
    from what it found (manual)."""
    today = today or timezone.localdate()
    if org.status != Organization.Status.ACTIVE:
        raise RatingError("org", f"“{org.name}”已撤销，不能认定")
    if org.kind not in WEAK_KINDS:
        raise RatingError("org", f"“{org.name}”是{org.kind_label}，软弱涣散认定针对基层党组织（党委、党总支、党支部）")
    _day(identified_on, "identified_on", "认定日期", low=org.established_on, today=today, low_label="组织成立日期")
    reasons = _text(reasons, "reasons", "认定原因", 2000)
    if rating_year is not None:
        _year(rating_year)
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=org.pk).first()  # one open case per org
        if WeakOrg.objects.filter(org=org).open().exists():
            raise RatingError("org", f"“{org.name}”已有未销号的软弱涣散整顿，不能重复认定")
        weak = WeakOrg.objects.create(
            org=org, identified_on=identified_on, identified_by=user if user and user.is_authenticated else None,
            reasons=reasons, rating_year=rating_year,
            source=WeakOrg.Source.RATING if rating_year is not None else WeakOrg.Source.MANUAL)
        audit.record(user, weak, None, note="认定为软弱涣散党组织")
    return weak


def _open(weak: WeakOrg, doing: str) -> None:
    if not weak.is_open:
        raise RatingError("status", f"该整顿{weak.get_status_display()}，不能{doing}")


# The overhaul is a rectification item (rectification.Item, source "overhaul", its record the
# case) on the task list, issued by the working committee to the weak organization: the plan
# opens it (and revises it when changed), the progress notes are its timeline, the organization
# asks for 销号 with its evidence and the committee closes it with the verification. The case
# follows its item (`item_closed`, connected in apps.py): closed when the item is closed,
# wherever that was done.

def overhaul_item(weak: WeakOrg) -> Item | None:
    """The item now answering for the case's overhaul (after any referral), or None before a plan."""
    item = (Item.objects.filter(source=Item.Source.OVERHAUL, source_id=weak.pk, referred_from__isnull=True)
            .select_related("org", "issuer").order_by("-id").first())
    return item.final() if item is not None else None


def plan_text(measures: str, responsible: str) -> str:
    """The item's requirements: the measures, and the person responsible (a name in free text,
    where the item's own responsible person is a member's record)."""
    return f"{measures}\n整顿责任人：{responsible}"


def _item_error(exc: ItemError, fields: dict[str, str]) -> RatingError:
    return RatingError(fields.get(exc.field, exc.field), exc.message)


def set_plan(user, weak: WeakOrg, *, measures: str, responsible: str, deadline: dt.date,
             today: dt.date | None = None, version: int | None = None) -> WeakOrg:
    """整顿方案: measures, the person responsible, the deadline. Saving one starts the overhaul
    and opens its item (opened on the day of identification, due on the deadline); a change
    revises the item while it is open. `version` (here and in close_weak, withdraw_weak) is the
    one the editor read: a change saved since raises StaleVersion (core.versioning)."""
    today = today or timezone.localdate()
    _open(weak, "修改整顿方案")
    measures = _text(measures, "measures", "整顿措施", 4000)
    responsible = _text(responsible, "responsible", "整顿责任人", 100)
    if not isinstance(deadline, dt.date):
        raise RatingError("deadline", "整顿时限：必填（格式：2026-01-31）")
    if deadline < weak.identified_on:
        raise RatingError("deadline", f"整顿时限：不能早于认定日期（{weak.identified_on:%Y-%m-%d}）")
    try:
        with transaction.atomic():
            versioning.claim(weak, version)
            _open(weak, "修改整顿方案")
            before = audit.snapshot(weak)
            weak.measures, weak.responsible, weak.deadline = measures, responsible, deadline
            weak.status = WeakOrg.Status.OVERHAULING
            weak.save()
            audit.record(user, weak, before, note="制定整顿方案" if before["status"] == WeakOrg.Status.IDENTIFIED
                         else "调整整顿方案")
            item = overhaul_item(weak)
            if item is None:
                org = Organization.objects.get(pk=weak.org_id)
                rectify.open_item(user, org=org, list=Item.List.TASK, title=f"{org.name}软弱涣散整顿",
                                  description=plan_text(measures, responsible), source=Item.Source.OVERHAUL,
                                  source_id=weak.pk, source_label=f"{weak.identified_on:%Y年%m月%d日}认定软弱涣散党组织",
                                  issuer=rectification_queries.committee_of(org), deadline=deadline,
                                  opened_on=weak.identified_on, today=today)
            elif item.is_open:
                rectify.revise(user, item, description=plan_text(measures, responsible), deadline=deadline,
                               reason="调整整顿方案", today=today)
    except ItemError as exc:
        raise _item_error(exc, {"description": "measures", "opened_on": "deadline"}) from None
    return weak


def _item_of(weak: WeakOrg, doing: str) -> Item:
    item = overhaul_item(weak)
    if item is None:
        raise RatingError("status", f"尚未制定整顿方案，不能{doing}")
    return item


def add_note(user, weak: WeakOrg, *, noted_on: dt.date, text: str, today: dt.date | None = None) -> ItemEvent:
    """整顿进展: a progress note on the overhaul item's timeline."""
    today = today or timezone.localdate()
    _open(weak, "填写整顿进展")
    _day(noted_on, "noted_on", "日期", low=weak.identified_on, today=today, low_label="认定日期")
    text = _text(text, "text", "整顿进展", 4000)
    item = _item_of(weak, "填写整顿进展")
    try:
        return rectify.add_note(user, item, text=text, on=noted_on, today=today)
    except ItemError as exc:
        raise _item_error(exc, {"on": "noted_on"}) from None


def request_close(user, weak: WeakOrg, *, evidence: str, on: dt.date | None = None,
                  today: dt.date | None = None) -> Item:
    """申请销号: the organization reports the overhaul done, with its evidence (signing for the
    item first if it has not yet)."""
    today = today or timezone.localdate()
    _open(weak, "申请销号")
    item = _item_of(weak, "申请销号")
    try:
        with transaction.atomic():
            if item.status == Item.Status.PENDING:
                item = rectify.sign(user, item, on=on or today, today=today)
            return rectify.request_close(user, item, evidence=evidence, on=on, today=today)
    except ItemError as exc:
        raise _item_error(exc, {"text": "evidence", "on": "evidence"}) from None


def close_weak(user, weak: WeakOrg, *, closed_on: dt.date, verification: str,
               today: dt.date | None = None, version: int | None = None) -> WeakOrg:
    """销号: the committee closes the overhaul item the organization put up for closing, with the
    verification of its results; the case is closed with it."""
    today = today or timezone.localdate()
    _open(weak, "销号")
    if weak.status != WeakOrg.Status.OVERHAULING:
        raise RatingError("status", "尚未制定整顿方案，不能销号")
    verification = (verification or "").strip()
    if not verification:
        raise RatingError("verification", "验收意见：必填，销号须写明整顿成效的核查验收情况")
    if len(verification) > 4000:
        raise RatingError("verification", f"验收意见：过长（最多 4000 个字，现有 {len(verification)} 个字）")
    _day(closed_on, "closed_on", "销号日期", low=weak.identified_on, today=today, low_label="认定日期")
    item = _item_of(weak, "销号")
    if item.status != Item.Status.CLOSING:
        raise RatingError("status", f"整顿事项{item.get_status_display()}，须由整顿单位申请销号后方可验收销号")
    try:
        with transaction.atomic():
            versioning.claim(weak, version)
            _open(weak, "销号")
            rectify.close(user, item, verification=verification, on=closed_on, today=today)
            _close_case(user, weak, closed_on, verification)
    except ItemError as exc:
        raise _item_error(exc, {"text": "verification", "on": "closed_on"}) from None
    return weak


def _close_case(user, weak: WeakOrg, closed_on: dt.date, verification: str) -> None:
    before = audit.snapshot(weak)
    weak.status, weak.closed_on, weak.verification = WeakOrg.Status.CLOSED, closed_on, verification
    weak.closed_by = user if user and user.is_authenticated else None
    weak.save()
    audit.record(user, weak, before, note="验收销号")


def item_closed(sender, item: Item, event: ItemEvent, **kwargs) -> None:
    """A closed overhaul item closes its case (on the item's day, with its verification) when the
    case is still open: an item closed on its own page leaves no case open behind it."""
    if item.source != Item.Source.OVERHAUL or event.kind != ItemEvent.Kind.CLOSE or item.source_id is None:
        return
    with transaction.atomic():
        weak = WeakOrg.objects.select_for_update().filter(pk=item.source_id).first()
        if weak is None or not weak.is_open:
            return
        versioning.claim(weak)
        _close_case(event.user, weak, item.closed_on or event.on, event.text)


def withdraw_weak(user, weak: WeakOrg, *, reason: str, version: int | None = None) -> WeakOrg:
    """撤销认定: a mistaken identification stays on record with the reason."""
    _open(weak, "撤销认定")
    reason = _text(reason, "withdrawn_reason", "撤销认定原因", 300)
    with transaction.atomic():
        versioning.claim(weak, version)
        _open(weak, "撤销认定")
        before = audit.snapshot(weak)
        weak.status, weak.withdrawn_reason = WeakOrg.Status.WITHDRAWN, reason
        weak.save()
        audit.record(user, weak, before, note="撤销认定")
        item = overhaul_item(weak)
        if item is not None and item.is_open:  # nothing is owed: the item leaves the open list
            rectify.withdraw(user, item, reason=f"撤销软弱涣散认定：{reason}")
    return weak


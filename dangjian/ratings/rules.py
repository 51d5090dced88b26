"""The rating rules as data: the `star_rating` defaults of rules/defaults.yaml and the checks
every change of a year's scheme passes (the form, the demo and the tests use the same).

Rules, in the order they are applied to each branch:
1. score: the average of the year's counted assessment runs (each run's total as a percentage of
   the scheme's full marks; runs of the chosen cycles for periods ended by the rating day), or
   the share of the year's organizational-life requirements met (over the periods that began
   once the year's records did); a year whose basis has no results is not rated at all, and a
   branch without any result is 未评定 (unrated) with the reason, never 后进;
2. base level by the lines (`thresholds`, % of full marks): 五星 … 一星 (一星 = 达标线); below it 后进;
3. caps: each condition that holds caps the level (`alert`: a structure alert of that kind on the
   rating day; `missing_above`: more 应开未开 than that in the year's closed periods; `weak`: a
   软弱涣散 case open at any time of the year);
4. 示范: the five-star branches no cap condition holds for, scoring at least the 示范 line if set;
5. quotas, from the top: at most `quotas[level]` of the rated branches at that level or above;
   those that do not fit drop one level, ties at the cut together (a quota is never exceeded
   by a tie);
6. `lagging_share` (optional, off by default): the lowest share is 后进 even above the line;
   ties at the cut stay out (no branch is 后进 only because it ties).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from dangjian.core import defaults
from dangjian.orgs.alerts import ALERT_KINDS

from .models import LEVEL_LABELS, LEVEL_ORDER, STAR_LEVELS, Basis, Level

CYCLE_LABELS = {"monthly": "月度考评", "quarterly": "季度分级考核", "yearly": "年度考核"}
QUOTA_LEVELS = [Level.MODEL, Level.STAR5, Level.STAR4, Level.STAR3, Level.STAR2]
CAP_LEVELS = [Level.STAR5, Level.STAR4, Level.STAR3, Level.STAR2, Level.STAR1, Level.LAGGING]
MAX_MISSING_CAPS = 3


class RatingError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def section() -> dict:
    return defaults.section("star_rating")


def default_source() -> str:
    """Where the default rules come from, as readers cite it (the documents, never a file)."""
    s = section()
    mark = "" if s.get("confirmed") else "（原文待核对）"
    return f"{s.get('sources', '')}{mark}"[:300]


# Earlier versions wrote the defaults' file name into a scheme's source and into the note of its
# creation. Such text is shown as today's wording of the same thing: the history keeps what was
# stored, a reader sees no file names. (A migration rewrote the unedited sources themselves.)
LEGACY_SOURCE_PREFIX = "rules/defaults.yaml star_rating"
LEGACY_NOTES = {"按 rules/defaults.yaml 默认值建立": "按平台默认值建立"}


def readable_source(text: str) -> str:
    return default_source() if (text or "").startswith(LEGACY_SOURCE_PREFIX) else text


def readable_note(text: str) -> str:
    return LEGACY_NOTES.get(text, text)


def history_text(name: str, value) -> str | None:
    """A RatingScheme field's stored value in words, for its change history (None: the plain
    reading will do)."""
    from dangjian.core.history import in_order, number, percent

    if name == "source" and isinstance(value, str):
        return readable_source(value)
    if name == "cycles" and isinstance(value, list):
        return "、".join(CYCLE_LABELS.get(c, "其他考评") for c in value)
    if name == "thresholds" and isinstance(value, dict):
        return "、".join(f"{LEVEL_LABELS.get(k, '其他等级')} {number(v)} 分" for k, v in in_order(value, LEVEL_LABELS))
    if name == "quotas" and isinstance(value, dict):
        return "、".join(f"{LEVEL_LABELS.get(k, '其他等级')}{'' if k == Level.MODEL else '及以上'}不超过 {percent(v)}"
                        for k, v in in_order(value, LEVEL_LABELS))
    if name == "lagging_share":
        return percent(value)
    if name == "caps" and isinstance(value, list):
        return "；".join(_cap_text(c) for c in value if isinstance(c, dict))
    if name in ("commendation", "weak_candidates") and isinstance(value, dict):
        levels = "、".join(LEVEL_LABELS.get(lv, "其他等级") for lv in value.get("levels") or []) or "无"
        if name == "commendation":
            return f"{levels}{'，须无结构预警' if value.get('no_alerts', True) else ''}"
        return levels
    return None


def _cap_text(spec: dict) -> str:
    level = LEVEL_LABELS.get(spec.get("max_level"), "其他等级")
    if spec.get("alert"):
        condition = f"有“{ALERT_KINDS.get(spec['alert'], '其他')}”预警"
    elif spec.get("missing_above") not in (None, ""):
        condition = f"应开未开超过 {spec['missing_above']} 项"
    else:
        condition = "本年度被认定为软弱涣散党组织"
    return f"{condition}，最高{level}"


@dataclass
class Cap:
    """One capping condition: exactly one of `alert`, `missing_above`, `weak` is set."""

    max_level: str
    alert: str = ""
    missing_above: int | None = None
    weak: bool = False

    @property
    def code(self) -> str:
        if self.alert:
            return f"alert:{self.alert}"
        if self.missing_above is not None:
            return f"missing:{self.missing_above}"
        return "weak"

    @property
    def condition(self) -> str:
        if self.alert:
            return f"有“{ALERT_KINDS[self.alert]}”预警"
        if self.missing_above is not None:
            return f"应开未开超过 {self.missing_above} 项"
        return "本年度被认定为软弱涣散党组织"

    def as_data(self) -> dict:
        if self.alert:
            return {"alert": self.alert, "max_level": self.max_level}
        if self.missing_above is not None:
            return {"missing_above": self.missing_above, "max_level": self.max_level}
        return {"weak": True, "max_level": self.max_level}


@dataclass
class Rules:
    """A year's rules, checked."""

    basis: str
    cycles: list[str]
    thresholds: dict[str, Decimal]  # star5 … star1, and model when set
    quotas: dict[str, Decimal] = field(default_factory=dict)
    lagging_share: Decimal | None = None
    caps: list[Cap] = field(default_factory=list)
    commendation_levels: list[str] = field(default_factory=list)
    commendation_no_alerts: bool = True
    weak_candidate_levels: list[str] = field(default_factory=list)

    def as_fields(self) -> dict:
        """The RatingScheme field values."""
        return {
            "basis": self.basis, "cycles": list(self.cycles),
            "thresholds": {k: float(v) for k, v in self.thresholds.items()},
            "quotas": {k: float(v) for k, v in self.quotas.items()},
            "lagging_share": self.lagging_share,
            "caps": [c.as_data() for c in self.caps],
            "commendation": {"levels": list(self.commendation_levels), "no_alerts": self.commendation_no_alerts},
            "weak_candidates": {"levels": list(self.weak_candidate_levels)},
        }

    def as_json(self) -> dict:
        data = self.as_fields()
        data["lagging_share"] = float(self.lagging_share) if self.lagging_share is not None else None
        return data

    def line(self, level: str) -> Decimal | None:
        return self.thresholds.get(level)

    def describe(self) -> list[str]:
        """The rules in Chinese, for the pages and the bulletin of a rating."""
        out = []
        lines = "、".join(f"{LEVEL_LABELS[lv]} {_num(self.thresholds[lv])} 分" for lv in STAR_LEVELS)
        out.append(f"星级分数线（满分按 100 分折算）：{lines}；低于一星线（达标线）为后进")
        if Level.MODEL in self.thresholds:
            out.append(f"示范：五星且无封顶情形，得分不低于 {_num(self.thresholds[Level.MODEL])} 分")
        else:
            out.append("示范：五星且无封顶情形")
        if self.quotas:
            out.append("比例上限（含更高等级）：" + "、".join(
                f"{LEVEL_LABELS[lv]}{'及以上' if lv != Level.MODEL else ''}不超过 {_pct(q)}"
                for lv, q in self.quotas.items()) + "；并列者一同下调")
        if self.lagging_share is not None:
            out.append(f"后进：另将得分最低的 {_pct(self.lagging_share)} 评为后进（与分界线并列者不计入）")
        for c in self.caps:
            out.append(f"封顶：{c.condition}，最高{LEVEL_LABELS[c.max_level]}")
        return out


def _num(d: Decimal) -> str:
    return f"{d.normalize():f}"


def _pct(d: Decimal) -> str:
    return f"{(d * 100).normalize():f}%"


def _decimal(value, field: str, label: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise RatingError(field, f"{label}：“{value}”不是数字") from None
    if not d.is_finite() or d < low or d > high:
        raise RatingError(field, f"{label}：应为 {_num(low)} 到 {_num(high)} 之间的数，收到 {value}")
    return d.quantize(Decimal("0.001"))


def check(data: dict) -> Rules:
    """`data` has the RatingScheme's fields (as in defaults.yaml); raises RatingError naming
    the field, in Chinese."""
    basis = data.get("basis")
    if basis not in Basis.values:
        raise RatingError("basis", "评定依据：应为党支部考核结果或组织生活按规定落实率")
    cycles = list(data.get("cycles") or [])
    if basis == Basis.ASSESSMENT:
        if not cycles:
            raise RatingError("cycles", "计入的考评：至少选择一类（月度、季度或年度考评）")
        bad = [c for c in cycles if c not in CYCLE_LABELS]
        if bad:
            raise RatingError("cycles", f"计入的考评：“{bad[0]}”不是考评类别，可选：{'、'.join(CYCLE_LABELS.values())}")
    else:
        cycles = [c for c in cycles if c in CYCLE_LABELS]

    raw = data.get("thresholds") or {}
    thresholds: dict[str, Decimal] = {}
    for lv in STAR_LEVELS:
        if raw.get(lv) in (None, ""):
            raise RatingError("thresholds", f"星级分数线：{LEVEL_LABELS[lv]}线必填")
        thresholds[lv] = _decimal(raw[lv], "thresholds", f"{LEVEL_LABELS[lv]}线", Decimal(0), Decimal(100))
    for hi, lo in zip(STAR_LEVELS, STAR_LEVELS[1:]):
        if not thresholds[hi] > thresholds[lo]:
            raise RatingError("thresholds", "星级分数线：应满足 五星 > 四星 > 三星 > 二星 > 一星")
    if raw.get(Level.MODEL) not in (None, ""):
        model = _decimal(raw[Level.MODEL], "thresholds", "示范线", Decimal(0), Decimal(100))
        if model < thresholds[Level.STAR5]:
            raise RatingError("thresholds", "示范线：不能低于五星线（示范从五星党支部中产生）")
        thresholds = {Level.MODEL.value: model, **thresholds}

    quotas: dict[str, Decimal] = {}
    for key, value in (data.get("quotas") or {}).items():
        if value in (None, ""):
            continue
        if key not in QUOTA_LEVELS:
            raise RatingError("quotas", f"比例上限：只能限定{'、'.join(LEVEL_LABELS[lv] for lv in QUOTA_LEVELS)}的比例")
        quotas[key] = _decimal(value, "quotas", f"{LEVEL_LABELS[key]}比例上限", Decimal(0), Decimal(1))
    ordered = [(lv, quotas[lv]) for lv in QUOTA_LEVELS if lv in quotas]
    for (hi, qh), (lo, ql) in zip(ordered, ordered[1:]):
        if qh > ql:
            raise RatingError("quotas", f"比例上限：{LEVEL_LABELS[hi]}（{_pct(qh)}）不能高于{LEVEL_LABELS[lo]}及以上"
                                        f"（{_pct(ql)}），比例按“该等级及以上”计")
    quotas = dict(ordered)

    share = data.get("lagging_share")
    lagging_share = None
    if share not in (None, ""):
        lagging_share = _decimal(share, "lagging_share", "后进最低比例", Decimal(0), Decimal("0.5"))
        if lagging_share == 0:
            lagging_share = None

    caps = []
    missing_count = 0
    for i, spec in enumerate(data.get("caps") or [], 1):
        caps.append(_cap(spec, i))
        missing_count += caps[-1].missing_above is not None
    if missing_count > MAX_MISSING_CAPS:
        raise RatingError("caps", f"封顶情形：应开未开最多设 {MAX_MISSING_CAPS} 档")
    codes = [c.code for c in caps]
    dup = next((c for c in codes if codes.count(c) > 1), None)
    if dup:
        raise RatingError("caps", f"封顶情形：“{next(c.condition for c in caps if c.code == dup)}”重复设置")

    commendation = data.get("commendation") or {}
    levels = _levels(commendation.get("levels"), "commendation", "评先推荐条件", allowed=LEVEL_ORDER[:-1])
    weak = _levels((data.get("weak_candidates") or {}).get("levels"), "weak_candidates", "软弱涣散提示条件",
                   allowed=LEVEL_ORDER[3:])
    return Rules(basis=basis, cycles=cycles, thresholds=thresholds, quotas=quotas, lagging_share=lagging_share,
                 caps=caps, commendation_levels=levels,
                 commendation_no_alerts=bool(commendation.get("no_alerts", True)),
                 weak_candidate_levels=weak)


def _cap(spec: dict, i: int) -> Cap:
    where = f"封顶情形第 {i} 项"
    if not isinstance(spec, dict):
        raise RatingError("caps", f"{where}：格式不正确")
    level = spec.get("max_level")
    if level not in CAP_LEVELS:
        raise RatingError("caps", f"{where}：最高等级应为{'、'.join(LEVEL_LABELS[lv] for lv in CAP_LEVELS)}之一")
    kinds = [k for k in ("alert", "missing_above", "weak") if spec.get(k) not in (None, "", False)]
    if len(kinds) != 1:
        raise RatingError("caps", f"{where}：应为结构预警、应开未开项数或软弱涣散三者之一")
    if kinds[0] == "alert":
        if spec["alert"] not in ALERT_KINDS:
            raise RatingError("caps", f"{where}：预警类型“{spec['alert']}”不存在")
        return Cap(level, alert=spec["alert"])
    if kinds[0] == "missing_above":
        try:
            n = int(str(spec["missing_above"]).strip())
        except ValueError:
            raise RatingError("caps", f"{where}：应开未开项数“{spec['missing_above']}”不是整数") from None
        if not 0 <= n <= 999:
            raise RatingError("caps", f"{where}：应开未开项数应为 0 到 999 的整数")
        return Cap(level, missing_above=n)
    return Cap(level, weak=True)


def _levels(values, field: str, label: str, allowed) -> list[str]:
    values = list(values or [])
    bad = [v for v in values if v not in allowed]
    if bad:
        raise RatingError(field, f"{label}：“{bad[0]}”不是可选的等级，可选：{'、'.join(LEVEL_LABELS[lv] for lv in allowed)}")
    return [lv.value for lv in LEVEL_ORDER if lv in values]


def default_rules() -> Rules:
    s = section()
    return check({k: s.get(k) for k in ("basis", "cycles", "thresholds", "quotas", "lagging_share", "caps",
                                        "commendation", "weak_candidates")})


def of_scheme(scheme) -> Rules:
    return check({"basis": scheme.basis, "cycles": scheme.cycles, "thresholds": scheme.thresholds,
                  "quotas": scheme.quotas, "lagging_share": scheme.lagging_share, "caps": scheme.caps,
                  "commendation": scheme.commendation, "weak_candidates": scheme.weak_candidates})

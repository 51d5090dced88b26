"""The seeding of `DuesRule` from the `dues` section of dangjian/rules/defaults.yaml, after every
`migrate`: the version is added only when there is none (staff's versions are never touched)."""
from __future__ import annotations

from dangjian.core import defaults

from .models import month_number
from .rates import SEED_EFFECTIVE_FROM


def rule_spec() -> dict:
    s = defaults.section("dues")

    def bands(raw):
        return [[None if b["up_to"] is None else str(b["up_to"]), str(b["rate"])] for b in raw]

    return dict(effective_from=SEED_EFFECTIVE_FROM, employed_bands=bands(s["employed_bands"]),
                retired_bands=bands(s["retired_bands"]),
                fixed_monthly={k: (v if isinstance(v, list) else str(v)) for k, v in s["fixed_monthly"].items()},
                backpay_max_months=int(s.get("backpay_max_months", 6)),
                arrears_months=int(s.get("arrears_months_for_lapse", 6)),
                large_one_off=str(s.get("one_off_large_payment", 1000)),
                source=s.get("sources", ""), note="平台内置标准（按规定设定）")


def seed_rules(using: str = "default") -> int:
    from .models import DuesRule

    if DuesRule.objects.using(using).exists():
        return 0
    spec = rule_spec()
    DuesRule.objects.using(using).create(start=month_number(spec["effective_from"].year * 100
                                                            + spec["effective_from"].month), **spec)
    return 1


def on_post_migrate(sender, using="default", **kwargs):
    seed_rules(using)

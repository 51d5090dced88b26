"""The frequency requirements (频次要求): the list, one requirement with its versions and
change history, and the change form.

Rules bind the whole tree, so they belong to no subtree: everyone who can log in reads them
(a branch secretary should see what is asked of the branch and on what basis), and only 工委
staff — "manage" over a working committee — change them. A change is a new version from an
effective date (services.change_rule); earlier periods keep being judged by the old one."""
import datetime as dt

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from dangjian.core import history as history_rows
from dangjian.core.scoping import committee_staff_only, is_committee_staff
from dangjian.orgs.models import OrgKind

from .. import services
from ..forms import RuleChangeForm
from ..models import KIND_LABELS, ActivityRule, Condition

ORG_KIND_LABELS = dict(OrgKind.choices)
# Compared between versions and shown in their table, in this order.
VERSION_FIELDS = ("period", "min_count", "quorum", "org_kinds", "condition", "source", "confirmed", "note")
RULE_TABLE = "activities.activityrule"


def org_kinds_label(kinds) -> str:
    return "、".join(ORG_KIND_LABELS.get(k, k) for k in kinds or [])


def _value(rule: ActivityRule, name: str) -> str:
    if name == "org_kinds":
        return org_kinds_label(rule.org_kinds)
    if name == "confirmed":
        return "已核对原文" if rule.confirmed else "原文待核对"
    if name in ("period", "quorum", "condition"):
        return getattr(rule, f"get_{name}_display")()
    if name == "min_count":
        return f"{rule.min_count} 次"
    return getattr(rule, name) or "—"


def _state(rule: ActivityRule, today: dt.date) -> tuple[str, str]:
    if rule.effective_from > today:
        return "upcoming", "待生效"
    if rule.effective_to is not None and rule.effective_to < today:
        return "ended", "已失效"
    return "current", "现行"


def _requirements(versions: list[ActivityRule], today: dt.date) -> list[dict]:
    """One row per requirement (rule code): the version in force today, or the next one,
    or the last one if the requirement has ended; plus the changes already scheduled."""
    by_code: dict[str, list[ActivityRule]] = {}
    for v in versions:
        by_code.setdefault(v.code, []).append(v)
    rows = []
    for code, vs in by_code.items():
        vs.sort(key=lambda v: v.effective_from)
        current = next((v for v in vs if v.in_force_on(today)), None)
        upcoming = [v for v in vs if v.effective_from > today]
        shown = current or (upcoming[0] if upcoming else vs[-1])
        state, state_label = _state(shown, today)
        rows.append({
            "rule": shown, "code": code, "kind_label": KIND_LABELS.get(shown.kind, shown.kind),
            "org_kinds": org_kinds_label(shown.org_kinds),
            "condition": "" if shown.condition == Condition.ALWAYS else shown.get_condition_display(),
            "state": state, "state_label": state_label, "upcoming": [v for v in upcoming if v is not shown],
            "versions": len(vs), "latest": vs[-1], "position": min(v.position for v in vs),
        })
    rows.sort(key=lambda r: (r["position"], r["code"]))
    return rows


def rule_list(request):
    today = timezone.localdate()
    versions = list(ActivityRule.objects.order_by("position", "code", "effective_from"))
    ctx = {"rows": _requirements(versions, today), "today": today, "can_change": is_committee_staff(request.user)}
    return render(request, "activities/rules.html", ctx)


def _version_rows(versions: list[ActivityRule], today: dt.date) -> list[dict]:
    rows, previous = [], None
    for v in versions:
        state, state_label = _state(v, today)
        changed = [] if previous is None else [
            {"name": name, "label": services.RULE_LABELS[name], "before": _value(previous, name),
             "after": _value(v, name)}
            for name in VERSION_FIELDS if _differs(previous, v, name)
        ]
        rows.append({"rule": v, "state": state, "state_label": state_label, "changed": changed,
                     "changed_names": None if previous is None else {c["name"] for c in changed},
                     "values": {name: _value(v, name) for name in VERSION_FIELDS}})
        previous = v
    return rows


def _differs(a: ActivityRule, b: ActivityRule, name: str) -> bool:
    if name == "org_kinds":
        return set(a.org_kinds or []) != set(b.org_kinds or [])
    return getattr(a, name) != getattr(b, name)


def _history(versions: list[ActivityRule], rows: list[dict]) -> list[dict]:
    """The change history of every version, read as changes to the requirement: a new
    version lists only what differs from the one before it (its other values are copies)."""
    entries = list(history_rows.entries_for({RULE_TABLE: [v.pk for v in versions]}))
    changed = {r["rule"].pk: r["changed_names"] for r in rows}
    for e in entries:
        if e.action == "create" and changed.get(e.object_id) is not None:
            e.changes = {k: pair for k, pair in e.changes.items()  # shown only, never saved
                         if k in changed[e.object_id] or k == "effective_from"}
    labels = {(RULE_TABLE, v.pk): f"自 {v.effective_from:%Y-%m-%d} 起的版本" for v in versions}
    return history_rows.describe(entries, labels)


def rule_detail(request, pk):
    rule = get_object_or_404(ActivityRule, pk=pk)
    today = timezone.localdate()
    versions = list(ActivityRule.objects.filter(code=rule.code).order_by("effective_from"))
    rows = _version_rows(versions, today)
    ctx = {
        "rule": rule, "kind_label": KIND_LABELS.get(rule.kind, rule.kind), "versions": rows,
        "condition_label": "" if rule.condition == Condition.ALWAYS else rule.get_condition_display(),
        "latest": versions[-1], "history": _history(versions, rows), "can_change": is_committee_staff(request.user),
        "fields": [(name, services.RULE_LABELS[name]) for name in VERSION_FIELDS],
    }
    return render(request, "activities/rule.html", ctx)


def _default_effective_from(latest: ActivityRule, today: dt.date) -> dt.date:
    """The first day of next month: a requirement is counted per period, and a change from a
    period's start judges that period by one version only."""
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return max(next_month, latest.effective_from + dt.timedelta(days=1))


@committee_staff_only
def rule_change(request, pk):
    user = request.user
    rule = get_object_or_404(ActivityRule, pk=pk)
    latest = ActivityRule.objects.filter(code=rule.code).order_by("-effective_from").first()
    if latest.pk != rule.pk and request.method != "POST":
        return redirect("activities:rule-change", latest.pk)
    today = timezone.localdate()
    initial = {name: getattr(rule, name) for name in services.RULE_FIELDS}
    initial["effective_from"] = _default_effective_from(latest, today)
    bound = request.method == "POST"
    form = RuleChangeForm(request.POST if bound else None, initial=initial, rule=rule)
    if bound and form.is_valid():
        try:
            new = services.change_rule(user, rule, form.cleaned_data["effective_from"], **form.service_kwargs())
        except services.ActivityError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, (
                f"已调整“{KIND_LABELS.get(new.kind, new.kind)}”的频次要求，新版本自 {new.effective_from:%Y-%m-%d} 起生效，"
                "此前的期间仍按原版本判断。正在后台重新计算受影响期间的组织生活落实情况，稍后各页面即显示新结果。"))
            return redirect("activities:rule", new.pk)
    ctx = {"form": form, "rule": rule, "kind_label": KIND_LABELS.get(rule.kind, rule.kind), "today": today}
    return render(request, "activities/rule_form.html", ctx)

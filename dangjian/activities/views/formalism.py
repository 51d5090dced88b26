"""Formalism signals (形式主义提示): the working committee's list of records to check, with evidence."""
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from dangjian.core.scoping import SUPERVISING, require, scope_of
from dangjian.core.views import paginate
from dangjian.orgs.models import Organization

from .. import formalism
from ..models import KIND_LABELS, Activity, ActivityKind
from .records import _year


def _supervised(user) -> dict[int, tuple[str, str, str, str]]:
    """{org id: (code, name, path, kind)} of the orgs under the user's supervising roots (one
    query, through the scoped queryset). The page belongs to those who oversee other
    organizations (core.scoping.oversees); everyone else gets 404."""
    roots = scope_of(user).supervising_roots
    require(bool(roots))
    rows = list(Organization.objects.visible_to(user).order_by("path")
                .values_list("pk", "code", "name", "path", "kind"))
    return {pk: (code, name, path, kind) for pk, code, name, path, kind in rows
            if any(path.startswith(r) for r in roots)}


def _marked(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, int | None]]:
    """The text cut into (piece, passage number or None) so the template can highlight copies."""
    out, pos = [], 0
    for number, (start, end) in sorted(enumerate(spans, 1), key=lambda x: x[1]):
        start = max(start, pos)
        if end <= start:
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], number))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


def _items(signals, orgs: dict, user) -> list[dict]:
    """What the page shows for one page of signals: two queries (kinds, minutes) whatever the
    number of signals, and nothing of a record outside the user's scope."""
    ids = {r.id for s in signals for r in s.records if r.org_id in orgs}
    kinds: dict[int, list[str]] = {}
    for activity_id, kind in ActivityKind.objects.filter(activity_id__in=ids).order_by("id").values_list(
            "activity_id", "kind"):
        kinds.setdefault(activity_id, []).append(KIND_LABELS.get(kind, kind))
    copy_ids = {r.id for s in signals if s.kind == "copied_minutes" for r in s.records if r.org_id in orgs}
    minutes = dict(Activity.objects.visible_to(user).filter(pk__in=copy_ids).values_list("pk", "minutes")) \
        if copy_ids else {}
    items = []
    for s in signals:
        code, name = orgs[s.org_id][:2]
        records = [{"id": r.id, "held_on": r.held_on, "recorded_on": r.recorded_on, "topic": r.topic,
                    "days_late": r.days_late, "kinds": "、".join(kinds.get(r.id, [])),
                    "visible": r.org_id in orgs, "org_name": orgs[r.org_id][1] if r.org_id in orgs else ""}
                   for r in s.records]
        item = {"signal": s, "org_code": code, "org_name": name, "org_id": s.org_id, "records": records,
                "message": s.message, "figures": s.figures}
        if s.kind == "copied_minutes":
            mine, other = records
            passages = s.figures["passages"]
            if other["visible"]:
                where = "本组织" if s.records[1].org_id == s.org_id else other["org_name"]
                what = f"与{where} {other['held_on']:%Y-%m-%d} 的会议记录"
            else:
                # The other record belongs to an org outside the user's scope: say that it exists,
                # never what or whose it is.
                what = "与您查看范围以外的一条会议记录"
            item["message"] = (f"{mine['held_on']:%Y-%m-%d} 的会议记录{what}有 {len(passages)} 处段落雷同"
                               f"（扣除通用表述后约 {s.figures['copied_chars']} 字），请核实是否照搬")
            mine["pieces"] = _marked(minutes.get(mine["id"], ""), [(p["a_start"], p["a_end"]) for p in passages])
            if other["visible"]:
                other["pieces"] = _marked(minutes.get(other["id"], ""), [(p["b_start"], p["b_end"]) for p in passages])
        items.append(item)
    return items


def _units(orgs: dict) -> list[tuple[str, str]]:
    """The filter's choices: the supervising orgs in scope, indented under their parents."""
    rows = [o for o in orgs.values() if o[3] in SUPERVISING]
    top = min((o[2].count("/") for o in rows), default=0)
    return [(code, "\u3000" * (path.count("/") - top) + name) for code, name, path, _ in rows]


@require_safe
def signals(request):
    user = request.user
    orgs = _supervised(user)
    today = timezone.localdate()
    year = _year(request, today.year)
    kind = request.GET.get("kind", "")
    if kind not in formalism.KINDS:
        kind = ""
    code = (request.GET.get("org") or "").strip()
    under, error = None, ""
    if code:
        under = next((o[2] for o in orgs.values() if o[0] == code), None)
        if under is None:
            error = f"组织代码“{code[:32]}”不存在或不在您的查看范围内，已显示全部范围"
            code = ""
    in_scope = [s for s in formalism.year_signals(year)
                if s.org_id in orgs and (under is None or orgs[s.org_id][2].startswith(under))]
    counts = {k: 0 for k in formalism.KINDS}
    for s in in_scope:
        counts[s.kind] += 1
    page_obj, qs_base = paginate(request, [s for s in in_scope if not kind or s.kind == kind])
    ctx = {
        "year": year, "years": range(today.year, today.year - 6, -1), "kind": kind, "org_code": code,
        "error": error, "kinds": formalism.KINDS,
        "counts": [(k, label, counts[k]) for k, label in formalism.KINDS.items()],
        "total": len(in_scope), "page_obj": page_obj, "qs_base": qs_base,
        "items": _items(page_obj.object_list, orgs, user),
        "units": _units(orgs),
        "thresholds": formalism.Thresholds.from_defaults(),
    }
    return render(request, "activities/formalism.html", ctx)

"""Change history made readable: field labels from the models' verbose names, choice
labels for coded values, names for foreign keys (one query per related model).

Core knows no domain: what a stored value means is the model's to say. A model may declare
- `history_display(name, value)` (a classmethod): how a field's stored value reads — a JSON
  field's codes as their Chinese labels, a code as the name it stands for. It returns the text,
  or None to fall back to the plain reading below;
- `HISTORY_HIDDEN`: fields never shown (ordering positions, internal codes);
- `HISTORY_SHOWN`: fields shown although not editable (the masked 身份证号);
- `history_changes(entries)` (a classmethod): for a table whose entries are not keyed by field
  (an attendance list keyed by member), the rows each entry shows — {entry id: [{"label",
  "before", "after"}]} for all the entries at once, so names are read in one query.

Never shown: derived columns (not editable: paths, hashes, computed stamps), a field without a
Chinese verbose name (its English attribute name would be all a reader sees), and a JSON value
its model does not read (printed as Python it says nothing to a reader).
"""
import json
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import AuditEntry
from .people import NOBODY, display_name

EMPTY = "（空）"
GONE = "（已不存在）"
_CHINESE = re.compile(r"[\u3400-\u9fff]")


def _fields_by_attname(model):
    return {f.attname: f for f in model._meta.concrete_fields}


def actor_of(e: AuditEntry) -> str:
    """Who made the entry: the person while the account exists, else the name (or the login,
    for an account nobody named) the entry kept when it was written."""
    if e.user is not None:
        return display_name(e.user)
    return e.actor_name or e.actor_username or NOBODY


def label_of(field) -> str | None:
    """The field's Chinese label, or None when it has none (Django's default verbose name is
    the attribute name: never shown)."""
    label = str(field.verbose_name)
    return label if _CHINESE.search(label) else None


def shown(model, field) -> bool:
    names = {field.name, field.attname}
    if names & set(getattr(model, "HISTORY_HIDDEN", ())):
        return False
    if not field.editable and not names & set(getattr(model, "HISTORY_SHOWN", ())):
        return False
    return label_of(field) is not None


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def readable(model, field, value) -> str | None:
    """The stored `value` of a (non-relation) field as a reader sees it, or None when it cannot
    be read without knowledge the model did not give (the change is then left out)."""
    if _empty(value):
        return EMPTY
    hook = getattr(model, "history_display", None)
    if hook is not None:
        text = hook(field.name, value)
        if text is not None:
            return str(text) or EMPTY
    if isinstance(value, (dict, list)) or field.get_internal_type() == "JSONField":
        return None
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    kind = field.get_internal_type()
    if kind == "BooleanField":
        return "是" if value else "否"
    if kind == "DateTimeField" and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None:
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return f"{moment:%Y-%m-%d %H:%M}"
    return str(value)


def number(value) -> str:
    """90, 90.0, "90.00" → "90"; 92.5 → "92.5" (for models' history_display)."""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not d.is_finite():
        return str(value)
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(share) -> str:
    """0.3 → "30%" (for models' history_display)."""
    try:
        return f"{number(Decimal(str(share)) * 100)}%"
    except (InvalidOperation, ValueError):
        return str(share)


def in_order(value: dict, order) -> list[tuple]:
    """A JSON object's items in the order of `order` (choice codes, e.g. a TextChoices'
    values or a labels dict), unknown keys last. Needed because PostgreSQL's jsonb does not
    keep the order keys were written in, so a history must not rely on it."""
    rank = {key: i for i, key in enumerate(order)}
    return sorted(value.items(), key=lambda kv: (rank.get(kv[0], len(rank)), str(kv[0])))


def describe(entries, object_labels: dict | None = None) -> list[dict]:
    """Rows for a history table. `object_labels` maps (table, object_id) to a short name
    of the changed object (e.g. "委员职位（书记）")."""
    entries = list(entries)
    object_labels = object_labels or {}
    fk_ids: dict = defaultdict(set)
    models = {}
    for e in entries:
        model = models.setdefault(e.table, _model(e.table))
        if model is None:
            continue
        fields = _fields_by_attname(model)
        for key, pair in e.changes.items():
            f = fields.get(key)
            if f is not None and f.is_relation and shown(model, f):
                fk_ids[f.related_model].update(v for v in pair if v is not None)
    custom = {}
    for table, model in models.items():
        if model is not None and hasattr(model, "history_changes"):
            custom.update(model.history_changes([e for e in entries if e.table == table]))
    names = {}
    for related, ids in fk_ids.items():
        found = related._base_manager.filter(pk__in=ids)
        if related is get_user_model():  # a person, never a login (core.people)
            names[related] = {u.pk: display_name(u) for u in found.select_related("member")}
        else:
            names[related] = {obj.pk: str(obj) for obj in found}
    read = _memo(readable)  # a model's reading may look something up: once per distinct value
    rows = []
    for e in entries:
        model = models.get(e.table)
        fields = _fields_by_attname(model) if model else {}
        changes = list(custom.get(e.pk, ()))
        for key, pair in ([] if e.pk in custom else e.changes.items()):
            f = fields.get(key)
            if f is None or not shown(model, f):
                continue
            before, after = pair
            if f.is_relation:
                lookup = names.get(f.related_model, {})
                before = lookup.get(before, GONE) if before is not None else EMPTY
                after = lookup.get(after, GONE) if after is not None else EMPTY
            else:
                before, after = read(model, f, before), read(model, f, after)
                if before is None or after is None:
                    continue
            if e.action == "create" and after == EMPTY:
                continue
            if e.action != "create" and before == after:
                continue  # reads the same before and after (a stored form changed, not its meaning)
            changes.append({"label": label_of(f), "before": before, "after": after})
        label = object_labels.get((e.table, e.object_id)) or _model_label(model)
        rows.append(
            {
                "at": e.at,
                "user": actor_of(e),
                "action": e.get_action_display(),
                "object": label,
                "note": "" if e.note == label else e.note,  # a note naming the object says nothing more
                "changes": changes,
                "is_create": e.action == "create",
            }
        )
    return rows


def _memo(fn):
    seen = {}

    def call(model, field, value):
        key = (model, field.name, json.dumps(value, sort_keys=True, default=str))
        if key not in seen:
            seen[key] = fn(model, field, value)
        return seen[key]

    return call


def _model_label(model) -> str:
    label = str(model._meta.verbose_name) if model is not None else ""
    return label if _CHINESE.search(label) else "记录"


def _model(table: str):
    try:
        return apps.get_model(table)
    except (LookupError, ValueError):
        return None


def entries_for(pairs: dict[str, list[int]], limit: int = 50):
    """Latest entries for several objects at once: {table: [ids]} → one query."""
    from django.db.models import Q

    q = Q(pk__in=[])
    for table, ids in pairs.items():
        if ids:
            q |= Q(table=table, object_id__in=ids)
    return AuditEntry.objects.filter(q).select_related("user__member").order_by("-at", "-id")[:limit]

"""Change history made readable: field labels from the models' verbose names, choice
labels for coded values, names for foreign keys (one query per related model)."""
from collections import defaultdict

from django.apps import apps

from .models import AuditEntry

EMPTY = "（空）"


def _fields_by_attname(model):
    return {f.attname: f for f in model._meta.concrete_fields}


def _plain(field, value):
    if value is None or value == "":
        return EMPTY
    if field is None:
        return str(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.get_internal_type() == "BooleanField":
        return "是" if value else "否"
    return str(value)


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
            if f is not None and f.is_relation:
                fk_ids[f.related_model].update(v for v in pair if v is not None)
    names = {}
    for related, ids in fk_ids.items():
        names[related] = {obj.pk: str(obj) for obj in related._base_manager.filter(pk__in=ids)}
    rows = []
    for e in entries:
        model = models.get(e.table)
        fields = _fields_by_attname(model) if model else {}
        changes = []
        for key, pair in e.changes.items():
            f = fields.get(key)
            if f is None or not f.editable and key != "id_mask":
                # Derived columns (path, …) say nothing a reader can use.
                continue
            before, after = pair
            if f.is_relation:
                lookup = names.get(f.related_model, {})
                before = lookup.get(before, before) if before is not None else EMPTY
                after = lookup.get(after, after) if after is not None else EMPTY
            else:
                before, after = _plain(f, before), _plain(f, after)
            if e.action == "create" and after == EMPTY:
                continue
            changes.append({"label": str(f.verbose_name), "before": before, "after": after})
        rows.append(
            {
                "at": e.at,
                "user": (e.user.get_full_name() or e.user.username) if e.user else "系统",
                "action": e.get_action_display(),
                "object": object_labels.get((e.table, e.object_id))
                or (str(model._meta.verbose_name) if model else e.table),
                "note": e.note,
                "changes": changes,
                "is_create": e.action == "create",
            }
        )
    return rows


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
    return AuditEntry.objects.filter(q).select_related("user").order_by("-at", "-id")[:limit]

"""Writes to the organization tree. Every function is transactional and audited."""
import datetime as dt

from django.db import transaction
from django.db.models import OuterRef, Subquery

from dangjian.core import audit, locks, versioning
from dangjian.core.scoping import can

from . import checks, departments
from .models import SEGMENT, CommitteeSeat, Organization, Term, Unit, segment, top_of_path, top_org_models
from .signals import announce

# Fields the set-up of an organization is judged by (apps above derive figures from them).
SET_UP = ("kind", "parent_id", "established_on", "status", "dissolved_on")


class OrgError(ValueError):
    """A rule of the tree was broken; the message is shown to the user, beside `field`."""

    def __init__(self, message: str, field: str = "parent"):
        super().__init__(message)
        self.field = field


# Every write that places orgs in the tree (create, move, re-kind, dissolve, the importer) takes
# this named lock first, then the rows: two moves at once can otherwise each make the other's
# org its parent, and rows taken in different orders deadlock.
TREE_LOCK = "org_tree"


def unit_named(name: str) -> Unit | None:
    name = (name or "").strip()
    if not name:
        return None
    unit, _ = Unit.objects.get_or_create(name=name)
    return unit


def _current(org: Organization | None) -> Organization | None:
    """The org as stored now, read under the tree lock (its path may have moved meanwhile)."""
    if org is None:
        return None
    return Organization.objects.select_for_update().get(pk=org.pk)


def _check_parent(org: Organization, parent: Organization | None) -> None:
    if parent is None:
        return
    if parent.status != Organization.Status.ACTIVE:
        raise OrgError(f"上级组织“{parent.name}”已撤销，不能在其下设立组织")
    if org.pk and parent.path.startswith(org.path):
        raise OrgError("上级组织不能是本组织或其下级组织")


def _check_hierarchy(kind: str, parent: Organization | None, child_kinds=()) -> None:
    problems = checks.hierarchy_problems(kind, parent.kind if parent else None, child_kinds)
    if problems:
        raise OrgError(problems[0][1], problems[0][0])


@transaction.atomic
def create_org(user, **fields) -> Organization:
    locks.hold(TREE_LOCK)
    fields["parent"] = _current(fields.get("parent"))
    org = Organization(**fields)
    _check_parent(org, org.parent)
    _check_hierarchy(org.kind, org.parent)
    org.save()
    org.path = (org.parent.path if org.parent else "") + segment(org.pk)
    org.save(update_fields=["path"])
    audit.record(user, org, None)
    announce([org.pk])
    return org


@transaction.atomic
def update_org(user, org: Organization, version: int | None = None, **fields) -> Organization:
    """Change an org; a new `parent` moves it with its whole subtree. `version` is the one
    the editor read (core.versioning): a save made since raises StaleVersion. The tree lock
    is taken first, then the cycle and hierarchy rules are checked on the tree as it now is."""
    locks.hold(TREE_LOCK)
    versioning.claim(org, version)
    before = audit.snapshot(org)
    # Both departments, the one it leaves included; a new name shows in the cached alerts too.
    departments.touch([org.path])
    if "parent" in fields:
        fields["parent"] = _current(fields["parent"])
    new_parent = fields["parent"] if "parent" in fields else _current(org.parent)
    moved = (new_parent.pk if new_parent else None) != org.parent_id
    if moved:
        _check_parent(org, new_parent)
    kind = fields.get("kind", org.kind)
    rekinded = kind != org.kind
    if rekinded and user is not None and org.parent_id is not None and not can(user, "edit", org.parent.path):
        # The kind decides what an org's people may do (a 机关工委's staff, the comparing pages):
        # only whoever manages the parent may change it, never the org's own managers.
        raise OrgError(f"只有上级组织“{org.parent.name}”的管理人员可以变更本组织的类别", "kind")
    if moved or rekinded:
        child_kinds = set(org.children.values_list("kind", flat=True)) if rekinded else ()
        _check_hierarchy(kind, new_parent, child_kinds)
    changed = versioning.changed_fields(org, fields)
    if changed:
        org.save(update_fields=changed)
    if moved:
        _move_subtree(org, (new_parent.path if new_parent else "") + segment(org.pk))
        departments.touch([org.path])
    audit.record(user, org, before)
    after = audit.snapshot(org)
    if any(before.get(f) != after.get(f) for f in SET_UP):
        announce([org.pk])
    return org


def _move_subtree(org: Organization, new_path: str) -> None:
    """Rewrite the path prefix of the whole subtree (one UPDATE per moved row set)."""
    old_path = org.path
    rows = list(Organization.objects.filter(path__startswith=old_path).only("pk", "path"))
    for row in rows:
        row.path = new_path + row.path[len(old_path):]
    Organization.objects.bulk_update(rows, ["path"], batch_size=500)  # writes their top_org too
    # Below the same depth-1 ancestor before and after, no row of the subtree changes its top.
    same_top = len(old_path) > SEGMENT and len(new_path) > SEGMENT and top_of_path(old_path) == top_of_path(new_path)
    if not same_top:
        rehome_top_org(Organization.objects.filter(path__startswith=new_path))
    org.path = new_path
    org.top_org_id = top_of_path(new_path)


def rehome_top_org(orgs) -> None:
    """The rows of the orgs `orgs` (a queryset) take their org's top-level org again, after a
    move gave the orgs a new one: one UPDATE per table carrying `top_org`, in the move's
    transaction (a record's attendance after the record). A move within a department changes
    no top-level org and does not come here."""
    for model in top_org_models():
        via = model.TOP_ORG_FROM
        related = model._meta.get_field(via).related_model
        if related is Organization:
            rows = model._base_manager.filter(**{f"{via}__in": orgs.values("pk")})
        else:
            rows = model._base_manager.filter(**{f"{via}__in": related._base_manager.filter(
                **{f"{related.TOP_ORG_FROM}__in": orgs.values("pk")}).values("pk")})
        rows.update(top_org_id=Subquery(related._base_manager.filter(pk=OuterRef(f"{via}_id")).values("top_org_id")[:1]))


@transaction.atomic
def dissolve_org(user, org: Organization, on: dt.date, version: int | None = None) -> Organization:
    locks.hold(TREE_LOCK)
    versioning.claim(org, version)
    if org.members.filter(status="active").exists():
        raise OrgError("该组织仍有在册党员，请先办理组织关系转接")
    if org.children.filter(status=Organization.Status.ACTIVE).exists():
        raise OrgError("该组织仍有下级组织，请先撤销或调整下级组织")
    before = audit.snapshot(org)
    org.status = Organization.Status.DISSOLVED
    org.dissolved_on = on
    org.save(update_fields=["status", "dissolved_on"])
    audit.record(user, org, before, note="撤销组织")
    announce([org.pk])
    return org


@transaction.atomic
def set_current_term(user, org: Organization, starts_on: dt.date, ends_on: dt.date,
                     elected_on: dt.date | None = None, version: int | None = None) -> Term:
    """Record the current term; a different start date means a new term (换届). The term's
    length is checked against the regulation for the org's kind (checks.check_term).
    `version` is the current term's as the editor read it (core.versioning): a correction or
    a 换届 saved since raises StaleVersion, whether this save corrects the term or closes it."""
    problems = checks.check_term(org.kind, starts_on, ends_on)
    if problems:
        raise OrgError(problems[0][1])
    current = org.terms.filter(is_current=True).first()
    if current:
        versioning.claim(current, version)
    departments.touch([org.path])  # 换届 alerts are read from the cache
    if current and current.starts_on == starts_on:
        before = audit.snapshot(current)
        current.ends_on, current.elected_on = ends_on, elected_on or current.elected_on
        current.save()
        audit.record(user, current, before)
        return current
    if current:
        before = audit.snapshot(current)
        current.is_current = False
        current.save(update_fields=["is_current"])
        audit.record(user, current, before, note="换届")
    term = Term.objects.create(org=org, starts_on=starts_on, ends_on=ends_on, elected_on=elected_on or starts_on)
    audit.record(user, term, None)
    return term


@transaction.atomic
def fill_seat(user, org: Organization, role: str, member, since: dt.date) -> CommitteeSeat:
    """Put `member` in the org's seat of `role`, reusing a vacant seat of that role."""
    if member.org_id != org.pk:
        raise OrgError(f"{member.name} 不是该组织的党员，不能担任委员")
    existing = org.seats.filter(is_active=True, holder=member).first()
    if existing and existing.role == role:
        return existing
    seat = org.seats.filter(is_active=True, role=role, holder__isnull=True).first()
    if seat is None and role in ("secretary",):
        seat = org.seats.filter(is_active=True, role=role).first()
        if seat is not None:
            vacate_seat(user, seat, since)
    if seat is not None:
        # No version from this form (it names a role, not a seat): the row is still taken, so
        # two appointments to one vacant seat follow each other instead of racing.
        versioning.claim(seat)
    before = audit.snapshot(seat) if seat else None
    if seat is None:
        seat = CommitteeSeat(org=org, role=role)
    seat.holder, seat.held_since, seat.vacant_since = member, since, None
    seat.save()
    audit.record(user, seat, before)
    announce([org.pk])
    return seat


def keeps_seat(seat_org_path: str, member_org_path: str) -> bool:
    """A committee member belongs to the org's subtree (an organ committee's members sit in
    its branches); one who leaves it leaves the seat. The rule of every door that moves people."""
    return member_org_path.startswith(seat_org_path)


@transaction.atomic
def vacate_seat(user, seat: CommitteeSeat, since: dt.date, version: int | None = None) -> CommitteeSeat:
    """`version` is the seat's as the editor read it (core.versioning): a seat filled or
    vacated since raises StaleVersion rather than removing a holder the editor never saw."""
    versioning.claim(seat, version)
    before = audit.snapshot(seat)
    seat.holder, seat.held_since, seat.vacant_since = None, None, since
    seat.save()
    audit.record(user, seat, before, note="职位出缺")
    announce([seat.org_id])
    return seat

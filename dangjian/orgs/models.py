"""One tree of party organizations, with a materialized path.

`path` is the chain of ancestor ids, each as 8 base-10 digits followed by "/", e.g.
"00000001/00000042/". A subtree is `path LIKE 'prefix%'`, which every database serves
from the index; depth is len(path) / 9.
"""
import datetime as dt
import re

from django.db import models
from django.db.models import Q

from dangjian.core.scoping import Scope, ScopedQuerySet
from dangjian.core.text import pinyin_full, pinyin_initials
from dangjian.core.versioning import Versioned

SEGMENT = 9  # 8 digits + "/"


def segment(pk: int) -> str:
    return f"{pk:08d}/"


def top_path(path: str) -> str:
    """The path of the top-level org of a path: its depth-1 ancestor (a department's top party
    org under the working committee: the unit its figures are cached and sharded by), or the
    root itself for the root."""
    return path[:2 * SEGMENT]


def top_of_path(path: str) -> int | None:
    """The id of `top_path(path)`'s org (the last segment of a path is its org's id). None for no path yet."""
    top = top_path(path)
    return int(top[-SEGMENT:-1]) if top else None


_NOT_PINYIN = re.compile(r"[^a-z0-9]")


def search_names(name: str) -> tuple[str, str]:
    """The full pinyin and the pinyin initials of an org name, letters and digits only
    (市财政局第一党支部 → shicaizhengjudiyidangzhibu, sczjdydzb): brackets and other marks
    in a name do not stop a match."""
    return _NOT_PINYIN.sub("", pinyin_full(name)), _NOT_PINYIN.sub("", pinyin_initials(name))


class Unit(models.Model):
    """The government body (单位/部门) an organization belongs to."""

    name = models.CharField("单位名称", max_length=100, unique=True)
    is_active = models.BooleanField("在用", default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "单位"

    def __str__(self):
        return self.name


class OrgKind(models.TextChoices):
    WORKING_COMMITTEE = "working_committee", "机关工委"
    LEADING_GROUP = "leading_group", "党组"
    COMMITTEE = "committee", "党委"
    ORGAN_COMMITTEE = "organ_committee", "机关党委"
    GENERAL_BRANCH = "general_branch", "党总支"
    BRANCH = "branch", "党支部"
    CELL = "cell", "党小组"


class OrganizationQuerySet(ScopedQuerySet):
    path_lookup = "path"

    def self_q(self, scope: Scope):
        # A plain member sees the organization they belong to (nothing to add where the view
        # scope holds it: an OR beside the path prefix only costs the index).
        if scope.member_org_path and not scope.allows("view", scope.member_org_path):
            return Q(path=scope.member_org_path)
        return None

    def active(self):
        return self.filter(status=Organization.Status.ACTIVE)

    def subtree(self, org):
        return self.filter(path__startswith=org.path)

    def bulk_update(self, objs, fields, *args, **kwargs):
        """A path written in bulk (a move, an import, the demo) writes the top-level org with it."""
        if "path" in fields:
            objs = list(objs)
            for o in objs:
                o.top_org_id = top_of_path(o.path)
            fields = [*fields, "top_org"]
        return super().bulk_update(objs, fields, *args, **kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for o in objs:
            if o.path:
                o.top_org_id = top_of_path(o.path)
        return super().bulk_create(objs, *args, **kwargs)

    def store_search_names(self, orgs) -> None:
        """Fill the pinyin of each org from its name and store those that changed, for
        writes that bypass `save()` (bulk inserts and updates): one bulk update."""
        dirty = [o for o in orgs if o.fill_search_names() and o.pk is not None]
        self.model._default_manager.bulk_update(dirty, ["name_pinyin", "name_initials"], batch_size=500)


class Organization(Versioned):
    class Status(models.TextChoices):
        ACTIVE = "active", "正常"
        DISSOLVED = "dissolved", "已撤销"

    AUDIT_EXCLUDE = ("name_pinyin", "name_initials")

    code = models.CharField("组织代码", max_length=32, unique=True)
    name = models.CharField("组织名称", max_length=100)
    # Derived from the name on every save (and by `store_search_names` for bulk writes), for
    # search by pinyin and initials as members are found (orgs.queries.search_orgs).
    name_pinyin = models.CharField(max_length=600, editable=False, default="")
    name_initials = models.CharField(max_length=100, editable=False, default="")
    kind = models.CharField("组织类别", max_length=24, choices=OrgKind.choices)
    is_joint = models.BooleanField("联合党支部", default=False)
    parent = models.ForeignKey(
        "self", verbose_name="上级组织", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    # The depth-1 ancestor (itself for a top org and the root), derived from `path` whenever the
    # path is written: the distribution column of a sharded database (docs/scale.md). Empty only
    # between an org's first insert and the write of its path, which needs its id.
    top_org = models.ForeignKey("self", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
                                editable=False)
    unit = models.ForeignKey(Unit, verbose_name="所属单位", null=True, blank=True, on_delete=models.PROTECT)
    established_on = models.DateField("成立日期", null=True, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.ACTIVE)
    dissolved_on = models.DateField("撤销日期", null=True, blank=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = "党组织"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "path" in update_fields:
            self.top_org_id = top_of_path(self.path)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "top_org"}
                update_fields = kwargs["update_fields"]
        if update_fields is None or "name" in update_fields:
            self.fill_search_names()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "name_pinyin", "name_initials"}
        super().save(*args, **kwargs)

    def fill_search_names(self) -> bool:
        """Set the pinyin fields from the name; True when they changed."""
        names = search_names(self.name or "")
        if names == (self.name_pinyin, self.name_initials):
            return False
        self.name_pinyin, self.name_initials = names
        return True

    @property
    def depth(self) -> int:
        return len(self.path) // SEGMENT

    @property
    def kind_label(self) -> str:
        if self.kind == OrgKind.BRANCH and self.is_joint:
            return "联合党支部"
        return self.get_kind_display()

    def ancestor_paths(self) -> list[str]:
        return [self.path[: i * SEGMENT] for i in range(1, self.depth)]

    def current_term(self):
        return next((t for t in self.terms.all() if t.is_current), None)


class Term(Versioned):
    """A term of office (届) of an organization's committee."""

    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="terms", verbose_name="党组织")
    elected_on = models.DateField("选举日期", null=True, blank=True)
    starts_on = models.DateField("本届开始日期")
    ends_on = models.DateField("本届届满日期")
    is_current = models.BooleanField("本届", default=True)

    class Meta:
        ordering = ["org", "-starts_on"]
        verbose_name = "届次"
        constraints = [
            models.UniqueConstraint(fields=["org"], condition=Q(is_current=True), name="one_current_term_per_org"),
            models.CheckConstraint(condition=Q(ends_on__gt=models.F("starts_on")), name="term_ends_after_start"),
        ]

    def days_left(self, today: dt.date | None = None) -> int:
        return (self.ends_on - (today or dt.date.today())).days


class SeatRole(models.TextChoices):
    SECRETARY = "secretary", "书记"
    DEPUTY_SECRETARY = "deputy_secretary", "副书记"
    ORGANIZATION_OFFICER = "organization_officer", "组织委员"
    PUBLICITY_OFFICER = "publicity_officer", "宣传委员"
    DISCIPLINE_OFFICER = "discipline_officer", "纪检委员"
    MEMBER = "member", "委员"


class CommitteeSeat(Versioned):
    """A seat on an organization's committee. An empty holder means the seat is vacant
    since `vacant_since`; a seat that is filled again gets its holder and `held_since`."""

    org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="seats", verbose_name="党组织")
    role = models.CharField("职务", max_length=24, choices=SeatRole.choices)
    holder = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="seats", verbose_name="任职人"
    )
    held_since = models.DateField("任职日期", null=True, blank=True)
    vacant_since = models.DateField("空缺起始日期", null=True, blank=True)
    is_active = models.BooleanField("在设", default=True)

    class Meta:
        ordering = ["org", "role", "id"]
        verbose_name = "委员职位"
        constraints = [
            models.CheckConstraint(
                condition=Q(holder__isnull=False) | Q(vacant_since__isnull=False) | Q(is_active=False),
                name="vacant_seat_has_date",
            )
        ]

    @property
    def is_vacant(self) -> bool:
        return self.holder_id is None

    def vacant_days(self, today: dt.date | None = None) -> int | None:
        if self.holder_id or not self.vacant_since:
            return None
        return ((today or dt.date.today()) - self.vacant_since).days


# ---- the top-level org of the rows that grow with members and records ------------------------
#
# Members, memberships, records, their kinds, attendance and attachments, stored verdicts and
# formalism signals carry `top_org`, the top-level org of the org they belong to, so that a
# distributed PostgreSQL (Citus) can shard them by it (docs/scale.md). It is derived, never
# typed: `save()` and the managers' `bulk_create` / `bulk_update` fill it from the row's org (or
# record), and a move of a subtree rewrites it set-based (orgs.services.rehome_top_org).

class TopOrgQuerySetMixin:
    """bulk_create and bulk_update that fill `top_org` from the row's `TOP_ORG_FROM` relation."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        fill_top_org(self.model, objs)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        via = self.model.TOP_ORG_FROM
        if via in fields or f"{via}_id" in fields:
            objs = list(objs)
            fill_top_org(self.model, objs, force=True)
            fields = [*fields, "top_org"]
        return super().bulk_update(objs, fields, *args, **kwargs)


class TopOrgQuerySet(TopOrgQuerySetMixin, models.QuerySet):
    pass


class TopOrgOwned(models.Model):
    """A row that carries the top-level org of the org (or record) it belongs to."""

    TOP_ORG_FROM = "org"  # the relation whose top-level org the row takes: an org or a record

    top_org = models.ForeignKey("orgs.Organization", on_delete=models.DO_NOTHING, related_name="+",
                                editable=False, verbose_name="所属顶层党组织")

    objects = TopOrgQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        obj = super().from_db(db, field_names, values)
        obj._top_org_source = obj.__dict__.get(f"{cls.TOP_ORG_FROM}_id")
        return obj

    def save(self, *args, **kwargs):
        via = f"{self.TOP_ORG_FROM}_id"
        if self.top_org_id is None or getattr(self, via) != getattr(self, "_top_org_source", None):
            fill_top_org(type(self), [self], force=True)
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "top_org"}
        super().save(*args, **kwargs)
        self._top_org_source = getattr(self, via)


def fill_top_org(model, objs, force: bool = False) -> None:
    """Set `top_org_id` of `objs` (rows of `model`) from the relation `model.TOP_ORG_FROM`: from
    the related object when it is loaded, else from one query per 2,000 ids."""
    via = model.TOP_ORG_FROM
    field = model._meta.get_field(via)
    missing: dict[int, list] = {}
    for obj in objs:
        if obj.top_org_id is not None and not force:
            continue
        cached = field.get_cached_value(obj, None) if field.is_cached(obj) else None
        if cached is not None and cached.top_org_id is not None and cached.pk == getattr(obj, field.attname):
            obj.top_org_id = cached.top_org_id
        elif getattr(obj, field.attname) is not None:
            missing.setdefault(getattr(obj, field.attname), []).append(obj)
    ids = sorted(missing)
    for i in range(0, len(ids), 2000):
        for pk, top in field.related_model._base_manager.filter(pk__in=ids[i:i + 2000]).values_list("pk", "top_org_id"):
            for obj in missing[pk]:
                obj.top_org_id = top


def top_org_models() -> list:
    """Every model carrying `top_org` through TopOrgOwned, those taking it from an org first
    (a record's attendance takes it from the record, which must be right before)."""
    from django.apps import apps

    found = [m for m in apps.get_models() if issubclass(m, TopOrgOwned)]
    return sorted(found, key=lambda m: (m._meta.get_field(m.TOP_ORG_FROM).related_model is not Organization,
                                        m._meta.label))

"""Reads of member records. `filter_members` is the one filter used by the list page,
the Excel export and the API, so the three always agree."""
import re

from django.db.models import Q

from dangjian.core.scoping import scope_of
from dangjian.orgs.models import SEGMENT, Organization

from .models import Member

_DIGITS = re.compile(r"^\d{1,4}[\dXx]?$")
_LATIN = re.compile(r"^[A-Za-z]+$")


def member_list(user):
    """The scoped, join-ready queryset behind every member list."""
    return Member.objects.visible_to(user).select_related("org")


def search_q(text: str, anywhere: bool = True) -> Q:
    """One box: Chinese name, pinyin or its initials (zs → 张三), or the last digits of
    the 身份证号 (the masked form keeps the last four) or of the phone. Pinyin and initials
    match from the start of the name, on their indexes. A Chinese text matches the start of
    the name (the surname: 王, 王芳) on the name's index, and, when `anywhere`, also inside it
    (芳); digits match the ID's last four on its index, and, when `anywhere`, the end of the
    ID or the phone (1 to 4 digits). A `LIKE '%芳%'` reads every row it is given: `anywhere`
    is for lists bounded to a department (`narrow`)."""
    text = text.strip()
    if not text:
        return Q()
    if _LATIN.match(text):
        t = text.lower()
        return Q(name_initials__startswith=t) | Q(name_pinyin__startswith=t)
    if _DIGITS.match(text):
        if anywhere:
            return Q(id_mask__endswith=text.upper()) | Q(phone__endswith=text)
        # Over the whole tree the last four digits exactly, as the masked forms of an 18- and
        # a 15-digit number store them: an equality on the mask's index, not an `endswith`
        # that reads every row (nor the phone's tail, which has no index to use).
        tail = text.upper()
        return Q(id_mask__in=["*" * 14 + tail, "*" * 11 + tail]) if len(tail) == 4 else Q(pk__in=[])
    return Q(name__contains=text) if anywhere else Q(name__startswith=text)


def narrow(user, org_path: str | None) -> bool:
    """Whether a list is bounded by a department or less (the org filter, or a scope with no
    root in it): there a part of a name is searched anywhere in it; over a whole tree of up
    to a million members, from the start of the name only."""
    if org_path:
        return len(org_path) > SEGMENT
    prefixes = scope_of(user).prefixes("view") if user is not None else []
    return bool(prefixes) and all(len(p) > SEGMENT for p in prefixes)


def filter_members(qs, params, user=None):
    """Apply the list filters from a query dict: q, org (code, whole subtree), category,
    status (default: active), is_leader."""
    org_code = (params.get("org") or "").strip()
    org = None
    if org_code:
        org = Organization.objects.filter(code=org_code).values_list("path", flat=True).first()
        qs = qs.filter(org__path__startswith=org) if org else qs.none()
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(search_q(q, anywhere=narrow(user, org)))
    category = params.get("category")
    if category in ("full", "probationary"):
        qs = qs.filter(category=category)
    status = params.get("status") or Member.Status.ACTIVE
    if status != "all":
        qs = qs.filter(status=status)
    if params.get("is_leader") in ("1", "true"):
        qs = qs.filter(is_leader=True)
    return qs

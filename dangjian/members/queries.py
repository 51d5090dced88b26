"""Reads of member records. `filter_members` is the one filter used by the list page,
the Excel export and the API, so the three always agree."""
import re

from django.db.models import Q

from dangjian.orgs.models import Organization

from .models import Member

_DIGITS = re.compile(r"^\d{1,4}[\dXx]?$")
_LATIN = re.compile(r"^[A-Za-z]+$")


def member_list(user):
    """The scoped, join-ready queryset behind every member list."""
    return Member.objects.visible_to(user).select_related("org")


def search_q(text: str) -> Q:
    """One box: Chinese name, pinyin or its initials (zs → 张三), or the last digits of
    the 身份证号 (the masked form keeps the last four)."""
    text = text.strip()
    if not text:
        return Q()
    if _LATIN.match(text):
        t = text.lower()
        return Q(name_initials__startswith=t) | Q(name_pinyin__startswith=t)
    if _DIGITS.match(text):
        return Q(id_mask__endswith=text.upper()) | Q(phone__endswith=text)
    return Q(name__contains=text)


def filter_members(qs, params, user=None):
    """Apply the list filters from a query dict: q, org (code, whole subtree), category,
    status (default: active), is_leader."""
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(search_q(q))
    org_code = (params.get("org") or "").strip()
    if org_code:
        org = Organization.objects.filter(code=org_code).values_list("path", flat=True).first()
        qs = qs.filter(org__path__startswith=org) if org else qs.none()
    category = params.get("category")
    if category in ("full", "probationary"):
        qs = qs.filter(category=category)
    status = params.get("status") or Member.Status.ACTIVE
    if status != "all":
        qs = qs.filter(status=status)
    if params.get("is_leader") in ("1", "true"):
        qs = qs.filter(is_leader=True)
    return qs

"""Reads of the account pages."""
from django.db.models import Prefetch, Q
from django.db.models.functions import Concat

from .models import RoleAssignment, User


def accounts(q: str = ""):
    """Accounts with their roles (one query for the page, one for its roles), found by a part of
    the username or of the person's name."""
    qs = User.objects.select_related("member").prefetch_related(
        Prefetch("roles", queryset=RoleAssignment.objects.select_related("org").order_by("role", "org__path")))
    if q:
        # 姓 + 名 as the name is read (周敏), and each part alone.
        qs = qs.annotate(full=Concat("last_name", "first_name")).filter(
            Q(username__icontains=q) | Q(member__name__icontains=q) | Q(full__icontains=q)
            | Q(first_name__icontains=q))
    return qs.order_by("username")

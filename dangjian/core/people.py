"""How a person with a login is named to other people: never by the login itself.

A page that says who recorded, rated, marked or changed something names the person:
1. the name of the member the account belongs to (a secretary's account → 薛琳兰);
2. else the account's own full name (staff accounts with no member record: 姓 in `last_name`,
   名 in `first_name`; a Chinese name reads 姓名 with no space, a Latin one "first last");
3. else, for an account nobody has named yet, its username — the only thing known of it.

`display_name(user)` reads the member through the user's `member` relation: a list showing many
users selects it with them (`select_related("recorded_by__member")`), so naming costs no query per
row. The request's own user needs no join: its member's name came with the scope's one query.
Rows read with `values()` are named with `name_fields(prefix)` and `name_from(row)`.
"""
import re

_CJK = re.compile(r"[\u3400-\u9fff]")
NOBODY = "系统"  # what a change made by no logged-in person (a command, the demo) shows


def full_name(first_name: str, last_name: str) -> str:
    """The account's full name: 姓 + 名 for a Chinese name, "first last" otherwise."""
    first, last = (first_name or "").strip(), (last_name or "").strip()
    if _CJK.search(first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


def display_name(user) -> str:
    """The person behind `user`, as the module docstring says; "" for no user."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    if user.member_id:
        name = _cached_member_name(user)
        if name is None:
            member = user.member
            name = member.name if member is not None else ""
        if name:
            return name
    return full_name(user.first_name, user.last_name) or user.get_username()


def _cached_member_name(user) -> str | None:
    """The member's name already at hand (the request's scope), else None."""
    from .scoping import cached_scope

    scope = cached_scope(user)
    return scope.member_name or None if scope is not None else None


def name_fields(prefix: str = "") -> list[str]:
    """The lookups `name_from` needs, below `prefix` (e.g. "marked_by__")."""
    return [f"{prefix}{f}" for f in ("member__name", "first_name", "last_name", "username")]


def name_from(member_name, first_name, last_name, username) -> str:
    """`display_name` for a row read as values: the four fields of `name_fields`."""
    return member_name or full_name(first_name, last_name) or username or ""

"""Logins: lockout, and the audit entries of logins, tokens and role assignments.

Failed password logins are counted for three keys (accounts.models.LoginLock): the username
from the client's address, the address for any username, and the username from every
address. The first is the usual lock and reaches only that address, so nobody can lock the
administrator out by guessing from elsewhere; the other two stop guessing spread over many
usernames or many addresses. Limits are in settings (LOGIN_*); the reasons in docs/security.md.
API tokens do not pass through here."""
import datetime as dt
import ipaddress

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from dangjian.core import audit

from .models import LoginLock, Role, RoleAssignment, User

USER_TABLE = "accounts.user"
LOCK_TABLE = "accounts.loginlock"
ROLE_TABLE = "accounts.roleassignment"
UNKNOWN_ADDRESS = "unknown"


def client_address(request) -> str:
    """REMOTE_ADDR; behind a trusted proxy, the last X-Forwarded-For entry (the one the proxy
    itself added — earlier entries are whatever the client sent)."""
    if request is None:
        return UNKNOWN_ADDRESS
    meta = request.META
    candidate = meta.get("REMOTE_ADDR", "")
    if settings.LOGIN_TRUST_X_FORWARDED_FOR:
        forwarded = [p.strip() for p in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if forwarded:
            candidate = forwarded[-1]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return UNKNOWN_ADDRESS


def _limits() -> dict:
    return {"pair": settings.LOGIN_MAX_FAILURES, "address": settings.LOGIN_ADDRESS_MAX_FAILURES,
            "user": settings.LOGIN_USER_MAX_FAILURES}


def _kind(lock: LoginLock) -> str:
    return "pair" if lock.username and lock.address else "address" if lock.address else "user"


def active_lock(username: str, address: str, now: dt.datetime | None = None) -> LoginLock | None:
    """The lock that refuses `username` from `address` now, if any (the longest one)."""
    now = now or timezone.now()
    return (LoginLock.objects
            .filter(Q(username=username, address=address) | Q(username="", address=address)
                    | Q(username=username, address=""), locked_until__gt=now)
            .order_by("-locked_until").first())


def _count(username: str, address: str, now: dt.datetime) -> LoginLock | None:
    """One more failure on one key; the lock row when this failure locked it."""
    window = dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    lock = LoginLock.objects.select_for_update().filter(username=username, address=address).first()
    if lock is None:
        try:
            with transaction.atomic():
                lock = LoginLock.objects.create(username=username, address=address, window_start=now)
        except IntegrityError:  # created meanwhile by a concurrent failure: count on it
            lock = LoginLock.objects.select_for_update().get(username=username, address=address)
    if lock.locked_until and lock.locked_until > now:
        return None
    if lock.window_start < now - window:
        lock.failures, lock.window_start = 0, now
    lock.failures += 1
    locked = lock.failures >= _limits()[_kind(lock)]
    if locked:
        lock.locked_until, lock.failures, lock.window_start = now + window, 0, now
    lock.save(update_fields=["failures", "window_start", "locked_until"])
    return lock if locked else None


@transaction.atomic
def record_failure(username: str, address: str, now: dt.datetime | None = None) -> list[LoginLock]:
    """Count a failed login and record it (the username tried, never the password); returns the
    locks it set. An unknown username counts only for the address: there is nothing to lock."""
    now = now or timezone.now()
    # Counts whose window has passed and that lock nothing are forgotten, so guesses from many
    # addresses or under many names cannot grow the table without end.
    stale = now - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    LoginLock.objects.filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now), window_start__lt=stale).delete()
    user = User.objects.filter(username=username).only("pk").first()
    keys = [("", address)] + ([(username, address), (username, "")] if user is not None else [])
    # One order for every writer (by key), so two concurrent failures never wait on each other.
    set_locks = [lock for lock in (_count(u, a, now) for u, a in sorted(keys)) if lock is not None]
    audit.event(None, USER_TABLE, user.pk if user else 0, "login_failed", f"登录失败（地址 {address}）",
                {"username": username, "address": address}, actor_username=username)
    for lock in set_locks:
        audit.event(None, LOCK_TABLE, lock.pk, "lockout",
                    f"{lock.scope_label}登录失败次数过多，锁定至 {timezone.localtime(lock.locked_until):%Y-%m-%d %H:%M}",
                    {"username": lock.username, "address": lock.address}, actor_username=username)
    return set_locks


@transaction.atomic
def record_success(user, address: str) -> None:
    """A right password from `address` clears that address's count for the user. The address's
    own count stays: logging in to one's own account must not reset guessing at others."""
    LoginLock.objects.filter(username=user.get_username(), address=address).delete()


def record_login(user, address: str) -> None:
    audit.event(user, USER_TABLE, user.pk, "login", f"登录（地址 {address}）", {"address": address})


def record_logout(user, address: str) -> None:
    if user is not None and user.is_authenticated:
        audit.event(user, USER_TABLE, user.pk, "logout", f"退出登录（地址 {address}）", {"address": address})


def current_locks(now: dt.datetime | None = None):
    return LoginLock.objects.filter(locked_until__gt=now or timezone.now()).order_by("-locked_until", "id")


@transaction.atomic
def unlock(staff_user, lock: LoginLock) -> None:
    """Lift a lock before its time (staff, on the lockout page)."""
    lock = LoginLock.objects.select_for_update().get(pk=lock.pk)
    until = lock.locked_until
    lock.locked_until, lock.failures, lock.window_start = None, 0, timezone.now()
    lock.save(update_fields=["locked_until", "failures", "window_start"])
    audit.event(staff_user, LOCK_TABLE, lock.pk, "unlock", f"解除锁定：{lock.scope_label}",
                {"username": lock.username, "address": lock.address,
                 "locked_until": until.isoformat() if until else None})


# ---- API tokens ----------------------------------------------------------------------------------

@transaction.atomic
def issue_token(user, reset: bool = False):
    """The user's API token, created if missing; `reset` voids the old one first. Every token
    made or voided, here or in the admin, is recorded by the receivers below (never the key)."""
    from rest_framework.authtoken.models import Token

    if reset:
        for old in Token.objects.filter(user=user):
            old.delete()
    return Token.objects.get_or_create(user=user)


def token_saved(sender, instance, created, **kwargs):
    if created:
        user = instance.user
        audit.event(None, USER_TABLE, user.pk, "token", f"签发 API 令牌：{user.get_username()}",
                    {"username": user.get_username(), "change": "issued"})


def token_deleted(sender, instance, **kwargs):
    user = instance.user
    audit.event(None, USER_TABLE, user.pk, "token", f"作废 API 令牌：{user.get_username()}",
                {"username": user.get_username(), "change": "voided"})


# ---- role assignments --------------------------------------------------------------------------

STAFF_ROLES = {Role.WC_ADMIN}  # the role that makes its holder 工委 staff (on a working committee)


class RoleRefused(Exception):
    """A grant or revocation the actor may not make; the message is for the page."""


def _check_may_assign(actor, role: str, org) -> None:
    from dangjian.core.scoping import can, is_committee_staff

    # Only staff assign roles, and only within what they manage: nobody can hand out more
    # than they hold (a 工委管理员 role on the working committee makes its holder staff).
    if not is_committee_staff(actor):
        raise RoleRefused("只有机关工委工作人员可以分配角色。")
    if not can(actor, "manage", org.path):
        raise RoleRefused("只能在本人管理的组织范围内分配角色。")


@transaction.atomic
def grant_role(actor, user, role: str, org) -> RoleAssignment:
    _check_may_assign(actor, role, org)
    if role not in Role.values:
        raise RoleRefused("未知的角色。")
    existing = RoleAssignment.objects.filter(user=user, role=role, org=org).first()
    if existing is not None:
        raise RoleRefused(f"该用户已在“{org.name}”担任{Role(role).label}。")
    assignment = RoleAssignment.objects.create(user=user, role=role, org=org)
    audit.event(actor, ROLE_TABLE, assignment.pk, "grant",
                f"授予“{user.get_username()}”{Role(role).label}（{org.name}）",
                {"username": user.get_username(), "role": role, "org": org.code})
    return assignment


@transaction.atomic
def revoke_role(actor, assignment: RoleAssignment) -> None:
    _check_may_assign(actor, assignment.role, assignment.org)
    if assignment.user_id == actor.pk and assignment.role in STAFF_ROLES:
        raise RoleRefused("不能撤销自己的工委管理员角色，请由其他工委工作人员操作。")
    user, org, role, pk = assignment.user, assignment.org, assignment.role, assignment.pk
    assignment.delete()
    audit.event(actor, ROLE_TABLE, pk, "revoke",
                f"撤销“{user.get_username()}”{Role(role).label}（{org.name}）",
                {"username": user.get_username(), "role": role, "org": org.code})


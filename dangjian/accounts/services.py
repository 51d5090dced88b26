"""Login lockout: after LOGIN_MAX_FAILURES failed logins in a row an account is locked
for LOGIN_LOCKOUT_MINUTES, even for the right password. Used by the login backend only;
API tokens do not pass through here."""
import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import User


def is_locked(user, now: dt.datetime | None = None) -> bool:
    return bool(user.locked_until and user.locked_until > (now or timezone.now()))


@transaction.atomic
def record_failure(username: str, now: dt.datetime | None = None) -> User | None:
    """Count one failure for `username`; lock the account when the limit is reached.
    Unknown usernames are ignored (nothing to lock, nothing to reveal)."""
    now = now or timezone.now()
    # The row lock keeps concurrent wrong guesses from losing counts.
    user = User.objects.select_for_update().filter(username=username).first()
    if user is None:
        return None
    if is_locked(user, now):
        return user
    user.failed_logins += 1
    if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
        user.locked_until = now + dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        user.failed_logins = 0
    user.save(update_fields=["failed_logins", "locked_until"])
    return user


def record_success(user) -> None:
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)

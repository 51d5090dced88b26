"""What a browser, a proxy and a shared office computer may keep of a session.

- Every dynamic answer (pages, the API, exports, the reveal of a 身份证号) is marked
  `Cache-Control: no-store, private` unless its view chose a header itself: these answers hold
  personal data, and a cached copy outlives the logout on a machine several people share.
  Static files never reach this middleware (WhiteNoise answers them first) and keep their
  long cache lifetime.
- A login session ends after `SESSION_IDLE_SECONDS` without a request, and in any case
  `SESSION_COOKIE_AGE` seconds after it began, however busy it was: saving the session on
  every request would only push the expiry date forward forever.
"""
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout

NO_STORE = "no-store, private"
STARTED = "_dangjian_started"
SEEN = "_dangjian_seen"
# The last-seen time is written at most this often, so a busy page is not a session write per request.
SEEN_RESOLUTION = 60


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = NO_STORE
        return response


def session_expired(session, now: float) -> str:
    """Why the session has ended ("" while it is still valid)."""
    started, seen = session.get(STARTED), session.get(SEEN)
    if started is not None and now - started > settings.SESSION_COOKIE_AGE:
        return "登录已超过最长有效时间，请重新登录。"
    if seen is not None and now - seen > settings.SESSION_IDLE_SECONDS:
        return f"已超过 {settings.SESSION_IDLE_SECONDS // 60} 分钟没有操作，为保护个人信息已自动退出，请重新登录。"
    return ""


def session_started(sender, request, user, **kwargs):
    """At login (the session is saved then anyway), so the first pages write nothing more."""
    now = time.time()
    request.session[STARTED] = request.session[SEEN] = now


class SessionTimeoutMiddleware:
    """After the authentication and message middleware: a session that has ended is logged out
    before any view runs, so LoginRequiredMiddleware then sends the user to the login page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session, now = request.session, time.time()
            reason = session_expired(session, now)
            if reason:
                logout(request)
                messages.info(request, reason)
            else:
                session.setdefault(STARTED, now)
                if now - session.get(SEEN, 0) >= SEEN_RESOLUTION:
                    session[SEEN] = now
        return self.get_response(request)

"""Settings. Every deployment choice is an environment variable read by a typed helper."""
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from dangjian.env import env_bool, env_int, env_list, env_str
from dangjian.keys import load_key

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env_str("DANGJIAN_VAR_DIR", str(BASE_DIR.parent / "var")))

# The key file's 32 random bytes as 64 hex digits: `check --deploy` asks for at least 50
# characters (the 44-character base64 form used before was flagged). Nothing signed with it is
# stored, so the change only ends the sessions open at the upgrade.
SECRET_KEY = env_str("DANGJIAN_SECRET_KEY", "") or load_key("DANGJIAN_SECRET_KEY_B64", "secret.key").hex()
# The field keys (身份证号 at rest) are read by dangjian.keys when first needed, and made only on
# a first install: never here, where the database cannot yet say whether data exists.

DEBUG = env_bool("DANGJIAN_DEBUG", False)
ALLOWED_HOSTS = env_list("DANGJIAN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DANGJIAN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks_db",
    "dangjian.core",
    "dangjian.orgs",
    "dangjian.members",
    "dangjian.accounts",
    "dangjian.exchange",
    "dangjian.activities",
    "dangjian.rectification",
    "dangjian.assessment",
    "dangjian.reviews",
    "dangjian.ratings",
    "dangjian.feedback",
    "dangjian.duties",
    "dangjian.inspections",
    "dangjian.development",
    "dangjian.commendations",
    "dangjian.dues",
    "dangjian.transfers",
    "dangjian.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "dangjian.core.versioning.ConflictMiddleware",
    "dangjian.core.privacy.SessionTimeoutMiddleware",
    "dangjian.core.privacy.NoStoreMiddleware",
    "dangjian.core.nul.NulMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

# Content-Security-Policy on every answer: scripts and styles come only from the platform's own
# static files, so a name, a topic or a text that slipped into the markup can never run. No
# inline <script>, no on…= handlers, no style="…" and no eval anywhere (tests/test_xss.py).
# Bootstrap draws its small icons (menu, select arrows) as data: images.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

ROOT_URLCONF = "dangjian.urls"
WSGI_APPLICATION = "dangjian.wsgi.application"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dangjian.core.context_processors.menu",
            ],
        },
    }
]

# Database: one URL. SQLite (WAL) by default so a new user needs no server.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = env_str("DANGJIAN_DATABASE_URL", f"sqlite:///{VAR_DIR / 'dangjian.sqlite3'}")
# Persistent connections (CONN_MAX_AGE > 0) only for a server with one process per worker
# (gunicorn sync workers): under a threaded server every thread keeps its own connection open,
# and 60 s exhausted PostgreSQL's max_connections ("too many clients"). See docs/operations.md.
_conn_max_age = env_int("DANGJIAN_DB_CONN_MAX_AGE", 0, 0)
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=_conn_max_age, conn_health_checks=_conn_max_age > 0)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    _db["CONN_MAX_AGE"] = 0
elif _db["ENGINE"] == "django.db.backends.mysql":
    # PyMySQL stands in for mysqlclient so no C headers are needed to install.
    import pymysql

    pymysql.version_info = (2, 2, 7, "final", 0)
    pymysql.install_as_MySQLdb()
    _db["OPTIONS"] = {"charset": "utf8mb4"}
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
DATABASES = {"default": _db}
# A read replica for read-only reports (dangjian/core/replica.py): only the code that asks for it
# with `replica.reports()` reads there, everything else (and every write) stays on the primary.
REPLICA_URL = env_str("DANGJIAN_REPLICA_URL", "")
if REPLICA_URL:
    _replica = dj_database_url.parse(REPLICA_URL, conn_max_age=_conn_max_age, conn_health_checks=_conn_max_age > 0)
    if _replica["ENGINE"] != _db["ENGINE"]:
        raise ImproperlyConfigured("环境变量 DANGJIAN_REPLICA_URL 与 DANGJIAN_DATABASE_URL 必须是同一种数据库")
    for _key in ("OPTIONS", "TEST"):
        if _key in _db:
            _replica[_key] = dict(_db[_key])
    # Tests create no second database: the replica alias reads the test database itself.
    _replica.setdefault("TEST", {})["MIRROR"] = "default"
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["dangjian.core.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "dangjian.accounts.passwords.NotThePersonValidator"},
]
# Password logins go through the lockout check; API tokens do not use backends.
AUTHENTICATION_BACKENDS = ["dangjian.accounts.backends.LockoutBackend"]
# Login lockout (docs/security.md): a username is locked for LOCKOUT_MINUTES at the address
# that failed MAX_FAILURES times; an address after ADDRESS_MAX_FAILURES failures for any
# usernames; a username everywhere after USER_MAX_FAILURES failures from all addresses.
LOGIN_MAX_FAILURES = env_int("DANGJIAN_LOGIN_MAX_FAILURES", 5, 1)
LOGIN_ADDRESS_MAX_FAILURES = env_int("DANGJIAN_LOGIN_ADDRESS_MAX_FAILURES", 20, 1)
LOGIN_USER_MAX_FAILURES = env_int("DANGJIAN_LOGIN_USER_MAX_FAILURES", 50, 1)
LOGIN_LOCKOUT_MINUTES = env_int("DANGJIAN_LOGIN_LOCKOUT_MINUTES", 15, 1)
# The client's address is REMOTE_ADDR, unless a reverse proxy that sets X-Forwarded-For stands
# in front (then its last entry, the one the proxy added, is the client).
LOGIN_TRUST_X_FORWARDED_FOR = env_bool("DANGJIAN_TRUST_X_FORWARDED_FOR", False)

# Sessions (dangjian/core/privacy.py): end when the browser closes, after SESSION_IDLE_SECONDS
# without a request, and SESSION_COOKIE_AGE after the login whatever happens.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("DANGJIAN_SESSION_SECONDS", 8 * 3600, 60)
SESSION_IDLE_SECONDS = env_int("DANGJIAN_SESSION_IDLE_SECONDS", 30 * 60, 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Production (docs/operations.md, 生产部署): DANGJIAN_PRODUCTION=true turns on HTTPS only —
# redirect, HSTS, Secure cookies. Each can still be set on its own. Off by default, so
# `make demo` keeps serving plain http on 127.0.0.1.
PRODUCTION = env_bool("DANGJIAN_PRODUCTION", False)
SECURE_SSL_REDIRECT = env_bool("DANGJIAN_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("DANGJIAN_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0, 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DANGJIAN_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("DANGJIAN_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("DANGJIAN_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a reverse proxy that ends TLS, Django sees plain http: trust the proxy's
# X-Forwarded-Proto only when told the proxy sets it (and strips it from clients).
if env_bool("DANGJIAN_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# WhiteNoise also serves straight from the app folders, so a one-machine install (make demo)
# works without `collectstatic`; `collectstatic` remains the way for a production server.
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"

# Uploads: rosters are small; anything bigger than this is refused with a message.
IMPORT_MAX_BYTES = env_int("DANGJIAN_IMPORT_MAX_BYTES", 20 * 1024 * 1024, 1024)
IMPORT_MAX_ROWS = env_int("DANGJIAN_IMPORT_MAX_ROWS", 50_000, 1)
# An .xlsx is a zip: what it expands to, and how wide a sheet may be, are limited on their own.
IMPORT_MAX_UNCOMPRESSED_BYTES = env_int("DANGJIAN_IMPORT_MAX_UNCOMPRESSED_BYTES", 100 * 1024 * 1024, 1024)
IMPORT_MAX_COLUMNS = env_int("DANGJIAN_IMPORT_MAX_COLUMNS", 200, 1)
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024
# A roster export longer than this is built by a background job with a progress bar.
EXPORT_INLINE_ROWS = env_int("DANGJIAN_EXPORT_INLINE_ROWS", 2000, 0)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Background jobs (dangjian/core/jobs.py, docs/deploy.md): "worker" puts them on the database
# queue of Django's Tasks API, run by `dangjian db_worker` (production, `make serve`); "thread"
# runs them in a thread of the web process (one-machine installs, `make demo`: no second process
# to start); "sync" runs them inside the request (tests). The queue's table exists in every mode.
JOBS_MODE = env_str("DANGJIAN_JOBS_MODE", "thread").strip().lower()
if JOBS_MODE not in {"thread", "sync", "worker"}:
    raise ImproperlyConfigured(
        f"环境变量 DANGJIAN_JOBS_MODE={JOBS_MODE!r} 无效：只能是 worker（独立的后台处理进程）、"
        "thread（网站进程内的线程）或 sync（请求内同步执行，仅用于测试）")
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A running job that has not written its heartbeat for this long is marked failed (its process died).
JOBS_STALE_SECONDS = env_int("DANGJIAN_JOBS_STALE_SECONDS", 600, 10)

# The cache every process shares (docs/deploy.md): `redis://…` (or `rediss://`, `unix://`) for
# Redis, `db` for a table in the database (created by `migrate`), `locmem` (default) for one
# process's memory, enough for `make demo`.
CACHE_URL = env_str("DANGJIAN_CACHE_URL", "locmem").strip()
CACHE_TABLE = "dangjian_cache"
if CACHE_URL in ("", "locmem"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif CACHE_URL == "db":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE}}
elif CACHE_URL.split("://", 1)[0] in ("redis", "rediss", "unix") and "://" in CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
    # Every request reads its session: from Redis first, the database only on a miss. Only with
    # a cache all processes share; a per-process copy would outlive a logout in another process.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    raise ImproperlyConfigured(
        f"环境变量 DANGJIAN_CACHE_URL={CACHE_URL!r} 无效：应为 redis://主机:端口/库号、db（数据库缓存表）或 locmem（进程内存）")
CACHES["default"]["KEY_PREFIX"] = env_str("DANGJIAN_CACHE_PREFIX", "dangjian")
# Whether every process reads the same cache: what one process writes (a command in a terminal
# beside the server) can then move on what the others read (orgs.departments).
CACHE_SHARED = CACHE_URL not in ("", "locmem")
# Figures kept per department (orgs.departments) need a few entries per department: a province
# has thousands, well past the 300 entries Django's local and database caches keep by default.
if not CACHE_URL.startswith(("redis", "unix")):  # Redis evicts by its own memory limit
    CACHES["default"]["OPTIONS"] = {"MAX_ENTRIES": env_int("DANGJIAN_CACHE_MAX_ENTRIES", 100_000, 1000)}
if CACHE_URL in ("", "locmem") and JOBS_MODE == "worker":
    # A write made by the worker (an import) moves the cached figures on only in its own
    # memory: the web processes would show the old figures until the entries expire.
    raise ImproperlyConfigured(
        "DANGJIAN_JOBS_MODE=worker 时后台处理在独立进程中运行，缓存必须由各进程共用："
        "请设置 DANGJIAN_CACHE_URL=db 或 redis://主机:端口/库号")

PAGE_SIZE = env_int("DANGJIAN_PAGE_SIZE", 50, 5)

# 述职评议: a voter group's grades are shown only when at least this many of its ballots were
# cast (fewer would let a person's vote be read from them; docs/reviews.md).
REVIEW_MIN_GROUP = env_int("DANGJIAN_REVIEW_MIN_GROUP", 5, 3)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dangjian.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "机关党建工作平台 API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the installed sidecar package, never from a CDN (offline intranet).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would otherwise show a badge fetched from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Orgs and members both have a "status" with different values: name the two enums.
    "ENUM_NAME_OVERRIDES": {
        "OrgStatusEnum": "dangjian.orgs.models.Organization.Status",
        "MemberStatusEnum": "dangjian.members.models.Member.Status",
        "MemberCategoryEnum": "dangjian.members.models.Category",
        "OrgKindEnum": "dangjian.orgs.models.OrgKind",
        "ItemStatusEnum": "dangjian.rectification.models.Item.Status",
        "ItemSourceEnum": "dangjian.rectification.models.Item.Source",
        "FeedbackStatusEnum": "dangjian.feedback.models.Feedback.Status",
        "FeedbackChannelEnum": "dangjian.feedback.models.Channel",
        "VisitKindEnum": "dangjian.feedback.models.VisitKind",
        "InspectionKindEnum": "dangjian.inspections.models.Kind",
        "DuesCategoryEnum": "dangjian.dues.models.Category",
    },
}

# Conditional unique constraints are not created on MariaDB; the services enforce them there.
SILENCED_SYSTEM_CHECKS = ["models.W036"]
# HSTS preloading means listing the host name in the browsers' public list; an intranet host
# cannot be listed, so the preload directive is left to DANGJIAN_HSTS_PRELOAD.
SILENCED_SYSTEM_CHECKS.append("security.W021")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DANGJIAN_LOG_LEVEL", "WARNING")},
}

# Bootstrap names the error style "danger".
from django.contrib.messages import constants as _messages  # noqa: E402

MESSAGE_TAGS = {_messages.ERROR: "danger"}

"""Settings for the registry, read from the environment.

With nothing set the registry runs on a SQLite file with Celery tasks executed
eagerly (the embedded default). DATABASE_URL and CELERY_BROKER_URL/REDIS_URL
switch it to PostgreSQL and a real Celery worker.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from config.env import ImproperEnvironment, env_bool, env_int, env_list, env_str
from config.mail import digest_hour, email_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("REGISTRY_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # Sessions and CSRF tokens are signed with it: never a default.
        raise ImproperEnvironment("SECRET_KEY: must be set when DEBUG is off")
    # A fixed development key keeps the demo's sessions valid across restarts.
    SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    # -- security (docs/compliance.md): lockout, two-factor, login log --
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "core.security",
    # -- end security --
    "core.api",
    "registry",
    "quality",
    "analytics",
    "exchange",
    "publication",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.HostileInputMiddleware",  # issue 14: 413/400 before anything parses
    "csp.middleware.CSPMiddleware",  # security
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # Accept-Language and the language cookie
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.language.UserLanguageMiddleware",  # a signed-in user's saved language wins
    "django.contrib.messages.middleware.MessageMiddleware",
    # -- security: second factor, idle logout, 2FA gate (core/security/middleware.py) --
    "django_otp.middleware.OTPMiddleware",
    "core.security.middleware.IdleLogoutMiddleware",
    "core.security.middleware.TwoFactorRequiredMiddleware",
    "core.security.middleware.PasswordChangeRequiredMiddleware",
    # -- end security --
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",  # issue 14: database lost -> 503
    "axes.middleware.AxesMiddleware",  # security: the lockout answer; keep last
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "core.security.context.session_timeout",  # security: idle warning
                "core.context.study",  # the study's names in every page's header and title
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'registry.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db))}
except ValueError as exc:
    raise ImproperEnvironment(f"DATABASE_URL: {exc}") from None
# Behind PgBouncer in transaction pooling mode (the compose "scale" profile,
# docs/operations.md) each transaction may run on another server connection. A server-side
# cursor (QuerySet.iterator() outside a transaction: DECLARE … WITH HOLD) lives on the
# connection that declared it, so the next fetch would find it missing: Django then reads
# such querysets in client-side chunks instead. Prepared statements have the same problem
# and Django's psycopg backend already leaves them off; session-level SET is not used.
DATABASE_POOLER = env_str("DATABASE_POOLER", "").strip().lower()
if DATABASE_POOLER not in ("", "pgbouncer"):
    raise ImproperEnvironment(f"DATABASE_POOLER={DATABASE_POOLER!r}: expected pgbouncer or empty")
if DATABASE_POOLER == "pgbouncer":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DATABASE_IS_EMBEDDED = DATABASES["default"]["ENGINE"].endswith("sqlite3")
# Persistent connections (seconds; 0: one per request). A new PostgreSQL connection costs more
# CPU than a whole API read (the server starts a process for it), so web processes keep theirs
# for a minute; each is checked before reuse, so after a database restart the next request
# opens a fresh one instead of failing.
DATABASES["default"]["CONN_MAX_AGE"] = env_int(
    "DB_CONN_MAX_AGE", 0 if DATABASE_IS_EMBEDDED else 60, minimum=0
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django's PostgreSQL backend whose health check polls the idle socket instead of running
# SELECT 1 on every request, falling back to SELECT 1 at any sign of trouble (core/db/).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "core.db.postgresql"
# Server-side parameter binding (PostgreSQL), opt-in: queries and their values travel apart and
# psycopg prepares a query the fifth time a connection sends it, so PostgreSQL stops
# re-planning the same few queries. Off by default: Django documents queries it cannot run
# this way, and the gain measured on the API was small (docs/api.md); never behind PgBouncer
# in transaction mode (a prepared statement lives on one server connection).
if (
    not DATABASE_IS_EMBEDDED
    and DATABASE_POOLER != "pgbouncer"
    and env_bool("DB_SERVER_SIDE_BINDING", False)
):
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
if DATABASE_IS_EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)

# The study's names as every page shows them (header, titles, the printable casebook), in
# English and, for pages in Chinese, in Chinese (core/context.py, docs/translation.md). The
# Chinese defaults are the reference study's: a study that sets its own English titles and
# no Chinese ones gets its English titles on Chinese pages, never another study's name.
STUDY_TITLE = env_str(
    "STUDY_TITLE", "Atezolizumab beyond first-line progression in extensive-stage SCLC"
)
STUDY_SHORT_TITLE = env_str("STUDY_SHORT_TITLE", "ES-SCLC registry")
STUDY_TITLE_ZH_HANS = env_str(
    "STUDY_TITLE_ZH_HANS",
    "" if "STUDY_TITLE" in os.environ else "广泛期小细胞肺癌一线治疗进展后继续阿替利珠单抗治疗",
)
STUDY_SHORT_TITLE_ZH_HANS = env_str(
    "STUDY_SHORT_TITLE_ZH_HANS", "" if "STUDY_SHORT_TITLE" in os.environ else "ES-SCLC 登记研究"
)

AUTH_USER_MODEL = "registry.User"
LOGIN_URL = "login"
# Site staff and data managers land on their task lists ("my work"), others on the patients.
LOGIN_REDIRECT_URL = "quality:start"
LOGOUT_REDIRECT_URL = "login"

# Two languages (docs/translation.md): English, the language of the source strings, and
# Simplified Chinese for the reference study's centres. Each user picks one (the header's
# switcher, saved on the account); before signing in the browser's Accept-Language decides.
# Names are written in their own language, as a switcher shows them.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en-gb")
LANGUAGES = [("en-gb", "English"), ("zh-hans", "简体中文")]
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperEnvironment(f"LANGUAGE_CODE: must be one of {', '.join(dict(LANGUAGES))}")
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as the locale writes them, but never an ambiguous 03/04/2024 (config/formats/).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = VAR_DIR / "media"
# The dashboard's figures, rendered on first request per run and language (docs/analytics.md):
# a cache, safe to delete; each web machine may keep its own.
ANALYTICS_FIGURE_ROOT = Path(env_str("ANALYTICS_FIGURE_ROOT", str(VAR_DIR / "figures")))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One cache for every process: API throttle counts and rendered figures must be shared
# by all web workers, so with Redis configured the cache is Redis too. CACHE_URL may name
# another Redis database than the broker's (CI does), so that clearing one never empties the
# other; without Redis each process keeps its own in-memory cache (the embedded default).
CACHE_URL = env_str("CACHE_URL", env_str("REDIS_URL", ""))
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "registry",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a broker URL switches from in-process eager execution to real workers.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", env_str("REDIS_URL", ""))
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"

# -- Failure handling (issue 14; docs/operations.md) ----------------------------------------
# An analysis run or export row is its own outbox: the broker message is sent after commit,
# best effort (core/outbox.py), and the sweep (celery beat every WORK_SWEEP_INTERVAL
# seconds, and each worker at start-up) sends rows no worker has taken. A running row whose
# heartbeat is older than WORK_HEARTBEAT_TIMEOUT seconds lost its worker and is re-queued,
# up to WORK_MAX_ATTEMPTS claims (then it is marked failed).
WORK_HEARTBEAT_TIMEOUT = env_int("WORK_HEARTBEAT_TIMEOUT", 60, minimum=2)
WORK_SWEEP_INTERVAL = env_int("WORK_SWEEP_INTERVAL", 15, minimum=1)
WORK_MAX_ATTEMPTS = env_int("WORK_MAX_ATTEMPTS", 3, minimum=1)
# Request bodies over this many bytes are refused (413) before anything reads them.
MAX_BODY_BYTES = env_int("MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# -- end of failure handling ----------------------------------------------------------------
# Data-quality rules (quality.rules): run over the whole cohort every QUALITY_RULES_INTERVAL
# seconds by celery beat, and for one patient after each casebook save. A last contact older
# than QUALITY_FOLLOW_UP_INTERVAL_DAYS is reported (a notice, no query); a missing part (or
# a record another one calls for) is questioned only once the casebook is
# QUALITY_ENTRY_GRACE_DAYS old, so a coordinator entering it part by part is not questioned
# between two saves.
QUALITY_RULES_INTERVAL = env_int("QUALITY_RULES_INTERVAL", 3600, minimum=60)
QUALITY_FOLLOW_UP_INTERVAL_DAYS = env_int("QUALITY_FOLLOW_UP_INTERVAL_DAYS", 91, minimum=1)
QUALITY_ENTRY_GRACE_DAYS = env_int("QUALITY_ENTRY_GRACE_DAYS", 30, minimum=0)
CELERY_BEAT_SCHEDULE = {
    "sweep-analysis-runs": {
        "task": "analytics.sweep_analysis_runs",
        "schedule": float(WORK_SWEEP_INTERVAL),
    },
    "sweep-exports": {"task": "exchange.sweep_exports", "schedule": float(WORK_SWEEP_INTERVAL)},
    "sweep-imports": {"task": "exchange.sweep_imports", "schedule": float(WORK_SWEEP_INTERVAL)},
    "run-quality-rules": {
        "task": "quality.run_rules",
        "schedule": float(QUALITY_RULES_INTERVAL),
    },
    # Notifications (quality.notifications): the daily digest, at NOTIFICATION_DIGEST_HOUR.
    "send-notification-digests": {
        "task": "quality.send_notification_digests",
        "schedule": crontab(minute=0, hour=digest_hour()),
    },
}

# The REST API (core/api and each app's api/, docs/api.md). Rates are
# "<n>/<second|minute|hour|day>" or "none" (off); tests and schemathesis runs set them
# high or off through the environment.
API_THROTTLE_RATES = {
    "user": env_str("API_THROTTLE_USER", "1200/minute"),
    # Password guessing: obtaining a token and re-entering the password to sign a casebook.
    "login": env_str("API_THROTTLE_LOGIN", "10/minute"),
    "token_create": env_str("API_THROTTLE_TOKEN_CREATE", "20/hour"),
}
API_TOKEN_DEFAULT_DAYS = env_int("API_TOKEN_DEFAULT_DAYS", 90, minimum=1)
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 365, minimum=1)
API_IDEMPOTENCY_HOURS = env_int("API_IDEMPOTENCY_HOURS", 24, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.RegistryAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.StrictJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.UserThrottle"],
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ES-SCLC registry API",
    "DESCRIPTION": "Every registry operation over HTTP: the same services, validation, centre "
    "scoping, audit and locks as the web pages. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema lists internal field and role names: only signed-in users may read it.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "core.roles.Role",
        "CasebookStatusEnum": "registry.choices.CasebookStatus",
        "EnrolmentStatusEnum": "registry.choices.EnrolmentStatus",
        "RecistResponseEnum": "registry.choices.RecistResponse",
        "SectionEnum": "registry.choices.Section",
        "SectionStatusEnum": "registry.choices.SectionStatus",
        "AnalysisRunStatusEnum": "analytics.models.AnalysisRun.Status",
        "ExportStatusEnum": "exchange.models.ExportJob.Status",
        "QueryStatusEnum": "quality.models.QueryStatus",
        "QueryOriginEnum": "quality.models.Query.Origin",
        "QueryMessageKindEnum": "quality.models.QueryMessage.Kind",
        "TokenStatusEnum": "core.api.serializers.TOKEN_STATUS_CHOICES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Exports (docs/exports.md). Files live outside MEDIA_ROOT: only the owner's download view serves
# them. The date-shift and pseudonym key (EXPORT_PSEUDONYM_KEY) is in the security block below.
EXPORT_ROOT = Path(env_str("EXPORT_ROOT", str(VAR_DIR / "exports")))
EXPORT_LINK_TTL_HOURS = env_int("EXPORT_LINK_TTL_HOURS", 24, minimum=1)
EXPORT_CHUNK_SIZE = env_int("EXPORT_CHUNK_SIZE", 2000, minimum=1)
# Processes writing an export's rows (forked, PostgreSQL only; docs/exports.md): one per core
# of the worker's machine is the useful most. 1: all in the worker's own process.
EXPORT_PROCESSES = env_int("EXPORT_PROCESSES", 2, minimum=1)

# -- email (notifications, docs/quality.md) ---------------------------------------------------
# Without configuration emails are printed on the console (the demo). In production either
# EMAIL_URL (smtp://user:password@host:587?tls=1, smtps://… for implicit TLS) or EMAIL_HOST
# with EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS / EMAIL_USE_SSL. Links
# in emails start with REGISTRY_BASE_URL. Checked here: a bad value stops the start-up.
_email = email_settings()
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"]
DEFAULT_FROM_EMAIL = _email["DEFAULT_FROM_EMAIL"]
SERVER_EMAIL = _email["SERVER_EMAIL"]
REGISTRY_BASE_URL = _email["REGISTRY_BASE_URL"]
# -- end of email ----------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# Security (docs/compliance.md): every control below is on by default once DEBUG is off; the
# demo (scripts/demo.sh sets DEBUG=1) runs without HTTPS-only parts and without 2FA.
# ---------------------------------------------------------------------------------------------

# The key of export date shifts and pseudonyms. Its own secret, never derived from SECRET_KEY:
# rotating SECRET_KEY (sessions, CSRF) must not change the shifted dates of the next export.
# EXPORT_DATE_SHIFT_KEY is its former name, still read.
DEMO_EXPORT_PSEUDONYM_KEY = "demo-only-export-pseudonym-key-not-a-secret"  # noqa: S105
EXPORT_PSEUDONYM_KEY = env_str("EXPORT_PSEUDONYM_KEY", env_str("EXPORT_DATE_SHIFT_KEY", ""))
if not DEBUG:
    if not EXPORT_PSEUDONYM_KEY or EXPORT_PSEUDONYM_KEY == DEMO_EXPORT_PSEUDONYM_KEY:
        raise ImproperEnvironment("EXPORT_PSEUDONYM_KEY: must be set to a secret when DEBUG is off")
    if EXPORT_PSEUDONYM_KEY == SECRET_KEY:
        raise ImproperEnvironment("EXPORT_PSEUDONYM_KEY: must differ from SECRET_KEY")
    if len(EXPORT_PSEUDONYM_KEY) < 32:
        raise ImproperEnvironment("EXPORT_PSEUDONYM_KEY: must be at least 32 characters")
elif not EXPORT_PSEUDONYM_KEY:
    EXPORT_PSEUDONYM_KEY = DEMO_EXPORT_PSEUDONYM_KEY

# HTTPS: redirect, HSTS and Secure cookies. Behind a TLS-terminating proxy, TRUSTED_PROXY_COUNT
# (below) makes its X-Forwarded-Proto trusted; SECURE_SSL_REDIRECT=0 only if the proxy redirects.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers and container health checks probe the app itself over plain HTTP: a redirect
# would read as "down". /healthz names no one and holds no patient data.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# The language cookie (core/language.py) outlives the session: the login page keeps it.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# The client address: REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies in front of the app each
# append to X-Forwarded-For (then the entry that many places from the right). A client can
# write anything into that header, so it is never read without this setting.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp): scripts and styles from our own static files only, no
# inline script or style attribute anywhere; the ReDoc page relaxes styles (core.security.csp).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Sessions: idle logout after SESSION_IDLE_MINUTES without a request (the page warns a minute
# before), and an absolute maximum of SESSION_MAX_HOURS from sign-in.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_MAX_HOURS = env_int("SESSION_MAX_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Passwords: 12 characters or more, not like the username, not common, not all digits.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 12, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "core.security.passwords.UsernameInPasswordValidator"},
]
# An account created or reset by an administrator sets its own password at first sign-in;
# with PASSWORD_MAX_AGE_DAYS (0: never) an older password must be changed at sign-in.
PASSWORD_MAX_AGE_DAYS = env_int("PASSWORD_MAX_AGE_DAYS", 0, minimum=0)

# Lockout (django-axes, in the authentication backend: the login page, the admin and the API
# token endpoint share it). Failures are counted in the database, so every process sees them,
# per username and per client address; a lock ends after LOGIN_LOCKOUT_MINUTES (0: only an
# administrator unlocks, in the admin's "Access attempts").
AUTHENTICATION_BACKENDS = [
    "core.security.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
_lockout_minutes = env_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=0)
AXES_COOLOFF_TIME = (_lockout_minutes / 60) if _lockout_minutes else None
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.security.client.client_address"
AXES_LOCKOUT_CALLABLE = "core.security.views.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

# Two-factor authentication (django-otp, TOTP with backup codes): required for every role once
# DEBUG is off. A user without a device is sent to enrol at first sign-in. Roles listed in
# TWO_FACTOR_EXEMPT_ROLES (e.g. "pi": never sees identifiers) may skip it.
REQUIRE_2FA = env_bool("REQUIRE_2FA", not DEBUG)
TWO_FACTOR_EXEMPT_ROLES = [
    role.strip() for role in env_str("TWO_FACTOR_EXEMPT_ROLES", "").split(",") if role.strip()
]
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "ES-SCLC registry")

# Imports (docs/imports.md): uploaded files are kept outside MEDIA_ROOT for the preview and
# the commit; a file over IMPORT_MAX_BYTES is refused before it is read.
IMPORT_ROOT = Path(env_str("IMPORT_ROOT", str(VAR_DIR / "imports")))
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
# The preview keeps this many problems and changes for the page and the API (counts are exact).
IMPORT_PREVIEW_MAX_ITEMS = env_int("IMPORT_PREVIEW_MAX_ITEMS", 5000, minimum=10)
# The import upload (page and API) may send a file up to IMPORT_MAX_BYTES, plus the form.
UPLOAD_BODY_LIMITS = {
    "/imports/": IMPORT_MAX_BYTES + 64 * 1024,
    "/api/v1/imports/": IMPORT_MAX_BYTES + 64 * 1024,
}

"""Settings for the registry, read from the environment.

With nothing set the registry runs on a SQLite file with Celery tasks executed
eagerly (the embedded default). DATABASE_URL and CELERY_BROKER_URL/REDIS_URL
switch it to PostgreSQL and a real Celery worker.
"""

from pathlib import Path

import dj_database_url

from config.env import ImproperEnvironment, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("REGISTRY_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # Sessions, CSRF tokens and export date shifts derive from it: never a default.
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
    "core.api",
    "registry",
    "quality",
    "analytics",
    "exchange",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.HostileInputMiddleware",  # issue 14: 413/400 before anything parses
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",  # issue 14: database lost -> 503
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
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'registry.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db))}
except ValueError as exc:
    raise ImproperEnvironment(f"DATABASE_URL: {exc}") from None
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 0, minimum=0)
DATABASE_IS_EMBEDDED = DATABASES["default"]["ENGINE"].endswith("sqlite3")
if DATABASE_IS_EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)

AUTH_USER_MODEL = "registry.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "registry:patient_list"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = VAR_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

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
    "run-quality-rules": {
        "task": "quality.run_rules",
        "schedule": float(QUALITY_RULES_INTERVAL),
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
# them. The date-shift key must stay secret and stable, or shifted dates change between exports;
# without one it is derived from SECRET_KEY (so it changes if SECRET_KEY does).
EXPORT_ROOT = Path(env_str("EXPORT_ROOT", str(VAR_DIR / "exports")))
EXPORT_LINK_TTL_HOURS = env_int("EXPORT_LINK_TTL_HOURS", 24, minimum=1)
EXPORT_DATE_SHIFT_KEY = env_str("EXPORT_DATE_SHIFT_KEY", "")
EXPORT_CHUNK_SIZE = env_int("EXPORT_CHUNK_SIZE", 2000, minimum=1)

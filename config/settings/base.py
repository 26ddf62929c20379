"""Settings shared by every environment; everything that varies comes from the environment.

The embedded default (no DATABASE_URL) is a SQLite file in WAL mode with IMMEDIATE transactions: every
write transaction takes the database write lock up front, so two writers can never both read the same
stock level and oversell. PostgreSQL is used as soon as DATABASE_URL points at it.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "stock",
    "reservations",
    "reporting",
]

# Sessions, CSRF, auth and messages are Django's, skipped under API_PATH_PREFIX (config/middleware.py):
# API calls authenticate with an API key and never use them.
API_PATH_PREFIX = "/api/v1/"
MIDDLEWARE = [
    "reservations.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "config.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

# --- database -------------------------------------------------------------------------------------
SQLITE_PATH = BASE_DIR / "var" / "db.sqlite3"
SQLITE_PATH.parent.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # Persistent connections pay off under gunicorn's fixed workers (production sets 60); runserver opens a
    # thread per request, where they would pile up, so the default closes them.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    # A health check is one extra round trip (SELECT 1) per request; off by default since a connection
    # broken by a database restart fails one request and is then discarded (docs/performance.md).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=False)
    # A lock wait longer than this is a failure answered with the operation's `_failed` code,
    # not a request that hangs until the client times out.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", f"-c lock_timeout={env.int('DB_LOCK_TIMEOUT_MS', default=3000)}"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ATOMIC_REQUESTS = False  # locks are held only inside service functions

# --- cache (throttling) ---------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- domain ---------------------------------------------------------------------------------------
RESERVATION_TTL_SECONDS = env.int("RESERVATION_TTL_SECONDS", default=900)
RESERVATION_MAX_QUANTITY = env.int("RESERVATION_MAX_QUANTITY", default=1000)
RESERVATION_SWEEP_SECONDS = env.int("RESERVATION_SWEEP_SECONDS", default=30)
# Reservations expired per sweep transaction: bigger batches cost fewer round trips but hold the stock
# rows of their SKUs longer (an API call on one of those SKUs may wait for the batch to commit).
RESERVATION_SWEEP_BATCH_SIZE = env.int("RESERVATION_SWEEP_BATCH_SIZE", default=1000)
EXPORT_INTERVAL_SECONDS = env.int("EXPORT_INTERVAL_SECONDS", default=300)
# How far a client's updateReservation `timestamp` may run ahead of our clock, or lag behind it.
UPDATE_TIMESTAMP_MAX_FUTURE_SECONDS = env.int("UPDATE_TIMESTAMP_MAX_FUTURE_SECONDS", default=300)
UPDATE_TIMESTAMP_MAX_AGE_SECONDS = env.int("UPDATE_TIMESTAMP_MAX_AGE_SECONDS", default=86400)
# Units of a client's throttle budget a web process takes from Redis at a time (reservations/api/auth.py):
# fewer round trips, at the price of refusing a client up to processes x (lease - 1) requests early.
API_THROTTLE_LEASE = env.int("API_THROTTLE_LEASE", default=20)
# Failed API-key authentications allowed per client address and minute before answering 429.
AUTH_FAILURES_PER_MINUTE = env.int("AUTH_FAILURES_PER_MINUTE", default=30)
# How long a verified API key is remembered by each web process: a revocation reaches every process
# within this many seconds (immediately in the process that saved it). 0 turns the cache off.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5)
# How many times a write that hit a deadlock or serialization failure is retried before the client
# gets the operation's `_failed` code.
DB_RETRY_ATTEMPTS = env.int("DB_RETRY_ATTEMPTS", default=3)

# --- background work (Celery) ------------------------------------------------------------------------
# Redis when REDIS_URL is set; otherwise kombu's filesystem transport under var/, so `make run` needs no
# broker server. Results are never read, so there is no result backend.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _BROKER_DIR = BASE_DIR / "var" / "broker"
    for _folder in ("queue", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # One folder for in and out: the web, worker and beat processes share one queue.
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers an unacknowledged (acks_late) message after this long; it must exceed the
    # longest a task may run, or a slow export would be started a second time while still running.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
# One message at a time per process: tasks are few and long, so prefetching only delays the others.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# acks_late is switched on per task, only for tasks that are safe to run twice.
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = env(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "var" / "celerybeat-schedule")
)

# --- event delivery (Redis Stream) -----------------------------------------------------------------
# Push delivery is on when a Redis is configured; without one the pull feed /api/v1/events/ is the
# only interface and beat does not schedule the relay.
EVENT_STREAM_REDIS_URL = env("EVENT_STREAM_REDIS_URL", default=REDIS_URL)
EVENT_STREAM_NAME = env("EVENT_STREAM_NAME", default="reservations.events")
# Approximate cap (XADD MAXLEN ~): consumers further behind than this re-read from the pull feed.
EVENT_STREAM_MAXLEN = env.int("EVENT_STREAM_MAXLEN", default=1_000_000)
EVENT_RELAY_BATCH_SIZE = env.int("EVENT_RELAY_BATCH_SIZE", default=500)
EVENT_RELAY_SECONDS = env.int("EVENT_RELAY_SECONDS", default=5)
# A run that could not start before its next one is due is dropped (`expires`): the next run does the
# same work, so a backlog of identical runs after an outage would only queue up.
CELERY_BEAT_SCHEDULE = {
    "expire-reservations": {
        "task": "reservations.tasks.expire_reservations",
        "schedule": float(RESERVATION_SWEEP_SECONDS),
        "options": {"expires": float(RESERVATION_SWEEP_SECONDS)},
    },
    "export-events": {
        "task": "reporting.tasks.export_events",
        "schedule": float(EXPORT_INTERVAL_SECONDS),
        "options": {"expires": float(EXPORT_INTERVAL_SECONDS)},
    },
}
if EVENT_STREAM_REDIS_URL:  # without a stream to push to there is nothing to relay
    CELERY_BEAT_SCHEDULE["publish-events"] = {
        "task": "reservations.tasks.publish_events",
        "schedule": float(EVENT_RELAY_SECONDS),
        "options": {"expires": float(EVENT_RELAY_SECONDS)},
    }

# --- batch export of events -------------------------------------------------------------------------
EXPORT_BATCH_SIZE = env.int("EXPORT_BATCH_SIZE", default=50_000)
# How long one attempt may take before another exporter redoes the batch. Longer than the task's hard
# time limit, so a live attempt is always killed before anyone takes its batch over.
EXPORT_LEASE_SECONDS = env.int("EXPORT_LEASE_SECONDS", default=600)
# Files go through the "exports" storage: a local folder by default, S3 with EXPORT_STORAGE=s3
# (django-storages; credentials from the usual AWS_* environment variables or an instance role).
EXPORT_STORAGE = env("EXPORT_STORAGE", default="local")
EXPORTS_ROOT = env("EXPORTS_ROOT", default=str(BASE_DIR / "var" / "exports"))
if EXPORT_STORAGE == "s3":
    _EXPORTS_BACKEND = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("EXPORT_S3_BUCKET"),
            "location": env("EXPORT_S3_PREFIX", default="exports"),
            "default_acl": "private",
            "file_overwrite": True,
            "querystring_auth": True,
        },
    }
else:
    _EXPORTS_BACKEND = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": EXPORTS_ROOT},
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "exports": _EXPORTS_BACKEND,
}
# Test hook only: seconds the export sleeps between writing a batch's files and publishing it, so a
# test can kill the worker at the worst moment. Always 0 outside that test.
EXPORT_PAUSE_BEFORE_PUBLISH_SECONDS = env.float("EXPORT_PAUSE_BEFORE_PUBLISH_SECONDS", default=0.0)

# --- auth, i18n, static ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves the admin's and Swagger UI / Redoc's assets (drf-spectacular-sidecar) from the app
# itself, so the docs need no CDN and no separate web server, with DEBUG off too.
WHITENOISE_USE_FINDERS = True

# --- REST framework and OpenAPI -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["reservations.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["reservations.api.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["reservations.api.auth.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": env("API_THROTTLE_RATE", default="6000/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["reservations.api.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "reservations.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Checkout Reservations API",
    "DESCRIPTION": (
        "Temporary stock reservations for checkout. Every call needs `Authorization: Api-Key <key>`. "
        "Errors are `application/problem+json` with a stable `code` member."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ReservationStatusEnum": "reservations.models.ReservationStatus",
        "ExportBatchStatusEnum": "reporting.models.ExportBatch.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {},
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The filesystem broker has no host; kombu warns about it at every connection of every process.
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}

# --- demo data (make run) -------------------------------------------------------------------------
# Fixed so the README's curl calls work verbatim on a local run; never load the demo in production.
DEMO_API_KEY = env("DEMO_API_KEY", default="demokey1.LocalDemoOnlyNotASecret0000000")
DEMO_ADMIN_PASSWORD = env("DEMO_ADMIN_PASSWORD", default="demo-admin-pass")

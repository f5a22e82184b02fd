"""Tiandi settings: one module, configured from the environment (12-factor).

With nothing set, Tiandi runs embedded: SQLite under var/, in-memory channel layer and
cache, Celery tasks and the beat schedule in-process. Set DATABASE_URL and REDIS_URL for
production (PostgreSQL + Redis); DJANGO_DEBUG=0 with a real DJANGO_SECRET_KEY makes
`manage.py check --deploy` clean.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env.bool("DJANGO_DEBUG", default=True)
_DEV_SECRET = "tiandi-embedded-dev-secret-key-not-for-production-0123456789abcdef"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=_DEV_SECRET)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Only behind a proxy that sets it: the first X-Forwarded-For hop is the client.
TRUST_X_FORWARDED_FOR = env.bool("TRUST_X_FORWARDED_FOR", default=False)

# ---------------------------------------------------------------------------------------
# Apps: Django, third-party, Tiandi
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third-party
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "django_celery_beat",
    # Tiandi: the core (people, goods, places)
    "retail",
    "members",
    "devices",
    "shelves",
    "promotions",
    "guides",
]

MIDDLEWARE = [
    "retail.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "retail.middleware.ApiBodySizeLimitMiddleware",
    "retail.middleware.ApiTrailingSlashMiddleware",
    "retail.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "retail.middleware.PrincipalMiddleware",
]

ROOT_URLCONF = "retail.urls"
ASGI_APPLICATION = "retail.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "retail.context_processors.principal",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------
# Database: SQLite file under var/ by default; DATABASE_URL=postgres://... for production.
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tiandi.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3 connection pool (Django >= 5.1; needs CONN_MAX_AGE = 0). Under ASGI every
    # request runs its sync code in a fresh thread, so without a pool each request opens a
    # new connection: the pool nearly doubled /healthz throughput (docs/architecture.md).
    if env.bool("DATABASE_POOL", default=True):
        _db["CONN_MAX_AGE"] = 0
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=20),
        }
    else:
        _db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        _db["CONN_HEALTH_CHECKS"] = True
else:
    _db.setdefault("OPTIONS", {})
    # WAL + a busy timeout keep the embedded server usable under concurrent requests.
    _db["OPTIONS"].setdefault("timeout", 20)
    _db["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    _db["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
IS_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------------------
# Redis: cache, channel layer and Celery broker. Absent → everything in-process.
REDIS_URL = env("REDIS_URL", default="")
# Parallel test workers (pytest-xdist) share one Redis: keep their keys and groups apart.
_WORKER = env("PYTEST_XDIST_WORKER", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="tiandi") + _WORKER,
        }
    }
    # "core": a list per channel (a group message is one push per member channel, and each
    # process pops them one by one); "pubsub": Redis pub/sub (a group message is one PUBLISH
    # per group, fanned out to the process's consumers in memory; at most once, which the
    # live pages' sequence numbers and resyncs absorb). Pub/sub is the default: the whole
    # suite runs on it, and fan-out to 1,000 sockets has a lower p99 with no missed
    # deliveries (docs/benchmarks.md, ws_fanout).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": {
                "core": "channels_redis.core.RedisChannelLayer",
                "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
            }[env("CHANNEL_LAYER", default="pubsub")],
            "CONFIG": {
                "hosts": env.list("CHANNEL_REDIS_HOSTS", default=[REDIS_URL]),
                "prefix": env("CHANNEL_PREFIX", default="tiandi") + _WORKER,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# ---------------------------------------------------------------------------------------
# Celery — https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Embedded mode: the beat loop runs in a thread of the server process (retail.embedded).
EMBEDDED_BEAT = env.bool("EMBEDDED_BEAT", default=not REDIS_URL)
# Long jobs (retail.jobs.enqueue_job): inline after commit when true (tests); otherwise a
# worker runs them, or, with eager Celery (embedded mode), a thread of the server process.
JOBS_INLINE = env.bool("JOBS_INLINE", default=False)

# Members: points credited this many days ago and not used since lapse (monthly job).
POINTS_EXPIRE_AFTER_DAYS = env.int("POINTS_EXPIRE_AFTER_DAYS", default=730)

# ---------------------------------------------------------------------------------------
# Auth, i18n, time
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "retail:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# ---------------------------------------------------------------------------------------
# Static files: vendored under static/, served by WhiteNoise (no CDN).
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
# Uploaded files (member imports). Production: a volume shared by web and workers, or set
# STORAGES["default"] to an object store.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"  # never served publicly: imports are read by services only
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Content-Security-Policy of our pages (retail.middleware.ContentSecurityPolicyMiddleware).
CONTENT_SECURITY_POLICY = env(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'",
)

# ---------------------------------------------------------------------------------------
# Member PII: MultiFernet keys, newest first; all decrypt, the first encrypts.
# A separate key makes the blind index (HMAC-SHA256) for exact phone lookup.
_DEV_PII_KEY = "dGlhbmRpLWVtYmVkZGVkLWRldi1waWkta2V5LTAwMDA="  # 32 bytes, dev only
PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[_DEV_PII_KEY])
_DEV_BLIND_INDEX_KEY = "tiandi-dev-blind-index-key"
PII_BLIND_INDEX_KEY = env("PII_BLIND_INDEX_KEY", default=_DEV_BLIND_INDEX_KEY)

# ---------------------------------------------------------------------------------------
# Partner API — https://www.django-rest-framework.org/api-guide/settings/
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1_048_576)
API_DEFAULT_RATE_PER_MINUTE = env.int("API_DEFAULT_RATE_PER_MINUTE", default=6000)
# Aggregate sales figures on pages are cached this long (0: always fresh).
SALES_FIGURES_CACHE_SECONDS = env.int("SALES_FIGURES_CACHE_SECONDS", default=60)
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=48)
DOMAIN_EVENT_RETENTION_DAYS = env.int("DOMAIN_EVENT_RETENTION_DAYS", default=30)
# Staff notifications read or resolved this long ago are deleted nightly (open ones stay until
# someone acts). Longer than the outbox's retention: no event left to redeliver can find its
# dedupe row gone and notify twice.
NOTIFICATION_RETENTION_DAYS = max(
    env.int("NOTIFICATION_RETENTION_DAYS", default=90), DOMAIN_EVENT_RETENTION_DAYS + 1
)

# Webhooks (retail.webhooks): per-attempt timeout, retries with exponential back-off
# (base × 2^(attempt-1), capped), the dead-letter limit, the circuit breaker, the overlap of
# a rotated secret, and whether endpoints on private / loopback addresses are allowed (only
# for development and tests: in production a partner must not reach our internal network).
# Coupons (promotions): failed code attempts per window before 429 (per user 10, API client
# 60, store 30: promotions.services.guard), and the Redis stock gate of flash sales
COUPON_GUESS_WINDOW_SECONDS = env.int("COUPON_GUESS_WINDOW_SECONDS", default=600)
COUPON_STOCK_GATE = env.bool("COUPON_STOCK_GATE", default=True)

# Guide workbench (guides.providers): the telephony bridge and the messaging provider. A
# brand picks "simulated" or "http" in its workbench settings; the HTTP providers need these.
# Callback secrets: empty derives one from SECRET_KEY (set a shared secret in production).
TELEPHONY_HTTP_URL = env("TELEPHONY_HTTP_URL", default="")
TELEPHONY_HTTP_API_KEY = env("TELEPHONY_HTTP_API_KEY", default="")
TELEPHONY_HTTP_TIMEOUT_SECONDS = env.float("TELEPHONY_HTTP_TIMEOUT_SECONDS", default=5.0)
TELEPHONY_CALLBACK_SECRET = env("TELEPHONY_CALLBACK_SECRET", default="")
TELEPHONY_CALLBACK_BASE_URL = env("TELEPHONY_CALLBACK_BASE_URL", default="")
TELEPHONY_SIMULATOR_STEP_SECONDS = env.float("TELEPHONY_SIMULATOR_STEP_SECONDS", default=1.0)
TELEPHONY_SIMULATOR_POST_URL = env("TELEPHONY_SIMULATOR_POST_URL", default="")
TELEPHONY_SIMULATOR_SCENARIO = env("TELEPHONY_SIMULATOR_SCENARIO", default="")
MESSAGING_HTTP_URL = env("MESSAGING_HTTP_URL", default="")
MESSAGING_HTTP_API_KEY = env("MESSAGING_HTTP_API_KEY", default="")
MESSAGING_HTTP_TIMEOUT_SECONDS = env.float("MESSAGING_HTTP_TIMEOUT_SECONDS", default=10.0)
MESSAGING_CALLBACK_SECRET = env("MESSAGING_CALLBACK_SECRET", default="")
MESSAGING_SIMULATOR_STEP_SECONDS = env.float("MESSAGING_SIMULATOR_STEP_SECONDS", default=0.5)
MESSAGING_SIMULATOR_POST_URL = env("MESSAGING_SIMULATOR_POST_URL", default="")
MESSAGING_SIMULATOR_OUTCOME = env("MESSAGING_SIMULATOR_OUTCOME", default="")
GUIDES_BROADCAST_CHUNK = env.int("GUIDES_BROADCAST_CHUNK", default=5000)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_BACKOFF_BASE_SECONDS = env.int("WEBHOOK_BACKOFF_BASE_SECONDS", default=30)
WEBHOOK_BACKOFF_MAX_SECONDS = env.int("WEBHOOK_BACKOFF_MAX_SECONDS", default=6 * 3600)
WEBHOOK_BREAKER_FAILURES = env.int("WEBHOOK_BREAKER_FAILURES", default=10)
WEBHOOK_SECRET_OVERLAP_HOURS = env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24)
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=DEBUG)
# One pump run sends for at most this long, then queues itself again (slow receivers never
# hold a worker for long); a fresh event's first attempt waits at most this long for older
# transactions to commit (PostgreSQL commits can come out of event-id order).
WEBHOOK_PUMP_BUDGET_SECONDS = env.float("WEBHOOK_PUMP_BUDGET_SECONDS", default=20.0)
WEBHOOK_ORDER_SETTLE_SECONDS = env.float("WEBHOOK_ORDER_SETTLE_SECONDS", default=2.0)
# Webhook pumps and redeliveries wait on partners' endpoints: their own queue and workers
# (Procfile `webhooks`), so a slow receiver never delays imports, events or drills.
CELERY_TASK_ROUTES = {
    "retail.tasks.pump_webhook_task": {"queue": "webhooks"},
    "retail.tasks.redeliver_webhook_task": {"queue": "webhooks"},
}

# The partner-API request log (retail.requestlog): buffered per process, written every N rows
# or T seconds, kept for N days.
API_REQUEST_LOG_DAYS = env.int("API_REQUEST_LOG_DAYS", default=7)
API_REQUEST_LOG_FLUSH_ROWS = env.int("API_REQUEST_LOG_FLUSH_ROWS", default=100)
API_REQUEST_LOG_FLUSH_SECONDS = env.float("API_REQUEST_LOG_FLUSH_SECONDS", default=2.0)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 2_621_440)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["retail.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["retail.api.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["retail.api.throttling.TokenRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "retail.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["retail.api.filtering.StrictFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["retail.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "retail.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # No OPTIONS metadata: the OpenAPI schema describes every operation (OPTIONS is a 405)
    "DEFAULT_METADATA_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tiandi partner API",
    "DESCRIPTION": "Stores, products, members, orders, devices, cloud shelves and webhooks of "
    "one brand. Bearer tokens with scopes, Idempotency-Key on every POST, cursor pagination, "
    'one error shape `{"error": {"code", "message", "fields"}}` for every 4xx.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "retail.api.schema.add_error_responses",
    ],
    # Choice sets that share a field name across apps get explicit component names.
    "ENUM_NAME_OVERRIDES": {
        "OrderChannelEnum": "retail.choices.Channel",
        "ConsentChannelEnum": "members.choices.ConsentChannel",
        "ConsentSourceEnum": "members.choices.ConsentSource",
        "MemberSourceEnum": "members.choices.MemberSource",
        "NoticeKindEnum": "devices.choices.NoticeKind",
        "DeviceKindEnum": "devices.choices.DeviceKind",
        "DeviceStatusEnum": "devices.choices.DeviceStatus",
        "ScreenStatusEnum": "shelves.choices.ScreenStatus",
        "ShelfSlotEnum": "shelves.choices.Slot",
        "WebhookDeliveryStatusEnum": "retail.choices.DeliveryStatus",
        "PhaseKindEnum": "promotions.choices.PhaseKind",
        "DiscountKindEnum": "promotions.choices.DiscountKind",
        "CouponChannelEnum": "promotions.choices.CouponChannel",
        "CouponStatusEnum": "promotions.choices.CouponStatus",
        "CampaignStatusEnum": "promotions.choices.CampaignStatus",
        "ClaimViaEnum": "promotions.choices.ClaimVia",
        "InteractionKindEnum": "guides.choices.InteractionKind",
    },
}

# ---------------------------------------------------------------------------------------
# Production hardening (DJANGO_DEBUG=0): `manage.py check --deploy` is clean.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

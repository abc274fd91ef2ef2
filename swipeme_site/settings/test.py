"""Tests: the same embedded PostgreSQL and Redis as `make run`, in their own database and
Redis logical db so that a running dev server is not disturbed."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from swipeme_site.embedded import REDIS_PORT
from swipeme_site.env import env_str

from .base import *  # noqa: F403
from .base import DATABASES, REST_FRAMEWORK, cache_config

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# `make pytest` runs the suite on pytest-xdist workers (gw0, gw1, ...). Each, and every
# process it starts (they inherit PYTEST_XDIST_WORKER), has its own database, Redis db, media
# root and search index: the names below plus "_gwN", the Redis db SWIPEME_TEST_REDIS_DB + N.
# (pytest-django's own _gwN suffix is turned off in tests/conftest.py: this one is also what
# a worker's Celery worker and live server see.)
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_WORKER_INDEX = int(_XDIST_WORKER.removeprefix("gw")) if _XDIST_WORKER else 0
_WORKER_SUFFIX = f"_{_XDIST_WORKER}" if _XDIST_WORKER else ""

DATABASES["default"]["TEST"] = {
    "NAME": env_str("SWIPEME_TEST_DB_NAME", "test_swipeme") + _WORKER_SUFFIX}
# `make pytest` migrates one database and has each test database cloned from it
# (tests/template_db.py): a file copy instead of a minute of migrations per database.
if env_str("SWIPEME_TEST_DB_TEMPLATE", ""):
    DATABASES["default"]["TEST"]["TEMPLATE"] = env_str("SWIPEME_TEST_DB_TEMPLATE")
# Fresh connections per request, except for a fault test's server (production's persistent
# connections, which must recover by themselves after a PostgreSQL restart).
DATABASES["default"]["CONN_MAX_AGE"] = int(env_str("SWIPEME_TEST_CONN_MAX_AGE", "0"))

# A separate logical Redis db, flushed between tests by tests/conftest.py.
# Under xdist, worker N takes SWIPEME_TEST_REDIS_DB + N (9 and 10 by default).
_redis_db = int(os.environ.get("SWIPEME_TEST_REDIS_DB", "9")) + _WORKER_INDEX
if not 0 <= _redis_db <= 15:
    raise ImproperlyConfigured(
        f"test Redis db {_redis_db} (SWIPEME_TEST_REDIS_DB + xdist worker {_WORKER_INDEX}) "
        "is outside Redis' 0-15: choose a lower SWIPEME_TEST_REDIS_DB or fewer workers")
REDIS_URL = env_str("TEST_REDIS_URL", f"redis://127.0.0.1:{REDIS_PORT}/{_redis_db}")
# The test machine is shared and busy: hot-path Redis timeouts that a slow moment does not
# trip (tests/faults run their server with production's own).
SWIPEME_REDIS_SOCKET_TIMEOUT = float(env_str("SWIPEME_REDIS_SOCKET_TIMEOUT", "0.5"))
SWIPEME_REDIS_CONNECT_TIMEOUT = float(env_str("SWIPEME_REDIS_CONNECT_TIMEOUT", "0.5"))
CACHES = {"default": cache_config(REDIS_URL, "swipeme-test",
                                  socket_timeout=SWIPEME_REDIS_SOCKET_TIMEOUT,
                                  connect_timeout=SWIPEME_REDIS_CONNECT_TIMEOUT)}
CHANNEL_LAYER_HOST = {"address": REDIS_URL, "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,  # noqa: F405
                      "max_connections": CHANNEL_LAYER_MAX_CONNECTIONS, "timeout": 10}  # noqa: F405
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "apps.core.channel_layer.RedisChannelLayer",
        "CONFIG": {"hosts": [CHANNEL_LAYER_HOST], "prefix": f"swipeme-test{_WORKER_SUFFIX}:asgi",
                   "channel_capacity": CHANNEL_LAYER_CAPACITY},  # noqa: F405
    }
}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
MEDIA_ROOT = Path(env_str("SWIPEME_TEST_MEDIA_ROOT", str(BASE_DIR / "var" / "test-media"))  # noqa: F405
                  + _WORKER_SUFFIX)
WHITENOISE_USE_FINDERS = True
# Live media beside the media root, per pytest run and xdist worker (tests/live/conftest.py).
SWIPEME_LIVE_ROOT = MEDIA_ROOT.parent / f"live-{MEDIA_ROOT.name}"
SWIPEME_LIVE_X264_PRESET = "ultrafast"  # two shared cores: the ladder's shape, not quality
# The ingest's tests run ffmpeg's 1 s-segment HLS (the fallback) end to end; the LL-HLS
# transcoder (production's default) is tested without nginx (tests/live/test_llhls_*.py).
SWIPEME_LIVE_PACKAGER = env_str("SWIPEME_LIVE_PACKAGER", "hls")
# A small chat outbox, so the slow-socket test overflows it with a few frames.
SWIPEME_LIVE_CHAT_OUTBOX_FRAMES = 32
SWIPEME_SERVE_PUBLIC_MEDIA = True  # swipeme_site/urls.py: nginx's /media/ for the test server
# Each pytest run (SWIPEME_TEST_DB_NAME) has its own search index beside its media.
_search_dir = env_str("SWIPEME_SEARCH_INDEX_DIR", "")
SWIPEME_SEARCH_INDEX_DIR = (
    Path(_search_dir + _WORKER_SUFFIX) if _search_dir
    else MEDIA_ROOT.parent / f"search-{DATABASES['default']['TEST']['NAME']}")
# No drain requests after commits: the session worker would drain (or, the index being
# unbuilt, rebuild) the shared test index under other tests' feet; tests of the real
# drain turn it on (tests/search/test_indexing_worker.py).
SWIPEME_SEARCH_DRAIN_ON_COMMIT = False
# Tests edit the search-blocked term lists and search at once (and roll the edits back):
# no per-process copy; tests/search/test_blocked_terms_cache.py turns it on.
SWIPEME_SEARCH_BLOCKED_RELOAD_SECONDS = 0.0
# Throttles stay on (tests exercise them) but generous enough not to trip by accident.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {  # type: ignore[index]
    **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],  # type: ignore[dict-item]
    "write_burst": "1000/min",
}
ACCOUNT_RATE_LIMITS = False  # type: ignore[assignment]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"handlers": [], "level": "WARNING"},
}

# Subprocesses that tests start (a Celery worker, a live ASGI server) must see the test
# database that pytest-django created, not the dev one.
if os.environ.get("SWIPEME_USE_TEST_DB") == "1":
    DATABASES["default"]["NAME"] = DATABASES["default"]["TEST"]["NAME"]
# Push delivery's tests run local push services on loopback, and back off in milliseconds.
SWIPEME_WEBPUSH_ALLOW_PRIVATE_ENDPOINTS = True
SWIPEME_VAPID_KEY_FILE = Path(MEDIA_ROOT) / "vapid" / "private_key.pem"
SWIPEME_PUSH_BACKOFF_SECONDS = 0.05
SWIPEME_PUSH_TIMEOUT = 5.0
# The ads landing-page check may fetch these hosts over plain http (a test's own local
# server): the portal's browser tests start a web server with this set (comma-separated).
SWIPEME_ADS_LANDING_TEST_HOSTS = tuple(
    host for host in env_str("SWIPEME_ADS_LANDING_TEST_HOSTS", "").split(",") if host)
# The ranker's heads are not compiled in the background when a test loads an artefact
# (~3 s of CPU a head; tests/feed/test_compiled_trees.py compiles its own, into tmp_path).
SWIPEME_FEED_COMPILE_RANKER = False

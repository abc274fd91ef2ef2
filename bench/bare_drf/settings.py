"""A minimal Django project with one bare DRF APIView: the floor bench/api_latency.py
compares the project's /api/v1/ping with (same server flags, same run). No database, no
middleware, DEBUG off, DRF's default settings."""

SECRET_KEY = "bench-only-not-secret"  # serves 127.0.0.1 during a benchmark only
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bare_drf.urls"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

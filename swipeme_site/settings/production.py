"""Production: secrets have no default; HTTPS everywhere. Passes `check --deploy`."""

from swipeme_site.env import env_bool, env_int, env_list, env_str

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# nginx sits in front (docker/): throttles key on the client address it saw, not on an
# X-Forwarded-For header the client could vary.
REST_FRAMEWORK["NUM_PROXIES"] = env_int("SWIPEME_NUM_PROXIES", 1)  # noqa: F405
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Health checks come from inside the cluster over plain HTTP.
# internal/live/: nginx-rtmp's callbacks come from the ingest container over plain HTTP on
# the internal network (docker/compose.yaml); a redirect would be taken as a stream rename.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$", r"^internal/live/"]
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 587)
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", True)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
# Web Push: the VAPID private key comes from the environment only (SWIPEME_VAPID_PRIVATE_KEY
# or SWIPEME_VAPID_PRIVATE_KEY_FILE; unset = Web Push off), never from a file under var/;
# subscriptions must be https:// on public hosts (our workers POST to them: no SSRF).
SWIPEME_VAPID_KEY_FILE = None
SWIPEME_WEBPUSH_ALLOW_PRIVATE_ENDPOINTS = False
# Tax forms: the encryption keys come from the environment only (never derived from
# SECRET_KEY); without them, saving or reading a tax form fails loudly.
SWIPEME_TAX_FORM_KEYS = env_list("SWIPEME_TAX_FORM_KEYS", [])
SWIPEME_TAX_FORM_KEYS_DERIVED_OK = False
# KYC document files: the same, with their own keys (SWIPEME_KYC_FILE_KEYS).
SWIPEME_KYC_FILE_KEYS = env_list("SWIPEME_KYC_FILE_KEYS", [])
SWIPEME_KYC_FILE_KEYS_DERIVED_OK = False

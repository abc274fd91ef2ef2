"""Django's own deploy checks for CSRF (security.W003) and X-Frame-Options (security.W002)
look for the original class paths in MIDDLEWARE; we list apps.core.page_middleware's
wrappers instead (the same middleware, skipped only by the API's token and cookieless
calls), so those two are silenced in settings and checked here: each protection must be in
MIDDLEWARE, as the original or as its wrapper."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

PROTECTIONS = {
    "core.E001": "django.middleware.csrf.CsrfViewMiddleware",
    "core.E002": "django.middleware.clickjacking.XFrameOptionsMiddleware",
}


@register(Tags.security, deploy=True)
def page_protections_installed(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from apps.core.page_middleware import WRAPPED

    installed = set(settings.MIDDLEWARE)
    return [
        Error(f"Neither {path} nor its page-only wrapper {WRAPPED.get(path)} is in MIDDLEWARE.",
              hint="Pages would lose this protection.", id=check_id)
        for check_id, path in PROTECTIONS.items()
        if path not in installed and WRAPPED.get(path) not in installed
    ]

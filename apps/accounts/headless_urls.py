"""allauth's headless URLs without its phone-number endpoints.

SwipeMe accounts have no phone number (no `phone` sign-up field, no SMS sender), yet
allauth routes `account/phone`, `auth/phone/verify` and `auth/phone/verify/resend` for both
clients regardless, and they answer 500 (`NotImplementedError` from the adapter's
`get_phone`). Leaving them out of the URL tree makes them 404, and allauth's served
specification (`/_allauth/openapi.*`, merged into ours by `apps.core.schema`) drops every
path that does not resolve, so they leave the schema too."""

from __future__ import annotations

from allauth.headless import urls as headless_urls
from django.urls import URLPattern, URLResolver

app_name = "headless"

# URL names of allauth's phone endpoints (allauth.headless.account.urls).
PHONE_URL_NAMES = frozenset({"manage_phone", "verify_phone", "resend_phone_verification_code"})


def _without_phone(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    kept: list[URLPattern | URLResolver] = []
    for entry in patterns:
        if isinstance(entry, URLPattern):
            if entry.name not in PHONE_URL_NAMES:
                kept.append(entry)
            continue
        resolver = URLResolver(
            entry.pattern, _without_phone(list(entry.url_patterns)), entry.default_kwargs,
            entry.app_name, entry.namespace,
        )
        kept.append(resolver)
    return kept


urlpatterns = _without_phone(list(headless_urls.urlpatterns))

"""allauth's headless URLs without its phone-number endpoints.

SwipeMe accounts have no phone number (no `phone` sign-up field, no SMS sender), yet
allauth routes `account/phone`, `auth/phone/verify` and `auth/phone/verify/resend` for both
clients regardless, and they answer 500 (`NotImplementedError` from the adapter's
`get_phone`). Leaving them out of the URL tree makes them 404, and allauth's served
specification (`/_allauth/openapi.*`, merged into ours by `apps.core.schema`) drops every
path that does not resolve, so they leave the schema too.

Each endpoint also refuses a method its view does not serve with a 405 (in the API's error
shape, with Allow) before allauth runs: allauth validates the JSON body of any non-GET
request against the view's input form first, so PUT, PATCH or DELETE on a POST-only URL
(log-in, password change, 2FA, token refresh, ...) answered 400 "invalid"."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from allauth.headless import urls as headless_urls
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.urls import URLPattern, URLResolver

from apps.core.errors import error_body

app_name = "headless"

# URL names of allauth's phone endpoints (allauth.headless.account.urls).
PHONE_URL_NAMES = frozenset({"manage_phone", "verify_phone", "resend_phone_verification_code"})


def _served_methods(view: Callable[..., HttpResponseBase]) -> list[str] | None:
    """The methods the class-based view behind `view` serves (HEAD with GET), or None."""
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return None
    served = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
    if "GET" in served:
        served.add("HEAD")
    return sorted(served)


def _refusing_other_methods(view: Callable[..., HttpResponseBase]) -> Callable[..., Any]:
    """`view`, answering a method it does not serve with a 405 before allauth runs."""
    served = _served_methods(view)
    if served is None:
        return view

    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in served:
            allowed = ", ".join(served)
            return JsonResponse(error_body(
                "method_not_allowed",
                f'Method "{request.method}" is not allowed here; this endpoint takes '
                f"{allowed}."), status=405, headers={"Allow": allowed})
        return view(request, *args, **kwargs)

    return checked


def _without_phone(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    kept: list[URLPattern | URLResolver] = []
    for entry in patterns:
        if isinstance(entry, URLPattern):
            if entry.name not in PHONE_URL_NAMES:
                kept.append(URLPattern(entry.pattern, _refusing_other_methods(entry.callback),
                                       entry.default_args, entry.name))
            continue
        resolver = URLResolver(
            entry.pattern, _without_phone(list(entry.url_patterns)), entry.default_kwargs,
            entry.app_name, entry.namespace,
        )
        kept.append(resolver)
    return kept


urlpatterns = _without_phone(list(headless_urls.urlpatterns))
